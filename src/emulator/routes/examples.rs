//! Qualification examples of a custom audience (`POST /audience/{id}/example`, paged list,
//! patch, delete), as `audience_example_handler.py` of the SDK sends them. Adding an example
//! never starts recruiting; once recruiting has started, qualification starts when the
//! audience has [`MIN_EXAMPLES`] examples.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use rusqlite::Connection;
use serde_json::{json, Value};

use super::audiences::{load_audience, MIN_EXAMPLES};
use crate::emulator::http::{json, no_content, opt, parse_body, view, ApiError, ApiResult};
use crate::emulator::query::{camel, page_items, Query};
use crate::emulator::segments::{convert_asset_input, enrich_file_assets};
use crate::emulator::simulation::RecruitSnapshot;
use crate::emulator::store::{
    asset_get, new_id, now_ms, obj_delete, obj_get, obj_insert, obj_list, obj_update,
};
use crate::emulator::{blocking, Shared};

/// `IAssetInput` → `IAsset`, checking that referenced files were uploaded.
pub(super) fn asset(conn: &Connection, input: &Value, path: &str) -> ApiResult<Value> {
    let (converted, names) = convert_asset_input(input, path);
    let mut known = std::collections::HashMap::new();
    let mut unknown = Vec::new();
    for (p, name) in names {
        match asset_get(conn, &name)? {
            Some(info) => {
                known.insert(name, info);
            }
            None => unknown.push((p, format!("Asset '{name}' was never uploaded."))),
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::validation(unknown));
    }
    let mut wrapped = json!([{"asset": converted}]);
    enrich_file_assets(&mut wrapped, &mut |n| known.get(n).cloned());
    Ok(wrapped[0]["asset"].take())
}

fn load_example(conn: &Connection, id: &str) -> ApiResult<Value> {
    obj_get(conn, "example", id)?.ok_or_else(|| ApiError::not_found("Example", id))
}

pub(super) async fn add_example(
    State(state): State<Shared>,
    Path(audience): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "AddExampleToAudienceEndpointInput")?;
    let out = blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut aud = load_audience(tx, &audience)?;
            if aud.get("isPublic").and_then(Value::as_bool) == Some(true) {
                return Err(
                    ApiError::new(axum::http::StatusCode::FORBIDDEN, "Forbidden").detail(format!(
                        "Audience '{audience}' is a public audience owned by Rapidata."
                    )),
                );
            }
            super::audiences::not_filtered(&aud, &audience, "examples")?;
            let existing = obj_list(tx, "example", Some(&audience))?;
            let next_index = existing
                .iter()
                .filter_map(|e| e.get("sortIndex").and_then(Value::as_i64))
                .max()
                .map_or(0, |m| m + 1);
            let id = new_id();
            let converted = asset(tx, &input["asset"], "asset")?;
            let context_asset = match opt(&input, "contextAsset") {
                Some(a) => asset(tx, a, "contextAsset")?,
                None => Value::Null,
            };
            let field = |k: &str| opt(&input, k).cloned().unwrap_or(Value::Null);
            let doc = json!({
                "id": id,
                "rapidId": new_id(),
                "asset": converted,
                "payload": input["payload"],
                "correctCount": 0,
                "incorrectCount": 0,
                "truth": field("truth"),
                "context": field("context"),
                "contextAsset": context_asset,
                "explanation": field("explanation"),
                "randomCorrectProbability": field("randomCorrectProbability"),
                "isCommonSense": field("isCommonSense"),
                "flagIfIncorrect": field("flagIfIncorrect"),
                "sortIndex": opt(&input, "sortIndex").cloned().unwrap_or(Value::from(next_index)),
                "visibility": opt(&input, "visibility").cloned().unwrap_or(Value::from("Private")),
                "_audience": audience,
            });
            obj_insert(tx, "example", &id, Some(&audience), &doc)?;
            // Recruiting already started with too few examples: qualification starts once
            // this one makes enough.
            let mut recalculation = Value::Null;
            if let Some(mut snap) = RecruitSnapshot::of(&aud) {
                if snap.qualifying_since.is_none() && existing.len() + 1 >= MIN_EXAMPLES {
                    snap.qualifying_since = Some(now_ms());
                    aud["_recruit"] = serde_json::to_value(snap).unwrap_or(Value::Null);
                    obj_update(tx, "audience", &audience, &aud)?;
                }
                recalculation = Value::from(new_id());
            }
            Ok(json!({"recalculationId": recalculation}))
        })
    })
    .await?;
    Ok(json(&out))
}

pub(super) async fn list_examples(
    State(state): State<Shared>,
    Path(audience): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let items = blocking(&state, move |s| {
        s.store.read(|c| {
            load_audience(c, &audience)?;
            obj_list(c, "example", Some(&audience))
        })
    })
    .await?
    .iter()
    .map(|e| view("QueryExamplesForAudienceEndpointOutput", e))
    .collect();
    Ok(json(&page_items(items, &query, &camel)?))
}

/// Which payload field `instructionText` replaces, per payload type.
fn instruction_key(payload: &Value) -> &'static str {
    match payload.get("_t").and_then(Value::as_str) {
        Some("CompareExamplePayload") => "criteria",
        Some("ClassifyExamplePayload") | Some("TranscriptionExamplePayload") => "title",
        _ => "target",
    }
}

pub(super) async fn update_example(
    State(state): State<Shared>,
    Path((audience, example)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "UpdateAudienceExampleEndpointInput")?;
    blocking(&state, move |s| {
        s.store.write(|tx| {
            load_audience(tx, &audience)?;
            let mut doc = load_example(tx, &example)?;
            if doc["_audience"].as_str() != Some(audience.as_str()) {
                return Err(ApiError::not_found("Example", &example));
            }
            for (key, value) in input.as_object().into_iter().flatten() {
                match key.as_str() {
                    "instructionText" => {
                        if let Some(text) = value.as_str() {
                            let k = instruction_key(&doc["payload"]);
                            doc["payload"][k] = Value::from(text);
                        }
                    }
                    "contextAsset" => {
                        doc["contextAsset"] = if value.is_null() {
                            Value::Null
                        } else {
                            asset(tx, value, "contextAsset")?
                        };
                    }
                    "visibility" if value.is_null() => {}
                    k => doc[k] = value.clone(),
                }
            }
            obj_update(tx, "example", &example, &doc)
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn delete_example(
    State(state): State<Shared>,
    Path(example): Path<String>,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        s.store.write(|tx| {
            load_example(tx, &example)?;
            obj_delete(tx, "example", &example)?;
            Ok(())
        })
    })
    .await?;
    Ok(json(&json!({"recalculationId": null})))
}
