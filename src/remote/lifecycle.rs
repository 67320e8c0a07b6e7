//! Contract v2: the calls that change, pause and remove what exists (facts 12, 13, 16, 19 of
//! `third_party/api/README.md`). Each follows the SDK method named in its comment.
//!
//! PATCH, pause, resume and DELETE are idempotent, so the transport may repeat them; a
//! DELETE of something already gone (404) counts as done.

use reqwest::Method;
use serde_json::{json, Value};

use super::client::Client;
use super::error::ApiError;
use super::model::{RemoteJob, RemoteRevision};
use super::transport::{seg, Request, Safety};
use super::wire_read;

/// A revision save refused because another revision was saved since the plan's base
/// (`RevisionConflictError` in the SDK).
pub fn is_revision_conflict(e: &ApiError) -> bool {
    matches!(e, ApiError::Problem { status: 409, .. })
}

impl Client {
    async fn no_content(
        &self,
        method: Method,
        route: &'static str,
        path: String,
        body: Option<Value>,
    ) -> Result<(), ApiError> {
        let mut req = Request::new(method, route, path, Safety::Repeatable);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.call(req).await.map(|_| ())
    }

    // ---- job definitions ----

    /// `PATCH /job/definition/{id}` `{name}`: moves a definition aside before its
    /// replacement is created under the same name.
    pub async fn rename_job_definition(&self, id: &str, name: &str) -> Result<(), ApiError> {
        self.no_content(
            Method::PATCH,
            "/job/definition/{definitionId}",
            format!("/job/definition/{}", seg(id)),
            Some(json!({ "name": name })),
        )
        .await
    }

    /// One revision by number (`RapidataJobDefinition._fetch_revision`).
    pub async fn revision(
        &self,
        definition_id: &str,
        number: u32,
    ) -> Result<RemoteRevision, ApiError> {
        let route = "/job/definition/{definitionId}/revision/{revisionNumber}";
        let path = format!("/job/definition/{}/revision/{number}", seg(definition_id));
        let v = self
            .call(Request::new(Method::GET, route, path, Safety::Repeatable))
            .await?;
        Self::decode(&format!("GET {route}"), wire_read::revision(&v))
    }

    // ---- jobs (rapidata_client/job/rapidata_job.py) ----

    /// Every job named exactly `name`, on any definition (`GET /jobs?name[eq]=`).
    pub async fn find_jobs_named(&self, name: &str) -> Result<Vec<RemoteJob>, ApiError> {
        let all = self.jobs_where("name[eq]", name).await?;
        Ok(all.into_iter().filter(|j| j.name == name).collect())
    }

    /// `RapidataJob.pause`.
    pub async fn pause_job(&self, id: &str) -> Result<(), ApiError> {
        self.no_content(
            Method::POST,
            "/job/{jobId}/pause",
            format!("/job/{}/pause", seg(id)),
            None,
        )
        .await
    }

    /// `RapidataJob.resume`.
    pub async fn resume_job(&self, id: &str) -> Result<(), ApiError> {
        self.no_content(
            Method::POST,
            "/job/{jobId}/resume",
            format!("/job/{}/resume", seg(id)),
            None,
        )
        .await
    }

    /// `RapidataJob.delete`.
    pub async fn delete_job(&self, id: &str) -> Result<(), ApiError> {
        self.delete(Request::new(
            Method::DELETE,
            "/job/{jobId}",
            format!("/job/{}", seg(id)),
            Safety::Repeatable,
        ))
        .await
    }

    // ---- audiences (rapidata_client/audience/rapidata_audience.py) ----

    /// `PATCH /audience/{id}` (`update_filters`, `update_name`): the fields given change,
    /// the others stay.
    pub async fn update_audience(&self, id: &str, body: &Value) -> Result<(), ApiError> {
        self.no_content(
            Method::PATCH,
            "/audience/{audienceId}",
            format!("/audience/{}", seg(id)),
            Some(body.clone()),
        )
        .await
    }

