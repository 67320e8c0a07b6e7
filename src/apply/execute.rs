//! One round of apply: take the plan's steps, resource by resource, in plan order.
//!
//! The executor reads only [`Step`]s and the objects the plan carries (datapoints, remote
//! ids); `action`, `reason` and `changes` are for people. A resource-level error does not
//! stop the round: it is noted, what requires the resource waits, and the next round
//! (after a fresh observation) tries again — unless the error says the remote changed
//! since the plan, which halts that resource for the rest of the run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::cancel::Cancel;
use super::gate::{self, Rate};
use super::progress::ApplyProgress;
use super::remote::Remote;
use super::upload::{UploadOutcome, UploadTask};
use super::ApplyOptions;
use crate::manifest::{
    Audience, AudienceRef, Datapoint, Job, LabelingSpec, Project, Resource, ResourceKind,
};
use crate::plan::observe::pick_oldest;
use crate::plan::recorded::{pending_key, PendingDataset};
use crate::plan::{
    dataset_name, DatapointPlan, Plan, RecordStore, ResourcePlan, ResourceRef, Step,
};
use crate::remote::lifecycle::is_revision_conflict;
use crate::remote::{wire_build, ApiError, Client, FailureClass};
use crate::report::failures::{FailureRecord, StepFailure};

/// Datapoints whose content is in memory at once while uploading (read again from the
/// sources a chunk at a time).
const UPLOAD_CHUNK: usize = 4096;

pub type ResourceId = (ResourceKind, String);

/// What one round did.
#[derive(Debug, Default)]
pub struct RoundOutcome {
    pub failures: Vec<FailureRecord>,
    /// Notes per resource: what was done, skipped, or failed at resource level.
    pub notes: BTreeMap<ResourceId, Vec<String>>,
    /// Whether any resource-level step failed (the round did not do all it could).
    pub resource_errors: usize,
    /// The resource-level failures, for the report.
    pub resource_failures: Vec<FailureRecord>,
    /// Resources the remote changed under since the plan (a revision conflict): not
    /// touched again in this run; the user re-plans.
    pub halted: HashSet<ResourceId>,
    /// Every write the round made, in order (`"CreateJob Job/name"`), for tests and the
    /// report: the executor's decisions as data.
    pub writes: Vec<String>,
}

pub struct Executor<'a, C: Remote = Client> {
    /// The API: a [`Client`], or a fake in the executor's unit tests.
    pub client: &'a C,
    pub project: &'a Project,
    pub options: &'a ApplyOptions,
    pub progress: &'a dyn ApplyProgress,
    pub cancel: &'a Cancel,
    /// Datapoints that failed permanently in an earlier round: not retried.
    pub skip: &'a HashSet<(ResourceKind, String, String)>,
    /// Marks what this run creates (see `plan::dataset_name`).
    pub project_name: Option<&'a str>,
    /// What is learned at create time that the API does not return later.
    pub record: &'a RecordStore,
}

/// What the round knows so far about each resource.
#[derive(Default)]
struct Ctx {
    audiences: HashMap<String, String>,
    /// Definition name → (id, latest revision).
    definitions: HashMap<String, (String, Option<u32>)>,
    rates: HashMap<ResourceId, Rate>,
    jobs: HashMap<String, String>,
    orders: HashMap<String, (String, Option<String>)>,
    /// Definition name → the new dataset a `NewDataset` step filled this round.
    new_datasets: HashMap<String, String>,
    /// Resources whose steps all succeeded this round (or that had none).
    complete: HashSet<ResourceRef>,
}

/// A step's failure: the message, whether the resource is halted for the run, and the
/// API error's details for the report when an API call failed.
struct StepError {
    message: String,
    halt: bool,
    failure: Option<StepFailure>,
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError {
            message,
            halt: false,
            failure: None,
        }
    }
}

impl From<StepFailure> for StepError {
    fn from(f: StepFailure) -> Self {
        StepError {
            message: f.message.clone(),
            halt: false,
            failure: Some(f),
        }
    }
}

impl From<&str> for StepError {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

impl From<super::budget::BudgetStop> for StepError {
    fn from(b: super::budget::BudgetStop) -> Self {
        StepError {
            message: b.message,
            halt: b.halt,
            failure: None,
        }
    }
}

type StepResult = Result<(), StepError>;

fn rref(kind: ResourceKind, name: &str) -> ResourceRef {
    ResourceRef {
        kind,
        name: name.to_string(),
    }
}

impl<C: Remote> Executor<'_, C> {
    fn resource(&self, kind: ResourceKind, name: &str) -> Option<&Resource> {
        self.project
            .resources
            .iter()
            .find(|r| r.kind() == kind && r.name() == name)
    }

