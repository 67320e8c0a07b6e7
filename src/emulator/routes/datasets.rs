//! Datasets, datapoints and dataset groups.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::emulator::datapoints::{
    self as dp, datapoint_id, datapoint_seq, DatapointOrder, DatasetRow, NewDatapoint,
};
use crate::emulator::http::{
    json, no_content, opt, opt_str, parse_body, raw_json, ApiError, ApiResult,
};
use crate::emulator::query::{FilterOp, Query};
use crate::emulator::segments::{convert, default_schema, enrich_file_assets};
use crate::emulator::store::{asset_get, new_id, obj_insert};
use crate::emulator::{blocking, Shared};

pub(super) async fn create_dataset(
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateDatasetEndpointInput")?;
    let name = opt_str(&input, "name").unwrap_or_default().to_string();
    let schema = opt(&input, "schema")
        .cloned()
        .unwrap_or_else(default_schema);
    check_schema(&schema)?;
    let id = new_id();
    let ds_id = id.clone();
    blocking(&state, move |s| {
        s.store
            .write(|tx| dp::dataset_insert(tx, &ds_id, &name, &schema))
    })
    .await?;
    Ok(json(&json!({"datasetId": id})))
}

fn check_schema(schema: &Value) -> ApiResult<()> {
    let mut seen = std::collections::HashSet::new();
    for (i, def) in schema.as_array().into_iter().flatten().enumerate() {
        let key = opt_str(def, "key").unwrap_or_default();
        if key.is_empty() {
            return Err(ApiError::field(
                &format!("schema[{i}].key"),
                "A segment key must not be empty.",
            ));
        }
        if !seen.insert(key) {
            return Err(ApiError::field(
                &format!("schema[{i}].key"),
                format!("Segment key '{key}' is defined twice."),
            ));
        }
    }
    Ok(())
}

/// Normalises the stored schema to the output shape (`label`, `maxLength` present).
fn schema_output(schema: &Value) -> Value {
    Value::Array(
        schema
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                json!({
                    "key": d.get("key").cloned().unwrap_or(Value::Null),
                    "kind": d.get("kind").cloned().unwrap_or(Value::Null),
                    "label": d.get("label").cloned().unwrap_or(Value::Null),
                    "required": d.get("required").cloned().unwrap_or(Value::Bool(false)),
                    "maxLength": d.get("maxLength").cloned().unwrap_or(Value::Null),
                })
            })
            .collect(),
    )
}

pub(crate) fn load_dataset(conn: &Connection, id: &str) -> ApiResult<DatasetRow> {
    dp::dataset_get(conn, id)?.ok_or_else(|| ApiError::not_found("Dataset", id))
}

pub(super) async fn get_dataset(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ds = blocking(&state, move |s| s.store.read(|c| load_dataset(c, &id))).await?;
    Ok(json(
        &json!({"name": ds.name, "schema": schema_output(&ds.schema)}),
    ))
}

pub(super) async fn progress(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (total, failed) = blocking(&state, move |s| {
        s.store.read(|c| {
            let ds = load_dataset(c, &id)?;
            let failed = dp::failed_datapoints(c, ds.seq)?.len() as i64;
            Ok((ds.count, failed))
        })
    })
    .await?;
    Ok(json(
        &json!({"total": total, "ready": total - failed, "pending": 0, "failed": failed}),
    ))
}

/// Checks and converts input segments for `ds`, resolving the file assets they reference;
/// returns the output segments as JSON text.
pub(crate) fn prepare_segments(
    conn: &Connection,
    ds: &DatasetRow,
    segments: &[Value],
) -> ApiResult<String> {
    let mut converted = convert(&ds.schema, segments, "segments")?;
    let mut unknown = Vec::new();
    let mut known = std::collections::HashMap::new();
    for (path, name) in &converted.asset_names {
        match asset_get(conn, name)? {
            Some(info) => {
                known.insert(name.clone(), info);
            }
            None => unknown.push((path.clone(), format!("Asset '{name}' was never uploaded."))),
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::validation(unknown));
    }
    enrich_file_assets(&mut converted.segments, &mut |name| {
        known.get(name).cloned()
    });
    Ok(converted.segments.to_string())
}

pub(super) async fn create_datapoint(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateDatapointEndpointInput")?;
    let (seq, ds_seq) = blocking(&state, move |s| {
        s.store.write(|tx| {
            let ds = load_dataset(tx, &id)?;
            let segments = opt(&input, "segments")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let out = prepare_segments(tx, &ds, segments)?;
            let new = NewDatapoint {
                sort_index: opt(&input, "sortIndex").and_then(Value::as_i64),
                group: opt_str(&input, "group"),
                segments: &out,
                private_metadata: opt(&input, "privateMetadata").map(Value::to_string),
            };
            Ok((dp::datapoint_insert(tx, ds.seq, &new)?, ds.seq))
        })
    })
    .await?;
    state.store.cursors.bump(ds_seq);
    Ok(json(
        &json!({"datapointId": datapoint_id(&state.store.salt, seq)}),
    ))
}

