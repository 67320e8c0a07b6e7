//! The legacy order API. `POST /order` also creates the order's dataset (default schema) and
//! returns its id; nothing else reveals it (`GET /order/{id}` has no `datasetId`, fact 16).
//! A submitted order is labeled like a job on the global audience.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::jobs::{attachment, pause_or_resume};
use super::runs::{
    evaluate_doc, release_successors, run_spec, set_timeline, timeline_of, with_input,
};
use crate::emulator::auth::USER_MAIL;
use crate::emulator::datapoints::{dataset_delete, dataset_insert};
use crate::emulator::http::{
    is_empty_body, json, no_content, opt_str, parse_body, view, ApiError, ApiResult,
};
use crate::emulator::query::{camel, page_items, Query};
use crate::emulator::segments::default_schema;
use crate::emulator::simulation::{results_document, Evaluation, RunState, Timeline};
use crate::emulator::store::{
    new_id, now, now_ms, obj_delete, obj_get, obj_insert, obj_list, obj_next_seq, obj_update,
};
use crate::emulator::{blocking, AppState, Shared};

pub(super) async fn create_order(State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateOrder")?;
    let name = opt_str(&input, "orderName").unwrap_or_default().to_string();
    if name.trim().is_empty() {
        return Err(ApiError::field(
            "orderName",
            "The order name must not be empty.",
        ));
    }
    let (id, dataset, pipeline) = (new_id(), new_id(), new_id());
    let doc = json!({
        "id": id,
        "orderName": name,
        "customerMail": USER_MAIL,
        "orderDate": now(),
        "state": "Created",
        "pipelineId": pipeline,
        "isLocked": false,
        "isPublic": false,
        "failureMessage": null,
        "_run": run_spec(&input["workflow"], &input["referee"], &Value::from(dataset.clone())),
        "_after": null,
    });
    let (oid, did) = (id.clone(), dataset.clone());
    blocking(&state, move |s| {
        s.store.write(|tx| {
            dataset_insert(tx, &did, &format!("{name}_dataset"), &default_schema())?;
            obj_insert(tx, "order", &oid, None, &doc)
        })
    })
    .await?;
    Ok(json(
        &json!({"orderId": id, "pipelineId": pipeline, "datasetId": dataset, "campaignId": null}),
    ))
}

fn load_order(conn: &rusqlite::Connection, id: &str) -> ApiResult<Value> {
    obj_get(conn, "order", id)?.ok_or_else(|| ApiError::not_found("Order", id))
}

/// `OrderState` of a submitted order's run.
fn order_state(e: &Evaluation) -> &'static str {
    match e.state {
        RunState::Queued => "Queued",
        RunState::Starting => "Submitted",
        RunState::Running => "Processing",
        RunState::Paused => "Paused",
        RunState::Completed => "Completed",
        RunState::Failed => "Failed",
    }
}

/// The order with its state brought up to now.
fn current(s: &AppState, c: &rusqlite::Connection, doc: &Value) -> ApiResult<Value> {
    let mut d = doc.clone();
    if let Some(e) = evaluate_doc(s, c, "order", doc, now_ms())? {
        d["state"] = Value::from(order_state(&e));
    }
    Ok(d)
}

pub(super) async fn get_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| {
        s.store.read(|c| current(s, c, &load_order(c, &id)?))
    })
    .await?;
    Ok(json(&view("GetOrderByIdEndpointOutput", &doc)))
}

