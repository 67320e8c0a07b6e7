//! Audiences: filters, description and admission bar updated in place (PATCH), the
//! qualification examples as a keyed set (add / remove / unchanged), and recruiting, started
//! once after the examples are in (`rapidata_audience.py` `start_recruiting`). Also the
//! checks on the audiences jobs run on: a remote audience id that does not exist blocks the
//! job, and an audience that cannot produce responses is a warning on the job, as the SDK
//! warns at `assign_job` (`_warn_if_no_graduated_annotators`,
//! `audience_will_never_produce_responses` in `recruiting.py`).

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

pub use super::datapoints::asset_key;
use super::diff::{base, PlanOptions};
use super::model::*;
use super::observe::Observed;
use crate::manifest::suggest::did_you_mean;
use crate::manifest::{Audience, AudienceRef, Example, Job, Project, Resource, ResourceKind};
use crate::remote::{wire_build, RemoteAudience, RemoteExample};

/// The public audience every organisation can assign jobs to.
const GLOBAL_AUDIENCE: &str = "global";

/// The plan of one Audience manifest.
pub(super) fn audience_plan(
    r: &Resource,
    a: &Audience,
    remote: Option<&RemoteAudience>,
    opts: &PlanOptions,
) -> ResourcePlan {
    let mut p = base(r, remote.map(|a| a.id.clone()));
    match remote {
        None => {
            p.action = Action::Create;
            p.steps.push(Step::CreateAudience);
        }
        Some(ra) => {
            // Without the project's marker it is adopted (`project_marker`), in a step
            // of its own.
            p.changes = audience_changes(a, ra);
            if !p.changes.is_empty() {
                p.action = Action::Update;
                p.steps.push(Step::UpdateAudience);
            }
        }
    }
    let prune = opts.prune || a.prune;
    let remote_examples = remote.map_or(&[][..], |r| &r.examples[..]);
    let ep = example_plan(&a.examples, remote_examples, prune);
    if !ep.add.is_empty() {
        p.steps.push(Step::AddExamples);
    }
    if ep.deletions().next().is_some() {
        p.steps.push(Step::RemoveExamples);
    }
    if ep.orphaned > 0 {
        p.notes.push(format!(
            "{} remote example(s) no longer in the manifest are kept (`prune: true` or `--prune` removes them)",
            ep.orphaned
        ));
    }
    let started = remote.is_some_and(RemoteAudience::recruiting_started);
    // Examples added by other tools (or kept without prune) qualify labelers too.
    let has_examples = !a.examples.is_empty() || ep.unmanaged > 0 || ep.orphaned > 0;
    if a.recruit && !started {
        if !has_examples {
            p.notes.push(
                "recruiting waits for qualification examples: add `examples:` (the SDK recommends at least 3)"
                    .into(),
            );
        } else {
            p.steps.push(Step::StartRecruiting);
            p.changes.push(FieldChange {
                field: "recruiting".into(),
                before: Some("not started".into()),
                after: Some("started".into()),
            });
        }
    }
    if p.action == Action::NoChange && !p.steps.is_empty() {
        p.action = if p.steps.contains(&Step::StartRecruiting) {
            Action::Update
        } else {
            Action::UpdateData
        };
    }
    let managed = (ep.unchanged.saturating_sub(ep.adopted) + ep.orphaned)
        .saturating_add((ep.remove.len() + ep.duplicates.len()) as u64);
    if p.adopt.is_none() && managed == 0 && ep.adopted + ep.unmanaged > 0 {
        p.adopt = Some(format!(
            "made outside rapidata: none of its {} qualification example(s) carries a rapidata key; {}",
            ep.adopted + ep.unmanaged,
            super::diff::recognised(ep.adopted, ep.unmanaged)
        ));
    }
    if !a.examples.is_empty() || !remote_examples.is_empty() {
        p.examples = Some(ep);
    }
    p
}

fn audience_changes(a: &Audience, ra: &RemoteAudience) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    if super::definition::normalize_list(&ra.filters)
        != super::definition::normalize_list(&a.filters)
    {
        changes.push(FieldChange {
            field: "filters".into(),
            before: Some(Value::Array(ra.filters.clone()).to_string()),
            after: Some(Value::Array(a.filters.clone()).to_string()),
        });
    }
    // Only a description the manifest sets is managed (a project marker is not part of it).
    let have = ra
        .description
        .as_deref()
        .and_then(wire_build::strip_audience_marker);
    if a.description.is_some() && a.description != have {
        changes.push(FieldChange {
            field: "description".into(),
            before: have,
            after: a.description.clone(),
        });
    }
    // Only an admission bar the manifest sets is managed.
    if let Some(want) = wire_build::graduation_rule(a) {
        if !same_rule(&want, &ra.graduation_rule) {
            changes.push(FieldChange {
                field: "admission".into(),
                before: Some(ra.graduation_rule.to_string()),
                after: Some(want.to_string()),
            });
        }
    }
    changes
}

