//! `status`: where each manifest resource lives on the remote, how far each job and order
//! is, and — when one cannot finish on its own — why and what to do.
//!
//! A job's progress is read like `RapidataJob.get_progress` (`rapidata_client/job/
//! rapidata_job.py`): `GET /job/{id}`, `GET /job/{id}/progress`, and for a custom audience
//! `GET /audience/{id}/user-metrics`. What counts as "cannot finish" follows the SDK's
//! `_raise_for_blocking_status` and `_raise_if_audience_cannot_produce_responses`.

pub mod render;
pub mod wait;

use serde::Serialize;

use crate::manifest::{Project, Resource, ResourceKind};
use crate::plan::{Observation, Observed};
use crate::remote::progress::{audience_never_produces, JobProgress, RecruitingMetrics};
use crate::remote::{ApiError, Client, DatasetProgress};

/// Bumped whenever the JSON shape changes incompatibly.
pub const STATUS_FORMAT_VERSION: u32 = 1;

/// The public audience every account has: curated, no recruiting funnel of its own.
const GLOBAL_AUDIENCE: &str = "global";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub format_version: u32,
    pub resources: Vec<ResourceStatus>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    pub kind: ResourceKind,
    pub name: String,
    pub exists: bool,
    pub id: Option<String>,
    pub revision: Option<u32>,
    pub dataset_id: Option<String>,
    pub desired_datapoints: Option<usize>,
    pub dataset: Option<Counts>,
    /// `AudienceJobState` of a job, `OrderState` of an order.
    pub state: Option<String>,
    /// Jobs: labeling progress. Orders have none in the API; a completed one is 100%.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_percentage: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<JobProgress>,
    /// The job's audience, when it is not `global`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<AudienceInfo>,
    /// The recruiting funnel of a custom audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recruiting: Option<RecruitingMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Completed (or failed: nothing more will come).
    pub done: bool,
    /// Why it cannot finish on its own, and what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stuck: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudienceInfo {
    pub id: String,
    pub name: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub total: u64,
    pub ready: u64,
    pub pending: u64,
    pub failed: u64,
}

impl From<DatasetProgress> for Counts {
    fn from(p: DatasetProgress) -> Self {
        Counts {
            total: p.total,
            ready: p.ready,
            pending: p.pending,
            failed: p.failed,
        }
    }
}

impl StatusReport {
    /// Jobs and orders that exist.
    pub fn runs(&self) -> impl Iterator<Item = &ResourceStatus> {
        self.resources
            .iter()
            .filter(|r| matches!(r.kind, ResourceKind::Job | ResourceKind::Order) && r.exists)
    }

    /// Every job and order is done or cannot go on by itself: nothing left to wait for.
    pub fn settled(&self) -> bool {
        self.runs().all(|r| r.done || r.stuck.is_some())
    }

    /// Some job or order cannot finish, or failed.
    pub fn any_stuck(&self) -> bool {
        self.runs()
            .any(|r| r.stuck.is_some() || r.state.as_deref() == Some("Failed"))
    }
}

impl ResourceStatus {
    fn new(r: &Resource) -> ResourceStatus {
        let desired = match r {
            Resource::JobDefinition(d) => Some(d.spec.datapoints.len()),
            Resource::Order(o) => Some(o.spec.datapoints.len()),
            _ => None,
        };
        ResourceStatus {
            kind: r.kind(),
            name: r.name().to_string(),
            exists: false,
            id: None,
            revision: None,
            dataset_id: None,
            desired_datapoints: desired,
            dataset: None,
            state: None,
            completion_percentage: None,
            progress: None,
            audience: None,
            recruiting: None,
            completed_at: None,
            done: false,
            stuck: None,
        }
    }
}

/// Status of every manifest resource from an observation.
pub async fn collect(
    client: &Client,
    project: &Project,
    observed: &Observed,
) -> Result<StatusReport, ApiError> {
    let mut resources = Vec::new();
    for r in &project.resources {
        let mut row = ResourceStatus::new(r);
        match observed.get(r.kind(), r.name()) {
            Some(Observation::Audience(Some(a))) => {
                row.exists = true;
                row.id = Some(a.id.clone());
            }
            Some(Observation::JobDefinition(Some(d))) => {
                row.exists = true;
                row.id = Some(d.definition.id.clone());
                row.revision = Some(d.revision.number);
                row.dataset_id = Some(d.revision.dataset_id.clone());
                row.dataset = client
                    .dataset_progress(&d.revision.dataset_id)
                    .await
                    .ok()
                    .map(Counts::from);
            }
            Some(Observation::Order(Some(o))) => {
                row.exists = true;
                row.id = Some(o.order.id.clone());
                row.dataset_id = o.order.dataset_id.clone();
                if let Some(ds) = &o.order.dataset_id {
                    row.dataset = client.dataset_progress(ds).await.ok().map(Counts::from);
                }
            }
            Some(Observation::ValidationSet(Some(v))) => {
                row.exists = true;
                row.id = Some(v.id.clone());
            }
            // The newest job with the manifest's name is the one that runs.
            Some(Observation::Job(jobs)) if !jobs.is_empty() => {
                let j = &jobs[jobs.len() - 1];
                row.exists = true;
                row.id = Some(j.id.clone());
                row.revision = Some(j.revision_number);
            }
            _ => {}
        }
        resources.push(row);
    }
    let mut report = StatusReport {
        format_version: STATUS_FORMAT_VERSION,
        resources,
    };
    refresh(client, project, &mut report).await?;
    Ok(report)
}

