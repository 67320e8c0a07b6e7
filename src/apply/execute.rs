//! One round of apply: execute a plan, resource by resource in dependency order
//! (audience → dataset + job definition → datapoints → job; order → datapoints → submit).
//!
//! A resource-level error does not stop the round: it is noted, dependents are skipped,
//! and the next round (after a fresh observation) tries again.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::stream::{self, StreamExt};

use super::cancel::Cancel;
use super::progress::ApplyProgress;
use super::upload::UploadTask;
use super::ApplyOptions;
use crate::manifest::{AudienceRef, Datapoint, LabelingSpec, Project, Resource, ResourceKind};
use crate::plan::observe::{observe_audience, observe_definition, observe_order};
use crate::plan::{dataset_name, Action, DatapointPlan, Plan, ResourcePlan};
use crate::remote::{wire_build, ApiError, Client};
use crate::report::failures::{FailureRecord, StepFailure};

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
}

pub struct Executor<'a> {
    pub client: &'a Client,
    pub project: &'a Project,
    pub options: &'a ApplyOptions,
    pub progress: &'a dyn ApplyProgress,
    pub cancel: &'a Cancel,
    /// Datapoints that failed permanently in an earlier round: not retried.
    pub skip: &'a HashSet<(ResourceKind, String, String)>,
    /// Marks what this run creates (see `plan::dataset_name`).
    pub project_name: Option<&'a str>,
}

/// Failure rate of a labeling resource after this round: desired datapoints still missing.
#[derive(Debug, Clone, Copy)]
struct Rate {
    missing: u64,
    total: u64,
    tolerance: f64,
}

impl Rate {
    fn value(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.missing as f64 / self.total as f64
        }
    }
    fn within(self) -> bool {
        self.value() <= self.tolerance + f64::EPSILON
    }
}

