//! The plan: what apply will do, resource by resource. Serialisable, because `plan --out`
//! saves it and `plan --format json` is a documented interface (see `docs/plan-json.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::manifest::{Origin, ResourceKind};

/// Bumped whenever the JSON shape changes incompatibly (2: `steps`, `environment`).
pub const PLAN_FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub format_version: u32,
    /// Where the plan was made against: the environment (`rapidata.ai`, `local`) or the
    /// endpoint URL given, so a saved plan is not applied to another one by mistake. The
    /// embedded emulator's random port is not part of it.
    pub api: String,
    /// Digest of the manifests' resolved desired state; a saved plan is stale when it differs.
    pub desired_digest: String,
    /// Digest of the remote state observed; a saved plan is stale when it differs.
    pub observed_digest: String,
    pub resources: Vec<ResourcePlan>,
    /// What the spending this plan starts is estimated at (see `plan::cost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_total: Option<super::cost::CostTotal>,
    /// About the observation itself (a damaged cache file that was ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
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
    /// Pause or resume (a job or an order), nothing else.
    Pause,
    Resume,
    /// Mark a remote resource made outside the `--project` as the project's
    /// ([`Step::AdoptIntoProject`]), nothing else.
    Adopt,
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
            Action::Pause | Action::Resume | Action::Adopt => "~",
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
    /// The remote resource found by the manifest's name was made outside rapidata (or
    /// outside this `--project`): it is adopted, not duplicated; says how it was recognised
    /// and what apply does to it (with `--project`, an audience gets the project's marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints: Option<DatapointPlan>,
    /// The qualification examples of an audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<ExamplePlan>,
    /// What apply does for this resource, in order. The only thing apply reads: `action`,
    /// `reason` and `changes` are for people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Drift that is kept and shown (e.g. remote datapoints no longer in the manifest
    /// without prune, datapoints that cannot be observed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Apply takes this resource's steps only once that resource is complete (an old job
    /// is paused once its replacement runs; nothing is destroyed before its replacement
    /// is complete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<ResourceRef>,
    /// Datapoints, required responses and Rapidata's estimate (definitions, jobs, orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::cost::ResourceCost>,
    /// A job that labels again what an earlier job of the same manifest already labels
    /// (a new job over a new dataset or revision): a destructive change, with its cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relabel: Option<Relabel>,
}

impl Relabel {
    /// How a person reads it, on one line: what is labeled again, what it costs, why.
    pub fn describe(&self) -> String {
        let cost = match self.estimated_cost {
            Some(c) => format!(", estimated {}", super::cost::money(c)),
            None => ", cost known after apply".into(),
        };
        format!(
            "labels {} datapoint(s) again that job {} already labels ({} responses at most{cost}), because {}",
            self.datapoints, self.replaces, self.responses, self.because
        )
    }
}

/// What a new job labels again: the datapoints an earlier job of the same Job manifest
/// already has, and what that costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relabel {
    /// Datapoints labeled again.
    pub datapoints: u64,
    /// Responses those datapoints require again (the referee's bound per datapoint).
    pub responses: u64,
    /// Rapidata's price of those responses, when the definition is priced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_cost: Option<f64>,
    /// The job whose datapoints are labeled again (its id).
    pub replaces: String,
    /// Why: what made the new job necessary.
    pub because: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub kind: ResourceKind,
    pub name: String,
}

impl ResourcePlan {
    /// Whether apply has anything to do for this resource.
    pub fn has_changes(&self) -> bool {
        !self.steps.is_empty()
    }

    /// Whether the resource shows up in the plan: something to do, blocked, or drift.
    pub fn is_shown(&self) -> bool {
        self.has_changes()
            || self.action == Action::Blocked
            || !self.notes.is_empty()
            || self.datapoints.as_ref().is_some_and(|d| d.orphaned > 0)
    }
}