/// Read the state and progress of every job and order again (`status --wait` polls this).
pub async fn refresh(
    client: &Client,
    project: &Project,
    report: &mut StatusReport,
) -> Result<(), ApiError> {
    let rows = report.resources.iter_mut().filter(|r| r.exists);
    let results = futures::future::join_all(rows.map(|row| async move {
        match row.kind {
            ResourceKind::Job => job(client, project, row).await,
            ResourceKind::Order => order(client, project, row).await,
            _ => Ok(()),
        }
    }))
    .await;
    results.into_iter().collect()
}

async fn job(client: &Client, project: &Project, row: &mut ResourceStatus) -> Result<(), ApiError> {
    let Some(id) = row.id.clone() else {
        return Ok(());
    };
    let detail = client.job_detail(&id).await?;
    // 404 when the job has no labeling task (yet): no progress to show.
    let progress = match client.job_progress(&id).await {
        Ok(p) => Some(p),
        Err(ApiError::Problem { status: 404, .. }) => None,
        Err(e) => return Err(e),
    };
    let custom = detail.audience_id != GLOBAL_AUDIENCE && !detail.audience_deleted;
    // A failed metrics read is "unknown" and never marks the job stuck (as in the SDK).
    let recruiting = if custom {
        client
            .recruiting_metrics(&detail.audience_id)
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let audience = if custom {
        client
            .audience_state(&detail.audience_id)
            .await
            .ok()
            .map(|a| AudienceInfo {
                id: detail.audience_id.clone(),
                name: a.name,
                status: a.status,
            })
    } else {
        None
    };
    let state = detail.state.clone();
    row.done = matches!(state.as_str(), "Completed" | "Failed");
    row.completion_percentage = match (&progress, state.as_str()) {
        (_, "Completed") => Some(100.0),
        (Some(p), _) => Some(p.completion_percentage),
        (None, _) => None,
    };
    let paused_by_manifest = project
        .resources
        .iter()
        .any(|r| matches!(r, Resource::Job(j) if j.name == row.name && j.paused));
    row.stuck = match state.as_str() {
        "SpendLimited" => Some(
            "spend-limited: the account ran out of funds while it ran, so it stopped collecting responses. Partial results remain; top up the account and it goes on.".to_string(),
        ),
        "Paused" if paused_by_manifest => Some(
            "paused, as its manifest says (`paused: true`). Set `paused: false` and apply to let it finish.".to_string(),
        ),
        "Paused" => Some(
            "paused, so it collects no responses. Partial results remain; apply (its manifest wants it running) or resume it to let it finish.".to_string(),
        ),
        "Blocked" => Some(
            "blocked: a rapid in it was flagged, and it cannot complete until that rapid is reviewed. Inspect and unflag it on the job's page in the Rapidata app.".to_string(),
        ),
        "ManualApproval" => Some(format!(
            "being reviewed{}: a Rapidata reviewer must approve it before it runs. This can take a couple of hours; nothing to do but wait.",
            detail
                .review_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )),
        "StaleResults" => Some(
            "its results went stale: they must be regenerated (the SDK's get_results does this) before they can be downloaded.".to_string(),
        ),
        "Failed" => Some(format!(
            "failed{}. Nothing more will come; fix the cause and replace the job.",
            detail
                .failure_message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )),
        _ if detail.audience_deleted => Some(
            "its audience was deleted, so it can never run. Assign it to another audience.".to_string(),
        ),
        "Completed" => None,
        _ => match &audience {
            Some(a) if audience_never_produces(&a.status, recruiting.as_ref()) => Some(format!(
                "its audience `{}` can never produce responses: no annotators graduated and none are being recruited. A job only gets responses from graduated annotators, who graduate once the audience has qualification examples and recruiting started. Add examples and start recruiting, or assign the job to the `global` audience.",
                a.name
            )),
            _ => None,
        },
    };
    row.state = Some(state);
    row.completed_at = detail.completed_at;
    row.progress = progress;
    row.recruiting = recruiting;
    row.audience = audience;
    Ok(())
}

async fn order(
    client: &Client,
    project: &Project,
    row: &mut ResourceStatus,
) -> Result<(), ApiError> {
    let Some(id) = row.id.clone() else {
        return Ok(());
    };
    let o = client.get_order(&id).await?;
    let state = o.state.clone();
    row.done = matches!(state.as_str(), "Completed" | "Failed" | "Cancelled");
    // The API reports no progress for orders: 100% once completed, unknown before.
    row.completion_percentage = (state == "Completed").then_some(100.0);
    let runs = project
        .resources
        .iter()
        .any(|r| matches!(r, Resource::Order(x) if x.name == row.name && x.run));
    row.stuck = match state.as_str() {
        "Created" | "Preview" if !runs => Some(
            "not submitted: its manifest says `run: false`. Set `run: true` and apply to start it.".to_string(),
        ),
        "Created" | "Preview" => Some(
            "not submitted yet: apply submits it once its datapoints are in (see the apply report if it did not).".to_string(),
        ),
        "Paused" => Some("paused, so it collects no responses. Resume it to let it finish.".to_string()),
        "ManualReview" => Some(
            "being reviewed: a Rapidata reviewer must approve it before it runs. Nothing to do but wait.".to_string(),
        ),
        "Cancelled" => Some("cancelled: nothing more will come.".to_string()),
        "Failed" => Some("failed: nothing more will come.".to_string()),
        "StaleResults" => Some(
            "its results went stale: they must be regenerated before they can be downloaded.".to_string(),
        ),
        _ => None,
    };
    row.state = Some(state);
    Ok(())
}
