//! Jobs follow their definition. A job is bound to the revision it was assigned (fact 12):
//! a Job without `revision:` runs the latest, so a new revision, a replaced definition or
//! another audience means a new job, and the old one is then paused (default), deleted or
//! kept, per `onReplace`. Decided from the definitions' plans, so the job entries say
//! what the definition entries drag along.

use super::cost::responses_per_datapoint;
use super::diff::{base, definition_moves, remote_only};
use super::model::*;
use super::observe::Observed;
use crate::manifest::{AudienceRef, Job, LabelingSpec, OnReplace, Project, Resource, ResourceKind};
use crate::remote::RemoteJob;

/// Job states in which a job no longer runs and pausing means nothing.
fn finished(state: &str) -> bool {
    matches!(state, "Completed" | "Failed")
}

fn running(state: &str) -> bool {
    !finished(state) && state != "Paused"
}

/// The plan entries of the selected jobs, and those of the jobs they replace (which go
/// after every create, each waiting for its replacement).
pub(super) fn job_plans(
    project: &Project,
    ordered: &[&Resource],
    observed: &Observed,
    planned: &[ResourcePlan],
) -> (Vec<ResourcePlan>, Vec<ResourcePlan>) {
    let mut jobs = Vec::new();
    let mut replaced = Vec::new();
    for r in ordered {
        let Resource::Job(j) = r else { continue };
        let spec = project.resources.iter().find_map(|x| match x {
            Resource::JobDefinition(d) if d.name == j.definition => Some(&d.spec),
            _ => None,
        });
        let (p, old) = job_plan(r, j, spec, observed, planned);
        jobs.push(p);
        replaced.extend(old);
    }
    (jobs, replaced)
}

fn job_plan(
    r: &Resource,
    j: &Job,
    spec: Option<&LabelingSpec>,
    observed: &Observed,
    planned: &[ResourcePlan],
) -> (ResourcePlan, Vec<ResourcePlan>) {
    let def_plan = planned
        .iter()
        .find(|p| p.kind == ResourceKind::JobDefinition && p.name == j.definition);
    let def_obs = observed.definition(&j.definition);
    let moves = def_plan.is_some_and(definition_moves);
    let replaced_def = def_plan.is_some_and(|p| p.action == Action::Replace);
    // A replaced (filtered) audience's id is known only once apply made the new one.
    let want_audience: Option<String> = match &j.audience {
        AudienceRef::Id(id) => Some(id.clone()),
        AudienceRef::Manifest(n) => observed.audience(n).map(|a| a.id.clone()).filter(|_| {
            !planned.iter().any(|p| {
                p.kind == ResourceKind::Audience && &p.name == n && p.action == Action::Replace
            })
        }),
    };
    // The revision the job must run: pinned, or the latest after this plan (unknown
    // until apply saves it when the definition moves).
    let latest = def_obs.map(|d| d.revision.number);
    let target: Option<u32> = match (j.revision, moves) {
        (Some(n), _) => Some(n),
        (None, false) => latest,
        (None, true) => None,
    };
    let all = observed.jobs(&j.name);
    let matches = |x: &RemoteJob| {
        !replaced_def
            && def_obs.is_some_and(|d| d.definition.id == x.definition_id)
            && target == Some(x.revision_number)
            && want_audience.as_deref() == Some(x.audience_id.as_str())
    };
    let mut current: Vec<&RemoteJob> = all.iter().filter(|x| matches(x)).collect();
    // `all` is oldest first: the oldest match is the job, the others duplicates.
    let kept = if current.is_empty() {
        None
    } else {
        Some(current.remove(0))
    };
    let mut p = base(r, kept.map(|k| k.id.clone()));
    let mut old = Vec::new();
    match kept {
        Some(k) => {
            p.revision = Some(k.revision_number);
            if j.paused && running(&k.state) {
                p.action = Action::Pause;
                p.steps.push(Step::Pause);
                p.changes.push(state_change(&k.state, "Paused"));
            } else if !j.paused && k.state == "Paused" {
                p.action = Action::Resume;
                p.steps.push(Step::Resume);
                p.changes.push(state_change(&k.state, "Running"));
            }
        }
        None => {
            if let Some(why) = blocked(j, latest, moves, replaced_def, def_plan.is_none()) {
                p.action = Action::Blocked;
                p.reason = Some(why);
                return (p, old);
            }
            p.action = Action::Create;
            p.steps.push(Step::CreateJob);
            if j.paused {
                p.steps.push(Step::Pause);
            }
            p.revision = target;
            // What the newest earlier job ran, for the reviewer.
            if let Some(prev) = all
                .iter()
                .filter(|x| !matches(x))
                .max_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)))
            {
                let mut why = Vec::new();
                if replaced_def {
                    why.push("its definition is replaced".to_string());
                } else if def_obs.is_some_and(|d| d.definition.id != prev.definition_id) {
                    why.push(format!("it now runs JobDefinition `{}`", j.definition));
                }
                let after_rev = target
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "(new revision)".into());
                if !replaced_def && Some(prev.revision_number) != target {
                    p.changes.push(FieldChange {
                        field: "revision".into(),
                        before: Some(prev.revision_number.to_string()),
                        after: Some(after_rev.clone()),
                    });
                    why.push(match target {
                        Some(n) => format!("it must run revision {n}"),
                        None => "the definition's new revision must reach it".to_string(),
                    });
                }
                if want_audience.as_deref() != Some(prev.audience_id.as_str()) {
                    p.changes.push(FieldChange {
                        field: "audience".into(),
                        before: Some(prev.audience_id.clone()),
                        after: Some(want_audience.clone().unwrap_or_else(|| label(&j.audience))),
                    });
                    why.push("its audience changed".into());
                }
                if !why.is_empty() {
                    let datapoints = relabeled(def_plan, spec);
                    p.relabel = Some(Relabel {
                        datapoints,
                        responses: spec
                            .and_then(responses_per_datapoint)
                            .unwrap_or(0)
                            .saturating_mul(datapoints),
                        estimated_cost: None,
                        replaces: prev.id.clone(),
                        because: why.join(" and "),
                    });
                    p.reason = Some(format!(
                        "a job is bound to its revision and audience: a new job is assigned because {}; \
                         the old one is {}",
                        why.join(" and "),
                        match j.on_replace {
                            OnReplace::Pause => "paused once the new one runs (its results are kept)",
                            OnReplace::Delete => "deleted once the new one runs",
                            OnReplace::Keep => "kept running (onReplace: keep)",
                        }
                    ));
                }
            }
        }
    }
    for x in all {
        if kept.is_some_and(|k| k.id == x.id) {
            continue;
        }
        let mut e = remote_only(ResourceKind::Job, &j.name, &x.id);
        e.revision = Some(x.revision_number);
        if current.iter().any(|c| c.id == x.id) {
            e.action = Action::Delete;
            e.steps.push(Step::Delete);
            e.reason = Some(format!(
                "a second job `{}` on the same revision and audience (made by a concurrent apply); \
                 the oldest is kept",
                j.name
            ));
            old.push(e);
            continue;
        }
        let step = match j.on_replace {
            OnReplace::Pause if running(&x.state) => Some((Action::Pause, Step::Pause)),
            OnReplace::Delete => Some((Action::Delete, Step::Delete)),
            _ => None,
        };
        if let Some((action, step)) = step {
            e.action = action;
            e.steps.push(step);
            e.reason = Some(format!(
                "replaced by the new job `{}` (it ran revision {}); {} once the new one is assigned",
                j.name,
                x.revision_number,
                if action == Action::Pause { "paused, results kept," } else { "deleted" }
            ));
            e.requires = Some(ResourceRef {
                kind: ResourceKind::Job,
                name: j.name.clone(),
            });
            old.push(e);
        }
    }
    (p, old)
}

