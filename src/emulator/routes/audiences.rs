//! Audiences: the public `global` audience, and custom audiences that recruit only once asked
//! to (`POST /audience/{id}/recruit`), graduating simulated labelers against their examples
//! (`simulation/recruiting.rs`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::jobs::{current, job_row};
use super::runs::{set_timeline, timeline_of};
use crate::emulator::auth::{ORGANIZATION_ID, USER_ID, USER_MAIL};
use crate::emulator::http::{
    json, no_content, opt, opt_str, parse_body, view, ApiError, ApiResult,
};
use crate::emulator::query::{camel, page_items, Query};
use crate::emulator::simulation::{funnel, RecruitSnapshot, RunState};
use crate::emulator::store::{
    asset_get, new_id, now, now_ms, obj_delete, obj_delete_children, obj_get, obj_insert, obj_list,
    obj_update,
};
use crate::emulator::{blocking, AppState, Shared};

/// Qualification examples a custom audience needs before anyone graduates: "Annotators only
/// graduate once the audience has at least 3 qualification examples and recruiting has
/// started" (`rapidata_client/audience/rapidata_audience.py`, `_warn_if_no_graduated_annotators`).
pub(crate) const MIN_EXAMPLES: usize = 3;

/// The public audience every emulator starts with.
pub(crate) const GLOBAL_AUDIENCE: &str = "global";

/// Where audience logos are served from.
const LOGO_HOST: &str = "https://assets.rapidata.emulator/";

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
        "status": if public { "Ready" } else { "Created" },
        "qualifiedUserCount": 0,
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

pub(crate) fn load_audience(conn: &rusqlite::Connection, id: &str) -> ApiResult<Value> {
    obj_get(conn, "audience", id)?.ok_or_else(|| ApiError::not_found("Audience", id))
}

/// A filtered audience's base (`None` for any other audience).
fn base_of(doc: &Value) -> Option<&str> {
    doc.get("_base").and_then(Value::as_str)
}

/// The audience whose labelers answer `doc`'s jobs: `doc` itself, or for a filtered audience
/// its base audience (its graduates, its recruiting) restricted by the base's filters and the
/// filtered audience's own. A filtered audience whose base is gone has nobody.
pub(crate) fn effective_audience(conn: &rusqlite::Connection, doc: &Value) -> ApiResult<Value> {
    let Some(base_id) = base_of(doc) else {
        return Ok(doc.clone());
    };
    let Some(base) = obj_get(conn, "audience", base_id)? else {
        let mut nobody = doc.clone();
        nobody["isPublic"] = Value::Bool(false);
        return Ok(nobody);
    };
    let mut eff = base.clone();
    let mut filters: Vec<Value> = base["filters"].as_array().cloned().unwrap_or_default();
    filters.extend(doc["filters"].as_array().cloned().unwrap_or_default());
    eff["filters"] = Value::from(filters);
    Ok(eff)
}

/// The audience with its recruiting funnel brought up to `now` (a filtered audience's is its
/// base's).
fn current_audience(
    s: &AppState,
    c: &rusqlite::Connection,
    doc: &Value,
    now: i64,
) -> ApiResult<Value> {
    let eff = effective_audience(c, doc)?;
    let (status, _, graduated, dropped) = funnel(&eff, s.simulation().global_pool, now);
    let mut d = doc.clone();
    d["status"] = Value::from(status);
    d["qualifiedUserCount"] = Value::from(graduated);
    d["isDistilling"] = Value::Bool(RecruitSnapshot::of(doc).is_some());
    if d.get("isPublic").and_then(Value::as_bool) != Some(true) {
        d["graduated"] = Value::from(graduated);
        d["dropped"] = Value::from(dropped);
    }
    Ok(d)
}

/// Refuses what a filtered audience does not have: examples, recruiting and filters of its
/// own (`rapidata_client/audience/rapidata_filtered_audience.py`: those live only on the base).
pub(crate) fn not_filtered(doc: &Value, id: &str, what: &str) -> ApiResult<()> {
    match base_of(doc) {
        Some(base) => Err(ApiError::field(
            "audienceId",
            format!(
                "Audience '{id}' is a filtered view on audience '{base}' and has no {what} of its own; \
                 change the base audience, or create another filtered audience with \
                 POST /audience/{base}/filter."
            ),
        )),
        None => Ok(()),
    }
}

