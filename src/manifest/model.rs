//! The desired state after parsing and validation: what `plan` diffs against the remote.
//!
//! These types are deliberately free of YAML concerns (spans, raw shapes); the parser in
//! this module resolves sources (JSONL, CSV, globs), paths and keys before building them,
//! so everything downstream can trust them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where something was declared, so every later message (plan, failure report) can point
/// the user back at the manifest line that caused it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Origin {
    /// Path as the user sees it (relative to the working directory when possible). Shared
    /// by every datapoint of a source file: a million rows hold one path, not a million.
    pub file: Arc<Path>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// All resources of all manifests given on the command line, in a stable order
/// (file path order, then document order).
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// The manifest root: local asset paths must stay inside it.
    pub root: PathBuf,
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone)]
pub enum Resource {
    JobDefinition(JobDefinition),
    Order(Order),
    Job(Job),
    Audience(Audience),
    ValidationSet(ValidationSet),
}

impl Resource {
    pub fn name(&self) -> &str {
        match self {
            Resource::JobDefinition(r) => &r.name,
            Resource::Order(r) => &r.name,
            Resource::Job(r) => &r.name,
            Resource::Audience(r) => &r.name,
            Resource::ValidationSet(r) => &r.name,
        }
    }

    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::JobDefinition(_) => ResourceKind::JobDefinition,
            Resource::Order(_) => ResourceKind::Order,
            Resource::Job(_) => ResourceKind::Job,
            Resource::Audience(_) => ResourceKind::Audience,
            Resource::ValidationSet(_) => ResourceKind::ValidationSet,
        }
    }

    /// `renamedFrom`: the names it had before (none for orders).
    pub fn renamed_from(&self) -> &[String] {
        match self {
            Resource::JobDefinition(d) => &d.renamed_from,
            Resource::Job(j) => &j.renamed_from,
            Resource::Audience(a) => &a.renamed_from,
            Resource::Order(_) | Resource::ValidationSet(_) => &[],
        }
    }

    pub fn origin(&self) -> &Origin {
        match self {
            Resource::JobDefinition(r) => &r.origin,
            Resource::Order(r) => &r.origin,
            Resource::Job(r) => &r.origin,
            Resource::Audience(r) => &r.origin,
            Resource::ValidationSet(r) => &r.origin,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ResourceKind {
    /// Before the definitions that name them.
    ValidationSet,
    Audience,
    JobDefinition,
    Order,
    Job,
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResourceKind::Audience => "Audience",
            ResourceKind::ValidationSet => "ValidationSet",
            ResourceKind::JobDefinition => "JobDefinition",
            ResourceKind::Order => "Order",
            ResourceKind::Job => "Job",
        })
    }
}

/// The labeling task: one variant per workflow the official SDK offers. Each maps to one
/// rapid spec (or the grouped ranking workflow) on the wire; see `remote::wire_build`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Task {
    /// Pick one of `answer_options` (rapid `Classify`).
    Classify {
        instruction: String,
        answer_options: Vec<String>,
    },
    /// Pick the better of two or more assets (rapid `Compare`, `MultiAssetInput`).
    Compare { instruction: String },
    /// Free text answer (rapid `FreeText`).
    FreeText { instruction: String },
    /// Click a point (rapid `Locate`).
    Locate { instruction: String },
    /// Draw lines (rapid `Line`).
    Draw { instruction: String },
    /// Select words of a sentence (rapid `Transcription`, the datapoint's `sentence`).
    SelectWords { instruction: String },
    /// Mark a moment in audio or video (rapid `Scrub`).
    Timestamp { instruction: String },
    /// Rank the datapoints of each group by pairwise comparisons (`GroupedRankingWorkflow`).
    Ranking {
        instruction: String,
        comparison_budget_per_ranking: u32,
        responses_per_comparison: u32,
    },
}

impl Task {
    pub fn instruction(&self) -> &str {
        match self {
            Task::Classify { instruction, .. }
            | Task::Compare { instruction }
            | Task::FreeText { instruction }
            | Task::Locate { instruction }
            | Task::Draw { instruction }
            | Task::SelectWords { instruction }
            | Task::Timestamp { instruction }
            | Task::Ranking { instruction, .. } => instruction,
        }
    }