/// How many datapoints a new job labels that the job it replaces already labels: what a
/// new dataset carries over, or the whole dataset when the job moves to a new revision or
/// audience on the same data, or every datapoint of a replaced definition.
fn relabeled(def_plan: Option<&ResourcePlan>, spec: Option<&LabelingSpec>) -> u64 {
    let all = spec.map_or(0, |s| s.datapoints.len() as u64);
    match def_plan {
        Some(p) if p.action == Action::Replace => all,
        Some(p) => match &p.datapoints {
            Some(d) if p.steps.contains(&Step::NewDataset) => d.carried_over,
            Some(d) => d.unchanged + d.orphaned,
            None => all,
        },
        None => all,
    }
}

fn state_change(before: &str, after: &str) -> FieldChange {
    FieldChange {
        field: "state".into(),
        before: Some(before.to_string()),
        after: Some(after.to_string()),
    }
}

fn label(a: &AudienceRef) -> String {
    match a {
        AudienceRef::Id(id) => id.clone(),
        AudienceRef::Manifest(n) => format!("(audience `{n}`, to be created)"),
    }
}

/// Why a new job cannot be assigned as the manifest says, if it cannot.
fn blocked(
    j: &Job,
    latest: Option<u32>,
    moves: bool,
    replaced_def: bool,
    def_not_planned: bool,
) -> Option<String> {
    let pinned = j.revision?;
    if def_not_planned {
        return None;
    }
    // A new or replaced definition starts at revision 1.
    let highest = match (latest, moves, replaced_def) {
        (None, _, _) | (_, _, true) => 1,
        (Some(n), true, false) => n + 1,
        (Some(n), false, false) => n,
    };
    (pinned > highest).then(|| {
        format!(
            "the job is pinned to revision {pinned}, but JobDefinition `{}` will have revisions up to \
             {highest}; pin an existing revision, or remove `revision:` to follow the latest",
            j.definition
        )
    })
}
