//! One round of apply: take the plan's steps, resource by resource, in plan order, each
//! through the reconciler of its kind (`audience`, `definition`, `job`, `order`, and
//! `lifecycle` for what only exists remotely).
//!
//! The executor reads only [`Step`]s and the objects the plan carries (datapoints, remote
//! ids); `action`, `reason` and `changes` are for people. A step that does not succeed
//! returns a [`StepError`], and its one policy ([`StepError::next`]) decides: the next
//! round (after a fresh observation) takes the resource again, or this run does not.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::cancel::Cancel;
use super::error::{Next, StepError, StepResult};
use super::gate::{Rate, Round};
use super::progress::ApplyProgress;
use super::remote::Remote;
use super::ApplyOptions;
use crate::manifest::{LabelingSpec, Project, Resource, ResourceKind};
use crate::plan::{Plan, RecordStore, ResourcePlan, ResourceRef, Step};
use crate::remote::Client;
use crate::report::failures::{FailureRecord, StepFailure};

pub type ResourceId = (ResourceKind, String);

/// One plan entry: a manifest resource by kind and name, a remote-only one (an old job, a
/// duplicate, an orphan) also by its remote id.
pub type EntryKey = (ResourceKind, String, Option<String>);

pub fn entry_key(rp: &ResourcePlan) -> EntryKey {
    let remote = if rp.origin.is_some() {
        None
    } else {
        rp.remote_id.clone()
    };
    (rp.kind, rp.name.clone(), remote)
}

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
    /// Resources the remote changed under since the plan (a revision conflict), or that
    /// a gate stopped for the run (over budget): not touched again in this run.
    pub halted: HashSet<ResourceId>,
    /// Plan entries whose step failed for good (a permanent API error): not tried again
    /// in this run, reported as failures. Keyed by [`entry_key`], so a failure of one
    /// entry never holds back another of the same name (a duplicate to delete).
    pub stopped: HashSet<EntryKey>,
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
    /// Whether more rounds follow this one (labeling waits for their retries).
    pub round: Round,
}

/// What the round knows so far about each resource.
#[derive(Default)]
pub(super) struct Ctx {
    pub audiences: HashMap<String, String>,
    pub validation_sets: HashMap<String, String>,
    /// Definition name → (id, latest revision).
    pub definitions: HashMap<String, (String, Option<u32>)>,
    /// Definition name → the dataset of its latest revision (what a new job labels).
    pub datasets: HashMap<String, String>,
    /// Definition or order → its datapoints' failure rate now.
    pub rates: HashMap<ResourceId, Rate>,
    /// Definition name → keys of its datapoints missing from that dataset now.
    pub missing: HashMap<String, Vec<String>>,
    pub jobs: HashMap<String, String>,
    pub orders: HashMap<String, (String, Option<String>)>,
    /// Definition name → the new dataset a `NewDataset` step filled this round.
    pub new_datasets: HashMap<String, String>,
    /// Resources whose steps all succeeded this round (or that had none).
    pub complete: HashSet<ResourceRef>,
}

pub(super) fn rref(kind: ResourceKind, name: &str) -> ResourceRef {
    ResourceRef {
        kind,
        name: name.to_string(),
    }
}