fn owned(doc: &Value, id: &str) -> ApiResult<()> {
    if doc.get("isPublic").and_then(Value::as_bool) == Some(true) {
        return Err(
            ApiError::new(StatusCode::FORBIDDEN, "Forbidden").detail(format!(
                "Audience '{id}' is a public audience owned by Rapidata."
            )),
        );
    }
    Ok(())
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
    if let Some(d) = opt(&input, "description") {
        doc["description"] = d.clone();
    }
    let aid = id.clone();
    blocking(&state, move |s| {
        s.store
            .write(|tx| obj_insert(tx, "audience", &aid, None, &doc))
    })
    .await?;
    Ok(json(&json!({"audienceId": id})))
}

pub(super) async fn get_audience(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| {
        s.store
            .read(|c| current_audience(s, c, &load_audience(c, &id)?, now_ms()))
    })
    .await?;
    Ok(json(&view("GetAudienceByIdEndpointOutput", &doc)))
}

/// Fields of `UpdateAudienceEndpointInput` that change whose users graduate (an update of
/// one of them dispatches a recalculation).
const STATE_FIELDS: &[&str] = &[
    "graduationRule",
    "maxDistillingResponses",
    "dropMinResponses",
    "dropScore",
    "maxDistillingSessions",
    "minSubmissionRate",
    "minSessionsForSubmissionRate",
    "minSubmissionRateGraduated",
];

pub(super) async fn update_audience(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "UpdateAudienceEndpointInput")?;
    let out = blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut doc = load_audience(tx, &id)?;
            owned(&doc, &id)?;
            if opt(&input, "filters").is_some()
                || STATE_FIELDS.iter().any(|k| opt(&input, k).is_some())
            {
                not_filtered(&doc, &id, "filters or graduation rule")?;
            }
            let mut recalc = false;
            let mut sync = false;
            let declared =
                crate::contract::Contract::get().properties("GetAudienceByIdEndpointOutput");
            for (key, value) in input.as_object().into_iter().flatten() {
                match key.as_str() {
                    // Required on read: null means "leave as is".
                    "name" | "filters" | "graduationRule" | "distillingRetrievalMode"
                        if value.is_null() => {}
                    "name" if value.as_str().is_some_and(|n| n.trim().is_empty()) => {
                        return Err(ApiError::field("name", "The name must not be empty."));
                    }
                    "logo" => {
                        doc["logo"] = match opt_str(value, "name") {
                            Some(name) => {
                                if asset_get(tx, name)?.is_none() {
                                    return Err(ApiError::field(
                                        "logo.name",
                                        format!("Asset '{name}' was never uploaded."),
                                    ));
                                }
                                Value::from(format!("{LOGO_HOST}{name}"))
                            }
                            None => Value::Null,
                        };
                    }
                    k if declared.contains(&k) => {
                        recalc |= STATE_FIELDS.contains(&k);
                        sync |= k == "inactivityDropDays" && !value.is_null();
                        doc[k] = value.clone();
                    }
                    _ => {}
                }
            }
            obj_update(tx, "audience", &id, &doc)?;
            Ok(json!({
                "recalculationId": if recalc { Value::from(new_id()) } else { Value::Null },
                "inactivitySyncId": if sync { Value::from(new_id()) } else { Value::Null },
            }))
        })
    })
    .await?;
    Ok(json(&out))
}

