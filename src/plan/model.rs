//! The plan: what apply will do, resource by resource. Serialisable, because `plan --out`
//! saves it and `plan --format json` is a documented interface (see `docs/plan-json.md`).

use serde::{Deserialize, Serialize};

use crate::manifest::{Origin, ResourceKind};

/// Bumped whenever the JSON shape changes incompatibly.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub format_version: u32,
    /// Where the plan was made against (API base URL), so a saved plan is not applied to
    /// another environment by mistake.
    pub api: String,
    /// Digest of the manifests' resolved desired state; a saved plan is stale when it differs.
    pub desired_digest: String,
    /// Digest of the remote state observed; a saved plan is stale when it differs.
    pub observed_digest: String,
    pub resources: Vec<ResourcePlan>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    NoChange,
    Create,
    /// Update in place: a new revision.
    Update,
    /// Delete and create again, for changes the API cannot make in place.
    Replace,
    /// Remote resource no longer in the manifests (only with prune).
    Delete,
    /// Only the datapoints of the resource change.
    UpdateData,
    /// A change the API cannot apply; `blocked` says why.
    Blocked,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoChange => " ",
            Action::Create => "+",
            Action::Update | Action::UpdateData => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Blocked => "!",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePlan {
    pub kind: ResourceKind,
    pub name: String,
    /// Manifest location; `None` for a remote resource being deleted.
    pub origin: Option<Origin>,
    pub action: Action,
    /// The remote id when the resource exists.
    pub remote_id: Option<String>,
    /// Latest revision number (job definitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// Why a replace is needed or why the change is blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints: Option<DatapointPlan>,
}

impl ResourcePlan {
    /// Whether apply has anything to do for this resource.
    pub fn has_changes(&self) -> bool {
        !matches!(self.action, Action::NoChange | Action::Blocked)
            || self
                .datapoints
                .as_ref()
                .is_some_and(DatapointPlan::has_changes)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DatapointPlan {
    /// The dataset the datapoints go to; `None` until it is created.
    pub dataset_id: Option<String>,
    /// Keys of manifest datapoints to upload.
    pub add: Vec<String>,
    /// Remote datapoints to delete: in the remote, no longer in the manifest (prune only).
    pub remove: Vec<RemoteRef>,
    /// Same explicit key, other content: removed, then the new content added (its key is
    /// also in `add`).
    pub changed: Vec<RemoteRef>,
    /// Extra copies of a key that exists more than once remotely; deleted.
    pub duplicates: Vec<RemoteRef>,
    /// Managed remote datapoints not in the manifest, kept because prune is off.
    pub orphaned: u64,
    pub unchanged: u64,
    /// Remote datapoints without a key (made by other tools): left alone.
    pub unmanaged: u64,
    /// Distinct assets the additions need uploaded, and their total size in bytes (local
    /// files; URLs count 0 bytes since the server fetches them).
    pub upload_assets: u64,
    pub upload_bytes: u64,
}

impl DatapointPlan {
    pub fn has_changes(&self) -> bool {
        !self.add.is_empty()
            || !self.remove.is_empty()
            || !self.changed.is_empty()
            || !self.duplicates.is_empty()
    }

    /// Every remote datapoint apply deletes.
    pub fn deletions(&self) -> impl Iterator<Item = &RemoteRef> {
        self.remove
            .iter()
            .chain(&self.changed)
            .chain(&self.duplicates)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct RemoteRef {
    pub id: String,
    pub key: String,
}

/// Totals for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub create: usize,
    pub change: usize,
    pub replace: usize,
    pub delete: usize,
    pub blocked: usize,
    pub upload: u64,
    pub upload_assets: u64,
    pub upload_bytes: u64,
    pub remove: u64,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for r in &self.resources {
            match r.action {
                Action::Create => s.create += 1,
                Action::Update | Action::UpdateData => s.change += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
                Action::Blocked => s.blocked += 1,
                Action::NoChange => {
                    if r.datapoints
                        .as_ref()
                        .is_some_and(DatapointPlan::has_changes)
                    {
                        s.change += 1
                    }
                }
            }
            if let Some(d) = &r.datapoints {
                s.upload += d.add.len() as u64;
                s.upload_assets += d.upload_assets;
                s.upload_bytes += d.upload_bytes;
                s.remove += d.deletions().count() as u64;
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.resources.iter().any(ResourcePlan::has_changes)
    }
}