impl Executor<'_> {
    fn resource(&self, kind: ResourceKind, name: &str) -> Option<&Resource> {
        self.project
            .resources
            .iter()
            .find(|r| r.kind() == kind && r.name() == name)
    }

    pub async fn execute(&self, plan: &Plan) -> RoundOutcome {
        let mut out = RoundOutcome::default();
        let mut audience_ids: HashMap<String, String> = HashMap::new();
        let mut definition_ids: HashMap<String, String> = HashMap::new();
        let mut rates: HashMap<String, Rate> = HashMap::new();
        for rp in &plan.resources {
            if let Some(id) = &rp.remote_id {
                match rp.kind {
                    ResourceKind::Audience => {
                        audience_ids.insert(rp.name.clone(), id.clone());
                    }
                    ResourceKind::JobDefinition if rp.action != Action::Replace => {
                        definition_ids.insert(rp.name.clone(), id.clone());
                    }
                    _ => {}
                }
            }
        }
        for rp in &plan.resources {
            if self.cancel.is_cancelled() {
                break;
            }
            if rp.action == Action::Delete {
                if let Err(f) = self.delete(rp).await {
                    self.record_failure(&mut out, rp.kind, &rp.name, f);
                }
                continue;
            }
            let Some(resource) = self.resource(rp.kind, &rp.name) else {
                continue;
            };
            let id: ResourceId = (rp.kind, rp.name.clone());
            let result = match resource {
                Resource::Audience(a) => self.audience(rp, a, &mut audience_ids).await,
                Resource::JobDefinition(d) => {
                    self.definition(
                        rp,
                        &d.name,
                        &d.spec,
                        &mut definition_ids,
                        &mut rates,
                        &mut out,
                    )
                    .await
                }
                Resource::Order(o) => self.order(rp, &o.name, &o.spec, o.run, &mut out).await,
                Resource::Job(j) => {
                    if rp.action != Action::Create {
                        Ok(())
                    } else {
                        let audience = match &j.audience {
                            AudienceRef::Id(id) => Some(id.clone()),
                            AudienceRef::Manifest(n) => audience_ids.get(n).cloned(),
                        };
                        let rate = rates.get(&j.definition).copied();
                        match (definition_ids.get(&j.definition), audience, rate) {
                            (None, _, _) => Err(format!(
                                "not assigned: job definition `{}` does not exist yet",
                                j.definition
                            )
                            .into()),
                            (_, None, _) => {
                                Err("not assigned: its audience does not exist yet".into())
                            }
                            (_, _, Some(r)) if !r.within() => {
                                out.notes.entry(id.clone()).or_default().push(format!(
                                    "not assigned: {} of {} datapoints of `{}` are missing ({:.1}%), above its \
                                     failure tolerance of {:.1}%",
                                    r.missing,
                                    r.total,
                                    j.definition,
                                    r.value() * 100.0,
                                    r.tolerance * 100.0
                                ));
                                Ok(())
                            }
                            (Some(def_id), Some(aud), _) => {
                                let body = wire_build::job_body(def_id, &aud, j.revision, &j.name);
                                match self.client.create_job(&body).await {
                                    Ok(job_id) => {
                                        self.progress
                                            .step(&format!("assigned Job {} ({job_id})", j.name));
                                        Ok(())
                                    }
                                    Err(e) => Err(describe("assigning the job", &e)),
                                }
                            }
                        }
                    }
                }
            };
            if let Err(f) = result {
                self.progress.step(&format!("{} {}: {f}", rp.kind, rp.name));
                self.record_failure(&mut out, id.0, &id.1, f);
            }
        }
        out
    }

    /// Delete a remote resource the manifests no longer have (only job definitions can be
    /// deleted through the API).
    async fn delete(&self, rp: &ResourcePlan) -> Result<(), StepFailure> {
        let Some(id) = &rp.remote_id else {
            return Ok(());
        };
        if rp.kind != ResourceKind::JobDefinition {
            return Err(format!("the API cannot delete a {}", rp.kind).into());
        }
        self.client
            .delete_job_definition(id)
            .await
            .map_err(|e| describe("deleting the job definition", &e))?;
        self.progress
            .step(&format!("deleted JobDefinition {} ({id})", rp.name));
        Ok(())
    }

    async fn audience(
        &self,
        rp: &ResourcePlan,
        a: &crate::manifest::Audience,
        ids: &mut HashMap<String, String>,
    ) -> Result<(), StepFailure> {
        if rp.action != Action::Create {
            return Ok(());
        }
        match self
            .client
            .create_audience(&wire_build::audience_body(a))
            .await
        {
            Ok(id) => {
                self.progress
                    .step(&format!("created Audience {} ({id})", a.name));
                ids.insert(a.name.clone(), id);
                Ok(())
            }
            Err(e @ ApiError::OutcomeUnknown { .. }) => {
                // Observe before deciding: the create may have happened.
                match observe_audience(self.client, &a.name).await {
                    Ok(Some(found)) => {
                        ids.insert(a.name.clone(), found.id);
                        Ok(())
                    }
                    _ => Err(describe("creating the audience", &e)),
                }
            }
            Err(e) => Err(describe("creating the audience", &e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn definition(
        &self,
        rp: &ResourcePlan,
        name: &str,
        spec: &LabelingSpec,
        ids: &mut HashMap<String, String>,
        rates: &mut HashMap<String, Rate>,
        out: &mut RoundOutcome,
    ) -> Result<(), StepFailure> {
        let total = spec.datapoints.len() as u64;
        let planned_missing = rp.datapoints.as_ref().map_or(0, |d| d.add.len() as u64);
        let tolerance = spec.failure_tolerance;
        rates.insert(
            name.to_string(),
            Rate {
                missing: planned_missing,
                total,
                tolerance,
            },
        );
        let mut dataset_id = rp.datapoints.as_ref().and_then(|d| d.dataset_id.clone());
        match rp.action {
            Action::Replace => {
                if let Some(old) = &rp.remote_id {
                    self.client
                        .delete_job_definition(old)
                        .await
                        .map_err(|e| describe("deleting the job definition to replace it", &e))?;
                    self.progress.step(&format!(
                        "deleted JobDefinition {name} ({old}) to replace it"
                    ));
                }
                let (id, ds) = self.create_definition(name, spec).await?;
                ids.insert(name.to_string(), id);
                dataset_id = Some(ds);
            }
            Action::Create => {
                let (id, ds) = self.create_definition(name, spec).await?;
                ids.insert(name.to_string(), id);
                dataset_id = Some(ds);
            }
            Action::Update => {
                let (Some(id), Some(rev), Some(ds)) = (&rp.remote_id, rp.revision, &dataset_id)
                else {
                    return Err(
                        "cannot revise: the remote definition was not fully observed".into(),
                    );
                };
                let body = wire_build::revision_body(spec, ds, rev);
                match self.client.create_revision(id, &body).await {
                    Ok(n) => self
                        .progress
                        .step(&format!("revised JobDefinition {name}: revision {n}")),
                    // The next observation shows whether the revision exists.
                    Err(e) => return Err(describe("creating a revision", &e)),
                }
            }
            _ => {}
        }
        let (Some(dp_plan), Some(ds)) = (&rp.datapoints, dataset_id) else {
            return Ok(());
        };
        let created = self
            .sync_datapoints(ResourceKind::JobDefinition, name, &ds, spec, dp_plan, out)
            .await;
        rates.insert(
            name.to_string(),
            Rate {
                missing: planned_missing.saturating_sub(created),
                total,
                tolerance,
            },
        );
        Ok(())
    }

    /// Create the dataset, then at once the definition pointing at it, so the definition
    /// (found by name) always leads to its dataset: a crash after this point leaves nothing
    /// a re-run cannot find. A crash between the two leaves one empty dataset.
    async fn create_definition(
        &self,
        name: &str,
        spec: &LabelingSpec,
    ) -> Result<(String, String), StepFailure> {
        let ds = self
            .client
            .create_dataset(
                &dataset_name(name, self.project_name),
                &wire_build::dataset_schema(&spec.task),
            )
            .await
            .map_err(|e| describe("creating the dataset", &e))?;
        let body = wire_build::job_definition_body(name, spec, &ds);
        match self.client.create_job_definition(&body).await {
            Ok(id) => {
                self.progress
                    .step(&format!("created JobDefinition {name} ({id})"));
                Ok((id, ds))
            }
            Err(e @ ApiError::OutcomeUnknown { .. }) => {
                match observe_definition(self.client, name).await {
                    Ok(Some(found)) => Ok((found.definition.id, found.revision.dataset_id)),
                    _ => Err(describe("creating the job definition", &e)),
                }
            }
            Err(e) => Err(describe("creating the job definition", &e)),
        }
    }

    async fn order(
        &self,
        rp: &ResourcePlan,
        name: &str,
        spec: &LabelingSpec,
        run: bool,
        out: &mut RoundOutcome,
    ) -> Result<(), StepFailure> {
        let mut order_id = rp.remote_id.clone();
        let mut dataset_id = rp.datapoints.as_ref().and_then(|d| d.dataset_id.clone());
        if rp.action == Action::Create {
            match self
                .client
                .create_order(&wire_build::order_body(name, spec))
                .await
            {
                Ok((id, ds)) => {
                    self.progress.step(&format!("created Order {name} ({id})"));
                    order_id = Some(id);
                    dataset_id = ds;
                }
                Err(e @ ApiError::OutcomeUnknown { .. }) => {
                    match observe_order(self.client, name).await {
                        Ok(Some(found)) => {
                            order_id = Some(found.order.id);
                            dataset_id = found.order.dataset_id;
                        }
                        _ => return Err(describe("creating the order", &e)),
                    }
                }
                Err(e) => return Err(describe("creating the order", &e)),
            }
        }
        let Some(order_id) = order_id else {
            return Ok(());
        };
        let total = spec.datapoints.len() as u64;
        let mut missing = rp.datapoints.as_ref().map_or(0, |d| d.add.len() as u64);
        if let (Some(dp_plan), Some(ds)) = (&rp.datapoints, &dataset_id) {
            if rp.action != Action::Blocked {
                let created = self
                    .sync_datapoints(ResourceKind::Order, name, ds, spec, dp_plan, out)
                    .await;
                missing = missing.saturating_sub(created);
            }
        }
        let submitted = rp.changes.iter().any(|c| c.field == "state");
        if run && (rp.action == Action::Create || submitted) {
            let rate = Rate {
                missing,
                total,
                tolerance: spec.failure_tolerance,
            };
            if !rate.within() {
                out.notes.entry((ResourceKind::Order, name.to_string())).or_default().push(format!(
                    "not submitted: {} of {} datapoints are missing ({:.1}%), above its failure tolerance of {:.1}%",
                    rate.missing,
                    rate.total,
                    rate.value() * 100.0,
                    rate.tolerance * 100.0
                ));
                return Ok(());
            }
            self.client
                .submit_order(&order_id)
                .await
                .map_err(|e| describe("submitting the order", &e))?;
            self.progress.step(&format!("submitted Order {name}"));
        }
        Ok(())
    }

    /// Delete what the plan says goes, then upload what is missing. Returns how many
    /// datapoints were created.
    async fn sync_datapoints(
        &self,
        kind: ResourceKind,
        name: &str,
        dataset_id: &str,
        spec: &LabelingSpec,
        dp_plan: &DatapointPlan,
        out: &mut RoundOutcome,
    ) -> u64 {
        let deletions: Vec<&str> = dp_plan.deletions().map(|r| r.id.as_str()).collect();
        if !deletions.is_empty() {
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
        let wanted: HashSet<&str> = dp_plan.add.iter().map(String::as_str).collect();
        let datapoints: Vec<&Datapoint> = spec
            .datapoints
            .iter()
            .filter(|d| wanted.contains(d.key.as_str()))
            .filter(|d| !self.skip.contains(&(kind, name.to_string(), d.key.clone())))
            .collect();
        if datapoints.is_empty() {
            return 0;
        }
        self.create_groups(kind, name, dataset_id, spec, &wanted, &datapoints, out)
            .await;
        let task = UploadTask {
            client: self.client,
            kind,
            resource: name,
            dataset_id,
            spec,
            datapoints,
            parallelism: self.options.parallelism,
        };
        let outcome = task.run(self.progress, self.cancel).await;
        out.failures.extend(outcome.failures);
        outcome.created
    }
}

impl Executor<'_> {
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
        wanted: &HashSet<&str>,
        adding: &[&Datapoint],
        out: &mut RoundOutcome,
    ) {
        let mut firsts: BTreeMap<&str, &Datapoint> = BTreeMap::new();
        for dp in adding {
            if let Some(g) = &dp.group {
                firsts.entry(g.as_str()).or_insert(dp);
            }
        }
        for (group, first) in firsts {
            if first.context.is_none() && first.context_asset.is_none() {
                continue;
            }
            let all_new = spec
                .datapoints
                .iter()
                .filter(|d| d.group.as_deref() == Some(group))
                .all(|d| wanted.contains(d.key.as_str()));
            if !all_new {
                continue;
            }
            let context_asset = match &first.context_asset {
                Some(a) => match self.upload_one(a).await {
                    Ok(name) => name,
                    Err(e) => {
                        let doing = format!("uploading the context asset of group `{group}`");
                        self.record_failure(out, kind, name, describe(&doing, &e));
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
                    self.record_failure(out, kind, name, describe(&doing, &e));
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
        }
    }
}

/// A resource-level error: what we were doing, the reason, the trace id (once: the
/// error's message already carries it).
fn describe(doing: &str, e: &ApiError) -> StepFailure {
    StepFailure::api(doing, e)
}

impl Executor<'_> {
    /// A resource-level failure: a note for people and a record for the report.
    fn record_failure(
        &self,
        out: &mut RoundOutcome,
        kind: ResourceKind,
        name: &str,
        f: StepFailure,
    ) {
        let origin = self.resource(kind, name).map(Resource::origin);
        out.resource_failures
            .push(FailureRecord::resource(kind, name, origin, &f));
        out.notes
            .entry((kind, name.to_string()))
            .or_default()
            .push(f.message);
        out.resource_errors += 1;
    }
}
