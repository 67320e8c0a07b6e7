//! The route table: every endpoint of the contract the client and the SDK use, plus the auth
//! host's two endpoints, on one router.

mod assets;
mod audiences;
mod datasets;
mod definitions;
mod examples;
mod jobs;
mod orders;
mod runs;
mod validation_sets;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post};
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
        .route("/dataset/{datasetId}/name", patch(datasets::rename_dataset))
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
        .route(
            "/job/definition/{definitionId}/cost-estimate",
            get(definitions::definition_cost),
        )
        .route("/job/definitions", get(definitions::list_definitions))
        .route("/job", post(jobs::create_job))
        .route(
            "/job/{jobId}",
            get(jobs::get_job)
                .patch(jobs::update_job)
                .delete(jobs::delete_job),
        )
        .route("/job/{jobId}/pause", post(jobs::pause_job))
        .route("/job/{jobId}/resume", post(jobs::resume_job))
        .route("/job/{jobId}/progress", get(jobs::job_progress))
        .route("/job/{jobId}/cost-estimate", get(jobs::job_cost))
        .route("/job/{jobId}/download-results", get(jobs::job_results))
        .route("/jobs", get(jobs::list_jobs))
        .route("/audience", post(audiences::create_audience))
        .route(
            "/audience/{audienceId}",
            get(audiences::get_audience)
                .patch(audiences::update_audience)
                .delete(audiences::delete_audience),
        )
        .route(
            "/audience/{audienceId}/user-metrics",
            get(audiences::user_metrics),
        )
        .route("/audience/{audienceId}/recruit", post(audiences::recruit))
        .route("/audience/{audienceId}/jobs", get(audiences::audience_jobs))
        .route(
            "/audience/{audienceId}/example",
            post(examples::add_example),
        )
        .route(
            "/audience/{audienceId}/examples",
            get(examples::list_examples),
        )
        .route(
            "/audience/{audienceId}/example/{exampleId}",
            patch(examples::update_example),
        )
        .route(
            "/audience/example/{exampleId}",
            delete(examples::delete_example),
        )
        .route(
            "/audience/{baseAudienceId}/filter",
            post(audiences::create_filtered_audience),
        )
        .route("/audiences", get(audiences::list_audiences))
        .route("/validation-set", post(validation_sets::create_set))
        .route(
            "/validation-set/{validationSetId}",
            get(validation_sets::get_set)
                .patch(validation_sets::update_set)
                .delete(validation_sets::delete_set),
        )
        .route(
            "/validation-set/{validationSetId}/rapid",
            post(validation_sets::add_rapid),
        )
        .route(
            "/validation-set/{validationSetId}/rapids",
            get(validation_sets::list_rapids),
        )
        .route("/validation-sets", get(validation_sets::list_sets))
        .route("/order", post(orders::create_order))
        .route(
            "/order/{orderId}",
            get(orders::get_order)
                .patch(orders::update_order)
                .delete(orders::delete_order),
        )
        .route("/order/{orderId}/submit", post(orders::submit_order))
        .route("/order/{orderId}/preview", post(orders::preview_order))
        .route("/order/{orderId}/pause", post(orders::pause_order))
        .route("/order/{orderId}/resume", post(orders::resume_order))
        .route(
            "/order/{orderId}/download-results",
            get(orders::order_results),
        )
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

/// Creates what a fresh emulator starts with: the public audience `global`; brings state from
/// an older emulator up to date.
pub(crate) fn seed(state: &AppState) -> ApiResult<()> {
    let sim = state.simulation();
    state.store.write(|tx| {
        runs::migrate(tx, &sim)?;
        if obj_get(tx, "audience", audiences::GLOBAL_AUDIENCE)?.is_none() {
            let audience = audiences::audience_doc(
                audiences::GLOBAL_AUDIENCE,
                "Global",
                &json!([]),
                true,
                &now(),
            );
            obj_insert(tx, "audience", audiences::GLOBAL_AUDIENCE, None, &audience)?;
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
        crate::contract::Contract::get().validate_definition("CreateDatapointEndpointInput", &body);
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
