//! Jobs (a definition revision assigned to an audience) and audiences.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::definitions::{load_definition, load_revision};
use crate::emulator::auth::{ORGANIZATION_ID, USER_ID, USER_MAIL};
use crate::emulator::datapoints::dataset_get;
use crate::emulator::http::{json, opt, opt_str, parse_body, ApiError, ApiResult};
use crate::emulator::query::{camel, page_items, Query};
use crate::emulator::store::{new_id, now, obj_get, obj_insert, obj_list};
use crate::emulator::{blocking, Shared};

/// The public audience every emulator starts with.
pub(crate) const GLOBAL_AUDIENCE: &str = "global";

/// A stored audience, in the `GetAudienceByIdEndpointOutput` shape.
pub(crate) fn audience_doc(
    id: &str,
    name: &str,
    filters: &Value,
    public: bool,
    created: &str,
) -> Value {
    json!({
        "id": id,
        "baseAudienceId": id,
        "name": name,
        "status": "Ready",
        "qualifiedUserCount": if public { 1000 } else { 0 },
        "filters": filters,
        "createdAt": created,
        "ownerId": USER_ID,
        "ownerMail": USER_MAIL,
        "organizationId": ORGANIZATION_ID,
        "isPublic": public,
        "isDistilling": false,
        "distillingCampaignId": format!("{id}-distilling"),
        "graduationRule": {"_t": "TaskAccuracy", "targetAccuracy": 0.75, "minTasks": 10},
        "distillingRetrievalMode": "Random",
        "boostLevel": if public { "Global" } else { "None" },
    })
}

pub(super) async fn create_audience(
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateAudienceEndpointInput")?;
    let name = opt_str(&input, "name").unwrap_or_default().to_string();
    if name.trim().is_empty() {
        return Err(ApiError::field("name", "The name must not be empty."));
    }
    let filters = opt(&input, "filters").cloned().unwrap_or_else(|| json!([]));
    let id = new_id();
    let mut doc = audience_doc(&id, &name, &filters, false, &now());
    if let Some(rule) = opt(&input, "graduationRule") {
        doc["graduationRule"] = rule.clone();
    }
    if let Some(d) = opt_str(&input, "description") {
        doc["description"] = json!(d);
    }
    let aid = id.clone();
    blocking(&state, move |s| {
        s.store
            .write(|tx| obj_insert(tx, "audience", &aid, None, &doc))
    })
    .await?;
    Ok(json(&json!({"audienceId": id})))
}

fn load_audience(conn: &rusqlite::Connection, id: &str) -> ApiResult<Value> {
    obj_get(conn, "audience", id)?.ok_or_else(|| ApiError::not_found("Audience", id))
}

pub(super) async fn get_audience(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| s.store.read(|c| load_audience(c, &id))).await?;
    Ok(json(&doc))
}

pub(super) async fn user_metrics(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| s.store.read(|c| load_audience(c, &id))).await?;
    let users = doc
        .get("qualifiedUserCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(json(
        &json!({"usersPerState": {"Graduated": users, "Distilling": 0}, "capacity": if users > 0 { "Sufficient" } else { "None" }}),
    ))
}

pub(super) async fn list_audiences(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let docs = blocking(&state, move |s| {
        s.store.read(|c| obj_list(c, "audience", None))
    })
    .await?;
    let items = docs
        .into_iter()
        .map(|mut d| {
            d["isShared"] = Value::Bool(false);
            d
        })
        .collect();
    Ok(json(&page_items(items, &query, &camel)?))
}

pub(super) async fn create_job(State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateJobEndpointInput")?;
    let id = new_id();
    let job_id = id.clone();
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let def_id = opt_str(&input, "jobDefinitionId").unwrap_or_default();
            let def = load_definition(tx, def_id).map_err(|_| {
                ApiError::field(
                    "jobDefinitionId",
                    format!("Job definition '{def_id}' does not exist."),
                )
            })?;
            let aud_id = opt_str(&input, "audienceId").unwrap_or_default();
            let audience = load_audience(tx, aud_id).map_err(|_| {
                ApiError::field("audienceId", format!("Audience '{aud_id}' does not exist."))
            })?;
            let latest = def
                .get("revisionCount")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let n = opt(&input, "revisionNumber")
                .and_then(Value::as_u64)
                .unwrap_or(latest);
            let revision = load_revision(tx, def_id, n).map_err(|_| {
                ApiError::field(
                    "revisionNumber",
                    format!("Revision {n} of '{def_id}' does not exist."),
                )
            })?;
            let name = opt_str(&input, "name")
                .map(String::from)
                .unwrap_or_else(|| def["name"].as_str().unwrap_or_default().to_string());
            let doc = json!({
                "jobId": job_id,
                "name": name,
                "definitionId": def_id,
                "audienceId": aud_id,
                "audienceName": audience["name"],
                "revisionNumber": n,
                "pipelineId": revision["pipelineId"],
                "datasetId": revision["datasetId"],
                "campaignId": null,
                "state": "Running",
                "isPublic": false,
                "audienceDeleted": false,
                "createdAt": now(),
                "ownerId": USER_ID,
                "ownerMail": USER_MAIL,
                "organizationId": ORGANIZATION_ID,
                "priority": opt(&input, "priority").cloned().unwrap_or(Value::Null),
                "precedingJobId": opt(&input, "precedingJobId").cloned().unwrap_or(Value::Null),
            });
            obj_insert(tx, "job", &job_id, Some(def_id), &doc)
        })
    })
    .await?;
    Ok(json(&json!({"jobId": id, "recruitingStarted": true})))
}

fn load_job(conn: &rusqlite::Connection, id: &str) -> ApiResult<Value> {
    obj_get(conn, "job", id)?.ok_or_else(|| ApiError::not_found("Job", id))
}

pub(super) async fn get_job(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| s.store.read(|c| load_job(c, &id))).await?;
    Ok(json(&doc))
}

pub(super) async fn job_progress(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let total = blocking(&state, move |s| {
        s.store.read(|c| {
            let job = load_job(c, &id)?;
            let ds = job
                .get("datasetId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Ok(dataset_get(c, ds)?.map(|d| d.count).unwrap_or(0))
        })
    })
    .await?;
    Ok(json(
        &json!({"completionPercentage": 0, "total": total, "completed": 0, "state": "Labeling", "responseCount": 0}),
    ))
}

pub(super) async fn list_jobs(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let docs = blocking(&state, move |s| s.store.read(|c| obj_list(c, "job", None))).await?;
    let items = docs
        .into_iter()
        .map(|d| {
            json!({
                "jobId": d["jobId"], "name": d["name"], "jobDefinitionId": d["definitionId"], "audienceId": d["audienceId"],
                "revisionNumber": d["revisionNumber"], "pipelineId": d["pipelineId"], "campaignId": d["campaignId"],
                "state": d["state"], "ownerMail": d["ownerMail"], "organizationId": d["organizationId"],
                "createdAt": d["createdAt"], "progress": 0, "isShared": false,
            })
        })
        .collect();
    Ok(json(&page_items(items, &query, &|f| {
        if f == "id" {
            "jobId".into()
        } else {
            camel(f)
        }
    })?))
}