/// One thing apply does, on the resource it belongs to. Executed in plan order; the
/// resources and datapoints it acts on are in the [`ResourcePlan`] that carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Step {
    /// `POST /audience`.
    CreateAudience,
    /// `PATCH /audience/{id}` with the manifest's name, description and filters (a
    /// filtered audience: name and description only).
    UpdateAudience,
    /// `POST /validation-set` (`create_validation_set`).
    CreateValidationSet,
    /// `POST /validation-set/{id}/rapid` for each task in `examples.add` (assets uploaded
    /// once each), as `_validation_rapid_uploader.py` sends them.
    AddValidationTasks,
    /// `PATCH /validation-set/{id}` with `dimensions` and `shouldAlert`.
    UpdateValidationSet,
    /// `POST /audience/{baseAudienceId}/filter` (`RapidataAudience.filter`), then `PATCH`
    /// its name (the API names it like its base) and description.
    CreateFilteredAudience,
    /// A new dataset with every datapoint, then `POST /job/definition` on it: the SDK's
    /// order (`_job_creation_state_machine.py`), so a definition is never created over an
    /// empty dataset; it exists with the datapoints that succeeded.
    CreateDefinition,
    /// Add the missing datapoints to (and delete the removed ones from) the dataset of a
    /// revision no job runs on: the seed's "retry into the same dataset".
    EditDataset,
    /// A new dataset with the desired datapoints (assets already uploaded are reused),
    /// for a revision that jobs run on: `set_datapoints`.
    NewDataset,
    /// `POST /job/definition/{id}/revision`: a complete body from the base revision the
    /// plan saw, `requireLatest: true` (`save(require_latest=True)`); points at the new
    /// dataset when the plan has a `NewDataset` step before it. With `literalOptions`, its
    /// classification binds the manifest's answer options on the revision
    /// (`categories.literal`, the SDK's `answer_options` + `save()`), so changing them
    /// leaves every datapoint as it is.
    NewRevision {
        base_revision: u32,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        literal_options: bool,
    },
    /// `PATCH` the name of the remote resource to `to`, so its replacement can be created
    /// under the manifest's name before it is removed.
    MoveAside { to: String },
    /// `POST /order` and its datapoints.
    CreateOrder,
    /// `POST /order/{id}/submit`, once its datapoints converged within tolerance.
    SubmitOrder,
    /// `POST /job` on the revision the manifest wants (`assign_job`).
    CreateJob,
    /// `POST /job/{id}/pause` or `/order/{id}/pause`.
    Pause,
    /// `POST /job/{id}/resume` or `/order/{id}/resume`.
    Resume,
    /// `DELETE` the remote resource (`remoteId`).
    Delete,
    /// `POST /audience/{id}/example` for each example in `examples.add` (assets uploaded
    /// once each), as `audience_example_handler.py` sends them.
    AddExamples,
    /// `DELETE /audience/example/{id}` for `examples.remove` and `examples.duplicates`.
    RemoveExamples,
    /// `POST /audience/{id}/recruit` (`start_recruiting`): once, after the examples are in.
    StartRecruiting,
    /// `renamedFrom`: `PATCH` the name of the remote one found under `from` to the
    /// manifest's (a definition's dataset too). Nothing is uploaded, no job assigned.
    Rename { from: String },
    /// With a project: mark the remote resource made outside `project` as its own, by
    /// writing `to`, nothing else (`plan::project_marker`): an audience's description with
    /// the project's marker (`PATCH /audience/{id}` with the description only), a
    /// definition's dataset name with it (`PATCH /dataset/{id}/name`). Nothing is uploaded
    /// or labeled again; the project's next plan recognises it, and `--prune` finds it
    /// once its manifest is gone.
    AdoptIntoProject { project: String, to: String },
    /// A sharded apply's prepare phase: only the dataset the shards fill (recorded, for a
    /// new definition or for a new revision based on `baseRevision`).
    PrepareDataset { base_revision: Option<u32> },
    /// A sharded apply's prepare phase: only the order (its dataset recorded).
    PrepareOrder,
    /// A shard: upload its datapoints (those listed) into the recorded dataset, nothing else.
    FillShard { index: u32, count: u32 },
}