async fn transition(
    state: Shared,
    id: String,
    body: Bytes,
    definition: &'static str,
    to: &'static str,
) -> ApiResult<Response> {
    if !is_empty_body(&body) {
        parse_body(&body, definition)?;
    }
    blocking(&state, move |s| {
        let sim = s.simulation();
        s.store.write(|tx| {
            let mut doc = load_order(tx, &id)?;
            if timeline_of(&doc).is_some() {
                return Ok(()); // Submitted already: both are no-ops.
            }
            if to == "Submitted" {
                let mut t = Timeline::new(
                    now_ms(),
                    sim.seed,
                    sim.responses_per_second,
                    sim.start_delay_ms,
                    sim.global_pool,
                );
                t.after = doc["_after"].as_str().map(String::from);
                t.key = format!("run{}", obj_next_seq(tx)?);
                set_timeline(&mut doc, &t);
                doc["isLocked"] = Value::Bool(true);
            }
            doc["state"] = Value::from(to);
            obj_update(tx, "order", &id, &doc)
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn submit_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    transition(state, id, body, "SubmitOrderEndpointInput", "Submitted").await
}

pub(super) async fn preview_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    transition(state, id, body, "PreviewOrderEndpointInput", "Preview").await
}

pub(super) async fn update_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "UpdateOrderEndpointInput")?;
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut doc = load_order(tx, &id)?;
            if let Some(name) = opt_str(&input, "name") {
                if name.trim().is_empty() {
                    return Err(ApiError::field("name", "The name must not be empty."));
                }
                doc["orderName"] = Value::from(name);
            }
            if input.get("precedingOrderId").is_some() {
                let preceding = opt_str(&input, "precedingOrderId").map(String::from);
                if let Some(p) = &preceding {
                    if obj_get(tx, "order", p)?.is_none() {
                        return Err(ApiError::field(
                            "precedingOrderId",
                            format!("Order '{p}' does not exist."),
                        ));
                    }
                    // Following the chain from the new predecessor must not come back here.
                    let mut next = Some(p.clone());
                    let mut steps = 0;
                    while let Some(o) = next.take() {
                        steps += 1;
                        if o == id || steps > 1000 {
                            return Err(ApiError::field(
                                "precedingOrderId",
                                format!("Order '{p}' runs after this order (directly or through others), so it cannot also run before it."),
                            ));
                        }
                        next = obj_get(tx, "order", &o)?
                            .and_then(|d| d["_after"].as_str().map(String::from));
                    }
                }
                doc["_after"] = preceding.clone().map(Value::from).unwrap_or(Value::Null);
                if let Some(mut t) = timeline_of(&doc) {
                    t.after = preceding;
                    t.not_before = None;
                    set_timeline(&mut doc, &t);
                }
            }
            obj_update(tx, "order", &id, &doc)
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn delete_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let doc = load_order(tx, &id)?;
            release_successors(s, tx, "order", &id, &doc, now_ms())?;
            if let Some(ds) = doc["_run"]["datasetId"].as_str() {
                dataset_delete(tx, ds)?;
            }
            obj_delete(tx, "order", &id)?;
            Ok(())
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn pause_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    pause_or_resume(state, "order", id, true).await
}

pub(super) async fn resume_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    pause_or_resume(state, "order", id, false).await
}

pub(super) async fn order_results(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let file = format!("{id}-results.json");
    let doc = blocking(&state, move |s| {
        s.store.read(|c| {
            let order = load_order(c, &id)?;
            let Some(e) = evaluate_doc(s, c, "order", &order, now_ms())? else {
                return Err(
                    ApiError::new(axum::http::StatusCode::CONFLICT, "Order not submitted").detail(
                        format!("Order '{id}' has not been submitted, so it has no results."),
                    ),
                );
            };
            let name = order["orderName"].as_str().unwrap_or_default().to_string();
            with_input(c, "order", &order, None, |input| {
                results_document(c, input, &e, &name, &now())
            })
        })
    })
    .await?;
    Ok(attachment(&doc, &file))
}

pub(super) async fn list_orders(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let items = blocking(&state, move |s| {
        s.store.read(|c| {
            obj_list(c, "order", None)?
                .iter()
                .map(|d| Ok(view("QueryOrdersEndpointOutput", &current(s, c, d)?)))
                .collect::<ApiResult<Vec<Value>>>()
        })
    })
    .await?;
    Ok(json(&page_items(items, &query, &camel)?))
}
