//! Response bodies → observed-state types. Lenient like the SDK: unknown fields are
//! ignored, and only what `plan` needs must be present.

use serde_json::Value;

use super::model::*;

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn u(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

/// Pull a required string, naming the field when it is missing.
pub(crate) fn req_str(v: &Value, k: &str) -> Result<String, String> {
    s(v, k).ok_or_else(|| format!("missing string field `{k}`"))
}

fn req_u32(v: &Value, k: &str) -> Result<u32, String> {
    u(v, k)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("missing integer field `{k}`"))
}

pub(crate) fn job_definition(item: &Value) -> Result<RemoteJobDefinition, String> {
    Ok(RemoteJobDefinition {
        id: req_str(item, "definitionId")?,
        name: req_str(item, "name")?,
        created_at: s(item, "createdAt").unwrap_or_default(),
    })
}

pub(crate) fn revision(v: &Value) -> Result<RemoteRevision, String> {
    let flags = v
        .get("featureFlags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| Some((s(f, "key")?, s(f, "value")?)))
                .collect()
        })
        .unwrap_or_default();
    Ok(RemoteRevision {
        definition_id: req_str(v, "definitionId")?,
        number: req_u32(v, "revisionNumber")?,
        dataset_id: req_str(v, "datasetId")?,
        workflow: v
            .get("workflow")
            .cloned()
            .ok_or("missing field `workflow`")?,
        referee: v.get("referee").cloned().ok_or("missing field `referee`")?,
        feature_flags: flags,
        carry_over: RevisionCarryOver {
            campaign_feature_flags: v
                .get("campaignFeatureFlags")
                .cloned()
                .unwrap_or_else(|| Value::Array(Vec::new())),
            aggregator_type: v.get("aggregatorType").cloned().unwrap_or(Value::Null),
            validation_set_id: v.get("validationSetId").cloned().unwrap_or(Value::Null),
        },
    })
}

/// A job from `GET /jobs` (`jobDefinitionId`) or `GET /job/{id}` (`definitionId`).
pub(crate) fn job(v: &Value) -> Result<RemoteJob, String> {
    Ok(RemoteJob {
        id: req_str(v, "jobId")?,
        name: s(v, "name").unwrap_or_default(),
        definition_id: s(v, "jobDefinitionId")
            .or_else(|| s(v, "definitionId"))
            .ok_or("missing field `jobDefinitionId`")?,
        audience_id: req_str(v, "audienceId")?,
        revision_number: req_u32(v, "revisionNumber")?,
        state: s(v, "state").unwrap_or_default(),
        created_at: s(v, "createdAt").unwrap_or_default(),
    })
}

pub(crate) fn audience(v: &Value) -> Result<RemoteAudience, String> {
    Ok(RemoteAudience {
        id: req_str(v, "id")?,
        name: req_str(v, "name")?,
        filters: v
            .get("filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        description: s(v, "description"),
        created_at: s(v, "createdAt").unwrap_or_default(),
        base_audience_id: s(v, "baseAudienceId"),
        status: s(v, "status").unwrap_or_default(),
        is_distilling: v
            .get("isDistilling")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        is_public: v.get("isPublic").and_then(Value::as_bool).unwrap_or(false),
        graduation_rule: v.get("graduationRule").cloned().unwrap_or(Value::Null),
        examples: Vec::new(),
        metrics: None,
    })
}

/// An order from `GET /orders` (has `id`) or `GET /order/{id}` (does not: pass it).
pub(crate) fn order(v: &Value, id: Option<&str>) -> Result<RemoteOrder, String> {
    let id = match id {
        Some(id) => id.to_string(),
        None => req_str(v, "id")?,
    };
    Ok(RemoteOrder {
        id,
        name: req_str(v, "orderName")?,
        state: s(v, "state").unwrap_or_default(),
        dataset_id: None,
        created_at: s(v, "orderDate").unwrap_or_default(),
    })
}

pub(crate) fn progress(v: &Value) -> Result<DatasetProgress, String> {
    let n = |k: &str| u(v, k).ok_or_else(|| format!("missing integer field `{k}`"));
    Ok(DatasetProgress {
        total: n("total")?,
        ready: n("ready")?,
        pending: n("pending")?,
        failed: n("failed")?,
    })
}

/// Number of pages of a paged result (`totalPages`, else from `total`/`pageSize`).
pub(crate) fn page_count(v: &Value) -> u64 {
    if let Some(n) = u(v, "totalPages") {
        return n;
    }
    match (u(v, "total"), u(v, "pageSize")) {
        (Some(total), Some(size)) if size > 0 => total.div_ceil(size),
        _ => 1,
    }
}

pub(crate) fn items(v: &Value) -> Result<&Vec<Value>, String> {
    v.get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| "missing array field `items`".to_string())
}

/// One URL of a finished batch.
pub(crate) fn url_result(item: &Value) -> Option<(String, UrlUpload)> {
    let url = s(item, "url")?;
    let status = s(item, "status").unwrap_or_default();
    let outcome = match (status.as_str(), s(item, "fileName")) {
        ("Completed", Some(file_name)) => UrlUpload::Completed { file_name },
        _ => UrlUpload::Failed {
            message: s(item, "errorMessage").unwrap_or_else(|| format!("upload status {status}")),
            stage: s(item, "stage"),
            upstream_http_status: u(item, "upstreamHttpStatus").and_then(|n| u16::try_from(n).ok()),
            trace_id: None,
        },
    };
    Some((url, outcome))
}
