//! The observed remote state, reduced to what `plan` and `apply` reason about.
//!
//! Wire shapes stay in the client; these types are what it returns, so the diff never has
//! to know about `_t` discriminators or paging.

use serde_json::Value;

/// Where `apply` stores a datapoint's identity on the remote: as `TextMetadataInput`
/// entries on the datapoint's top-level `asset` (visibility `Customers`, never shown to
/// labelers). The list endpoint returns asset metadata, so one paged listing is enough to
/// recognise every managed datapoint.
pub const KEY_METADATA: &str = "rapidata-key";
pub const FINGERPRINT_METADATA: &str = "rapidata-fingerprint";

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteDatapoint {
    pub id: String,
    /// The key rapidata stored on it; for a datapoint made by another tool (`adopted`),
    /// `fp-` + the fingerprint of its listed content (`content_identity`); `None` when
    /// neither exists (unmanaged, left alone).
    pub key: Option<String>,
    /// Compact: a million remote datapoints hold 40 MB of fingerprints, not 104.
    pub fingerprint: Option<crate::manifest::fingerprint::Hex64>,
    /// Names of the uploaded files it uses (asset parts, then context asset), so a new
    /// dataset can reuse them instead of uploading the bytes again.
    pub files: Vec<String>,
    /// Made by another tool: `key`/`fingerprint` come from its content, and the plan uses
    /// them only to recognise a manifest datapoint with the same content (`plan::adopt`).
    pub adopted: bool,
    /// The answer options it carries (its `answer_options` segment; datapoints of one page
    /// that carry the same share them). A classification datapoint's stored fingerprint
    /// covers the options it was uploaded with (`plan::identity`), which a revision that
    /// binds other options literally leaves as they are.
    pub answer_options: Option<std::sync::Arc<[String]>>,
}

/// What one cheap read says of a dataset: how many datapoints it has and which is the
/// newest (validates a cached observation, `plan::observation_cache`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetHead {
    pub total: u64,
    pub newest: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteJobDefinition {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

/// The latest (or a given) revision of a job definition.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteRevision {
    pub definition_id: String,
    pub number: u32,
    pub dataset_id: String,
    /// Wire `IOrderWorkflowInput`, as returned.
    pub workflow: Value,
    /// Wire `IReferee`, as returned.
    pub referee: Value,
    /// Wire `FeatureFlag` list (`featureFlags`).
    pub feature_flags: Vec<(String, String)>,
    /// What a new revision carries over unchanged because the manifests do not manage it
    /// (`_revision_body._full_body`): `campaignFeatureFlags`, `aggregatorType`,
    /// `validationSetId`, as returned.
    pub carry_over: RevisionCarryOver,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RevisionCarryOver {
    pub campaign_feature_flags: Value,
    pub aggregator_type: Value,
    pub validation_set_id: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteJob {
    pub id: String,
    pub name: String,
    pub definition_id: String,
    pub audience_id: String,
    pub revision_number: u32,
    pub state: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteAudience {
    pub id: String,
    pub name: String,
    pub filters: Vec<Value>,
    pub description: Option<String>,
    pub created_at: String,
    /// A filtered audience's base (`baseAudienceId` of `GET /audience/{id}`; the listing
    /// does not carry it, so observation reads it for filtered Audience manifests).
    pub base_audience_id: Option<String>,
    /// `AudienceStatus`: `Created` until recruiting starts, then `Pending`, `Recruiting`,
    /// `Ready`.
    pub status: String,
    /// Whether the distilling (recruiting) campaign runs.
    pub is_distilling: bool,
    /// A public (curated) audience owned by Rapidata: its own ready pool, no funnel.
    pub is_public: bool,
    /// Wire `IGraduationRule`, as returned.
    pub graduation_rule: Value,
    /// Qualification examples (observed by `plan` for manifest audiences).
    pub examples: Vec<RemoteExample>,
    /// Labelers per recruiting state (`GET /audience/{id}/user-metrics`), read once
    /// recruiting has started.
    pub metrics: Option<RecruitingMetrics>,
}

impl RemoteAudience {
    /// Whether recruiting has been started (`start_recruiting`): the status leaves
    /// `Created` (`recruiting.py` `audience_will_never_produce_responses`).
    pub fn recruiting_started(&self) -> bool {
        self.status != "Created" || self.is_distilling
    }
}

/// A qualification example of an audience, as `GET /audience/{id}/examples` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteExample {
    pub id: String,
    /// The manifest key stored in the asset's metadata; for an example added by another
    /// tool (`adopted`), the key a manifest example with its content has
    /// (`example_identity`); `None` when neither exists (unmanaged, left alone).
    pub key: Option<String>,
    pub fingerprint: Option<String>,
    /// Added by another tool: recognised by its content, never removed.
    pub adopted: bool,
}

pub use super::progress::RecruitingMetrics;

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteOrder {
    pub id: String,
    pub name: String,
    pub state: String,
    /// Known only from the `POST /order` response (fact 16): `GET /order/{id}` does not
    /// carry it. Filled in by observation from what this machine recorded at create.
    pub dataset_id: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DatasetProgress {
    pub total: u64,
    pub ready: u64,
    pub pending: u64,
    pub failed: u64,
}

/// Outcome of one URL in a batch upload.
#[derive(Debug, Clone, PartialEq)]
pub enum UrlUpload {
    Completed {
        file_name: String,
    },
    Failed {
        message: String,
        stage: Option<String>,
        upstream_http_status: Option<u16>,
        /// The trace id of the answer that reported the failure (the items carry none).
        trace_id: Option<String>,
    },
}