    pub async fn execute(&self, plan: &Plan) -> RoundOutcome {
        let mut out = RoundOutcome::default();
        let mut ctx = Ctx::default();
        for rp in &plan.resources {
            if let (Some(id), true) = (&rp.remote_id, rp.origin.is_some()) {
                match rp.kind {
                    ResourceKind::Audience => {
                        ctx.audiences.insert(rp.name.clone(), id.clone());
                    }
                    ResourceKind::JobDefinition => {
                        ctx.definitions
                            .insert(rp.name.clone(), (id.clone(), rp.revision));
                    }
                    ResourceKind::Job => {
                        ctx.jobs.insert(rp.name.clone(), id.clone());
                    }
                    ResourceKind::Order => {
                        ctx.orders.insert(
                            rp.name.clone(),
                            (
                                id.clone(),
                                rp.datapoints.as_ref().and_then(|d| d.dataset_id.clone()),
                            ),
                        );
                    }
                }
            }
            if let (Some(spec), Some(d)) = (self.spec(rp), &rp.datapoints) {
                ctx.rates.insert(
                    (rp.kind, rp.name.clone()),
                    Rate {
                        missing: d.add.len() as u64,
                        total: spec.datapoints.len() as u64,
                        tolerance: spec.failure_tolerance,
                        retryable: false,
                    },
                );
            }
        }
        for rp in &plan.resources {
            if self.cancel.is_cancelled() {
                break;
            }
            let id: ResourceId = (rp.kind, rp.name.clone());
            if let Some(req) = &rp.requires {
                if !ctx.complete.contains(req) {
                    if !rp.steps.is_empty() {
                        note(
                            &mut out,
                            &id,
                            format!(
                                "waits until {} {} is complete; the next apply continues",
                                req.kind, req.name
                            ),
                        );
                    }
                    continue;
                }
            }
            let mut ok = true;
            for step in &rp.steps {
                if self.cancel.is_cancelled() {
                    ok = false;
                    break;
                }
                if let Err(e) = self.step(rp, step, &mut ctx, &mut out).await {
                    let mut failure = e.failure.unwrap_or_else(|| e.message.clone().into());
                    // The step's own words (a halt explains itself), with the API's details.
                    failure.message = e.message.clone();
                    if e.halt {
                        // Not retried in this run: the user re-plans.
                        failure.class = FailureClass::Permanent;
                    }
                    out.resource_failures.push(FailureRecord::resource(
                        rp.kind,
                        &rp.name,
                        rp.origin.as_ref(),
                        &failure,
                    ));
                    note(&mut out, &id, e.message);
                    out.resource_errors += 1;
                    if e.halt {
                        out.halted.insert(id.clone());
                    }
                    ok = false;
                    break;
                }
            }
            if ok && rp.origin.is_some() {
                ctx.complete.insert(rref(rp.kind, &rp.name));
            }
        }
        out
    }

    fn spec(&self, rp: &ResourcePlan) -> Option<&LabelingSpec> {
        rp.origin.as_ref()?;
        match self.resource(rp.kind, &rp.name)? {
            Resource::JobDefinition(d) => Some(&d.spec),
            Resource::Order(o) => Some(&o.spec),
            _ => None,
        }
    }

