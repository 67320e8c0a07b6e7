//! What a job costs, how far it is, and its results (facts 14 and 15 of
//! `third_party/api/README.md`). Each call follows the SDK method named in its comment
//! (`rapidata_client/job/cost.py`, `job/progress.py`, `job/rapidata_job.py`,
//! `audience/recruiting.py`).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::Client;
use super::error::ApiError;
use super::transport::{seg, Request, Safety};

/// The SDK's polling of a cost estimate (`job/cost.py`: `DEFAULT_ESTIMATE_POLL_INTERVAL`,
/// `DEFAULT_ESTIMATE_TIMEOUT`).
pub const ESTIMATE_POLL_INTERVAL: Duration = Duration::from_secs(5);
pub const ESTIMATE_TIMEOUT: Duration = Duration::from_secs(300);

/// `GetJobCostEstimateEndpointOutput` / `GetJobDefinitionCostEstimateEndpointOutput`: an
/// estimate, not a bill (`CostEstimate` in `job/cost.py`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimate {
    pub estimated_cost: f64,
    pub cost_per_response: f64,
    pub datapoint_count: u64,
    pub required_responses: u64,
}

/// `GET /job/{id}` with what status and results need (`GetJobByIdEndpointOutput`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobDetail {
    pub id: String,
    pub name: String,
    pub definition_id: String,
    pub audience_id: String,
    pub revision_number: u32,
    /// `AudienceJobState`.
    pub state: String,
    pub completed_at: Option<String>,
    pub result_file_name: Option<String>,
    pub failure_message: Option<String>,
    pub review_reason: Option<String>,
    pub audience_deleted: bool,
}

/// `GET /job/{id}/progress` (`GetJobProgressEndpointOutput`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    /// 0–100.
    pub completion_percentage: f64,
    pub total: u64,
    pub completed: u64,
    pub response_count: u64,
}

/// The recruiting funnel of a custom audience (`RecruitingMetrics._from_users_per_state`
/// in `audience/recruiting.py`: bucketed by state-name prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecruitingMetrics {
    pub graduated: u64,
    pub distilling: u64,
    pub dropped: u64,
    pub inactive: u64,
    /// `AudienceCapacity`, when the server says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<String>,
}

impl RecruitingMetrics {
    pub fn from_users_per_state(v: &Value) -> RecruitingMetrics {
        let mut m = RecruitingMetrics::default();
        for (state, count) in v.as_object().into_iter().flatten() {
            let n = count.as_u64().unwrap_or(0);
            if state.starts_with("Inactive") {
                m.inactive += n;
            } else if state.starts_with("Dropped") {
                m.dropped += n;
            } else if state == "Graduated" {
                m.graduated += n;
            } else if state == "Distilling" {
                m.distilling += n;
            }
        }
        m
    }
}

/// `GET /audience/{id}`: what tells whether a job on it can ever get responses.
#[derive(Debug, Clone, PartialEq)]
pub struct AudienceState {
    pub name: String,
    /// `AudienceStatus`: Created, Pending, Recruiting, Ready.
    pub status: String,
}

/// `audience_will_never_produce_responses` (`audience/recruiting.py`): nobody graduated
/// and nobody will without the user acting.
pub fn audience_never_produces(status: &str, metrics: Option<&RecruitingMetrics>) -> bool {
    if metrics.is_some_and(|m| m.graduated > 0 || m.distilling > 0) {
        return false;
    }
    if status == "Created" {
        return true;
    }
    status == "Ready" && metrics.is_some()
}