    /// The manifest spelling of the job type (`type:` field).
    pub fn type_name(&self) -> &'static str {
        match self {
            Task::Classify { .. } => "classify",
            Task::Compare { .. } => "compare",
            Task::FreeText { .. } => "freeText",
            Task::Locate { .. } => "locate",
            Task::Draw { .. } => "draw",
            Task::SelectWords { .. } => "selectWords",
            Task::Timestamp { .. } => "timestamp",
            Task::Ranking { .. } => "ranking",
        }
    }
}

/// How many responses a datapoint gets. Mirrors the SDK: a fixed count (`NaiveReferee`),
/// or stop early when answers agree (`QuorumReferee`, `EarlyStoppingReferee`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Referee {
    Naive {
        responses_per_datapoint: u32,
    },
    Quorum {
        threshold: u32,
        max_votes: u32,
    },
    EarlyStopping {
        confidence_threshold: f64,
        max_votes: u32,
    },
}

impl Default for Referee {
    /// The SDK's default: 10 responses per datapoint.
    fn default() -> Self {
        Referee::Naive {
            responses_per_datapoint: 10,
        }
    }
}

/// What a job definition and an order share: the task, who judges, and the data.
#[derive(Debug, Clone)]
pub struct LabelingSpec {
    pub task: Task,
    pub referee: Referee,
    /// Feature flags (`settings:` in the manifest), sent as `rapidFeatureFlags`.
    pub settings: BTreeMap<String, String>,
    /// Fraction (0..=1) of datapoints that may fail while the job is still assigned or
    /// the order still submitted. Default 0, like the SDK.
    pub failure_tolerance: f64,
    /// Remove remote datapoints that are no longer in the manifest.
    pub prune: bool,
    /// Identities resident, content read again when needed (see [`super::Datapoints`]).
    pub datapoints: super::Datapoints,
    /// `validationSet:`: the ValidationSet manifest the revision names (`validationSetId`);
    /// `None` leaves the remote revision's as it is.
    pub validation_set: Option<String>,
}

#[derive(Debug, Clone)]
pub struct JobDefinition {
    pub name: String,
    pub origin: Origin,
    pub spec: LabelingSpec,
    /// `renamedFrom`: names it had before (renamed in place when found under one).
    pub renamed_from: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub name: String,
    pub origin: Origin,
    pub spec: LabelingSpec,
    /// Submit the order once its datapoints are in (within tolerance).
    pub run: bool,
    /// Maximum estimated cost (`budget:`).
    pub budget: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub origin: Origin,
    /// Manifest name of the JobDefinition.
    pub definition: String,
    pub audience: AudienceRef,
    /// Pin to a revision; `None` follows the latest.
    pub revision: Option<u32>,
    /// Desired run state: paused or running.
    pub paused: bool,
    /// Manifest name of a Job this one queues behind (`precedingJobId`).
    pub run_after: Option<String>,
    /// What happens to the old job when a new one replaces it.
    pub on_replace: OnReplace,
    /// Maximum estimated cost (`budget:`): not assigned above it.
    pub budget: Option<f64>,
    /// `renamedFrom`: names it had before.
    pub renamed_from: Vec<String>,
}

pub use super::raw::OnReplace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudienceRef {
    /// A remote audience id, such as `global`.
    Id(String),
    /// The name of an `Audience` manifest.
    Manifest(String),
}

#[derive(Debug, Clone)]
pub struct Audience {
    pub name: String,
    pub origin: Origin,
    pub description: Option<String>,
    /// A filtered audience's base (`base:`): made with `POST /audience/{base}/filter`, with
    /// no examples, admission or recruiting of its own. Resolved against Audience manifests
    /// like a Job's `audience`.
    pub base: Option<AudienceRef>,
    /// Wire-shaped `IAudienceFilter` objects (with `_t`), checked against the contract and
    /// with country and language codes normalised as the SDK does.
    pub filters: Vec<serde_json::Value>,
    /// The graduation rule `TaskAccuracy`; `None` leaves the API's default.
    pub admission: Option<Admission>,
    /// Start recruiting once the examples are in.
    pub recruit: bool,
    /// Remove remote examples that are no longer in the manifest.
    pub prune: bool,
    pub examples: Vec<Example>,
    /// `renamedFrom`: names it had before.
    pub renamed_from: Vec<String>,
}