    async fn step(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let write = |out: &mut RoundOutcome, what: &str| {
            out.writes.push(format!("{what} {}/{}", rp.kind, rp.name));
        };
        match (
            step,
            self.resource(rp.kind, &rp.name)
                .filter(|_| rp.origin.is_some()),
        ) {
            (Step::CreateAudience, Some(Resource::Audience(a))) => {
                let id = self.create_audience(a).await?;
                write(out, "CreateAudience");
                ctx.audiences.insert(a.name.clone(), id);
                Ok(())
            }
            (Step::UpdateAudience, Some(Resource::Audience(a))) => {
                let id = rp
                    .remote_id
                    .as_deref()
                    .ok_or("the audience was not observed")?;
                self.client
                    .update_audience(
                        id,
                        &wire_build::audience_update_body_for(a, self.project_name),
                    )
                    .await
                    .map_err(|e| describe("updating the audience", &e))?;
                write(out, "UpdateAudience");
                self.progress.step(&format!("updated Audience {}", a.name));
                Ok(())
            }
            (Step::AddExamples, Some(Resource::Audience(a))) => {
                let id = ctx
                    .audiences
                    .get(&a.name)
                    .cloned()
                    .ok_or("the audience does not exist yet")?;
                let plan = rp.examples.as_ref().ok_or("the plan carries no examples")?;
                self.add_examples(&id, a, plan, out).await?;
                write(out, "AddExamples");
                Ok(())
            }
            (Step::RemoveExamples, Some(Resource::Audience(a))) => {
                let plan = rp.examples.as_ref().ok_or("the plan carries no examples")?;
                self.remove_examples(a, plan).await?;
                write(out, "RemoveExamples");
                Ok(())
            }
            (Step::StartRecruiting, Some(Resource::Audience(a))) => {
                let id = ctx
                    .audiences
                    .get(&a.name)
                    .cloned()
                    .ok_or("the audience does not exist yet")?;
                self.client
                    .start_recruiting(&id)
                    .await
                    .map_err(|e| describe("starting recruiting", &e))?;
                write(out, "StartRecruiting");
                self.progress
                    .step(&format!("Audience {}: recruiting started", a.name));
                Ok(())
            }
            // A sharded apply (`apply::phase`): the dataset only, or one shard's datapoints
            // into it; the definition or revision comes with the final apply.
            (Step::PrepareDataset { base_revision }, Some(Resource::JobDefinition(d))) => {
                let dp = rp.datapoints.as_ref().ok_or("no datapoint plan")?;
                self.dataset_for(&d.name, &d.spec, dp, *base_revision, out)
                    .await?;
                Ok(())
            }
            (Step::FillShard { .. }, Some(r)) => {
                let spec = self.spec(rp).ok_or("not a labeling resource")?;
                let dp = rp.datapoints.as_ref().ok_or("no datapoint plan")?;
                let ds = dp.dataset_id.clone().ok_or("the dataset is not prepared")?;
                write(out, "FillShard");
                self.fill(r.kind(), r.name(), &ds, spec, dp, out).await;
                Ok(())
            }
            (Step::PrepareOrder, Some(Resource::Order(o))) => {
                self.create_order(rp, &o.name, &o.spec, ctx, out).await
            }
            (Step::CreateDefinition, Some(Resource::JobDefinition(d))) => {
                self.create_definition(rp, &d.name, &d.spec, ctx, out).await
            }
            (Step::EditDataset, Some(r)) => {
                let spec = self.spec(rp).ok_or("not a labeling resource")?;
                let dp = rp.datapoints.as_ref().ok_or("no datapoint plan")?;
                let ds = dp.dataset_id.clone().ok_or("the dataset is not known")?;
                write(out, "EditDataset");
                let rate = self.fill(r.kind(), r.name(), &ds, spec, dp, out).await;
                ctx.rates.insert((r.kind(), r.name().to_string()), rate);
                Ok(())
            }
            (Step::NewDataset, Some(Resource::JobDefinition(d))) => {
                let dp = rp.datapoints.as_ref().ok_or("no datapoint plan")?;
                let base = rp.steps.iter().find_map(|s| match s {
                    Step::NewRevision { base_revision } => Some(*base_revision),
                    _ => None,
                });
                let ds = self.dataset_for(&d.name, &d.spec, dp, base, out).await?;
                write(out, "NewDataset");
                // What is new first: when none of it arrives and nothing is dropped, the
                // new dataset would equal the current one; it is abandoned, not saved.
                let mut first_missing = 0;
                let mut rest = dp.clone();
                if !dp.fresh.is_empty() && dp.dropped == 0 {
                    let fresh = DatapointPlan {
                        add: dp.fresh.clone(),
                        reuse: dp.reuse.clone(),
                        ..Default::default()
                    };
                    let r = self
                        .fill(
                            ResourceKind::JobDefinition,
                            &d.name,
                            &ds,
                            &d.spec,
                            &fresh,
                            out,
                        )
                        .await;
                    gate::new_content_arrived(fresh.add.len() as u64, r.missing)?;
                    first_missing = r.missing;
                    let done: HashSet<&String> = dp.fresh.iter().collect();
                    rest.add.retain(|k| !done.contains(k));
                }
                let mut rate = self
                    .fill(
                        ResourceKind::JobDefinition,
                        &d.name,
                        &ds,
                        &d.spec,
                        &rest,
                        out,
                    )
                    .await;
                rate.missing += first_missing;
                ctx.rates
                    .insert((ResourceKind::JobDefinition, d.name.clone()), rate);
                // The revision step reads the new dataset from here.
                ctx.new_datasets.insert(d.name.clone(), ds);
                Ok(())
            }
            (Step::NewRevision { base_revision }, Some(Resource::JobDefinition(d))) => {
                let def_id = rp
                    .remote_id
                    .as_deref()
                    .ok_or("the definition was not observed")?;
                let new_ds = ctx.new_datasets.get(&d.name).cloned();
                if rp.steps.contains(&Step::NewDataset) {
                    let rate = ctx
                        .rates
                        .get(&(ResourceKind::JobDefinition, d.name.clone()))
                        .copied()
                        .unwrap_or_default();
                    gate::save_new_dataset_revision(rate)?;
                }
                // The base revision as the plan saw it (`_snapshot`): what the manifests
                // do not manage is carried over from it.
                let base = self
                    .client
                    .revision(def_id, *base_revision)
                    .await
                    .map_err(|e| describe("reading the base revision", &e))?;
                let ds = new_ds.unwrap_or_else(|| base.dataset_id.clone());
                let body = wire_build::revision_body_full(
                    &d.spec,
                    &ds,
                    *base_revision,
                    &base.carry_over,
                    true,
                );
                match self.client.create_revision(def_id, &body).await {
                    Ok(n) => {
                        write(out, "NewRevision");
                        self.progress
                            .step(&format!("saved JobDefinition {}: revision {n}", d.name));
                        ctx.definitions
                            .insert(d.name.clone(), (def_id.to_string(), Some(n)));
                        self.record.update(|r| {
                            r.pending_datasets
                                .remove(&pending_key(ResourceKind::JobDefinition, &d.name));
                        });
                        Ok(())
                    }
                    Err(e) if is_revision_conflict(&e) => Err(StepError {
                        message: format!(
                            "JobDefinition `{}` changed remotely since the plan (another revision was \
                             saved after revision {base_revision}); nothing was saved: re-run plan{}",
                            d.name,
                            e.trace_id().map(|t| format!(" (trace id {t})")).unwrap_or_default()
                        ),
                        halt: true,
                        failure: Some(describe("saving the revision", &e)),
                    }),
                    // The next observation shows whether the revision exists.
                    Err(e) => Err(describe("saving the revision", &e).into()),
                }
            }
            (Step::MoveAside { to }, _) => {
                let id = rp.remote_id.as_deref().ok_or("nothing to move aside")?;
                let r = match rp.kind {
                    ResourceKind::JobDefinition => self.client.rename_job_definition(id, to).await,
                    ResourceKind::Order => self.client.rename_order(id, to).await,
                    k => return Err(format!("a {k} cannot be renamed").into()),
                };
                r.map_err(|e| describe("renaming the old one", &e))?;
                write(out, "MoveAside");
                self.progress
                    .step(&format!("renamed {} {} ({id}) to `{to}`", rp.kind, rp.name));
                Ok(())
            }
            (Step::CreateOrder, Some(Resource::Order(o))) => {
                self.create_order(rp, &o.name, &o.spec, ctx, out).await
            }
            (Step::SubmitOrder, Some(Resource::Order(o))) => {
                let (id, _) = ctx
                    .orders
                    .get(&o.name)
                    .cloned()
                    .ok_or("the order does not exist yet")?;
                let rate = ctx
                    .rates
                    .get(&(ResourceKind::Order, o.name.clone()))
                    .copied()
                    .unwrap_or_default();
                // Submitted only once its datapoints converged: what failed transiently is
                // retried by the next round first (an order is locked once submitted).
                gate::submit_order(rate)?;
                super::budget::check_order(&self.options.budget, o)?;
                self.client
                    .submit_order(&id)
                    .await
                    .map_err(|e| describe("submitting the order", &e))?;
                write(out, "SubmitOrder");
                self.progress.step(&format!("submitted Order {}", o.name));
                Ok(())
            }
            (Step::CreateJob, Some(Resource::Job(j))) => self.create_job(j, ctx, out).await,
            (Step::Pause | Step::Resume, _) => {
                let id = match rp.kind {
                    ResourceKind::Job => rp
                        .remote_id
                        .clone()
                        .or_else(|| ctx.jobs.get(&rp.name).cloned()),
                    ResourceKind::Order => rp
                        .remote_id
                        .clone()
                        .or_else(|| ctx.orders.get(&rp.name).map(|o| o.0.clone())),
                    _ => None,
                }
                .ok_or("it does not exist yet")?;
                let pause = *step == Step::Pause;
                let r = match (rp.kind, pause) {
                    (ResourceKind::Job, true) => self.client.pause_job(&id).await,
                    (ResourceKind::Job, false) => self.client.resume_job(&id).await,
                    (ResourceKind::Order, true) => self.client.pause_order(&id).await,
                    (_, _) => self.client.resume_order(&id).await,
                };
                let verb = if pause { "paused" } else { "resumed" };
                r.map_err(|e| describe(if pause { "pausing" } else { "resuming" }, &e))?;
                write(out, if pause { "Pause" } else { "Resume" });
                self.progress
                    .step(&format!("{verb} {} {} ({id})", rp.kind, rp.name));
                Ok(())
            }
            (Step::Delete, _) => {
                let id = rp.remote_id.as_deref().ok_or("nothing to delete")?;
                self.delete(rp.kind, id)
                    .await
                    .map_err(|e| describe(&format!("deleting the {}", rp.kind), &e))?;
                write(out, "Delete");
                self.progress
                    .step(&format!("deleted {} {} ({id})", rp.kind, rp.name));
                Ok(())
            }
            (s, _) => {
                Err(format!("the plan's step {s:?} does not fit {} {}", rp.kind, rp.name).into())
            }
        }
    }

