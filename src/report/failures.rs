//! Failure records: what went wrong with which datapoint or resource, in the shape of the
//! SDK's `FailedUpload` (item, error message, error type, timestamp, plus trace id, stage
//! and HTTP status), grouped by reason like `failures_by_reason`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::manifest::{Asset, Datapoint, Origin, ResourceKind};
use crate::remote::{ApiError, FailureClass};

/// The datapoint (or, with no `key`, the resource) a failure is about, pointing back at
/// its manifest or source line and at its assets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailedItem {
    pub resource_kind: ResourceKind,
    pub resource: String,
    /// The datapoint's key; absent for a resource-level failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The manifest or source file (JSONL/CSV) the item came from, as the user sees it;
    /// absent only for a remote resource the manifests no longer have.
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    /// The datapoint's local files (as the user sees them) and URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    pub item: FailedItem,
    /// Human-readable reason; failures are grouped by it.
    pub error_message: String,
    /// `AssetUploadFailed` when an asset failed (the message is the asset's reason), else
    /// the API's error kind (`ValidationError`, `ServerError`, `OutcomeUnknown`, ...).
    pub error_type: String,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    pub trace_id: Option<String>,
    /// Ingestion stage of a failed asset (as the asset service reports it).
    pub stage: Option<String>,
    pub http_status: Option<u16>,
    /// The asset that failed to upload (`AssetUploadFailed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// What the failure means: `transient` (retried by later rounds), `permanent` (not
    /// retried) or `outcomeUnknown` (a create that may have happened; the next observation
    /// decides).
    pub class: FailureClass,
    /// `class == permanent`, kept for readers of format version 1.
    pub permanent: bool,
}

/// An asset as the user sees it: a local path relative to the working directory when it
/// lies below it, or the URL. Inline text has no source of its own.
pub fn asset_source(a: &Asset) -> Option<String> {
    match a {
        Asset::File { path, .. } => {
            // `path` is canonical; the working directory may not be.
            let shown = std::env::current_dir()
                .ok()
                .and_then(|cwd| {
                    let canonical = cwd.canonicalize().ok();
                    path.strip_prefix(&cwd)
                        .ok()
                        .or_else(|| canonical.as_deref().and_then(|c| path.strip_prefix(c).ok()))
                        .map(Path::to_path_buf)
                })
                .unwrap_or_else(|| path.clone());
            Some(shown.display().to_string())
        }
        Asset::Url(u) => Some(u.clone()),
        Asset::Uploaded(name) => Some(format!("uploaded:{name}")),
        Asset::Text(_) => None,
    }
}

impl FailureRecord {
    /// A failure of one datapoint.
    pub fn datapoint(
        kind: ResourceKind,
        resource: &str,
        dp: &Datapoint,
        class: FailureClass,
        error_type: impl Into<String>,
        error_message: impl Into<String>,
    ) -> Self {
        FailureRecord {
            item: FailedItem {
                resource_kind: kind,
                resource: resource.to_string(),
                key: Some(dp.key.clone()),
                file: Some(dp.origin.file.to_path_buf()),
                line: Some(dp.origin.line),
                assets: dp
                    .assets
                    .iter()
                    .chain(dp.context_asset.as_ref())
                    .filter_map(asset_source)
                    .collect(),
            },
            error_message: error_message.into(),
            error_type: error_type.into(),
            timestamp: chrono::Utc::now(),
            trace_id: None,
            stage: None,
            http_status: None,
            asset: None,
            class,
            permanent: class == FailureClass::Permanent,
        }
    }

    /// A failure of a keyed item that is not a datapoint (an audience's qualification
    /// example), at its manifest line.
    #[allow(clippy::too_many_arguments)]
    pub fn keyed(
        kind: ResourceKind,
        resource: &str,
        key: &str,
        origin: &Origin,
        assets: Vec<String>,
        class: FailureClass,
        error_type: impl Into<String>,
        error_message: impl Into<String>,
    ) -> Self {
        FailureRecord {
            item: FailedItem {
                resource_kind: kind,
                resource: resource.to_string(),
                key: Some(key.to_string()),
                file: Some(origin.file.to_path_buf()),
                line: Some(origin.line),
                assets,
            },
            error_message: error_message.into(),
            error_type: error_type.into(),
            timestamp: chrono::Utc::now(),
            trace_id: None,
            stage: None,
            http_status: None,
            asset: None,
            class,
            permanent: class == FailureClass::Permanent,
        }
    }

    /// A failure of a resource-level step (creating the definition, assigning the job, ...).
    pub fn resource(
        kind: ResourceKind,
        name: &str,
        origin: Option<&Origin>,
        step: &StepFailure,
    ) -> Self {
        FailureRecord {
            item: FailedItem {
                resource_kind: kind,
                resource: name.to_string(),
                key: None,
                file: origin.map(|o| o.file.to_path_buf()),
                line: origin.map(|o| o.line),
                assets: Vec::new(),
            },
            error_message: step.message.clone(),
            error_type: step.error_type.clone(),
            timestamp: chrono::Utc::now(),
            trace_id: step.trace_id.clone(),
            stage: None,
            http_status: step.http_status,
            asset: None,
            class: step.class,
            permanent: step.class == FailureClass::Permanent,
        }
    }