fn opt_str(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn job_detail(v: &Value) -> Result<JobDetail, String> {
    let req = |k: &str| opt_str(v, k).ok_or_else(|| format!("missing `{k}`"));
    Ok(JobDetail {
        id: req("jobId")?,
        name: req("name")?,
        definition_id: req("definitionId")?,
        audience_id: req("audienceId")?,
        revision_number: v
            .get("revisionNumber")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("missing `revisionNumber`")?,
        state: req("state")?,
        completed_at: opt_str(v, "completedAt"),
        result_file_name: opt_str(v, "resultFileName"),
        failure_message: opt_str(v, "failureMessage"),
        review_reason: opt_str(v, "reviewReason"),
        audience_deleted: v
            .get("audienceDeleted")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn estimate(route: &str, v: Value) -> Result<Option<CostEstimate>, ApiError> {
    // "200 with an empty body" is "not priced yet", like 409 (`_poll_for_cost_estimate`).
    if v.is_null() {
        return Ok(None);
    }
    serde_json::from_value(v)
        .map(Some)
        .map_err(|e| ApiError::Decode {
            route: route.to_string(),
            message: e.to_string(),
        })
}

impl Client {
    async fn get(&self, route: &'static str, path: String) -> Result<Value, ApiError> {
        self.call(Request::new(Method::GET, route, path, Safety::Repeatable))
            .await
    }

    /// One read of an estimate: `None` while it is not priced yet (409 or an empty body).
    async fn estimate_once(
        &self,
        route: &'static str,
        path: String,
    ) -> Result<Option<CostEstimate>, ApiError> {
        match self.get(route, path).await {
            Ok(v) => estimate(&format!("GET {route}"), v),
            Err(ApiError::Problem { status: 409, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /job/definition/{id}/cost-estimate` once (`RapidataJobDefinition.estimated_cost`
    /// without the wait): `None` while not priced.
    pub async fn definition_cost_estimate(
        &self,
        definition_id: &str,
    ) -> Result<Option<CostEstimate>, ApiError> {
        self.estimate_once(
            "/job/definition/{definitionId}/cost-estimate",
            format!("/job/definition/{}/cost-estimate", seg(definition_id)),
        )
        .await
    }

    /// `GET /job/{id}/cost-estimate` once (`RapidataJob.estimated_cost` without the wait).
    pub async fn job_cost_estimate(&self, job_id: &str) -> Result<Option<CostEstimate>, ApiError> {
        self.estimate_once(
            "/job/{jobId}/cost-estimate",
            format!("/job/{}/cost-estimate", seg(job_id)),
        )
        .await
    }

    /// The definition's estimate, waiting for it like `_poll_for_cost_estimate` in
    /// `job/cost.py`: read, and while not priced sleep `interval` and read again, until
    /// `timeout` has passed. `Ok(None)` when it was still not priced then.
    pub async fn wait_definition_cost_estimate(
        &self,
        definition_id: &str,
        interval: Duration,
        timeout: Duration,
    ) -> Result<Option<CostEstimate>, ApiError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.definition_cost_estimate(definition_id).await? {
                return Ok(Some(e));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// `GET /job/{id}` (`RapidataJob._fetch_job`).
    pub async fn job_detail(&self, job_id: &str) -> Result<JobDetail, ApiError> {
        let v = self
            .get("/job/{jobId}", format!("/job/{}", seg(job_id)))
            .await?;
        Self::decode("GET /job/{jobId}", job_detail(&v))
    }

    /// `GET /job/{id}/progress` (`RapidataJob._get_job_progress`).
    pub async fn job_progress(&self, job_id: &str) -> Result<JobProgress, ApiError> {
        let v = self
            .get(
                "/job/{jobId}/progress",
                format!("/job/{}/progress", seg(job_id)),
            )
            .await?;
        serde_json::from_value(v).map_err(|e| ApiError::Decode {
            route: "GET /job/{jobId}/progress".into(),
            message: e.to_string(),
        })
    }

    /// `GET /audience/{id}/user-metrics` (`RapidataJob._get_recruiting_metrics`): `None`
    /// when it reports no users per state (a curated audience).
    pub async fn recruiting_metrics(
        &self,
        audience_id: &str,
    ) -> Result<Option<RecruitingMetrics>, ApiError> {
        let v = self
            .get(
                "/audience/{audienceId}/user-metrics",
                format!("/audience/{}/user-metrics", seg(audience_id)),
            )
            .await?;
        let users = v.get("usersPerState").cloned().unwrap_or(Value::Null);
        if users.as_object().is_none_or(|o| o.is_empty()) {
            return Ok(None);
        }
        let mut m = RecruitingMetrics::from_users_per_state(&users);
        m.capacity = opt_str(&v, "capacity");
        Ok(Some(m))
    }

    /// `GET /audience/{id}`: its name and status.
    pub async fn audience_state(&self, audience_id: &str) -> Result<AudienceState, ApiError> {
        let v = self
            .get(
                "/audience/{audienceId}",
                format!("/audience/{}", seg(audience_id)),
            )
            .await?;
        Ok(AudienceState {
            name: opt_str(&v, "name").unwrap_or_default(),
            status: opt_str(&v, "status").unwrap_or_default(),
        })
    }

    /// `GET /job/{id}/download-results`: the results file as returned
    /// (`RapidataJob.get_results`, once the job is `Completed` or `Failed`).
    pub async fn download_job_results(&self, job_id: &str) -> Result<Vec<u8>, ApiError> {
        self.call_bytes(Request::new(
            Method::GET,
            "/job/{jobId}/download-results",
            format!("/job/{}/download-results", seg(job_id)),
            Safety::Repeatable,
        ))
        .await
    }

    /// `GET /order/{id}/download-results`, the order's twin (fact 15).
    pub async fn download_order_results(&self, order_id: &str) -> Result<Vec<u8>, ApiError> {
        self.call_bytes(Request::new(
            Method::GET,
            "/order/{orderId}/download-results",
            format!("/order/{}/download-results", seg(order_id)),
            Safety::Repeatable,
        ))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn funnel_buckets_by_prefix_like_the_sdk() {
        let m = RecruitingMetrics::from_users_per_state(&json!({
            "Graduated": 3, "Distilling": 2, "DroppedLowAccuracy": 4, "DroppedLimit": 1,
            "InactiveGraduated": 5, "Unknown": 9
        }));
        assert_eq!(
            (m.graduated, m.distilling, m.dropped, m.inactive),
            (3, 2, 5, 5)
        );
    }

    #[test]
    fn never_produces_only_without_graduates_or_candidates() {
        let empty = RecruitingMetrics::default();
        assert!(audience_never_produces("Created", None));
        assert!(audience_never_produces("Ready", Some(&empty)));
        assert!(!audience_never_produces("Recruiting", Some(&empty)));
        let filling = RecruitingMetrics {
            distilling: 1,
            ..Default::default()
        };
        assert!(!audience_never_produces("Created", Some(&filling)));
        assert!(!audience_never_produces("Ready", None));
    }
}