impl Step {
    /// How a person reads the step.
    pub fn describe(&self) -> String {
        match self {
            Step::CreateAudience => "create the audience".into(),
            Step::UpdateAudience => "update the audience in place".into(),
            Step::CreateValidationSet => "create the validation set".into(),
            Step::AddValidationTasks => "add the missing validation tasks".into(),
            Step::UpdateValidationSet => "set its dimensions and shouldAlert".into(),
            Step::CreateFilteredAudience => {
                "create the filtered audience on its base's graduates".into()
            }
            Step::CreateDefinition => {
                "create a dataset, upload its datapoints, then create the job definition on it".into()
            }
            Step::EditDataset => "edit the datapoints of its dataset (no job runs on it)".into(),
            Step::NewDataset => {
                "create a new dataset with the desired datapoints (the running job's dataset is never edited)".into()
            }
            Step::NewRevision {
                base_revision,
                literal_options: false,
            } => format!("save a new revision (based on revision {base_revision})"),
            Step::NewRevision {
                base_revision,
                literal_options: true,
            } => format!(
                "save a new revision (based on revision {base_revision}) that sets the answer options (no datapoint is uploaded again)"
            ),
            Step::MoveAside { to } => format!("rename the remote one to `{to}` until its replacement is complete"),
            Step::CreateOrder => "create the order and upload its datapoints".into(),
            Step::SubmitOrder => "submit the order once its datapoints are in".into(),
            Step::CreateJob => "assign a new job".into(),
            Step::Pause => "pause".into(),
            Step::Resume => "resume".into(),
            Step::Delete => "delete".into(),
            Step::AddExamples => "add the missing qualification examples".into(),
            Step::RemoveExamples => "remove the qualification examples no longer in the manifest".into(),
            Step::StartRecruiting => "start recruiting labelers (the examples are in)".into(),
            Step::Rename { from } => format!("rename `{from}` in place (nothing is uploaded or labeled again)"),
            Step::AdoptIntoProject { project, .. } => format!(
                "adopt it into project `{project}`: add the project's marker in place (nothing is uploaded or labeled again)"
            ),
            Step::PrepareDataset { .. } => {
                "create the dataset the shards fill (the definition or revision comes with the final apply)".into()
            }
            Step::PrepareOrder => "create the order the shards fill (submitted by the final apply)".into(),
            Step::FillShard { index, count } => {
                format!("upload the datapoints of shard {index} of {count} into the prepared dataset")
            }
        }
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
    /// Remote datapoints without a key (made by other tools) whose content no manifest
    /// datapoint has: left alone.
    pub unmanaged: u64,
    /// Remote datapoints made by other tools (no key) recognised by their content as
    /// manifest datapoints (`plan::adopt`); counted in `unchanged` or `changed` too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub adopted: u64,
    /// Distinct assets the additions need uploaded, and their total size in bytes (local
    /// files; URLs count 0 bytes since the server fetches them).
    pub upload_assets: u64,
    pub upload_bytes: u64,
    /// A new dataset: datapoints of the current dataset that go into it unchanged (their
    /// uploaded files reused), and those that do not (removed or changed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub carried_over: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
    /// Uploaded files the additions reuse instead of uploading again: asset key
    /// (`file:<blake3>` or `url:<url>`) → remote file name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reuse: BTreeMap<String, String>,
    /// A new dataset: the keys whose content the current dataset does not have (uploaded
    /// first; when none of them arrives and nothing is dropped, the new dataset is
    /// abandoned rather than saved as an identical revision).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fresh: Vec<String>,
    /// A new dataset: remote datapoints the manifests no longer list, copied into it from
    /// `keepFrom` (the current dataset) because prune is off; counted in `carriedOver`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<RemoteRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_from: Option<String>,
    /// A new dataset: the current datapoints not carried over (removed with prune,
    /// changed, duplicates), named; `dropped` counts them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_items: Vec<RemoteRef>,
    /// Manifest datapoints that failed to upload earlier and are not in the dataset a job
    /// already runs on: not uploaded (they would need a new dataset, revision and job,
    /// labeling everything again); `--relabel NAME` includes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_earlier: Vec<String>,
}

/// The qualification examples of an audience: a keyed set like datapoints. The key (`fp-`
/// and the content fingerprint) is stored on the example's asset, so every change to an
/// example is "add the new one, remove the old one" (the removal with prune only).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExamplePlan {
    /// Keys of manifest examples to add.
    pub add: Vec<String>,
    /// Remote examples no longer in the manifest, removed (prune only).
    pub remove: Vec<RemoteRef>,
    /// Extra copies of a key that exists more than once remotely; removed.
    pub duplicates: Vec<RemoteRef>,
    /// Managed remote examples not in the manifest, kept because prune is off.
    pub orphaned: u64,
    pub unchanged: u64,
    /// Remote examples without a key (added by other tools) whose content no manifest
    /// example has: left alone.
    pub unmanaged: u64,
    /// Remote examples added by other tools recognised by their content as manifest
    /// examples; counted in `unchanged` too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub adopted: u64,
    /// Distinct media assets the additions upload (each once).
    pub upload_assets: u64,
}

impl ExamplePlan {
    pub fn has_changes(&self) -> bool {
        !self.add.is_empty() || !self.remove.is_empty() || !self.duplicates.is_empty()
    }

    /// Every remote example apply removes.
    pub fn deletions(&self) -> impl Iterator<Item = &RemoteRef> {
        self.remove.iter().chain(&self.duplicates)
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl DatapointPlan {
    /// Remote datapoints that rapidata uploaded (they carry its key).
    pub fn managed(&self) -> u64 {
        (self.unchanged + self.changed.len() as u64 + self.orphaned)
            .saturating_add((self.remove.len() + self.duplicates.len()) as u64)
            .saturating_sub(self.adopted)
    }

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
    /// What a person recognises it by: the first words of its text, or its file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
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
    /// Jobs and orders paused or resumed.
    pub pause_resume: usize,
    /// Resources adopted into the project (with or without other changes).
    pub adopt: usize,
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
                Action::Pause | Action::Resume => s.pause_resume += 1,
                Action::Adopt => {}
                Action::NoChange => {
                    if r.has_changes() {
                        s.change += 1
                    }
                }
            }
            if r.steps
                .iter()
                .any(|x| matches!(x, Step::AdoptIntoProject { .. }))
            {
                s.adopt += 1;
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

    /// Changes that cannot be applied: CI must fail on them.
    pub fn blocked(&self) -> impl Iterator<Item = &ResourcePlan> {
        self.resources
            .iter()
            .filter(|r| r.action == Action::Blocked)
    }
}
