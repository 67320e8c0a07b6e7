//! Validation sets (contract v3, fact 20): tasks with known answers that labelers are checked
//! against while they work. `POST /validation-set` creates an empty set; each task is added
//! with `POST /validation-set/{id}/rapid`, as `rapidata_client/validation/validation_set_manager.py`
//! (`_submit`) and `rapids/_validation_rapid_uploader.py` send them (assets uploaded first, as
//! for datapoints). A revision names a set by `validationSetId`; a job snapshots the set's tasks
//! (`jobs.rs`), and its simulated labelers answer them (`simulation/validation.rs`), which is
//! what `correctValidationCount` / `invalidValidationCount` of the rapids count.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use rusqlite::Connection;
use serde_json::{json, Value};

use super::examples::asset;
use super::jobs::current;
use super::runs::with_input;
use crate::emulator::auth::{ORGANIZATION_ID, USER_ID, USER_MAIL};
use crate::emulator::http::{
    json, no_content, opt, opt_str, parse_body, view, ApiError, ApiResult,
};
use crate::emulator::query::{camel, page_items, Query};
use crate::emulator::simulation::{
    random_correct, validation_tally, ValidationSnapshot, ValidationTask,
};
use crate::emulator::store::{
    new_id, now, now_ms, obj_delete, obj_delete_children, obj_get, obj_insert, obj_list, obj_update,
};
use crate::emulator::{blocking, AppState, Shared};

const SET: &str = "validationset";
const RAPID: &str = "validationrapid";

pub(crate) fn load_set(conn: &Connection, id: &str) -> ApiResult<Value> {
    obj_get(conn, SET, id)?.ok_or_else(|| ApiError::not_found("Validation set", id))
}

