//! Steps on what exists remotely, whatever its kind: renames in place, moving a replaced
//! resource aside, pausing and resuming, and deleting what no manifest describes any more
//! (an old job, a duplicate, an orphan with `--prune`).

use super::error::{StepError, StepResult};
use super::execute::{misfit, write, Ctx, Executor, RoundOutcome};
use super::remote::Remote;
use crate::manifest::{Resource, ResourceKind};
use crate::plan::{dataset_name, ResourcePlan, Step};
use crate::remote::wire_build;

impl<C: Remote> Executor<'_, C> {
    /// The steps of a plan entry no manifest describes.
    pub(super) async fn lifecycle_step(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        _ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let id = rp.remote_id.as_deref().ok_or_else(|| misfit(rp, step))?;
        match step {
            Step::Delete => self.delete_remote(rp, id, out).await,
            Step::Pause | Step::Resume => {
                self.pause_or_resume(rp, *step == Step::Pause, id, out)
                    .await
            }
            Step::MoveAside { to } => self.move_aside(rp, to, out).await,
            _ => Err(misfit(rp, step)),
        }
    }

    async fn delete_remote(
        &self,
        rp: &ResourcePlan,
        id: &str,
        out: &mut RoundOutcome,
    ) -> StepResult {
        if rp.kind == ResourceKind::JobDefinition {
            // Its jobs go first (the plan lists them before it): a job whose definition
            // is gone would keep labeling where no plan sees it.
            let jobs = self
                .client
                .find_jobs(id)
                .await
                .map_err(|e| StepError::api("listing the definition's jobs", &e))?;
            if let Some(j) = jobs.first() {
                return Err(StepError::wait(format!(
                    "not deleted: {} job(s) still run on it (first: `{}`, {}); the next round deletes them first",
                    jobs.len(),
                    j.name,
                    j.id
                )));
            }
        }
        self.delete(rp.kind, id)
            .await
            .map_err(|e| StepError::api(&format!("deleting the {}", rp.kind), &e))?;
        write(out, "Delete", rp);
        self.progress
            .step(&format!("deleted {} {} ({id})", rp.kind, rp.name));
        Ok(())
    }

    pub(super) async fn pause_or_resume(
        &self,
        rp: &ResourcePlan,
        pause: bool,
        id: &str,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let r = match (rp.kind, pause) {
            (ResourceKind::Job, true) => self.client.pause_job(id).await,
            (ResourceKind::Job, false) => self.client.resume_job(id).await,
            (ResourceKind::Order, true) => self.client.pause_order(id).await,
            (ResourceKind::Order, false) => self.client.resume_order(id).await,
            _ => return Err(misfit(rp, if pause { &Step::Pause } else { &Step::Resume })),
        };
        r.map_err(|e| StepError::api(if pause { "pausing" } else { "resuming" }, &e))?;
        write(out, if pause { "Pause" } else { "Resume" }, rp);
        let verb = if pause { "paused" } else { "resumed" };
        self.progress
            .step(&format!("{verb} {} {} ({id})", rp.kind, rp.name));
        Ok(())
    }

    /// `PATCH` the name of the remote one, so its replacement can be created under the
    /// manifest's name before it is removed.
    pub(super) async fn move_aside(
        &self,
        rp: &ResourcePlan,
        to: &str,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let id = rp
            .remote_id
            .as_deref()
            .ok_or_else(|| StepError::misfit("nothing to move aside"))?;
        let r = match rp.kind {
            ResourceKind::JobDefinition => self.client.rename_job_definition(id, to).await,
            ResourceKind::Order => self.client.rename_order(id, to).await,
            ResourceKind::Audience => {
                self.client
                    .update_audience(id, &serde_json::json!({ "name": to }))
                    .await
            }
            ResourceKind::ValidationSet => {
                self.client
                    .update_validation_set(id, &serde_json::json!({ "name": to }))
                    .await
            }
            _ => return Err(misfit(rp, &Step::MoveAside { to: to.into() })),
        };
        r.map_err(|e| StepError::api("renaming the old one", &e))?;
        write(out, "MoveAside", rp);
        self.progress
            .step(&format!("renamed {} {} ({id}) to `{to}`", rp.kind, rp.name));
        Ok(())
    }

    /// `renamedFrom`: the remote one (found under its old name) gets the manifest's name
    /// in place: `PATCH /job/definition/{id}` (and its dataset's name, which carries the
    /// project marker), `PATCH /job/{id}`, `PATCH /audience/{id}`. Nothing is uploaded,
    /// no job is assigned.
    pub(super) async fn rename(
        &self,
        rp: &ResourcePlan,
        from: &str,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let id = rp
            .remote_id
            .as_deref()
            .ok_or_else(|| StepError::wait("the resource to rename was not observed"))?;
        let to = rp.name.as_str();
        let doing = format!("renaming {} `{from}` to `{to}`", rp.kind);
        let r = match (rp.kind, self.resource(rp.kind, to)) {
            (ResourceKind::JobDefinition, _) => {
                // The dataset first: renaming the definition is what the next plan sees.
                if let Some(ds) = rp.datapoints.as_ref().and_then(|d| d.dataset_id.as_deref()) {
                    self.client
                        .rename_dataset(ds, &dataset_name(to, self.project_name))
                        .await
                        .map_err(|e| StepError::api(&format!("{doing} (its dataset)"), &e))?;
                }
                self.client.rename_job_definition(id, to).await
            }
            (ResourceKind::Job, _) => self.client.rename_job(id, to).await,
            (ResourceKind::Audience, Some(Resource::Audience(a))) => {
                // A filtered audience's filters cannot be sent (the API refuses them).
                let body = match a.base {
                    Some(_) => wire_build::filtered_audience_update_body(a, self.project_name),
                    None => wire_build::audience_update_body_for(a, self.project_name),
                };
                self.client.update_audience(id, &body).await
            }
            _ => return Err(misfit(rp, &Step::Rename { from: from.into() })),
        };
        r.map_err(|e| StepError::api(&doing, &e))?;
        write(out, "Rename", rp);
        self.progress
            .step(&format!("renamed {} `{from}` to `{to}` ({id})", rp.kind));
        match rp.kind {
            ResourceKind::Audience => {
                ctx.audiences.insert(to.to_string(), id.to_string());
            }
            ResourceKind::Job => {
                ctx.jobs.insert(to.to_string(), id.to_string());
            }
            _ => {}
        }
        Ok(())
    }
}