    /// Trace id, status and stage of the API error behind this failure.
    pub fn with_api_details(mut self, e: &ApiError) -> Self {
        self.trace_id = e.trace_id().map(str::to_string);
        self.http_status = e.http_status();
        self.stage = e.stage().map(str::to_string);
        self
    }
}

/// Why a resource-level step failed: the message for people (what was being done, the
/// reason, the trace id once) and the typed details for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFailure {
    pub message: String,
    pub error_type: String,
    pub class: FailureClass,
    pub trace_id: Option<String>,
    pub http_status: Option<u16>,
}

impl StepFailure {
    /// `doing` failed with an API error.
    pub fn api(doing: &str, e: &ApiError) -> Self {
        StepFailure {
            message: format!("{doing} failed: {e}"),
            error_type: e.kind().to_string(),
            class: e.class(),
            trace_id: e.trace_id().map(str::to_string),
            http_status: e.http_status(),
        }
    }
}

/// A step that could not run (its dependency is missing, the API cannot do it): the next
/// round, after a fresh observation, tries again.
impl From<String> for StepFailure {
    fn from(message: String) -> Self {
        StepFailure {
            message,
            error_type: "NotApplied".into(),
            class: FailureClass::Transient,
            trace_id: None,
            http_status: None,
        }
    }
}

impl From<&str> for StepFailure {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

/// For callers that keep only the message.
impl From<StepFailure> for String {
    fn from(f: StepFailure) -> Self {
        f.message
    }
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Failures grouped by reason, largest group first (ties by reason), as the SDK's
/// `failures_by_reason`.
pub fn by_reason(failures: &[FailureRecord]) -> Vec<(String, Vec<&FailureRecord>)> {
    let mut groups: BTreeMap<&str, Vec<&FailureRecord>> = BTreeMap::new();
    for f in failures {
        groups.entry(f.error_message.as_str()).or_default().push(f);
    }
    let mut out: Vec<(String, Vec<&FailureRecord>)> = groups
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    out.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Per-resource outcome of an apply, for the report and the exit code. The counts come
/// from the last observation of the remote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceOutcome {
    pub kind: ResourceKind,
    pub name: String,
    pub remote_id: Option<String>,
    /// Datapoints the manifests declare.
    pub desired: u64,
    /// Desired datapoints the remote holds.
    pub present: u64,
    /// Desired datapoints the remote does not hold (failed, or not attempted yet after an
    /// interruption).
    pub missing: u64,
    /// Missing datapoints with a failure record.
    pub failed: u64,
    /// `missing / desired`: what the failure tolerance is checked against.
    pub failure_rate: f64,
    pub failure_tolerance: f64,
    /// Jobs are assigned and orders submitted only when this holds.
    pub within_tolerance: bool,
    /// What apply left undone for this resource and why (e.g. a job not assigned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The JSON report apply writes (`--report FILE`, and always under `.rapidata/reports/`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub format_version: u32,
    pub api: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
    pub rounds: u32,
    pub converged: bool,
    pub interrupted: bool,
    /// Why apply stopped before it could finish (the API went away, the first observation
    /// failed); the counts are then from the last observation that succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub requests: u64,
    pub resources: Vec<ResourceOutcome>,
    pub failures_by_reason: BTreeMap<String, u64>,
    pub failures: Vec<FailureRecord>,
}

/// Attempts at a unique report name before giving up.
const NAME_ATTEMPTS: u32 = 16;

impl ApplyReport {
    /// The report of an apply that could not start (nothing observed, nothing changed).
    pub fn not_started(
        api: &str,
        started_at: chrono::DateTime<chrono::Utc>,
        error: String,
    ) -> Self {
        ApplyReport {
            format_version: 1,
            api: api.to_string(),
            started_at,
            finished_at: chrono::Utc::now(),
            rounds: 0,
            converged: false,
            interrupted: false,
            error: Some(error),
            requests: 0,
            resources: Vec::new(),
            failures_by_reason: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    fn json(&self) -> std::io::Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(std::io::Error::other)
    }

    /// Write the report as pretty JSON to `path` (replacing it), creating parent
    /// directories.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let json = self.json()?;
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&tmp, json)?;
        std::fs::rename(tmp, path)
    }

    /// Write the report into `dir` under a new name, `apply-<start, ms>-<random>.json`,
    /// never replacing an existing file (two applies in the same millisecond, or in the
    /// same second on another machine sharing the directory, each keep their report).
    pub fn write_new(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let json = self.json()?;
        let stamp = self.started_at.format("%Y%m%dT%H%M%S%.3fZ");
        let mut last = None;
        for _ in 0..NAME_ATTEMPTS {
            let path = dir.join(format!(
                "apply-{stamp}-{:06x}.json",
                fastrand::u32(..1 << 24)
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(&json)?;
                    f.sync_all()?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no unique report name")))
    }
}
