//! Validation sets: created empty, then their tasks added as a keyed set (like an
//! audience's examples: `fp-` + content fingerprint in the asset's metadata), and their
//! `dimensions`/`shouldAlert` set by `PATCH`. The API has no endpoint to remove a task
//! (contract v3), so a task no longer in the manifest is kept and the plan says so; with
//! prune it is removed the only way the API allows: a new set with the manifest's tasks
//! replaces the old one (moved aside, deleted once the definitions naming it have a new
//! revision on the new set; their jobs follow, which the plan shows as relabeling).
//! `shouldAlert` cannot be read back (`GET /validation-set/{id}` does not return it): it is
//! sent when the set is created, and whenever the dimensions are patched.

use serde_json::Value;

use super::audience::example_plan;
use super::diff::{aside_name, base, remote_only};
use super::model::*;
use super::observe::{Observation, Observed};
use crate::manifest::{LabelingSpec, Project, Resource, ResourceKind, ValidationSet};
use crate::remote::validation_sets::RemoteValidationSet;
use crate::remote::RemoteRevision;

/// The plan of a ValidationSet manifest, and (with prune, when tasks must go) that of the
/// set it replaces.
pub(super) fn validation_set_plan(
    project: &Project,
    r: &Resource,
    s: &ValidationSet,
    remote: Option<&RemoteValidationSet>,
    prune: bool,
) -> (ResourcePlan, Vec<ResourcePlan>) {
    let mut p = base(r, remote.map(|x| x.id.clone()));
    let tasks = example_plan(&s.tasks, remote.map_or(&[][..], |x| &x.tasks[..]), prune);
    // Only what prune removes; a duplicate task alone is not worth a new set.
    let removes = !tasks.remove.is_empty();
    if let (Some(rs), true) = (remote, removes) {
        return replace(project, p, s, rs, tasks);
    }
    match remote {
        None => {
            p.action = Action::Create;
            p.steps.push(Step::CreateValidationSet);
            if s.dimensions.is_some() || s.should_alert.is_some() {
                p.steps.push(Step::UpdateValidationSet);
            }
        }
        Some(rs) => {
            if let Some(want) = &s.dimensions {
                if *want != rs.dimensions {
                    p.changes.push(FieldChange {
                        field: "dimensions".into(),
                        before: Some(rs.dimensions.join(", ")),
                        after: Some(want.join(", ")),
                    });
                    p.steps.push(Step::UpdateValidationSet);
                    p.action = Action::Update;
                }
            }
        }
    }
    if !tasks.add.is_empty() {
        p.steps.push(Step::AddValidationTasks);
        if p.action == Action::NoChange {
            p.action = Action::UpdateData;
        }
    }
    if !tasks.duplicates.is_empty() {
        p.notes.push(format!(
            "{} remote validation task(s) are extra copies of a manifest task; kept (the API cannot remove a task)",
            tasks.duplicates.len()
        ));
    }
    if tasks.orphaned > 0 {
        p.notes.push(format!(
            "{} remote validation task(s) no longer in the manifest are kept: the API has no endpoint to remove a validation task (`prune: true` or `--prune` replaces the set with a new one)",
            tasks.orphaned
        ));
    }
    p.examples = Some(tasks);
    (p, Vec::new())
}

/// Tasks to remove (prune): a new set with the manifest's tasks; the old one is moved aside
/// and deleted once the definitions naming it moved to the new one.
fn replace(
    project: &Project,
    mut p: ResourcePlan,
    s: &ValidationSet,
    rs: &RemoteValidationSet,
    tasks: ExamplePlan,
) -> (ResourcePlan, Vec<ResourcePlan>) {
    let fresh = example_plan(&s.tasks, &[], false);
    p.action = Action::Replace;
    p.reason = Some(format!(
        "{} task(s) are no longer in the manifest and the API cannot remove a task: a new set \
         with the manifest's tasks replaces it, and the definitions naming it get a new revision",
        tasks.deletions().count()
    ));
    let aside = aside_name(&s.name, &rs.id);
    p.steps = vec![
        Step::MoveAside { to: aside.clone() },
        Step::CreateValidationSet,
        Step::UpdateValidationSet,
    ];
    if !fresh.add.is_empty() {
        p.steps.push(Step::AddValidationTasks);
    }
    p.examples = Some(ExamplePlan {
        remove: tasks.remove,
        duplicates: tasks.duplicates,
        ..fresh
    });
    let mut old = remote_only(ResourceKind::ValidationSet, &aside, &rs.id);
    old.action = Action::Delete;
    old.steps = vec![Step::Delete];
    old.reason = Some(format!("replaced by the new validation set `{}`", s.name));
    // After the (first) definition naming it has its new revision.
    let user = project.resources.iter().find_map(|r| match r {
        Resource::JobDefinition(d) if d.spec.validation_set.as_deref() == Some(&s.name) => {
            Some(d.name.clone())
        }
        _ => None,
    });
    old.requires = Some(match user {
        Some(d) => ResourceRef {
            kind: ResourceKind::JobDefinition,
            name: d,
        },
        None => ResourceRef {
            kind: ResourceKind::ValidationSet,
            name: s.name.clone(),
        },
    });
    (p, vec![old])
}

/// `validationSet:` of a definition against its latest revision's `validationSetId`: a
/// different set (or one still to be created) is a new revision. Without `validationSet:`,
/// a revision naming a set a ValidationSet manifest manages had its reference removed: a
/// new revision clears it (`validationSetId: null`); a set made elsewhere is not managed
/// (carried over).
pub(super) fn reference_change(
    spec: &LabelingSpec,
    observed: &Observed,
    planned: &[ResourcePlan],
    rev: &RemoteRevision,
) -> Option<FieldChange> {
    let Some(name) = spec.validation_set.as_ref() else {
        let have = rev.carry_over.validation_set_id.as_str()?;
        let managed = observed.resources.values().find_map(|o| match o {
            Observation::ValidationSet(Some(s)) if s.id == have => Some(s.name.clone()),
            _ => None,
        })?;
        return Some(FieldChange {
            field: "validationSet".into(),
            before: Some(format!("{managed} ({have})")),
            after: None,
        });
    };
    // A set this plan replaces gets a new id: not known before apply.
    let replaced = planned.iter().any(|p| {
        p.kind == ResourceKind::ValidationSet && &p.name == name && p.action == Action::Replace
    });
    let want = match observed.get(ResourceKind::ValidationSet, name) {
        Some(Observation::ValidationSet(Some(s))) if !replaced => Some(s.id.as_str()),
        _ => None,
    };
    let have = rev.carry_over.validation_set_id.as_str();
    if want.is_some() && want == have {
        return None;
    }
    Some(FieldChange {
        field: "validationSet".into(),
        before: match &rev.carry_over.validation_set_id {
            Value::String(s) => Some(s.clone()),
            _ => None,
        },
        after: Some(match want {
            Some(id) => format!("{name} ({id})"),
            None => format!("{name} (to be created)"),
        }),
    })
}
