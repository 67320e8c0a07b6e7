//! Asset uploads. File bytes are hashed and counted, never stored; URLs are never fetched:
//! a URL counts as ingested unless the fault plan marks it as failing. Issued file names are
//! recorded so that a datapoint referencing a name the emulator never issued is rejected.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::emulator::faults::AssetFailure;
use crate::emulator::http::{json, no_content, opt, opt_str, parse_body, ApiError, ApiResult};
use crate::emulator::query::Query;
use crate::emulator::store::{
    asset_insert, new_hex32, new_id, obj_get, obj_insert, obj_list, obj_update, AssetRow,
};
use crate::emulator::{blocking, Shared};

/// The last path component, safe as a file name.
fn basename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() {
        "asset".to_string()
    } else {
        clean
    }
}

fn url_basename(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    let path = no_query
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(no_query);
    match path.split_once('/') {
        Some((_, p)) => basename(p),
        None => "asset".to_string(),
    }
}

fn issued_name(base: &str) -> String {
    format!("{}_{base}", new_hex32())
}

fn asset_failure(state: &Shared, name_or_url: &str) -> Option<AssetFailure> {
    state
        .faults
        .lock()
        .ok()
        .and_then(|f| f.asset_failure(name_or_url))
}

pub(super) async fn upload_file(
    State(state): State<Shared>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::field("file", format!("Expected a multipart/form-data body: {e}"))
    })?;
    let mut upload: Option<(String, u64, String)> = None;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::field("file", format!("Malformed multipart body: {e}")))?;
        let Some(mut field) = field else { break };
        if field.name() != Some("file") {
            continue;
        }
        let original = basename(field.file_name().unwrap_or("file"));
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| ApiError::field("file", format!("Malformed multipart body: {e}")))?
        {
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        upload = Some((original, size, hasher.finalize().to_hex().to_string()));
        break;
    }
    let (original, size, hash) =
        upload.ok_or_else(|| ApiError::field("file", "The multipart part 'file' is required."))?;
    if let Some(f) = asset_failure(&state, &original) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            f.title.unwrap_or_else(|| "Unsupported media".into()),
        )
        .detail(format!("The emulator's fault plan refuses {original}.")));
    }
    let file_name = record_asset(&state, original, None, Some((size, hash))).await?;
    Ok(json(&json!({
        "fileName": file_name, "warnings": [], "wasCompressed": false,
        "originalSizeBytes": size, "finalSizeBytes": size,
    })))
}

/// Issue a file name for an ingested asset and record it; returns the name.
async fn record_asset(
    state: &Shared,
    original: String,
    source_url: Option<String>,
    content: Option<(u64, String)>,
) -> ApiResult<String> {
    let file_name = issued_name(&original);
    let name = file_name.clone();
    blocking(state, move |s| {
        s.store.write(|tx| {
            asset_insert(
                tx,
                &AssetRow {
                    file_name: &name,
                    original_name: &original,
                    source_url: source_url.as_deref(),
                    size: content.as_ref().map(|(size, _)| *size),
                    blake3: content.as_ref().map(|(_, hash)| hash.as_str()),
                },
            )
        })
    })
    .await?;
    Ok(file_name)
}

pub(super) async fn upload_url(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let url = query
        .first("url")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::field("url", "The query parameter 'url' is required."))?;
    let url = url.to_string();
    if let Some(f) = asset_failure(&state, &url) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            f.error_message.unwrap_or_else(|| "download failed".into()),
        )
        .detail(format!("The emulator's fault plan refuses {url}."))
        .with(
            "stage",
            Value::from(f.stage.unwrap_or_else(|| "download".into())),
        )
        .with(
            "upstreamHttpStatus",
            Value::from(f.upstream_http_status.unwrap_or(404)),
        ));
    }
    let original = url_basename(&url);
    let file_name = record_asset(&state, original, Some(url), None).await?;
    Ok(json(
        &json!({"fileName": file_name, "warnings": [], "wasCompressed": false}),
    ))
}

