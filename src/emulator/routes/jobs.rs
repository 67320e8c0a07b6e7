//! Jobs: a definition revision assigned to an audience, labeled by the simulated labelers
//! (`simulation/`). The stored job keeps its timeline (`_sim`) and what it labels (`_run`:
//! the revision's workflow, referee and dataset), so deleting the definition or the audience
//! never changes a job's history.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::audiences::load_audience;
use super::definitions::{load_definition, load_revision};
use super::runs::{
    evaluate_doc, iso, millis, release_successors, run_spec, set_timeline, timeline_of, with_input,
};
use crate::emulator::auth::{ORGANIZATION_ID, USER_ID, USER_MAIL};
use crate::emulator::datapoints::dataset_get;
use crate::emulator::http::{
    json, no_content, opt, opt_str, parse_body, view, ApiError, ApiResult,
};
use crate::emulator::query::{camel, page_items, Query};
use crate::emulator::simulation::{results_document, Evaluation, Referee, RunState, Timeline};
use crate::emulator::store::{
    new_id, now, now_ms, obj_delete, obj_get, obj_insert, obj_list, obj_next_seq, obj_update,
};
use crate::emulator::{blocking, AppState, Shared};

pub(crate) fn load_job(conn: &rusqlite::Connection, id: &str) -> ApiResult<Value> {
    obj_get(conn, "job", id)?.ok_or_else(|| ApiError::not_found("Job", id))
}

/// `AudienceJobState` of an evaluated job.
pub(crate) fn job_state(e: Option<&Evaluation>) -> &'static str {
    match e.map(|e| e.state) {
        Some(RunState::Queued) => "Queued",
        Some(RunState::Paused) => "Paused",
        Some(RunState::Completed) => "Completed",
        Some(RunState::Failed) => "Failed",
        _ => "Running",
    }
}

/// The job document with its state fields brought up to `now`.
pub(crate) fn current(
    s: &AppState,
    c: &rusqlite::Connection,
    doc: &Value,
    now: i64,
) -> ApiResult<(Value, Option<Evaluation>)> {
    let e = evaluate_doc(s, c, "job", doc, now)?;
    let mut d = doc.clone();
    d["state"] = Value::from(job_state(e.as_ref()));
    let ended = e.as_ref().and_then(|e| e.ended_at).map(iso);
    let completed = e.as_ref().is_some_and(|e| e.state == RunState::Completed);
    let failed = e.as_ref().is_some_and(|e| e.state == RunState::Failed);
    d["completedAt"] = if completed {
        ended.clone().into()
    } else {
        Value::Null
    };
    d["resultFileName"] = if completed {
        Value::from(format!(
            "{}-results.json",
            doc["jobId"].as_str().unwrap_or("job")
        ))
    } else {
        Value::Null
    };
    d["failedAt"] = if failed { ended.into() } else { Value::Null };
    d["failureMessage"] = if failed {
        Value::from("The job's audience was deleted before the job completed.")
    } else {
        Value::Null
    };
    Ok((d, e))
}

pub(super) async fn create_job(State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateJobEndpointInput")?;
    let id = new_id();
    let job_id = id.clone();
    blocking(&state, move |s| {
        let sim = s.simulation();
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
            let preceding = opt_str(&input, "precedingJobId");
            if let Some(p) = preceding {
                if obj_get(tx, "job", p)?.is_none() {
                    return Err(ApiError::field(
                        "precedingJobId",
                        format!("Job '{p}' does not exist."),
                    ));
                }
            }
            let name = opt_str(&input, "name")
                .map(String::from)
                .unwrap_or_else(|| def["name"].as_str().unwrap_or_default().to_string());
            let created = now_ms();
            let mut timeline = Timeline::new(
                created,
                sim.seed,
                sim.responses_per_second,
                sim.start_delay_ms,
                sim.global_pool,
            );
            timeline.after = preceding.map(String::from);
            timeline.key = format!("run{}", obj_next_seq(tx)?);
            let mut doc = json!({
                "jobId": job_id,
                "name": name,
                "definitionId": def_id,
                "audienceId": aud_id,
                "audienceName": audience["name"],
                "revisionNumber": n,
                "pipelineId": revision["pipelineId"],
                "campaignId": null,
                "state": "Running",
                "isPublic": false,
                "audienceDeleted": false,
                "experimentId": opt(&input, "experimentId").cloned().unwrap_or(Value::Null),
                "createdAt": iso(created),
                "ownerId": USER_ID,
                "ownerMail": USER_MAIL,
                "organizationId": ORGANIZATION_ID,
                "_run": run_spec(&revision["workflow"], &revision["referee"], &revision["datasetId"]),
            });
            // The revision's validation set, as it is now: its labelers are scored against it.
            if let Some(v) = super::validation_sets::snapshot(tx, revision["validationSetId"].as_str())? {
                doc["_run"]["validationSet"] = v;
            }
            set_timeline(&mut doc, &timeline);
            obj_insert(tx, "job", &job_id, Some(def_id), &doc)
        })
    })
    .await?;
    // Recruiting is explicit (`POST /audience/{id}/recruit`): creating a job never starts it.
    Ok(json(&json!({"jobId": id, "recruitingStarted": false})))
}