    async fn delete(&self, kind: ResourceKind, id: &str) -> Result<(), ApiError> {
        match kind {
            ResourceKind::Audience => self.client.delete_audience(id).await,
            ResourceKind::JobDefinition => self.client.delete_job_definition(id).await,
            ResourceKind::Job => self.client.delete_job(id).await,
            ResourceKind::Order => self.client.delete_order(id).await,
        }
    }

    /// After a create, look again by name: of several (a concurrent apply made one too),
    /// the oldest is kept by everyone; if ours is not it, ours is removed.
    async fn settle<T>(
        &self,
        kind: ResourceKind,
        name: &str,
        ours: &str,
        found: Result<Vec<T>, ApiError>,
        id: impl Fn(&T) -> &str,
        created: impl Fn(&T) -> &str,
    ) -> Result<String, String> {
        let found = found.map_err(|e| describe("looking for concurrent creates", &e))?;
        let (kept, _) = pick_oldest(kind, name, found, &id, &created);
        let Some(kept) = kept else {
            return Ok(ours.to_string());
        };
        let kept = id(&kept).to_string();
        if kept != ours {
            self.delete(kind, ours)
                .await
                .map_err(|e| describe(&format!("removing our duplicate {kind} {ours}"), &e))?;
            self.progress.step(&format!(
                "{kind} {name}: another apply created it at the same time; kept the older {kept}, removed ours ({ours})"
            ));
        }
        Ok(kept)
    }