pub(super) async fn create_batch(State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateBatchUploadEndpointInput")?;
    let urls: Vec<String> = opt(&input, "urls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(String::from))
        .collect();
    if urls.is_empty() {
        return Err(ApiError::field("urls", "At least one URL is required."));
    }
    let correlation = opt_str(&input, "correlationId").map(String::from);
    let id = new_id();
    let mut items = Vec::with_capacity(urls.len());
    let mut issued = Vec::new();
    let (mut completed, mut failed) = (0u64, 0u64);
    for url in &urls {
        match asset_failure(&state, url) {
            Some(f) => {
                failed += 1;
                items.push(json!({
                    "url": url, "status": "Failed",
                    "errorMessage": f.error_message.unwrap_or_else(|| "download failed".into()),
                    "stage": f.stage.unwrap_or_else(|| "download".into()),
                    "upstreamHttpStatus": f.upstream_http_status.unwrap_or(404),
                }));
            }
            None => {
                completed += 1;
                let original = url_basename(url);
                let file_name = issued_name(&original);
                items.push(json!({"url": url, "fileName": file_name, "status": "Completed", "warnings": []}));
                issued.push((file_name, original, url.clone()));
            }
        }
    }
    let doc = json!({
        "batchUploadId": id, "status": "Completed", "totalCount": urls.len(),
        "completedCount": completed, "failedCount": failed, "items": items,
    });
    let batch_id = id.clone();
    blocking(&state, move |s| {
        s.store.write(|tx| {
            for (file_name, original, url) in &issued {
                asset_insert(
                    tx,
                    &AssetRow {
                        file_name,
                        original_name: original,
                        source_url: Some(url),
                        size: None,
                        blake3: None,
                    },
                )?;
            }
            obj_insert(tx, "batch", &batch_id, correlation.as_deref(), &doc)
        })
    })
    .await?;
    Ok(json(&json!({"batchUploadId": id})))
}

pub(super) async fn batch_status(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let correlation = query.first("correlationId").map(String::from);
    let ids: Vec<String> = query
        .all("batchUploadIds")
        .into_iter()
        .map(String::from)
        .collect();
    if correlation.is_none() && ids.is_empty() {
        return Err(ApiError::field(
            "correlationId",
            "Give correlationId or batchUploadIds.",
        ));
    }
    let batches = blocking(&state, move |s| {
        s.store.read(|c| {
            let mut out = Vec::new();
            if let Some(cid) = &correlation {
                out.extend(obj_list(c, "batch", Some(cid))?);
            }
            for id in &ids {
                out.push(
                    obj_get(c, "batch", id)?
                        .ok_or_else(|| ApiError::not_found("Batch upload", id))?,
                );
            }
            Ok(out)
        })
    })
    .await?;
    let sum = |k: &str| {
        batches
            .iter()
            .filter_map(|b| b.get(k).and_then(Value::as_u64))
            .sum::<u64>()
    };
    let processing = batches
        .iter()
        .any(|b| b.get("status").and_then(Value::as_str) == Some("Processing"));
    let done: Vec<&Value> = batches
        .iter()
        .filter(|b| b.get("status").and_then(Value::as_str) != Some("Processing"))
        .filter_map(|b| b.get("batchUploadId"))
        .collect();
    Ok(json(&json!({
        "status": if processing { "Processing" } else { "Completed" },
        "totalCount": sum("totalCount"), "completedCount": sum("completedCount"), "failedCount": sum("failedCount"),
        "completedBatches": done,
    })))
}

pub(super) async fn get_batch(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = blocking(&state, move |s| {
        s.store.read(|c| {
            obj_get(c, "batch", &id)?.ok_or_else(|| ApiError::not_found("Batch upload", &id))
        })
    })
    .await?;
    Ok(json(&doc))
}

pub(super) async fn abort_batch(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut doc = obj_get(tx, "batch", &id)?
                .ok_or_else(|| ApiError::not_found("Batch upload", &id))?;
            if doc.get("status").and_then(Value::as_str) == Some("Processing") {
                doc["status"] = Value::from("Aborted");
                obj_update(tx, "batch", &id, &doc)?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_path_component() {
        assert_eq!(
            url_basename("https://assets.example/a/cat-1.jpg?x=1"),
            "cat-1.jpg"
        );
        assert_eq!(url_basename("https://assets.example"), "asset");
        assert_eq!(basename("C:\\imgs\\dog.png"), "dog.png");
        assert!(issued_name("x.png").ends_with("_x.png"));
    }
}