/// Graduation rules compared by value (`0.8` and `0.80`, absent and null `maxTasks`).
fn same_rule(want: &Value, have: &Value) -> bool {
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
    want.get("_t") == have.get("_t")
        && num(want, "targetAccuracy") == num(have, "targetAccuracy")
        && num(want, "minTasks") == num(have, "minTasks")
        && num(want, "maxTasks") == num(have, "maxTasks")
}

/// What of an audience beyond filters and description a saved plan depends on.
pub(super) fn digest_part(a: &Audience) -> String {
    let keys: Vec<&str> = a.examples.iter().map(|e| e.key.as_str()).collect();
    format!(
        "{:?}\0{}\0{}\0{}",
        a.admission,
        a.recruit,
        a.prune,
        keys.join(",")
    )
}

/// The keyed diff of the examples (or a validation set's tasks): the manifest's keys
/// against those stored remotely.
pub fn example_plan(examples: &[Example], remote: &[RemoteExample], prune: bool) -> ExamplePlan {
    let mut plan = ExamplePlan::default();
    let mut by_key: BTreeMap<&str, Vec<&RemoteExample>> = BTreeMap::new();
    for r in remote.iter().filter(|r| !r.adopted) {
        match &r.key {
            Some(k) => by_key.entry(k.as_str()).or_default().push(r),
            None => plan.unmanaged += 1,
        }
    }
    let wanted: HashSet<&str> = examples.iter().map(|e| e.key.as_str()).collect();
    // Examples added by other tools: one with a manifest example's content (and no copy
    // rapidata added) is that example; the others are left alone, never removed.
    for r in remote.iter().filter(|r| r.adopted) {
        match &r.key {
            Some(k) if wanted.contains(k.as_str()) && !by_key.contains_key(k.as_str()) => {
                by_key.insert(k.as_str(), vec![r]);
                plan.adopted += 1;
            }
            _ => plan.unmanaged += 1,
        }
    }
    for e in examples {
        match by_key.get(e.key.as_str()) {
            Some(found) => {
                plan.unchanged += 1;
                plan.duplicates
                    .extend(found.iter().skip(1).map(|r| remote_ref(r, &e.key)));
            }
            None => plan.add.push(e.key.clone()),
        }
    }
    for (k, found) in &by_key {
        if wanted.contains(k) {
            continue;
        }
        if prune {
            plan.remove.extend(found.iter().map(|r| remote_ref(r, k)));
        } else {
            plan.orphaned += found.len() as u64;
        }
    }
    let adding: HashSet<&str> = plan.add.iter().map(String::as_str).collect();
    let mut assets: HashSet<String> = HashSet::new();
    for e in examples.iter().filter(|e| adding.contains(e.key.as_str())) {
        for x in e.assets.iter().chain(&e.context_asset) {
            if let Some(k) = asset_key(x) {
                assets.insert(k);
            }
        }
    }
    plan.upload_assets = assets.len() as u64;
    plan
}

fn remote_ref(r: &RemoteExample, key: &str) -> RemoteRef {
    RemoteRef {
        id: r.id.clone(),
        key: key.to_string(),
        label: None,
    }
}

/// The examples apply adds, in manifest order.
pub fn examples_to_add<'a>(examples: &'a [Example], plan: &ExamplePlan) -> Vec<&'a Example> {
    let add: HashSet<&str> = plan.add.iter().map(String::as_str).collect();
    examples
        .iter()
        .filter(|e| add.contains(e.key.as_str()))
        .collect()
}