    async fn create_audience(&self, a: &Audience) -> Result<String, String> {
        let ours = match self
            .client
            .create_audience(&wire_build::audience_body_for(a, self.project_name))
            .await
        {
            Ok(id) => {
                self.progress
                    .step(&format!("created Audience {} ({id})", a.name));
                id
            }
            Err(e @ ApiError::OutcomeUnknown { .. }) => {
                // Observe before deciding: the create may have happened.
                let found = self.client.find_audiences(&a.name).await;
                return match found.map(|f| {
                    pick_oldest(
                        ResourceKind::Audience,
                        &a.name,
                        f,
                        |x| &x.id,
                        |x| &x.created_at,
                    )
                }) {
                    Ok((Some(found), _)) => Ok(found.id),
                    _ => Err(describe("creating the audience", &e).into()),
                };
            }
            Err(e) => return Err(describe("creating the audience", &e).into()),
        };
        let found = self.client.find_audiences(&a.name).await;
        self.settle(
            ResourceKind::Audience,
            &a.name,
            &ours,
            found,
            |x| &x.id,
            |x| &x.created_at,
        )
        .await
    }

    /// The dataset new datapoints go to: the one the plan resumes, or a new one (recorded,
    /// so an interrupted apply resumes it).
    async fn dataset_for(
        &self,
        name: &str,
        spec: &LabelingSpec,
        dp: &DatapointPlan,
        base_revision: Option<u32>,
        out: &mut RoundOutcome,
    ) -> Result<String, String> {
        if let Some(ds) = &dp.dataset_id {
            return Ok(ds.clone());
        }
        let ds = self
            .client
            .create_dataset(
                &dataset_name(name, self.project_name),
                &wire_build::dataset_schema(&spec.task),
            )
            .await
            .map_err(|e| describe("creating the dataset", &e))?;
        out.writes
            .push(format!("CreateDataset JobDefinition/{name}"));
        self.record.update(|r| {
            r.pending_datasets.insert(
                pending_key(ResourceKind::JobDefinition, name),
                PendingDataset {
                    dataset_id: ds.clone(),
                    base_revision,
                },
            );
        });
        Ok(ds)
    }

    /// The SDK's order (`_job_creation_state_machine.py`): dataset, datapoints, then the
    /// definition on it, with the datapoints that succeeded (the seed); the failure
    /// tolerance then gates the job.
    async fn create_definition(
        &self,
        rp: &ResourcePlan,
        name: &str,
        spec: &LabelingSpec,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let dp = rp.datapoints.as_ref().ok_or("no datapoint plan")?;
        let ds = self.dataset_for(name, spec, dp, None, out).await?;
        let rate = self
            .fill(ResourceKind::JobDefinition, name, &ds, spec, dp, out)
            .await;
        ctx.rates
            .insert((ResourceKind::JobDefinition, name.to_string()), rate);
        if self.cancel.is_cancelled() {
            return Err("interrupted before the job definition was created; the next apply continues with the same dataset".to_string().into());
        }
        let body = wire_build::job_definition_body(name, spec, &ds);
        let ours = match self.client.create_job_definition(&body).await {
            Ok(id) => id,
            Err(e @ ApiError::OutcomeUnknown { .. }) => {
                let found = self.client.find_job_definitions(name).await;
                match found.map(|f| {
                    pick_oldest(
                        ResourceKind::JobDefinition,
                        name,
                        f,
                        |x| &x.id,
                        |x| &x.created_at,
                    )
                }) {
                    Ok((Some(found), _)) => found.id,
                    _ => return Err(describe("creating the job definition", &e).into()),
                }
            }
            Err(e) => return Err(describe("creating the job definition", &e).into()),
        };
        out.writes
            .push(format!("CreateDefinition JobDefinition/{name}"));
        self.progress
            .step(&format!("created JobDefinition {name} ({ours})"));
        self.record.update(|r| {
            r.pending_datasets
                .remove(&pending_key(ResourceKind::JobDefinition, name));
        });
        let found = self.client.find_job_definitions(name).await;
        let kept = self
            .settle(
                ResourceKind::JobDefinition,
                name,
                &ours,
                found,
                |x| &x.id,
                |x| &x.created_at,
            )
            .await?;
        ctx.definitions.insert(name.to_string(), (kept, Some(1)));
        Ok(())
    }