/// A validation set: tasks with known answers (`POST /validation-set`), each a keyed
/// [`Example`] (the set's type, instruction and options in every task), added with
/// `POST /validation-set/{id}/rapid`.
#[derive(Debug, Clone)]
pub struct ValidationSet {
    pub name: String,
    pub origin: Origin,
    pub tasks: Vec<Example>,
    /// `dimensions:` (`update_dimensions`); `None` leaves them.
    pub dimensions: Option<Vec<String>>,
    /// `shouldAlert:` (`update_should_alert`); `None` leaves the API's default.
    pub should_alert: Option<bool>,
    /// Remove remote tasks no longer in the manifest (by replacing the set).
    pub prune: bool,
}

/// `admission:` of an audience: graduation rule `TaskAccuracy`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Admission {
    pub target_accuracy: f64,
    pub min_tasks: u32,
    pub max_tasks: Option<u32>,
}

/// A box of a locate or draw truth, in ratios of the asset's size (0..1).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TruthBox {
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
}

/// What an example asks and its right answer: one variant per `add_*_example` of the SDK.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ExampleTask {
    Classify {
        instruction: String,
        answer_options: Vec<String>,
        truth: Vec<String>,
    },
    /// `truth` is the index of the winning asset.
    Compare { instruction: String, truth: usize },
    Locate {
        instruction: String,
        truth: Vec<TruthBox>,
    },
    Draw {
        instruction: String,
        truth: Vec<TruthBox>,
    },
    SelectWords {
        instruction: String,
        sentence: String,
        truth: Vec<usize>,
    },
}

/// One qualification example, with its identity resolved.
#[derive(Debug, Clone)]
pub struct Example {
    /// `fp-` + fingerprint: examples have no explicit keys; any change is a new example.
    pub key: String,
    /// blake3 over the canonical encoding of the whole example (files by content).
    pub fingerprint: String,
    pub origin: Origin,
    pub task: ExampleTask,
    /// One asset, or two for `compare`.
    pub assets: Vec<Asset>,
    pub context: Option<String>,
    pub context_asset: Option<Asset>,
    pub explanation: Option<String>,
}

/// One datapoint, with its identity resolved.
#[derive(Debug, Clone)]
pub struct Datapoint {
    /// Stable identity: the explicit `key`, or else the fingerprint.
    pub key: String,
    /// Whether `key` was written by the user (then a content change is "changed", not
    /// "remove one, add another").
    pub explicit_key: bool,
    /// blake3 (hex) over the canonical encoding of everything that defines the datapoint;
    /// local files contribute their bytes' hash, not their path.
    pub fingerprint: String,
    /// The manifest line (inline datapoint) or source line (JSONL/CSV row) it came from.
    pub origin: Origin,
    /// One asset, or several for `compare`.
    pub assets: Vec<Asset>,
    pub context: Option<String>,
    pub context_asset: Option<Asset>,
    pub private_metadata: BTreeMap<String, String>,
    pub group: Option<String>,
    /// The sentence for `selectWords` (the SDK's transcription segment).
    pub sentence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Asset {
    /// A local media file, already checked to be inside the manifest root.
    File {
        /// Absolute, canonical path used for reading.
        path: PathBuf,
        /// The file name sent in the multipart upload.
        file_name: String,
        size: u64,
        /// blake3 (hex) of the file's bytes; two datapoints with the same bytes share one
        /// upload.
        content_hash: String,
    },
    Url(String),
    Text(String),
    /// A file that exists only remotely (`{uploaded: ...}`), by its remote `fileName`:
    /// nothing to upload, sent as an existing asset.
    Uploaded(String),
}
