//! The legacy order API. `POST /order` also creates the order's dataset (default schema) and
//! returns its id; `GET /order/{id}` carries it as the extension field `datasetId`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{json, Value};

use crate::emulator::auth::USER_MAIL;
use crate::emulator::datapoints::dataset_insert;
use crate::emulator::http::{json, no_content, opt_str, parse_body, ApiError, ApiResult};
use crate::emulator::query::{camel, page_items, Query};
use crate::emulator::segments::default_schema;
use crate::emulator::store::{new_id, now, obj_get, obj_insert, obj_list, obj_update};
use crate::emulator::{blocking, Shared};

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
        "datasetId": dataset,
        "workflow": input["workflow"],
        "referee": input["referee"],
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

pub(super) async fn get_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| s.store.read(|c| load_order(c, &id))).await?;
    Ok(json(&json!({
        "orderName": doc["orderName"], "customerMail": doc["customerMail"], "orderDate": doc["orderDate"],
        "state": doc["state"], "pipelineId": doc["pipelineId"], "isLocked": doc["isLocked"], "isPublic": doc["isPublic"],
        "failureMessage": doc["failureMessage"], "datasetId": doc["datasetId"],
    })))
}

async fn transition(
    state: Shared,
    id: String,
    body: Bytes,
    definition: &'static str,
    to: &'static str,
) -> ApiResult<Response> {
    if !body.iter().all(u8::is_ascii_whitespace) {
        parse_body(&body, definition)?;
    }
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut doc = load_order(tx, &id)?;
            let current = doc["state"].as_str().unwrap_or_default();
            // Submitting is final; previewing only applies to a fresh order.
            if to == "Submitted" || current == "Created" {
                doc["state"] = Value::from(to);
                doc["isLocked"] = Value::Bool(to == "Submitted");
                obj_update(tx, "order", &id, &doc)?;
            }
            Ok(())
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

pub(super) async fn list_orders(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let docs = blocking(&state, move |s| {
        s.store.read(|c| obj_list(c, "order", None))
    })
    .await?;
    let items = docs
        .into_iter()
        .map(|d| {
            json!({
                "id": d["id"], "pipelineId": d["pipelineId"], "orderDate": d["orderDate"], "customerMail": d["customerMail"],
                "state": d["state"], "orderName": d["orderName"], "isPublic": d["isPublic"], "failureMessage": d["failureMessage"],
            })
        })
        .collect();
    Ok(json(&page_items(items, &query, &camel)?))
}
