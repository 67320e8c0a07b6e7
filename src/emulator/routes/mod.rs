//! The route table: every endpoint of the contract the client and the SDK use, plus the auth
//! host's two endpoints, on one router.

mod assets;
mod datasets;
mod definitions;
mod jobs;
mod orders;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::http::{ApiError, ApiResult};
use super::store::{now, obj_get, obj_insert};
use super::{auth, datapoints, server, AppState, Shared};

/// Uploads are read and hashed, never stored; this only bounds a single request.
const MAX_BODY: usize = 512 * 1024 * 1024;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/connect/token", post(auth::token))
        .route("/connect/userinfo", get(auth::userinfo))
        .route("/dataset", post(datasets::create_dataset))
        .route("/dataset/{datasetId}", get(datasets::get_dataset))
        .route("/dataset/{datasetId}/progress", get(datasets::progress))
        .route(
            "/dataset/{datasetId}/datapoint",
            post(datasets::create_datapoint),
        )
        .route(
            "/dataset/{datasetId}/datapoints",
            get(datasets::list_datapoints),
        )
        .route(
            "/dataset/{datasetId}/datapoints/failed",
            get(datasets::failed_datapoints),
        )
        .route("/dataset/{datasetId}/group", post(datasets::create_group))
        .route(
            "/datapoint/{datapointId}",
            get(datasets::get_datapoint).delete(datasets::delete_datapoint),
        )
        .route("/asset/file", post(assets::upload_file))
        .route("/asset/url", post(assets::upload_url))
        .route("/asset/batch-upload", post(assets::create_batch))
        .route("/asset/batch-upload/status", get(assets::batch_status))
        .route(
            "/asset/batch-upload/{batchUploadId}",
            get(assets::get_batch),
        )
        .route(
            "/asset/batch-upload/{batchUploadId}/abort",
            post(assets::abort_batch),
        )
        .route("/job/definition", post(definitions::create_definition))
        .route(
            "/job/definition/{definitionId}",
            get(definitions::get_definition)
                .delete(definitions::delete_definition)
                .patch(definitions::update_definition),
        )
        .route(
            "/job/definition/{definitionId}/revision",
            post(definitions::create_revision).get(definitions::latest_revision),
        )
        .route(
            "/job/definition/{definitionId}/revision/{revisionNumber}",
            get(definitions::get_revision),
        )
        .route(
            "/job/definition/{definitionId}/revisions",
            get(definitions::list_revisions),
        )
        .route("/job/definitions", get(definitions::list_definitions))
        .route("/job", post(jobs::create_job))
        .route("/job/{jobId}", get(jobs::get_job))
        .route("/job/{jobId}/progress", get(jobs::job_progress))
        .route("/jobs", get(jobs::list_jobs))
        .route("/audience", post(jobs::create_audience))
        .route("/audience/{audienceId}", get(jobs::get_audience))
        .route(
            "/audience/{audienceId}/user-metrics",
            get(jobs::user_metrics),
        )
        .route("/audiences", get(jobs::list_audiences))
        .route("/order", post(orders::create_order))
        .route("/order/{orderId}", get(orders::get_order))
        .route("/order/{orderId}/submit", post(orders::submit_order))
        .route("/order/{orderId}/preview", post(orders::preview_order))
        .route("/orders", get(orders::list_orders))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            server::gate,
        ))
        .fallback(server::not_found)
        .layer(axum::middleware::from_fn(server::finish))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Creates what a fresh emulator starts with: the public audience `global`.
pub(crate) fn seed(state: &AppState) -> ApiResult<()> {
    state.store.write(|tx| {
        if obj_get(tx, "audience", jobs::GLOBAL_AUDIENCE)?.is_none() {
            let audience =
                jobs::audience_doc(jobs::GLOBAL_AUDIENCE, "Global", &json!([]), true, &now());
            obj_insert(tx, "audience", jobs::GLOBAL_AUDIENCE, None, &audience)?;
        }
        Ok(())
    })
}

/// See [`super::EmulatorHandle::bulk_insert_datapoints`].
pub(crate) fn bulk_insert(
    state: &AppState,
    dataset_id: &str,
    segments: &Value,
    count: u64,
) -> ApiResult<()> {
    let body = json!({"segments": segments});
    let violations =
        super::schema::Contract::get().validate_definition("CreateDatapointEndpointInput", &body);
    if let Some(v) = violations.first() {
        return Err(ApiError::field(&v.path, v.message.clone()));
    }
    let seq = state.store.write(|tx| {
        let ds = datapoints::dataset_get(tx, dataset_id)?
            .ok_or_else(|| ApiError::not_found("Dataset", dataset_id))?;
        let out = datasets::prepare_segments(
            tx,
            &ds,
            segments.as_array().map(Vec::as_slice).unwrap_or(&[]),
        )?;
        datapoints::datapoint_bulk_insert(tx, ds.seq, &out, count)?;
        Ok(ds.seq)
    })?;
    state.store.cursors.bump(seq);
    Ok(())
}