fn parse_order(query: &Query) -> ApiResult<DatapointOrder> {
    let sort = query.sort();
    match sort.first().map(|(f, d)| (f.as_str(), *d)) {
        None => Ok(DatapointOrder::Created { desc: false }),
        Some(("created_at" | "id", desc)) => Ok(DatapointOrder::Created { desc }),
        Some(("sort_index", desc)) => Ok(DatapointOrder::SortIndex { desc }),
        Some((other, _)) => Err(ApiError::field(
            "sort",
            format!("Cannot sort datapoints by '{other}'."),
        )),
    }
}

pub(super) async fn list_datapoints(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let (page, size) = query.paging()?;
    let order = parse_order(&query)?;
    let salt = state.store.salt.clone();
    let mut ids: Option<Vec<i64>> = None;
    for f in query.filters()? {
        if f.field != "id" || !matches!(f.op, FilterOp::Eq | FilterOp::In) {
            return Err(ApiError::field(
                &format!("{}[...]", f.field),
                "Only id[eq] and id[in] filters are supported on datapoints.",
            ));
        }
        let wanted: Vec<i64> = f
            .values
            .iter()
            .filter_map(|v| datapoint_seq(&salt, v))
            .collect();
        ids = Some(match ids {
            None => wanted,
            Some(prev) => prev.into_iter().filter(|x| wanted.contains(x)).collect(),
        });
    }
    let body = blocking(&state, move |s| {
        s.store.read(|c| {
            let ds = load_dataset(c, &id)?;
            dp::list_page(&s.store, c, &ds, page, size, order, ids.as_deref())
        })
    })
    .await?;
    Ok(raw_json(body))
}

fn parse_segments(text: &str) -> ApiResult<Value> {
    serde_json::from_str(text).map_err(|e| ApiError::internal(format!("corrupt segments: {e}")))
}

pub(super) async fn get_datapoint(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let seq = datapoint_seq(&state.store.salt, &id)
        .ok_or_else(|| ApiError::not_found("Datapoint", &id))?;
    let row = blocking(&state, move |s| s.store.read(|c| dp::datapoint_get(c, seq))).await?;
    let row = row.ok_or_else(|| ApiError::not_found("Datapoint", &id))?;
    Ok(json(&json!({
        "id": id,
        "datasetId": row.dataset_id,
        "state": row.state,
        "segments": parse_segments(&row.segments)?,
        "sortIndex": row.sort_index,
        "createdAt": row.created_at,
    })))
}

pub(super) async fn delete_datapoint(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let seq = datapoint_seq(&state.store.salt, &id)
        .ok_or_else(|| ApiError::not_found("Datapoint", &id))?;
    let ds = blocking(&state, move |s| {
        s.store.write(|tx| dp::datapoint_delete(tx, seq))
    })
    .await?;
    match ds {
        Some(ds) => {
            state.store.cursors.bump(ds);
            Ok(no_content())
        }
        None => Err(ApiError::not_found("Datapoint", &id)),
    }
}

pub(super) async fn failed_datapoints(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (ds_id, rows) = blocking(&state, move |s| {
        s.store.read(|c| {
            let ds = load_dataset(c, &id)?;
            Ok((ds.id.clone(), dp::failed_datapoints(c, ds.seq)?))
        })
    })
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for (seq, sort_index, segments, created_at) in rows {
        items.push(json!({
            "id": datapoint_id(&state.store.salt, seq),
            "datasetId": ds_id,
            "sortIndex": sort_index,
            "segments": parse_segments(&segments)?,
            "createdAt": created_at,
        }));
    }
    Ok(json(&json!({"datapoints": items})))
}

pub(super) async fn create_group(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateDatasetGroupEndpointInput")?;
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let ds = load_dataset(tx, &id)?;
            let segments = opt(&input, "segments")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            // Group segments are checked like datapoint segments, minus the required ones.
            let mut relaxed = ds.clone();
            if let Some(defs) = relaxed.schema.as_array_mut() {
                for d in defs {
                    d["required"] = Value::Bool(false);
                }
            }
            let out = prepare_segments(tx, &relaxed, segments)?;
            let group = opt_str(&input, "group").unwrap_or_default();
            let doc =
                json!({"group": group, "datasetId": ds.id, "segments": parse_segments(&out)?});
            obj_insert(
                tx,
                "group",
                &format!("{}/{group}", ds.id),
                Some(&ds.id),
                &doc,
            )
            .map_err(|_| {
                ApiError::field(
                    "group",
                    format!("Group '{group}' already exists in this dataset."),
                )
            })
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn rename_dataset(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "UpdateDatasetNameEndpointInput")?;
    let name = opt_str(&input, "name").unwrap_or_default().to_string();
    if name.trim().is_empty() {
        return Err(ApiError::field("name", "The name must not be empty."));
    }
    let found = blocking(&state, move |s| {
        s.store
            .write(|tx| dp::dataset_rename(tx, &id, &name).map(|f| (f, id.clone())))
    })
    .await?;
    match found {
        (true, _) => Ok(no_content()),
        (false, id) => Err(ApiError::not_found("Dataset", &id)),
    }
}