    async fn create_order(
        &self,
        rp: &ResourcePlan,
        name: &str,
        spec: &LabelingSpec,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let dp = rp.datapoints.as_ref().ok_or("no datapoint plan")?;
        let (ours, ds) = match self
            .client
            .create_order(&wire_build::order_body(name, spec))
            .await
        {
            Ok(x) => x,
            Err(e @ ApiError::OutcomeUnknown { .. }) => {
                let found = self.client.find_orders(name).await;
                return match found.map(|f| pick_oldest(ResourceKind::Order, name, f, |x| &x.id, |x| &x.created_at)) {
                    // Its dataset is known only from the lost response: the next plan
                    // replaces the order.
                    Ok((Some(found), _)) => Err(format!(
                        "the order {} was created but its answer was lost, so its dataset is unknown; \
                         the next plan makes it again",
                        found.id
                    )
                    .into()),
                    _ => Err(describe("creating the order", &e).into()),
                };
            }
            Err(e) => return Err(describe("creating the order", &e).into()),
        };
        out.writes.push(format!("CreateOrder Order/{name}"));
        self.progress
            .step(&format!("created Order {name} ({ours})"));
        if let Some(ds) = &ds {
            self.record.update(|r| {
                r.order_datasets.insert(ours.clone(), ds.clone());
            });
        }
        let found = self.client.find_orders(name).await;
        let kept = self
            .settle(
                ResourceKind::Order,
                name,
                &ours,
                found,
                |x| &x.id,
                |x| &x.created_at,
            )
            .await?;
        if kept != ours {
            let ds = self.record.get().order_datasets.get(&kept).cloned();
            ctx.orders.insert(name.to_string(), (kept.clone(), ds));
            // Only its creator knows its dataset (fact 16): the order is left to it.
            return Err(StepError {
                message: format!(
                    "another apply created this order at the same time; the older one ({kept}) is kept \
                     and left to the apply that created it"
                ),
                halt: true,
                failure: None,
            });
        }
        let ds = ds.ok_or("the server did not say which dataset the order uses")?;
        ctx.orders
            .insert(name.to_string(), (ours, Some(ds.clone())));
        if rp.steps.contains(&Step::PrepareOrder) {
            // The shards fill it; the final apply submits it.
            return Ok(());
        }
        let rate = self
            .fill(ResourceKind::Order, name, &ds, spec, dp, out)
            .await;
        ctx.rates
            .insert((ResourceKind::Order, name.to_string()), rate);
        Ok(())
    }

