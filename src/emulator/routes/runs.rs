//! What jobs and orders share: their stored run (`_sim` timeline, `_run` workflow, referee and
//! dataset), evaluating it now, and releasing successors when a run goes away.

use rusqlite::{Connection, Transaction};
use serde_json::{json, Value};

use super::audiences::effective_audience;
use crate::emulator::http::{ApiError, ApiResult};
use crate::emulator::simulation::{evaluate, Evaluation, RunInput, Timeline, ValidationSnapshot};
use crate::emulator::store::{obj_get, obj_list, obj_update};
use crate::emulator::AppState;

/// Longest chain of preceding runs followed when evaluating one.
const MAX_CHAIN: u32 = 32;

pub(crate) fn timeline_of(doc: &Value) -> Option<Timeline> {
    serde_json::from_value(doc.get("_sim")?.clone()).ok()
}

pub(crate) fn set_timeline(doc: &mut Value, t: &Timeline) {
    doc["_sim"] = serde_json::to_value(t).unwrap_or(Value::Null);
}

/// The stored `_run` of a job or order: what it labels.
pub(crate) fn run_spec(workflow: &Value, referee: &Value, dataset_id: &Value) -> Value {
    json!({"workflow": workflow, "referee": referee, "datasetId": dataset_id})
}

/// RFC 3339 UTC of unix milliseconds, as the service writes timestamps.
pub(crate) fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Unix milliseconds of a stored timestamp.
pub(crate) fn millis(text: Option<&str>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Evaluates a stored job (`kind` "job") or submitted order (`kind` "order") at `now`;
/// `None` for an order that was never submitted.
pub(crate) fn evaluate_doc(
    s: &AppState,
    c: &Connection,
    kind: &str,
    doc: &Value,
    now: i64,
) -> ApiResult<Option<Evaluation>> {
    eval_at_depth(s, c, kind, doc, now, 0)
}

fn eval_at_depth(
    s: &AppState,
    c: &Connection,
    kind: &str,
    doc: &Value,
    now: i64,
    depth: u32,
) -> ApiResult<Option<Evaluation>> {
    let Some(t) = timeline_of(doc) else {
        return Ok(None);
    };
    let run = doc.get("_run").unwrap_or(&Value::Null);
    let audience = if kind == "job" {
        let id = doc.get("audienceId").and_then(Value::as_str).unwrap_or("");
        match obj_get(c, "audience", id)? {
            Some(a) => Some(effective_audience(c, &a)?),
            None => doc.get("_audience").cloned(),
        }
    } else {
        None
    };
    let predecessor_end = match (&t.after, t.not_before) {
        (Some(p), None) if depth < MAX_CHAIN => match obj_get(c, kind, p)? {
            Some(pred) => {
                eval_at_depth(s, c, kind, &pred, now, depth + 1)?.and_then(|e| e.ended_at)
            }
            None => Some(i64::MIN),
        },
        _ => None,
    };
    let id = doc
        .get(if kind == "job" { "jobId" } else { "id" })
        .and_then(Value::as_str)
        .unwrap_or("");
    let input = RunInput {
        id,
        timeline: &t,
        dataset_id: run.get("datasetId").and_then(Value::as_str).unwrap_or(""),
        workflow: run.get("workflow").unwrap_or(&Value::Null),
        referee: run.get("referee").unwrap_or(&Value::Null),
        audience: audience.as_ref(),
        predecessor_end,
        validation: ValidationSnapshot::of(run),
    };
    evaluate(c, &input, &s.plans, now).map(Some)
}

/// Runs a closure over the run input of a stored document (results downloads).
pub(crate) fn with_input<T>(
    c: &Connection,
    kind: &str,
    doc: &Value,
    predecessor_end: Option<i64>,
    f: impl FnOnce(&RunInput<'_>) -> ApiResult<T>,
) -> ApiResult<T> {
    let t = timeline_of(doc).ok_or_else(|| ApiError::internal("run without a timeline"))?;
    let run = doc.get("_run").unwrap_or(&Value::Null);
    let audience = if kind == "job" {
        let id = doc.get("audienceId").and_then(Value::as_str).unwrap_or("");
        match obj_get(c, "audience", id)? {
            Some(a) => Some(effective_audience(c, &a)?),
            None => doc.get("_audience").cloned(),
        }
    } else {
        None
    };
    let id = doc
        .get(if kind == "job" { "jobId" } else { "id" })
        .and_then(Value::as_str)
        .unwrap_or("");
    f(&RunInput {
        id,
        timeline: &t,
        dataset_id: run.get("datasetId").and_then(Value::as_str).unwrap_or(""),
        workflow: run.get("workflow").unwrap_or(&Value::Null),
        referee: run.get("referee").unwrap_or(&Value::Null),
        audience: audience.as_ref(),
        predecessor_end,
        validation: ValidationSnapshot::of(run),
    })
}

/// Before a run is deleted: the runs queued behind it start when it ended, or now.
pub(crate) fn release_successors(
    s: &AppState,
    tx: &Transaction<'_>,
    kind: &str,
    id: &str,
    doc: &Value,
    now: i64,
) -> ApiResult<()> {
    let ended = evaluate_doc(s, tx, kind, doc, now)?
        .and_then(|e| e.ended_at)
        .unwrap_or(now);
    let key = if kind == "job" { "jobId" } else { "id" };
    for mut other in obj_list(tx, kind, None)? {
        let Some(mut t) = timeline_of(&other) else {
            continue;
        };
        if t.after.as_deref() == Some(id) && t.not_before.is_none() {
            t.not_before = Some(ended);
            set_timeline(&mut other, &t);
            let oid = other[key].as_str().unwrap_or_default().to_string();
            obj_update(tx, kind, &oid, &other)?;
        }
    }
    Ok(())
}

/// Gives jobs and submitted orders stored by an emulator before contract v2 (no `_sim`, no
/// `_run`) a timeline from their creation time and what they label, so a state directory
/// survives the upgrade. Runs at start-up.
pub(crate) fn migrate(tx: &Transaction<'_>, sim: &crate::emulator::Simulation) -> ApiResult<()> {
    let timeline = |created: Option<i64>| {
        Timeline::new(
            created.unwrap_or_else(crate::emulator::store::now_ms),
            sim.seed,
            sim.responses_per_second,
            sim.start_delay_ms,
            sim.global_pool,
        )
    };
    for mut job in obj_list(tx, "job", None)? {
        if job.get("_sim").is_some() {
            continue;
        }
        let def = job["definitionId"].as_str().unwrap_or_default();
        let n = job["revisionNumber"].as_u64().unwrap_or(1);
        let rev = obj_get(tx, "revision", &format!("{def}/{n}"))?.unwrap_or(Value::Null);
        job["_run"] = run_spec(&rev["workflow"], &rev["referee"], &rev["datasetId"]);
        let mut t = timeline(millis(job["createdAt"].as_str()));
        t.after = job["precedingJobId"].as_str().map(String::from);
        set_timeline(&mut job, &t);
        let id = job["jobId"].as_str().unwrap_or_default().to_string();
        obj_update(tx, "job", &id, &job)?;
    }
    for mut order in obj_list(tx, "order", None)? {
        if order.get("_run").is_some() {
            continue;
        }
        order["_run"] = run_spec(&order["workflow"], &order["referee"], &order["datasetId"]);
        if order["state"] == "Submitted" {
            let t = timeline(millis(order["orderDate"].as_str()));
            set_timeline(&mut order, &t);
        }
        let id = order["id"].as_str().unwrap_or_default().to_string();
        obj_update(tx, "order", &id, &order)?;
    }
    Ok(())
}