impl<C: Remote> Executor<'_, C> {
    pub(super) fn resource(&self, kind: ResourceKind, name: &str) -> Option<&Resource> {
        self.project
            .resources
            .iter()
            .find(|r| r.kind() == kind && r.name() == name)
    }

    pub async fn execute(&self, plan: &Plan) -> RoundOutcome {
        let mut out = RoundOutcome::default();
        let mut ctx = Ctx::default();
        for rp in &plan.resources {
            self.know(rp, &mut ctx);
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
                    self.failed(rp, &e, &mut out);
                    ok = false;
                    break;
                }
            }
            if ok {
                ctx.complete.insert(rref(rp.kind, &rp.name));
            }
        }
        out
    }

    /// What the plan says exists, before any step runs.
    fn know(&self, rp: &ResourcePlan, ctx: &mut Ctx) {
        if let (Some(id), true) = (&rp.remote_id, rp.origin.is_some()) {
            match rp.kind {
                ResourceKind::Audience => {
                    ctx.audiences.insert(rp.name.clone(), id.clone());
                }
                ResourceKind::ValidationSet => {
                    ctx.validation_sets.insert(rp.name.clone(), id.clone());
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
            // The current dataset, unless the plan makes a new one.
            if rp.kind == ResourceKind::JobDefinition && !rp.steps.contains(&Step::NewDataset) {
                if let Some(ds) = &d.dataset_id {
                    ctx.datasets.insert(rp.name.clone(), ds.clone());
                }
                ctx.missing.insert(rp.name.clone(), d.add.clone());
            }
        }
    }

    /// A step through the reconciler of its resource's kind.
    async fn step(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let manifest = self
            .resource(rp.kind, &rp.name)
            .filter(|_| rp.origin.is_some());
        match manifest {
            Some(Resource::Audience(a)) => self.audience_step(rp, step, a, ctx, out).await,
            Some(Resource::JobDefinition(d)) => self.definition_step(rp, step, d, ctx, out).await,
            Some(Resource::Job(j)) => self.job_step(rp, step, j, ctx, out).await,
            Some(Resource::Order(o)) => self.order_step(rp, step, o, ctx, out).await,
            Some(Resource::ValidationSet(s)) => {
                self.validation_set_step(rp, step, s, ctx, out).await
            }
            None => self.lifecycle_step(rp, step, ctx, out).await,
        }
    }

    /// A step that did not succeed: noted for people, recorded for the report, and the
    /// policy decides whether this run takes the resource again.
    fn failed(&self, rp: &ResourcePlan, e: &StepError, out: &mut RoundOutcome) {
        let id: ResourceId = (rp.kind, rp.name.clone());
        out.resource_failures.push(FailureRecord::resource(
            rp.kind,
            &rp.name,
            rp.origin.as_ref(),
            &e.failure(),
        ));
        note(out, &id, e.message().to_string());
        out.resource_errors += 1;
        match (e, e.next()) {
            // A gate decided, or the remote changed: the run says so and exits 1.
            (StepError::Halt { .. }, _) => {
                out.halted.insert(id);
            }
            // A permanent API failure: a failure that remains (exit 3).
            (_, Next::StopForRun) => {
                out.stopped.insert(entry_key(rp));
            }
            (_, Next::NextRound) => {}
        }
    }

    pub(super) fn spec(&self, rp: &ResourcePlan) -> Option<&LabelingSpec> {
        rp.origin.as_ref()?;
        match self.resource(rp.kind, &rp.name)? {
            Resource::JobDefinition(d) => Some(&d.spec),
            Resource::Order(o) => Some(&o.spec),
            _ => None,
        }
    }

    /// A resource-level failure outside a step: a note for people, a record for the report.
    pub(super) fn fail(
        &self,
        out: &mut RoundOutcome,
        kind: ResourceKind,
        name: &str,
        f: StepFailure,
    ) {
        let origin = self.resource(kind, name).map(Resource::origin);
        out.resource_failures
            .push(FailureRecord::resource(kind, name, origin, &f));
        note(out, &(kind, name.to_string()), f.message);
        out.resource_errors += 1;
    }
}

pub(super) fn note(out: &mut RoundOutcome, id: &ResourceId, msg: String) {
    out.notes.entry(id.clone()).or_default().push(msg);
}

/// The write `what` on the resource of `rp`, as the outcome lists it.
pub(super) fn write(out: &mut RoundOutcome, what: &str, rp: &ResourcePlan) {
    out.writes.push(format!("{what} {}/{}", rp.kind, rp.name));
}

/// A step the plan put on a resource it does not fit: the plan was not made from these
/// manifests.
pub(super) fn misfit(rp: &ResourcePlan, step: &Step) -> StepError {
    StepError::misfit(format!(
        "the plan's step {step:?} does not fit {} {}",
        rp.kind, rp.name
    ))
}
