//! The job reconciler: a job is assigned (`assign_job`) only once its definition is
//! complete, its datapoints had their retries, the failure tolerance and the budget allow
//! it; what it was assigned without is recorded, so a later plan does not mistake those
//! datapoints for new data and relabel everything for them.

use std::collections::BTreeSet;

use super::error::{StepError, StepResult};
use super::execute::{misfit, rref, Ctx, Executor, RoundOutcome};
use super::gate;
use super::remote::Remote;
use super::settle::Settled;
use crate::manifest::{AudienceRef, Job, ResourceKind};
use crate::plan::{ResourcePlan, Step};
use crate::remote::wire_build;

impl<C: Remote> Executor<'_, C> {
    pub(super) async fn job_step(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        j: &Job,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        match step {
            Step::CreateJob => self.create_job(j, ctx, out).await,
            Step::Pause | Step::Resume => {
                let id = rp
                    .remote_id
                    .clone()
                    .or_else(|| ctx.jobs.get(&rp.name).cloned())
                    .ok_or_else(|| StepError::wait("it does not exist yet"))?;
                self.pause_or_resume(rp, *step == Step::Pause, &id, out)
                    .await
            }
            Step::Rename { from } => self.rename(rp, from, ctx, out).await,
            _ => Err(misfit(rp, step)),
        }
    }

    async fn create_job(&self, j: &Job, ctx: &mut Ctx, out: &mut RoundOutcome) -> StepResult {
        let def = rref(ResourceKind::JobDefinition, &j.definition);
        if !ctx.complete.contains(&def) {
            return Err(StepError::wait(format!(
                "not assigned: JobDefinition `{}` is not complete yet",
                j.definition
            )));
        }
        let (def_id, latest) = ctx.definitions.get(&j.definition).cloned().ok_or_else(|| {
            StepError::wait(format!(
                "not assigned: JobDefinition `{}` does not exist yet",
                j.definition
            ))
        })?;
        let audience =
            match &j.audience {
                AudienceRef::Id(id) => id.clone(),
                AudienceRef::Manifest(n) => ctx.audiences.get(n).cloned().ok_or_else(|| {
                    StepError::wait("not assigned: its audience does not exist yet")
                })?,
            };
        if let Some(rate) = ctx
            .rates
            .get(&(ResourceKind::JobDefinition, j.definition.clone()))
        {
            gate::assign_job(*rate, &j.definition, self.round)?;
        }
        if let Some(e) =
            super::budget::check_job(self.client, &self.options.budget, j, &def_id).await?
        {
            self.progress.step(&format!(
                "JobDefinition {} is estimated at {}, within the budget of Job {}",
                j.definition,
                crate::plan::cost::money(e.estimated_cost),
                j.name
            ));
        }
        // An explicit revision, as `assign_job` sends `job_definition.revision`.
        let revision = j.revision.or(latest);
        let preceding = match &j.run_after {
            Some(after) => Some(ctx.jobs.get(after).cloned().ok_or_else(|| {
                StepError::wait(format!(
                    "not assigned: it runs after Job `{after}`, which does not exist yet"
                ))
            })?),
            None => None,
        };
        let body =
            wire_build::job_body_after(&def_id, &audience, revision, &j.name, preceding.as_deref());
        let settled = self
            .create_settled(
                (ResourceKind::Job, &j.name),
                "assigning the job",
                self.client.create_job(&body),
                String::as_str,
                || async {
                    self.client.find_jobs_named(&j.name).await.map(|jobs| {
                        jobs.into_iter()
                            .filter(|x| {
                                x.definition_id == def_id
                                    && Some(x.revision_number) == revision
                                    && x.audience_id == audience
                            })
                            .collect()
                    })
                },
            )
            .await?;
        let id = settled.id(String::as_str).to_string();
        out.writes.push(format!("CreateJob Job/{}", j.name));
        if let Settled::Ours(_) = settled {
            self.progress
                .step(&format!("assigned Job {} ({id})", j.name));
        }
        self.record_started_without(&j.definition, ctx);
        ctx.jobs.insert(j.name.clone(), id);
        Ok(())
    }

    /// The datapoints missing when the job was assigned (within tolerance, after the
    /// retries): kept per dataset, so the next plan says they failed earlier instead of
    /// making a new dataset, revision and job for them.
    fn record_started_without(&self, definition: &str, ctx: &Ctx) {
        let Some(ds) = ctx.datasets.get(definition) else {
            return;
        };
        let missing: BTreeSet<String> = ctx
            .missing
            .get(definition)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default();
        self.record.update(|r| {
            if missing.is_empty() {
                r.started_without.remove(ds);
            } else {
                r.started_without
                    .entry(ds.clone())
                    .or_default()
                    .extend(missing);
            }
        });
    }
}