pub(super) async fn get_job(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| {
        s.store.read(|c| {
            let job = load_job(c, &id)?;
            Ok(current(s, c, &job, now_ms())?.0)
        })
    })
    .await?;
    Ok(json(&view("GetJobByIdEndpointOutput", &doc)))
}

pub(super) async fn update_job(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "UpdateJobEndpointInput")?;
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut job = load_job(tx, &id)?;
            if let Some(name) = opt_str(&input, "name") {
                if name.trim().is_empty() {
                    return Err(ApiError::field("name", "The name must not be empty."));
                }
                job["name"] = Value::from(name);
                obj_update(tx, "job", &id, &job)?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn delete_job(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let job = load_job(tx, &id)?;
            release_successors(s, tx, "job", &id, &job, now_ms())?;
            obj_delete(tx, "job", &id)?;
            Ok(())
        })
    })
    .await?;
    Ok(no_content())
}

/// Pauses or resumes a job's timeline; a finished job cannot be paused or resumed.
pub(crate) fn set_paused(
    s: &AppState,
    tx: &rusqlite::Transaction<'_>,
    kind: &str,
    id: &str,
    pause: bool,
) -> ApiResult<()> {
    let mut doc = obj_get(tx, kind, id)?
        .ok_or_else(|| ApiError::not_found(if kind == "job" { "Job" } else { "Order" }, id))?;
    let now = now_ms();
    let Some(mut t) = timeline_of(&doc) else {
        return Err(
            ApiError::new(StatusCode::CONFLICT, "Order not submitted").detail(format!(
                "Order '{id}' has not been submitted, so it is not running."
            )),
        );
    };
    let e = evaluate_doc(s, tx, kind, &doc, now)?;
    if let Some(e) = e.filter(|e| matches!(e.state, RunState::Completed | RunState::Failed)) {
        let what = if e.state == RunState::Completed {
            "completed"
        } else {
            "failed"
        };
        return Err(
            ApiError::new(StatusCode::CONFLICT, format!("Already {what}")).detail(format!(
                "'{id}' has already {what}; it can no longer be paused or resumed."
            )),
        );
    }
    if pause {
        t.pause(now);
    } else {
        t.resume(now);
    }
    set_timeline(&mut doc, &t);
    obj_update(tx, kind, id, &doc)
}