pub(super) async fn delete_audience(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let doc = load_audience(tx, &id)?;
            owned(&doc, &id)?;
            let now = now_ms();
            // Jobs outlive their audience; those still running can never finish.
            for job in obj_list(tx, "job", None)? {
                if job["audienceId"].as_str() != Some(id.as_str()) {
                    continue;
                }
                let (_, e) = current(s, tx, &job, now)?;
                let mut job = job;
                job["audienceDeleted"] = Value::Bool(true);
                job["audienceName"] = Value::Null;
                job["_audience"] = doc.clone();
                if let (Some(mut t), false) = (
                    timeline_of(&job),
                    e.is_some_and(|e| e.state == RunState::Completed),
                ) {
                    t.end = Some(now);
                    set_timeline(&mut job, &t);
                }
                let jid = job["jobId"].as_str().unwrap_or_default().to_string();
                obj_update(tx, "job", &jid, &job)?;
            }
            obj_delete_children(tx, "example", &id)?;
            obj_delete(tx, "audience", &id)?;
            Ok(())
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn recruit(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        let sim = s.simulation();
        s.store.write(|tx| {
            let mut doc = load_audience(tx, &id)?;
            not_filtered(&doc, &id, "recruiting")?;
            // Public audiences have their pool; recruiting twice is a no-op (as in the SDK).
            if doc.get("isPublic").and_then(Value::as_bool) == Some(true)
                || RecruitSnapshot::of(&doc).is_some()
            {
                return Ok(());
            }
            let enough = obj_list(tx, "example", Some(&id))?.len() >= MIN_EXAMPLES;
            let snap = RecruitSnapshot::new(&sim, now_ms(), enough);
            doc["_recruit"] = serde_json::to_value(snap).unwrap_or(Value::Null);
            obj_update(tx, "audience", &id, &doc)
        })
    })
    .await?;
    Ok(no_content())
}

/// `POST /audience/{baseAudienceId}/filter` (contract v3, fact 21): a filtered view on the
/// base audience's graduates, as `RapidataAudience.filter` sends it (one filter; several as an
/// `AndFilter`). Its id is prefixed `fau_` like the service's
/// (`rapidata_client/audience/rapidata_filtered_audience.py`); its name is the base's.
pub(super) async fn create_filtered_audience(
    State(state): State<Shared>,
    Path(base): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateFilteredAudienceEndpointInput")?;
    let id = format!("fau_{}", new_id());
    let aid = id.clone();
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let base_doc = load_audience(tx, &base)?;
            if let Some(b) = base_of(&base_doc) {
                return Err(ApiError::field(
                    "baseAudienceId",
                    format!("Audience '{base}' is itself a filtered view on '{b}'; filter '{b}' instead."),
                ));
            }
            let name = base_doc["name"].as_str().unwrap_or_default();
            let mut doc = audience_doc(&aid, name, &json!([input["filter"]]), false, &now());
            doc["baseAudienceId"] = Value::from(base.as_str());
            doc["_base"] = Value::from(base.as_str());
            doc["graduationRule"] = base_doc["graduationRule"].clone();
            obj_insert(tx, "audience", &aid, None, &doc)
        })
    })
    .await?;
    Ok(json(&json!({"audienceId": id})))
}

pub(super) async fn user_metrics(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (doc, pool) = blocking(&state, move |s| {
        s.store.read(|c| {
            let doc = effective_audience(c, &load_audience(c, &id)?)?;
            Ok((doc, s.simulation().global_pool))
        })
    })
    .await?;
    let (_, users, graduated, _) = funnel(&doc, pool, now_ms());
    let capacity = match graduated {
        0 => "None",
        1..=9 => "Low",
        _ => "Sufficient",
    };
    Ok(json(&json!({"usersPerState": users, "capacity": capacity})))
}

pub(super) async fn list_audiences(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let items = blocking(&state, move |s| {
        s.store.read(|c| {
            let now = now_ms();
            obj_list(c, "audience", None)?
                .iter()
                .map(|d| {
                    let mut a = current_audience(s, c, d, now)?;
                    a["isShared"] = Value::Bool(false);
                    Ok(view("QueryAudiencesEndpointOutput", &a))
                })
                .collect::<ApiResult<Vec<_>>>()
        })
    })
    .await?;
    Ok(json(&page_items(items, &query, &camel)?))
}

pub(super) async fn audience_jobs(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let items = blocking(&state, move |s| {
        s.store.read(|c| {
            load_audience(c, &id)?;
            let now = now_ms();
            obj_list(c, "job", None)?
                .iter()
                .filter(|d| d["audienceId"].as_str() == Some(id.as_str()))
                .map(|d| {
                    let (_, e) = current(s, c, d, now)?;
                    Ok(view(
                        "QueryAudienceJobsEndpointOutput",
                        &job_row(d, e.as_ref()),
                    ))
                })
                .collect::<ApiResult<Vec<Value>>>()
        })
    })
    .await?;
    Ok(json(&page_items(items, &query, &|f| match f {
        "status" => "state".into(),
        other => camel(other),
    })?))
}