    async fn create_job(&self, j: &Job, ctx: &mut Ctx, out: &mut RoundOutcome) -> StepResult {
        let def = rref(ResourceKind::JobDefinition, &j.definition);
        if !ctx.complete.contains(&def) {
            return Err(format!(
                "not assigned: JobDefinition `{}` is not complete yet",
                j.definition
            )
            .into());
        }
        let (def_id, latest) = ctx.definitions.get(&j.definition).cloned().ok_or_else(|| {
            format!(
                "not assigned: JobDefinition `{}` does not exist yet",
                j.definition
            )
        })?;
        let audience = match &j.audience {
            AudienceRef::Id(id) => id.clone(),
            AudienceRef::Manifest(n) => ctx
                .audiences
                .get(n)
                .cloned()
                .ok_or("not assigned: its audience does not exist yet")?,
        };
        if let Some(rate) = ctx
            .rates
            .get(&(ResourceKind::JobDefinition, j.definition.clone()))
        {
            gate::assign_job(*rate, &j.definition)?;
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
                format!("not assigned: it runs after Job `{after}`, which does not exist yet")
            })?),
            None => None,
        };
        let body =
            wire_build::job_body_after(&def_id, &audience, revision, &j.name, preceding.as_deref());
        let ours = match self.client.create_job(&body).await {
            Ok(id) => id,
            Err(e @ ApiError::OutcomeUnknown { .. }) => {
                return match self.client.find_jobs_named(&j.name).await {
                    Ok(found)
                        if found.iter().any(|x| {
                            x.definition_id == def_id && Some(x.revision_number) == revision
                        }) =>
                    {
                        Err(
                            "the job was created but its answer was lost; the next round continues"
                                .to_string()
                                .into(),
                        )
                    }
                    _ => Err(describe("assigning the job", &e).into()),
                };
            }
            Err(e) => return Err(describe("assigning the job", &e).into()),
        };
        out.writes.push(format!("CreateJob Job/{}", j.name));
        self.progress
            .step(&format!("assigned Job {} ({ours})", j.name));
        let found = self.client.find_jobs_named(&j.name).await.map(|jobs| {
            jobs.into_iter()
                .filter(|x| {
                    x.definition_id == def_id
                        && Some(x.revision_number) == revision
                        && x.audience_id == audience
                })
                .collect()
        });
        let kept = self
            .settle(
                ResourceKind::Job,
                &j.name,
                &ours,
                found,
                |x| &x.id,
                |x| &x.created_at,
            )
            .await?;
        ctx.jobs.insert(j.name.clone(), kept);
        Ok(())
    }

    /// Upload what the plan adds (retrying transient failures a few times within the
    /// step), then delete what it removes, so nothing is gone before its replacement is
    /// in. Returns the rate afterwards.
    async fn fill(
        &self,
        kind: ResourceKind,
        name: &str,
        dataset_id: &str,
        spec: &LabelingSpec,
        dp: &DatapointPlan,
        out: &mut RoundOutcome,
    ) -> Rate {
        // What is still to upload, by manifest position (a bit per datapoint, not a set of
        // a million keys); failures are few and kept by key.
        let mut todo = vec![false; spec.datapoints.len()];
        let mut skipped = 0u64;
        for k in &dp.add {
            if !self.skip.is_empty() && self.skip.contains(&(kind, name.to_string(), k.to_string()))
            {
                skipped += 1;
            } else if let Some(p) = spec.datapoints.position(k) {
                todo[p] = true;
            }
        }
        let mut failed: HashMap<String, FailureRecord> = HashMap::new();
        for attempt in 0..3u32 {
            if !todo.contains(&true) || self.cancel.is_cancelled() {
                break;
            }
            if attempt > 0 {
                self.cancel
                    .sleep(Duration::from_millis(250) * (1 << attempt))
                    .await;
            }
            if attempt == 0 {
                self.create_groups(kind, name, dataset_id, spec, &dp.add, &todo, out)
                    .await;
            }
            // The content of the datapoints still to upload, read again from the sources
            // in manifest order and uploaded a chunk at a time: memory holds one chunk,
            // however many there are (issue #14). Files uploaded by one chunk are reused by
            // the next, like those the plan found remotely.
            let keep = todo.clone();
            let count = todo.iter().filter(|t| **t).count();
            self.progress
                .uploads_started(name, count as u64, dp.upload_assets);
            let mut reuse = dp.reuse.clone();
            let mut outcome = UploadOutcome::default();
            let mut content = spec.datapoints.stream(keep, UPLOAD_CHUNK);
            let mut unreadable = None;
            loop {
                let mut chunk = Vec::with_capacity(UPLOAD_CHUNK);
                while chunk.len() < UPLOAD_CHUNK {
                    match content.recv().await {
                        Some(Ok(d)) => chunk.push(d),
                        Some(Err(e)) => {
                            unreadable = Some(e);
                            break;
                        }
                        None => break,
                    }
                }
                // A source that changed since the plan: this chunk is not uploaded (the
                // chunks before it were exactly what the plan showed).
                if chunk.is_empty() || unreadable.is_some() {
                    break;
                }
                let task = UploadTask {
                    client: self.client,
                    kind,
                    resource: name,
                    dataset_id,
                    spec,
                    datapoints: chunk.iter().collect(),
                    parallelism: self.options.parallelism,
                    reuse: &reuse,
                };
                let o = task.run(self.progress, self.cancel).await;
                reuse.extend(o.uploaded);
                outcome.created += o.created;
                outcome.unknown.extend(o.unknown);
                outcome.failures.extend(o.failures);
                if unreadable.is_some() || self.cancel.is_cancelled() {
                    break;
                }
            }
            self.progress.uploads_finished(name);
            if let Some(e) = unreadable {
                // Nothing is uploaded from a source that changed since the plan read it.
                self.fail(out, kind, name, reread_failure(&e));
                todo.fill(false);
                break;
            }
            let this_round: HashSet<String> = outcome
                .failures
                .iter()
                .filter_map(|f| f.item.key.clone())
                .collect();
            // An earlier failure of a datapoint tried again and not failing now is gone.
            failed.retain(|k, _| {
                this_round.contains(k) || !spec.datapoints.position(k).is_some_and(|p| todo[p])
            });
            for f in outcome.failures {
                failed.insert(f.item.key.clone().unwrap_or_default(), f);
            }
            // Transient failures are tried again here; an outcome unknown is not re-sent
            // (the next observation decides), a permanent one not at all.
            let mut again = vec![false; todo.len()];
            for (k, f) in &failed {
                if let Some(p) = spec.datapoints.position(k) {
                    again[p] = todo[p] && f.class == FailureClass::Transient;
                }
            }
            todo = again;
        }
        let last_failures: Vec<FailureRecord> = failed.into_values().collect();
        let retryable = last_failures.iter().any(|f| !f.permanent);
        let missing = last_failures.len() as u64 + skipped;
        out.failures.extend(last_failures);
        let deletions: Vec<&str> = dp.deletions().map(|r| r.id.as_str()).collect();
        if !deletions.is_empty() && !self.cancel.is_cancelled() {
            let results: Vec<Result<(), ApiError>> = stream::iter(deletions.iter().copied())
                .map(|id| self.client.delete_datapoint(id))
                .buffer_unordered(self.options.parallelism.max(1))
                .collect()
                .await;
            let failed = results.iter().filter(|r| r.is_err()).count();
            self.progress.step(&format!(
                "{kind} {name}: removed {} datapoints{}",
                deletions.len() - failed,
                if failed > 0 {
                    format!(" ({failed} removals failed; retried next round)")
                } else {
                    String::new()
                }
            ));
            if failed > 0 {
                out.resource_errors += 1;
            }
        }
        Rate {
            missing,
            total: spec.datapoints.len() as u64,
            tolerance: spec.failure_tolerance,
            retryable,
        }
    }

    /// Grouped datapoints keep their context on the dataset group (as the SDK does): create
    /// each group whose datapoints are all new, from its first datapoint. A group that
    /// already has datapoints remotely already exists.
    #[allow(clippy::too_many_arguments)]
    async fn create_groups(
        &self,
        kind: ResourceKind,
        name: &str,
        dataset_id: &str,
        spec: &LabelingSpec,
        add: &[String],
        adding: &[bool],
        out: &mut RoundOutcome,
    ) {
        if !spec.datapoints.has_groups() {
            return;
        }
        // One pass over the content: each group's first datapoint being added, and the
        // groups some of whose datapoints are not new (those exist remotely already).
        let wanted: HashSet<&str> = add.iter().map(String::as_str).collect();
        let mut firsts: BTreeMap<String, Datapoint> = BTreeMap::new();
        let mut not_all_new: HashSet<String> = HashSet::new();
        let read = spec.datapoints.for_each(|i, d| {
            if let Some(g) = &d.group {
                if !wanted.contains(d.key.as_str()) {
                    not_all_new.insert(g.clone());
                }
                if adding.get(i).copied().unwrap_or(false) && !firsts.contains_key(g) {
                    firsts.insert(g.clone(), d.clone());
                }
            }
            std::ops::ControlFlow::Continue(())
        });
        if let Err(e) = read {
            self.fail(out, kind, name, reread_failure(&e));
            return;
        }
        for (group, first) in &firsts {
            let group = group.as_str();
            if first.context.is_none() && first.context_asset.is_none() {
                continue;
            }
            if not_all_new.contains(group) {
                continue;
            }
            let context_asset = match &first.context_asset {
                Some(a) => match self.upload_one(a).await {
                    Ok(name) => name,
                    Err(e) => {
                        let doing = format!("uploading the context asset of group `{group}`");
                        self.fail(out, kind, name, describe(&doing, &e));
                        continue;
                    }
                },
                None => None,
            };
            let lookup = |_: &crate::manifest::Asset| context_asset.clone();
            let Some(body) = wire_build::group_body(group, first, &lookup) else {
                continue;
            };
            match self.client.create_dataset_group(dataset_id, &body).await {
                Ok(()) => {}
                // Made by an earlier, interrupted run.
                Err(e) if e.is_conflict_on("group") => {}
                Err(e) => {
                    let doing = format!("creating the context of group `{group}`");
                    self.fail(out, kind, name, describe(&doing, &e));
                }
            }
        }
    }

    /// Upload a single asset outside the datapoint pipeline (a group's context asset).
    async fn upload_one(&self, a: &crate::manifest::Asset) -> Result<Option<String>, ApiError> {
        use crate::manifest::Asset;
        match a {
            Asset::File {
                path, file_name, ..
            } => self.client.upload_file(path, file_name).await.map(Some),
            Asset::Url(u) => {
                let r = self.client.upload_urls(std::slice::from_ref(u)).await?;
                Ok(r.into_iter().find_map(|(_, x)| match x {
                    crate::remote::UrlUpload::Completed { file_name } => Some(file_name),
                    crate::remote::UrlUpload::Failed { .. } => None,
                }))
            }
            Asset::Text(_) => Ok(None),
            // Already on Rapidata: sent by its name, nothing to upload.
            Asset::Uploaded(name) => Ok(Some(name.clone())),
        }
    }
}

/// The datapoints' content could not be read again as the plan read it.
fn reread_failure(e: &crate::manifest::ReplayError) -> StepFailure {
    StepFailure::from(format!("reading the datapoints again: {e}"))
}

fn note(out: &mut RoundOutcome, id: &ResourceId, msg: String) {
    out.notes.entry(id.clone()).or_default().push(msg);
}

/// A resource-level error: what we were doing, the reason, the trace id (once: the
/// error's message carries it), and the typed details for the report. Converts into the
/// `String` errors of the helpers that keep only the message.
fn describe(doing: &str, e: &ApiError) -> StepFailure {
    StepFailure::api(doing, e)
}

impl<C: Remote> Executor<'_, C> {
    /// A resource-level failure outside a step: a note for people, a record for the report.
    fn fail(&self, out: &mut RoundOutcome, kind: ResourceKind, name: &str, f: StepFailure) {
        let origin = self.resource(kind, name).map(Resource::origin);
        out.resource_failures
            .push(FailureRecord::resource(kind, name, origin, &f));
        note(out, &(kind, name.to_string()), f.message);
        out.resource_errors += 1;
    }
}