/// `POST /{job|order}/{id}/pause` and `/resume`: one handler body for both kinds.
pub(super) async fn pause_or_resume(
    state: Shared,
    kind: &'static str,
    id: String,
    paused: bool,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        s.store.write(|tx| set_paused(s, tx, kind, &id, paused))
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn pause_job(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    pause_or_resume(state, "job", id, true).await
}

pub(super) async fn resume_job(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    pause_or_resume(state, "job", id, false).await
}

pub(super) async fn job_progress(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let e = blocking(&state, move |s| {
        s.store.read(|c| {
            let job = load_job(c, &id)?;
            evaluate_doc(s, c, "job", &job, now_ms())?
                .ok_or_else(|| ApiError::internal("job without a timeline"))
        })
    })
    .await?;
    let labeling = match e.state {
        RunState::Queued => "Created",
        RunState::Starting => "Started",
        RunState::Running => "Labeling",
        RunState::Paused => "Paused",
        RunState::Completed => "Done",
        RunState::Failed => "Failed",
    };
    Ok(json(&json!({
        "completionPercentage": e.percentage(),
        "total": e.units,
        "completed": e.completed_units,
        "state": labeling,
        "responseCount": e.responses,
    })))
}

/// A `QueryJobsEndpointOutput` / `QueryAudienceJobsEndpointOutput` row of a stored job.
pub(crate) fn job_row(d: &Value, e: Option<&Evaluation>) -> Value {
    let progress = e
        .filter(|e| e.responses > 0 || e.state == RunState::Completed)
        .map(|e| {
            if e.required == 0 {
                1.0
            } else {
                e.responses as f64 / e.required as f64
            }
        });
    json!({
        "jobId": d["jobId"], "name": d["name"], "jobDefinitionId": d["definitionId"], "definitionId": d["definitionId"],
        "audienceId": d["audienceId"], "revisionNumber": d["revisionNumber"], "pipelineId": d["pipelineId"],
        "campaignId": d["campaignId"], "state": job_state(e), "ownerMail": d["ownerMail"],
        "organizationId": d["organizationId"], "createdAt": d["createdAt"], "progress": progress, "isShared": false,
    })
}

pub(super) async fn list_jobs(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let items = blocking(&state, move |s| {
        s.store.read(|c| {
            let now = now_ms();
            obj_list(c, "job", None)?
                .iter()
                .map(|d| {
                    let e = evaluate_doc(s, c, "job", d, now)?;
                    Ok(view("QueryJobsEndpointOutput", &job_row(d, e.as_ref())))
                })
                .collect::<ApiResult<Vec<Value>>>()
        })
    })
    .await?;
    Ok(json(&page_items(items, &query, &|f| {
        if f == "id" {
            "jobId".into()
        } else {
            camel(f)
        }
    })?))
}

/// `{estimatedCost, costPerResponse, datapointCount, requiredResponses}`, or 409 while not
/// priced yet (within the pricing delay of `created`, or no datapoints to price).
pub(crate) fn cost_estimate(
    s: &AppState,
    c: &rusqlite::Connection,
    created: Option<i64>,
    dataset_id: &str,
    referee: &Value,
) -> ApiResult<Value> {
    let sim = s.simulation();
    let not_ready = |why: &str| {
        ApiError::new(StatusCode::CONFLICT, "Cost estimate not available yet")
            .detail(why.to_string())
    };
    if created.is_some_and(|t| now_ms() < t + sim.pricing_delay_ms as i64) {
        return Err(not_ready(
            "The estimate is being priced; try again shortly.",
        ));
    }
    let count = dataset_get(c, dataset_id)?
        .map(|d| d.count)
        .unwrap_or(0)
        .max(0) as u64;
    if count == 0 {
        return Err(not_ready("There are no datapoints to price yet."));
    }
    let referee = Referee::parse(referee).ok_or_else(|| not_ready("The referee is unbounded."))?;
    let required = referee.required_responses(count);
    let cost = ((required as f64) * sim.price_per_response * 10_000.0).round() / 10_000.0;
    Ok(json!({
        "estimatedCost": cost,
        "costPerResponse": sim.price_per_response,
        "datapointCount": count,
        "requiredResponses": required,
    }))
}

pub(super) async fn job_cost(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let body = blocking(&state, move |s| {
        s.store.read(|c| {
            let job = load_job(c, &id)?;
            let run = &job["_run"];
            cost_estimate(
                s,
                c,
                millis(job["createdAt"].as_str()),
                run["datasetId"].as_str().unwrap_or(""),
                &run["referee"],
            )
        })
    })
    .await?;
    Ok(json(&body))
}

/// A results document as a JSON file attachment.
pub(crate) fn attachment(body: &Value, file_name: &str) -> Response {
    let mut resp = json(body);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

pub(super) async fn job_results(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let file = format!("{id}-results.json");
    let doc = blocking(&state, move |s| {
        s.store.read(|c| {
            let job = load_job(c, &id)?;
            let e = evaluate_doc(s, c, "job", &job, now_ms())?
                .ok_or_else(|| ApiError::internal("job without a timeline"))?;
            let name = job["name"].as_str().unwrap_or_default().to_string();
            with_input(c, "job", &job, None, |input| {
                results_document(c, input, &e, &name, &now())
            })
        })
    })
    .await?;
    Ok(attachment(&doc, &file))
}