    /// `RapidataAudience.filter` (`rapidata_client/audience/rapidata_audience.py`):
    /// `POST /audience/{baseAudienceId}/filter` with `{filter}`; answers the new audience's
    /// id. Not repeated by the transport: a lost answer is decided by the next observation.
    pub async fn create_filtered_audience(
        &self,
        base_id: &str,
        body: &Value,
    ) -> Result<String, ApiError> {
        let req = Request::new(
            Method::POST,
            "/audience/{baseAudienceId}/filter",
            format!("/audience/{}/filter", seg(base_id)),
            Safety::Create,
        )
        .json_ref(body);
        self.call_field(req, "audienceId").await
    }

    /// `RapidataAudience.delete`.
    pub async fn delete_audience(&self, id: &str) -> Result<(), ApiError> {
        self.delete(Request::new(
            Method::DELETE,
            "/audience/{audienceId}",
            format!("/audience/{}", seg(id)),
            Safety::Repeatable,
        ))
        .await
    }

    // ---- orders (the generated OrderApi; the SDK's service layer no longer calls it) ----

    pub async fn rename_order(&self, id: &str, name: &str) -> Result<(), ApiError> {
        self.no_content(
            Method::PATCH,
            "/order/{orderId}",
            format!("/order/{}", seg(id)),
            Some(json!({ "name": name })),
        )
        .await
    }

    pub async fn pause_order(&self, id: &str) -> Result<(), ApiError> {
        self.no_content(
            Method::POST,
            "/order/{orderId}/pause",
            format!("/order/{}/pause", seg(id)),
            None,
        )
        .await
    }

    pub async fn resume_order(&self, id: &str) -> Result<(), ApiError> {
        self.no_content(
            Method::POST,
            "/order/{orderId}/resume",
            format!("/order/{}/resume", seg(id)),
            None,
        )
        .await
    }

    pub async fn delete_order(&self, id: &str) -> Result<(), ApiError> {
        self.delete(Request::new(
            Method::DELETE,
            "/order/{orderId}",
            format!("/order/{}", seg(id)),
            Safety::Repeatable,
        ))
        .await
    }
}

impl Client {
    /// `PATCH /job/{id}` (`UpdateJobEndpointInput`: the name only).
    pub async fn rename_job(&self, id: &str, name: &str) -> Result<(), ApiError> {
        self.no_content(
            Method::PATCH,
            "/job/{jobId}",
            format!("/job/{}", seg(id)),
            Some(json!({ "name": name })),
        )
        .await
    }

    /// `PATCH /dataset/{id}/name`.
    pub async fn rename_dataset(&self, id: &str, name: &str) -> Result<(), ApiError> {
        self.no_content(
            Method::PATCH,
            "/dataset/{datasetId}/name",
            format!("/dataset/{}/name", seg(id)),
            Some(json!({ "name": name })),
        )
        .await
    }

    /// The jobs of an audience (`GET /audience/{id}/jobs`), as ids.
    pub async fn audience_job_ids(&self, audience_id: &str) -> Result<Vec<String>, ApiError> {
        let path = format!("/audience/{}/jobs", seg(audience_id));
        let items = self
            .all_pages(|p| {
                Request::new(
                    Method::GET,
                    "/audience/{audienceId}/jobs",
                    path.clone(),
                    Safety::Repeatable,
                )
                .query("page", p)
                .query("page_size", 100)
            })
            .await?;
        Ok(items
            .iter()
            .filter_map(|v| v.get("jobId").and_then(Value::as_str).map(str::to_string))
            .collect())
    }
}

impl Client {
    /// Every audience the credentials can see (for finding the ones a project marked and
    /// no longer has; `GET /audiences` has no filter on the description).
    pub async fn list_audiences(&self) -> Result<Vec<super::model::RemoteAudience>, ApiError> {
        let items = self
            .all_pages(|p| {
                Request::new(
                    Method::GET,
                    "/audiences",
                    "/audiences".into(),
                    Safety::Repeatable,
                )
                .query("page", p)
                .query("page_size", 100)
                .query("sort", "-created_at")
            })
            .await?;
        Self::decode(
            "GET /audiences",
            items
                .iter()
                .map(wire_read::audience)
                .collect::<Result<Vec<_>, _>>(),
        )
    }
}
