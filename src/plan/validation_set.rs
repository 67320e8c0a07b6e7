//! Validation sets: created empty, then their tasks added as a keyed set (like an
//! audience's examples: `fp-` + content fingerprint in the asset's metadata), and their
//! `dimensions`/`shouldAlert` set by `PATCH`. The API has no endpoint to remove a task
//! (contract v3), so a task no longer in the manifest is kept and the plan says so.
//! `shouldAlert` cannot be read back (`GET /validation-set/{id}` does not return it): it is
//! sent when the set is created, and whenever the dimensions are patched.

use serde_json::Value;

use super::audience::example_plan;
use super::diff::base;
use super::model::*;
use super::observe::{Observation, Observed};
use crate::manifest::{LabelingSpec, Resource, ResourceKind, ValidationSet};
use crate::remote::validation_sets::RemoteValidationSet;
use crate::remote::RemoteRevision;

pub(super) fn validation_set_plan(
    r: &Resource,
    s: &ValidationSet,
    remote: Option<&RemoteValidationSet>,
) -> ResourcePlan {
    let mut p = base(r, remote.map(|x| x.id.clone()));
    let tasks = example_plan(&s.tasks, remote.map_or(&[][..], |x| &x.tasks[..]), false);
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
    if tasks.orphaned > 0 {
        p.notes.push(format!(
            "{} remote validation task(s) no longer in the manifest are kept: the API has no endpoint to remove a validation task (rename the set to start a new one)",
            tasks.orphaned
        ));
    }
    p.examples = Some(tasks);
    p
}

/// `validationSet:` of a definition against its latest revision's `validationSetId`: a
/// different set (or one still to be created) is a new revision. Without `validationSet:`,
/// a revision naming a set a ValidationSet manifest manages had its reference removed: a
/// new revision clears it (`validationSetId: null`); a set made elsewhere is not managed
/// (carried over).
pub(super) fn reference_change(
    spec: &LabelingSpec,
    observed: &Observed,
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
    let want = match observed.get(ResourceKind::ValidationSet, name) {
        Some(Observation::ValidationSet(Some(s))) => Some(s.id.as_str()),
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
