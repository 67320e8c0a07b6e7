//! The job definition reconciler: its dataset and datapoints first, then the definition
//! or the revision on it (the SDK's order, `_job_creation_state_machine.py`), so a
//! definition never exists over an empty dataset and a revision never points at a
//! dataset that is still being filled.

use std::collections::HashSet;

use super::error::{StepError, StepResult};
use super::execute::{misfit, write, Ctx, Executor, RoundOutcome};
use super::gate;
use super::remote::Remote;
use super::settle::Settled;
use crate::manifest::{JobDefinition, LabelingSpec, ResourceKind};
use crate::plan::recorded::{pending_key, PendingDataset};
use crate::plan::{dataset_name, DatapointPlan, ResourcePlan, Step};
use crate::remote::lifecycle::is_revision_conflict;
use crate::remote::wire_build;

const KIND: ResourceKind = ResourceKind::JobDefinition;

impl<C: Remote> Executor<'_, C> {
    pub(super) async fn definition_step(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        d: &JobDefinition,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let dp = || rp.datapoints.as_ref().ok_or_else(|| misfit(rp, step));
        match step {
            Step::CreateDefinition => self.create_definition(rp, d, ctx, out).await,
            Step::EditDataset => {
                let dp = dp()?;
                let ds = dp.dataset_id.clone().ok_or_else(|| misfit(rp, step))?;
                write(out, "EditDataset", rp);
                let filled = self.fill(KIND, &d.name, &ds, &d.spec, dp, out).await;
                ctx.rates.insert((KIND, d.name.clone()), filled.rate);
                ctx.missing.insert(d.name.clone(), filled.missing);
                Ok(())
            }
            Step::NewDataset => self.new_dataset(rp, d, dp()?, ctx, out).await,
            Step::NewRevision {
                base_revision,
                literal_options,
            } => {
                self.new_revision(rp, d, *base_revision, *literal_options, ctx, out)
                    .await
            }
            // A sharded apply (`apply::phase`): the dataset only, or one shard's datapoints
            // into it; the definition or revision comes with the final apply.
            Step::PrepareDataset { base_revision } => {
                self.dataset_for(&d.name, &d.spec, dp()?, *base_revision, out)
                    .await?;
                Ok(())
            }
            Step::FillShard { .. } => {
                let dp = dp()?;
                let ds = dp
                    .dataset_id
                    .clone()
                    .ok_or_else(|| StepError::wait("the dataset is not prepared"))?;
                write(out, "FillShard", rp);
                self.fill(KIND, &d.name, &ds, &d.spec, dp, out).await;
                Ok(())
            }
            Step::MoveAside { to } => self.move_aside(rp, to, out).await,
            Step::Rename { from } => self.rename(rp, from, ctx, out).await,
            Step::AdoptIntoProject { .. } => self.adopt_into_project(rp, step, out).await,
            _ => Err(misfit(rp, step)),
        }
    }

    /// The dataset new datapoints go to: the one the plan resumes, or a new one (recorded,
    /// so an interrupted apply resumes it).
    pub(super) async fn dataset_for(
        &self,
        name: &str,
        spec: &LabelingSpec,
        dp: &DatapointPlan,
        base_revision: Option<u32>,
        out: &mut RoundOutcome,
    ) -> Result<String, StepError> {
        if let Some(ds) = &dp.dataset_id {
            return Ok(ds.clone());
        }
        let ds = self
            .client
            .create_dataset(&wire_build::dataset_body(
                &dataset_name(name, self.project_name),
                &spec.task,
            ))
            .await
            .map_err(|e| StepError::api("creating the dataset", &e))?;
        out.writes
            .push(format!("CreateDataset JobDefinition/{name}"));
        self.record.update(|r| {
            r.pending_datasets.insert(
                pending_key(KIND, name),
                PendingDataset {
                    dataset_id: ds.clone(),
                    base_revision,
                },
            );
        });
        Ok(ds)
    }

    /// Dataset, datapoints, then the definition on it, with the datapoints that succeeded
    /// (the seed); the failure tolerance then gates the job, once the retries are done.
    async fn create_definition(
        &self,
        rp: &ResourcePlan,
        d: &JobDefinition,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let name = d.name.as_str();
        let dp = rp
            .datapoints
            .as_ref()
            .ok_or_else(|| misfit(rp, &Step::CreateDefinition))?;
        let ds = self.dataset_for(name, &d.spec, dp, None, out).await?;
        let filled = self.fill(KIND, name, &ds, &d.spec, dp, out).await;
        ctx.rates.insert((KIND, name.to_string()), filled.rate);
        ctx.missing.insert(name.to_string(), filled.missing);
        if self.cancel.is_cancelled() {
            return Err(StepError::wait(
                "interrupted before the job definition was created; the next apply continues with the same dataset",
            ));
        }
        let body = wire_build::job_definition_body(name, &d.spec, &ds);
        let settled = self
            .create_settled(
                (KIND, name),
                "creating the job definition",
                self.client.create_job_definition(&body),
                String::as_str,
                || self.client.find_job_definitions(name),
            )
            .await?;
        let id = settled.id(String::as_str).to_string();
        out.writes
            .push(format!("CreateDefinition JobDefinition/{name}"));
        if let Settled::Ours(_) = settled {
            self.progress
                .step(&format!("created JobDefinition {name} ({id})"));
        }
        self.record.update(|r| {
            r.pending_datasets.remove(&pending_key(KIND, name));
        });
        ctx.definitions.insert(name.to_string(), (id, Some(1)));
        ctx.datasets.insert(name.to_string(), ds);
        Ok(())
    }

    /// `set_datapoints`: a new dataset with every desired datapoint (files reused), for a
    /// revision a job runs on; the running job's dataset is never touched.
    async fn new_dataset(
        &self,
        rp: &ResourcePlan,
        d: &JobDefinition,
        dp: &DatapointPlan,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let base = rp.steps.iter().find_map(|s| match s {
            Step::NewRevision { base_revision, .. } => Some(*base_revision),
            _ => None,
        });
        let ds = self.dataset_for(&d.name, &d.spec, dp, base, out).await?;
        write(out, "NewDataset", rp);
        // What is new first: when none of it arrives and nothing is dropped, the new
        // dataset would equal the current one; it is abandoned, not saved.
        let mut missing = Vec::new();
        let mut rest = dp.clone();
        if !dp.fresh.is_empty() && dp.dropped == 0 {
            let fresh = DatapointPlan {
                add: dp.fresh.clone(),
                reuse: dp.reuse.clone(),
                ..Default::default()
            };
            let filled = self.fill(KIND, &d.name, &ds, &d.spec, &fresh, out).await;
            gate::new_content_arrived(fresh.add.len() as u64, filled.rate.missing)?;
            missing = filled.missing;
            let done: HashSet<&String> = dp.fresh.iter().collect();
            rest.add.retain(|k| !done.contains(k));
        }
        let mut filled = self.fill(KIND, &d.name, &ds, &d.spec, &rest, out).await;
        // The remote datapoints the manifests no longer list, kept because prune is off.
        self.carry_over(d, &ds, dp, &mut filled, out).await;
        missing.extend(filled.missing);
        filled.rate.missing = missing.len() as u64;
        ctx.rates.insert((KIND, d.name.clone()), filled.rate);
        ctx.missing.insert(d.name.clone(), missing);
        // The revision step reads the new dataset from here.
        ctx.new_datasets.insert(d.name.clone(), ds);
        Ok(())
    }

    async fn new_revision(
        &self,
        rp: &ResourcePlan,
        d: &JobDefinition,
        base_revision: u32,
        literal_options: bool,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        // The definition this plan created (a revision naming its validation set right
        // after `CreateDefinition`), or the observed one.
        let def_id = ctx
            .definitions
            .get(&d.name)
            .map(|(id, _)| id.clone())
            .or_else(|| rp.remote_id.clone())
            .ok_or_else(|| StepError::wait("the definition was not observed"))?;
        let def_id = def_id.as_str();
        // `validationSet:`: the set's id (`RapidataJobDefinition.validation_set_id` + `save()`).
        let set_id = match &d.spec.validation_set {
            Some(n) => Some(ctx.validation_sets.get(n).cloned().ok_or_else(|| {
                StepError::wait(format!("its ValidationSet `{n}` does not exist yet"))
            })?),
            None => None,
        };
        let new_ds = ctx.new_datasets.get(&d.name).cloned();
        if rp.steps.contains(&Step::NewDataset) {
            let rate = ctx
                .rates
                .get(&(KIND, d.name.clone()))
                .copied()
                .unwrap_or_default();
            gate::save_new_dataset_revision(rate, self.round)?;
        }
        // The base revision as the plan saw it (`_snapshot`): what the manifests do not
        // manage is carried over from it.
        let base = self
            .client
            .revision(def_id, base_revision)
            .await
            .map_err(|e| StepError::api("reading the base revision", &e))?;
        let ds = new_ds.unwrap_or_else(|| base.dataset_id.clone());
        let mut body =
            wire_build::revision_body_full(&d.spec, &ds, base_revision, &base.carry_over, true);
        if literal_options {
            wire_build::bind_answer_options(&mut body, &d.spec.task);
        }
        match set_id {
            Some(id) => body["validationSetId"] = serde_json::json!(id),
            // The reference was removed from the manifest: a set the manifests manage is no
            // longer named (`null` clears it, `job/_revision_body.py`); others are carried.
            None => {
                let have = base.carry_over.validation_set_id.as_str();
                if have.is_some_and(|h| ctx.validation_sets.values().any(|v| v == h)) {
                    body["validationSetId"] = serde_json::Value::Null;
                }
            }
        }
        match self.client.create_revision(def_id, &body).await {
            Ok(n) => {
                write(out, "NewRevision", rp);
                self.progress
                    .step(&format!("saved JobDefinition {}: revision {n}", d.name));
                ctx.definitions
                    .insert(d.name.clone(), (def_id.to_string(), Some(n)));
                ctx.datasets.insert(d.name.clone(), ds);
                self.record.update(|r| {
                    r.pending_datasets.remove(&pending_key(KIND, &d.name));
                });
                Ok(())
            }
            Err(e) if is_revision_conflict(&e) => Err(StepError::Halt {
                message: format!(
                    "JobDefinition `{}` changed remotely since the plan (another revision was \
                     saved after revision {base_revision}); nothing was saved: re-run plan{}",
                    d.name,
                    e.trace_id()
                        .map(|t| format!(" (trace id {t})"))
                        .unwrap_or_default()
                ),
                failure: Some(crate::report::failures::StepFailure::api(
                    "saving the revision",
                    &e,
                )),
            }),
            // The next observation shows whether the revision exists.
            Err(e) => Err(StepError::api("saving the revision", &e)),
        }
    }
}
