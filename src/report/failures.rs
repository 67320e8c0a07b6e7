//! Failure records: what went wrong with which datapoint, in the shape of the SDK's
//! `FailedUpload` (item, error message, error type, timestamp, plus trace id, stage and
//! HTTP status), grouped by reason like `failures_by_reason`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::manifest::{Origin, ResourceKind};

/// The datapoint a failure is about, pointing back at its manifest line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailedItem {
    pub resource_kind: ResourceKind,
    pub resource: String,
    pub key: String,
    pub file: PathBuf,
    pub line: usize,
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
    /// Whether retrying can help; permanent failures are not retried.
    pub permanent: bool,
}

impl FailureRecord {
    pub fn new(
        kind: ResourceKind,
        resource: &str,
        key: &str,
        origin: &Origin,
        error_type: impl Into<String>,
        error_message: impl Into<String>,
        permanent: bool,
    ) -> Self {
        FailureRecord {
            item: FailedItem {
                resource_kind: kind,
                resource: resource.to_string(),
                key: key.to_string(),
                file: origin.file.clone(),
                line: origin.line,
            },
            error_message: error_message.into(),
            error_type: error_type.into(),
            timestamp: chrono::Utc::now(),
            trace_id: None,
            stage: None,
            http_status: None,
            permanent,
        }
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

/// Per-resource outcome of an apply, for the report and the exit code.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceOutcome {
    pub kind: ResourceKind,
    pub name: String,
    pub remote_id: Option<String>,
    pub desired: u64,
    pub present: u64,
    pub failed: u64,
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
    pub requests: u64,
    pub resources: Vec<ResourceOutcome>,
    pub failures_by_reason: BTreeMap<String, u64>,
    pub failures: Vec<FailureRecord>,
}

impl ApplyReport {
    /// Write the report as pretty JSON, creating parent directories.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(tmp, path)
    }
}