/// What a job keeps of the set its revision names (`_run.validationSet`); `None` if the
/// revision names none or a set that no longer exists.
pub(crate) fn snapshot(conn: &Connection, id: Option<&str>) -> ApiResult<Option<Value>> {
    let Some(id) = id else { return Ok(None) };
    let Some(set) = obj_get(conn, SET, id)? else {
        return Ok(None);
    };
    let tasks = obj_list(conn, RAPID, Some(id))?
        .iter()
        .map(|r| ValidationTask {
            rapid_id: r["id"].as_str().unwrap_or_default().to_string(),
            random_correct: random_correct(r),
        })
        .collect();
    let snap = ValidationSnapshot {
        id: id.to_string(),
        dimensions: strings(&set["dimensions"]),
        tasks,
    };
    Ok(serde_json::to_value(snap).ok())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// `type` of a rapid (`RapidModality` of the set listing): the payload's `_t` without
/// `Payload` (`ClassifyPayload` → `Classify`).
fn modality(payload: &Value) -> String {
    let t = payload.get("_t").and_then(Value::as_str).unwrap_or("None");
    t.strip_suffix("Payload").unwrap_or(t).to_string()
}

/// `AssetType` of a stored `IAsset`: text, or the media kind a file name says.
fn asset_type(asset: &Value) -> &'static str {
    match asset.get("_t").and_then(Value::as_str) {
        Some("TextAsset") => "Text",
        Some("FileAsset") => {
            let name = asset
                .get("fileName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let ext = name.rsplit('.').next().unwrap_or_default();
            match ext {
                "mp4" | "webm" | "mov" | "avi" | "mkv" => "Video",
                "mp3" | "wav" | "ogg" | "flac" | "m4a" => "Audio",
                _ => "Image",
            }
        }
        Some("MultiAsset") => asset
            .get("assets")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .map_or("None", asset_type),
        _ => "None",
    }
}

/// A truth must name answers the payload offers: classification truths are among the
/// categories (`rapids_manager.py` `classification_rapid` checks the same before sending).
fn check_truth(payload: &Value, truth: Option<&Value>) -> ApiResult<()> {
    let (Some(truth), Some("ClassifyPayload")) = (truth, payload.get("_t").and_then(Value::as_str))
    else {
        return Ok(());
    };
    let labels = strings(
        &payload["categories"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("label").cloned())
            .collect::<Value>(),
    );
    for (i, c) in strings(&truth["correctCategories"]).iter().enumerate() {
        if !labels.contains(c) {
            return Err(ApiError::field(
                &format!("truth.correctCategories[{i}]"),
                format!("'{c}' is not one of the payload's categories {labels:?}."),
            ));
        }
    }
    Ok(())
}

pub(super) async fn create_set(State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateValidationSetEndpointInput")?;
    let name = opt_str(&input, "name").unwrap_or_default().to_string();
    if name.trim().is_empty() {
        return Err(ApiError::field("name", "The name must not be empty."));
    }
    let id = new_id();
    let doc = json!({
        "id": id,
        "name": name,
        "isPublic": false,
        "ownerMail": USER_MAIL,
        "organizationId": ORGANIZATION_ID,
        "ownerId": USER_ID,
        "dimensions": [],
        "createdAt": now(),
        "shouldAlert": true,
        "isFlagOverruled": false,
    });
    let sid = id.clone();
    blocking(&state, move |s| {
        s.store.write(|tx| obj_insert(tx, SET, &sid, None, &doc))
    })
    .await?;
    Ok(json(&json!({"validationSetId": id})))
}

pub(super) async fn add_rapid(
    State(state): State<Shared>,
    Path(set): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "AddValidationRapidEndpointInput")?;
    blocking(&state, move |s| {
        s.store.write(|tx| {
            load_set(tx, &set)?;
            check_truth(&input["payload"], opt(&input, "truth"))?;
            let converted = asset(tx, &input["asset"], "asset")?;
            let context_asset = match opt(&input, "contextAsset") {
                Some(a) => asset(tx, a, "contextAsset")?,
                None => Value::Null,
            };
            let field = |k: &str| opt(&input, k).cloned().unwrap_or(Value::Null);
            let id = new_id();
            let prompt = if opt(&input, "contextAsset").is_some() {
                "Asset"
            } else if opt(&input, "context").is_some() {
                "Text"
            } else {
                "None"
            };
            let doc = json!({
                "id": id,
                "type": modality(&input["payload"]),
                "asset": converted,
                "truth": field("truth"),
                "payload": input["payload"],
                "context": field("context"),
                "contextAsset": context_asset,
                "correctValidationCount": 0,
                "invalidValidationCount": 0,
                "explanation": field("explanation"),
                "randomCorrectProbability": field("randomCorrectProbability"),
                "state": "Labeling",
                "featureFlags": field("featureFlags"),
                "_assetType": asset_type(&converted),
                "_promptType": prompt,
            });
            obj_insert(tx, RAPID, &id, Some(&set), &doc)
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn get_set(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| s.store.read(|c| load_set(c, &id))).await?;
    Ok(json(&view("GetValidationSetByIdEndpointOutput", &doc)))
}

/// Right and wrong answers per rapid of `set` from the labelers of every job that labels
/// with it so far.
fn tallies(
    s: &AppState,
    c: &Connection,
    set: &str,
) -> ApiResult<std::collections::HashMap<String, (u64, u64)>> {
    let mut out = std::collections::HashMap::new();
    let now = now_ms();
    for job in obj_list(c, "job", None)? {
        if job["_run"]["validationSet"]["id"].as_str() != Some(set) {
            continue;
        }
        let Some(e) = current(s, c, &job, now)?.1 else {
            continue;
        };
        let rows = with_input(c, "job", &job, None, |input| validation_tally(c, input, &e))?;
        for (rapid, right, wrong) in rows {
            let t = out.entry(rapid).or_insert((0, 0));
            t.0 += right;
            t.1 += wrong;
        }
    }
    Ok(out)
}

pub(super) async fn list_rapids(
    State(state): State<Shared>,
    Path(set): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let items = blocking(&state, move |s| {
        s.store.read(|c| {
            load_set(c, &set)?;
            let counts = tallies(s, c, &set)?;
            Ok(obj_list(c, RAPID, Some(&set))?
                .into_iter()
                .map(|mut r| {
                    let id = r["id"].as_str().unwrap_or_default().to_string();
                    if let Some((right, wrong)) = counts.get(&id) {
                        r["correctValidationCount"] = Value::from(*right);
                        r["invalidValidationCount"] = Value::from(*wrong);
                    }
                    view("GetValidationRapidsEndpointOutput", &r)
                })
                .collect::<Vec<_>>())
        })
    })
    .await?;
    Ok(json(&page_items(items, &query, &camel)?))
}

/// The listing row of a set: what its rapids contain.
fn set_row(c: &Connection, doc: &Value) -> ApiResult<Value> {
    let id = doc["id"].as_str().unwrap_or_default();
    let rapids = obj_list(c, RAPID, Some(id))?;
    let distinct = |key: &str| -> Vec<Value> {
        let mut seen: Vec<String> = Vec::new();
        for r in &rapids {
            if let Some(v) = r[key].as_str() {
                if !seen.iter().any(|s| s == v) {
                    seen.push(v.to_string());
                }
            }
        }
        seen.into_iter().map(Value::from).collect()
    };
    let mut row = doc.clone();
    row["assetType"] = Value::from(distinct("_assetType"));
    row["modality"] = Value::from(distinct("type"));
    row["promptType"] = Value::from(distinct("_promptType"));
    Ok(view("QueryValidationSetsEndpointOutput", &row))
}

pub(super) async fn list_sets(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let items = blocking(&state, move |s| {
        s.store.read(|c| {
            obj_list(c, SET, None)?
                .iter()
                .map(|d| set_row(c, d))
                .collect::<ApiResult<Vec<Value>>>()
        })
    })
    .await?;
    Ok(json(&page_items(items, &query, &camel)?))
}

pub(super) async fn update_set(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "UpdateValidationSetEndpointInput")?;
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut doc = load_set(tx, &id)?;
            // Patch semantics: absent or null leaves a field as it is.
            for key in [
                "name",
                "dimensions",
                "shouldAlert",
                "isPublic",
                "isFlagOverruled",
            ] {
                let Some(value) = opt(&input, key) else {
                    continue;
                };
                if key == "name" && value.as_str().is_some_and(|n| n.trim().is_empty()) {
                    return Err(ApiError::field("name", "The name must not be empty."));
                }
                doc[key] = value.clone();
            }
            obj_update(tx, SET, &id, &doc)
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn delete_set(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        s.store.write(|tx| {
            if !obj_delete(tx, SET, &id)? {
                return Err(ApiError::not_found("Validation set", &id));
            }
            obj_delete_children(tx, RAPID, &id)
        })
    })
    .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rapid_kinds_from_payload_and_asset() {
        assert_eq!(modality(&json!({"_t": "ClassifyPayload"})), "Classify");
        assert_eq!(modality(&json!({"_t": "ComparePayload"})), "Compare");
        assert_eq!(asset_type(&json!({"_t": "TextAsset", "text": "x"})), "Text");
        assert_eq!(
            asset_type(&json!({"_t": "FileAsset", "fileName": "a/b.MP4"})),
            "Video"
        );
        assert_eq!(
            asset_type(
                &json!({"_t": "MultiAsset", "assets": [{"_t": "FileAsset", "fileName": "x.png"}]})
            ),
            "Image"
        );
    }

    #[test]
    fn classification_truths_must_be_categories() {
        let payload = json!({"_t": "ClassifyPayload", "title": "t",
            "categories": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}]});
        let ok = json!({"_t": "AttachCategoryTruth", "correctCategories": ["no"]});
        assert!(check_truth(&payload, Some(&ok)).is_ok());
        let bad = json!({"_t": "AttachCategoryTruth", "correctCategories": ["maybe"]});
        let e = check_truth(&payload, Some(&bad)).unwrap_err();
        assert!(format!("{e:?}").contains("maybe"), "{e:?}");
        assert!(check_truth(&payload, None).is_ok());
    }
}
