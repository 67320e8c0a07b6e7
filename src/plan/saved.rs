//! Saved plans (`plan --out FILE`, `apply FILE`): the plan plus what is needed to make it
//! again, so apply can refuse a plan that no longer matches the manifests or the remote.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::model::{Plan, ResourcePlan};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SavedPlan {
    /// Marks the file as a rapidata plan.
    pub rapidata_plan: u32,
    pub paths: Vec<PathBuf>,
    pub prune: bool,
    pub targets: Vec<String>,
    pub excludes: Vec<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relabel: Vec<String>,
    pub plan: Plan,
}

/// Why a saved plan cannot be applied as it is.
pub fn staleness(saved: &Plan, fresh: &Plan) -> Vec<String> {
    let mut why = Vec::new();
    if saved.api != fresh.api {
        why.push(format!(
            "it was made against {}, not {}",
            saved.api, fresh.api
        ));
    }
    if saved.desired_digest != fresh.desired_digest {
        why.push("the manifests changed since it was made".to_string());
    }
    if saved.observed_digest != fresh.observed_digest {
        why.push("the remote state changed since it was made".to_string());
    }
    for r in &fresh.resources {
        let old = saved
            .resources
            .iter()
            .find(|o| o.kind == r.kind && o.name == r.name);
        match old {
            None => why.push(format!("{} {} is new in the plan", r.kind, r.name)),
            Some(o) if o != r => {
                why.push(format!("{} {}: {}", r.kind, r.name, describe_change(o, r)))
            }
            _ => {}
        }
    }
    for o in &saved.resources {
        if !fresh
            .resources
            .iter()
            .any(|r| r.kind == o.kind && r.name == o.name)
        {
            why.push(format!("{} {} is no longer in the plan", o.kind, o.name));
        }
    }
    why
}

fn describe_change(old: &ResourcePlan, new: &ResourcePlan) -> String {
    if old.action != new.action {
        return format!("was {:?}, is now {:?}", old.action, new.action);
    }
    match (&old.datapoints, &new.datapoints) {
        (Some(a), Some(b)) if a != b => format!(
            "datapoints to upload {} → {}, to remove {} → {}",
            a.add.len(),
            b.add.len(),
            a.deletions().count(),
            b.deletions().count()
        ),
        _ => "its changes differ".to_string(),
    }
}