/// Checks on the audiences the planned jobs run on: a job naming a remote audience id that
/// does not exist is blocked (with a "did you mean" for Audience manifests of similar
/// name); a job whose audience cannot produce responses gets a warning note.
pub(super) fn check_job_audiences(
    project: &Project,
    observed: &Observed,
    resources: &mut [ResourcePlan],
) {
    let manifest_audiences: Vec<&Audience> = project
        .resources
        .iter()
        .filter_map(|r| match r {
            Resource::Audience(a) => Some(a),
            _ => None,
        })
        .collect();
    let audience_plans: BTreeMap<String, ResourcePlan> = resources
        .iter()
        .filter(|p| p.kind == ResourceKind::Audience && p.origin.is_some())
        .map(|p| (p.name.clone(), p.clone()))
        .collect();
    for p in resources.iter_mut() {
        if p.kind != ResourceKind::Job || p.origin.is_none() {
            continue;
        }
        let Some(Resource::Job(j)) = project
            .resources
            .iter()
            .find(|r| r.kind() == ResourceKind::Job && r.name() == p.name)
        else {
            continue;
        };
        if let AudienceRef::Id(id) = &j.audience {
            if let Some(None) = observed.remote_audiences.get(id) {
                // Observed and not there: the job cannot be assigned.
                let names: Vec<&str> = manifest_audiences.iter().map(|a| a.name.as_str()).collect();
                let help = match did_you_mean(id, &names) {
                    Some(s) => format!("did you mean the Audience manifest `{s}`?"),
                    None => "name an Audience manifest, or the id of an existing audience (such as `global`)".into(),
                };
                p.action = Action::Blocked;
                p.steps.clear();
                p.reason = Some(format!(
                    "Job `{}` runs on audience `{id}`, which is neither an Audience manifest nor a remote audience; {help}",
                    j.name
                ));
                continue;
            }
        }
        let ap = match &j.audience {
            AudienceRef::Manifest(name) => audience_plans.get(name),
            AudienceRef::Id(_) => None,
        };
        if let Some(w) = job_audience_warning(project, observed, j, ap) {
            p.notes.push(w);
        }
    }
}

/// Why the audience of `job` cannot produce responses, if it cannot (the SDK's warning at
/// `assign_job`). `audience_plan` is the plan of its Audience manifest, when planned.
pub fn job_audience_warning(
    project: &Project,
    observed: &Observed,
    job: &Job,
    audience_plan: Option<&ResourcePlan>,
) -> Option<String> {
    match &job.audience {
        AudienceRef::Id(id) => match observed.remote_audiences.get(id) {
            Some(Some(ra)) if id != GLOBAL_AUDIENCE && !ra_is_public(ra) => remote_warning(ra),
            _ => None,
        },
        AudienceRef::Manifest(name) => {
            let a = project.resources.iter().find_map(|r| match r {
                Resource::Audience(a) if &a.name == name => Some(a),
                _ => None,
            })?;
            manifest_warning(a, observed.audience(name), audience_plan)
        }
    }
}

fn ra_is_public(ra: &RemoteAudience) -> bool {
    ra.is_public
}

fn no_responses(name: &str, why: &str) -> String {
    format!(
        "warning: audience `{name}` cannot produce responses yet: {why}; the job receives 0 responses until labelers graduate into it"
    )
}

/// The SDK's advice at `assign_job`, for an audience the manifests define.
fn manifest_warning(
    a: &Audience,
    remote: Option<&RemoteAudience>,
    plan: Option<&ResourcePlan>,
) -> Option<String> {
    // A filtered audience has no examples or recruiting of its own: its base's labelers.
    if a.base.is_some() {
        return None;
    }
    if a.examples.is_empty() && remote.is_none_or(|r| r.examples.is_empty()) {
        return Some(no_responses(
            &a.name,
            "it has no qualification examples (add `examples:`; labelers graduate once it has at least 3 and recruiting has started)",
        ));
    }
    let will_start = plan.is_some_and(|p| p.steps.contains(&Step::StartRecruiting));
    let started = remote.is_some_and(RemoteAudience::recruiting_started);
    if !started && !will_start {
        return Some(no_responses(
            &a.name,
            "recruiting has not started (`recruit: false`)",
        ));
    }
    match remote.and_then(|r| r.metrics.as_ref()) {
        Some(m) if started && m.graduated == 0 => Some(no_responses(
            &a.name,
            &format!(
                "no labeler has graduated yet ({} still qualifying); if recruiting is underway this may just need time",
                m.distilling
            ),
        )),
        _ => None,
    }
}

/// The same for a remote audience named by id.
fn remote_warning(ra: &RemoteAudience) -> Option<String> {
    if !ra.recruiting_started() {
        return Some(no_responses(
            &ra.name,
            "recruiting was never started for it",
        ));
    }
    match &ra.metrics {
        Some(m) if m.graduated == 0 && m.distilling == 0 => Some(no_responses(
            &ra.name,
            "no labeler has graduated and none is qualifying",
        )),
        Some(m) if m.graduated == 0 => Some(no_responses(
            &ra.name,
            &format!(
                "no labeler has graduated yet ({} still qualifying); this may just need time",
                m.distilling
            ),
        )),
        _ => None,
    }
}
