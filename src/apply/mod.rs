//! Apply: make the remote match the manifests, and keep at it until it does.
//!
//! Like a kube-rs reconciler: each round observes, diffs, and executes what is still to
//! do; a round never trusts its own bookkeeping over a fresh observation. That is what
//! makes creates with an unknown outcome safe (the next observation tells whether they
//! happened) and a killed run recoverable (the next run simply observes and continues).

mod adopt;
pub mod assets;
mod audience;
pub mod budget;
pub mod cancel;
mod definition;
pub mod error;
mod examples;
pub mod execute;
mod fill;
mod filtered_audience;
pub mod gate;
mod job;
mod lifecycle;
mod order;
pub mod phase;
pub mod progress;
pub mod remote;
pub mod settle;
pub mod upload;
mod validation_set;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

pub use cancel::Cancel;
pub use progress::{ApplyProgress, Silent};

use crate::manifest::{Project, Resource, ResourceKind};
use crate::plan::{make_plan, Action, ObserveError, Plan, PlanOptions, RecordStore, Step};
use crate::remote::Client;
use crate::report::failures::{ApplyReport, FailureRecord, ResourceOutcome};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Datapoints in flight at once (each waits for its assets first).
    pub parallelism: usize,
    /// Rounds of observe → execute before giving up on what is still missing.
    pub max_rounds: u32,
    /// Pause before the second round; doubled each round.
    pub round_backoff: Duration,
    /// `--max-cost` and how the estimate is awaited (see `budget`).
    pub budget: budget::BudgetOptions,
    /// All of apply, or one phase of a sharded apply (see `phase`).
    pub phase: phase::Phase,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: DEFAULT_PARALLELISM,
            max_rounds: 3,
            round_backoff: Duration::from_secs(1),
            budget: budget::BudgetOptions::default(),
            phase: phase::Phase::All,
        }
    }
}

/// Chosen by measurement (see `benches/apply.rs` and the README): beyond this the
/// emulator and the client's CPU, not latency, bound the throughput.
pub const DEFAULT_PARALLELISM: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Observe(#[from] ObserveError),
}

/// How an apply ended.
#[derive(Debug, Clone)]
pub struct ApplyOutcome {
    pub report: ApplyReport,
    /// The last observation's plan: what is still to do (empty when converged).
    pub remaining: Plan,
    /// Every write apply made, in order (`"CreateJob Job/name"`).
    pub writes: Vec<String>,
    /// Resources the remote changed under since the plan; not applied.
    pub halted: Vec<(ResourceKind, String)>,
}

impl ApplyOutcome {
    pub fn converged(&self) -> bool {
        self.report.converged
    }
}

type FailureKey = (ResourceKind, String, String);

/// Apply until converged or `max_rounds` rounds have run. `first` is a plan the user
/// already approved (or loaded from a file); later rounds plan afresh.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    client: &Client,
    project: &Project,
    plan_options: &PlanOptions,
    options: &ApplyOptions,
    first: Plan,
    record: &RecordStore,
    progress: &dyn ApplyProgress,
    cancel: &Cancel,
) -> Result<ApplyOutcome, ApplyError> {
    let started_at = chrono::Utc::now();
    let api = first.api.clone();
    let requests_before = client.stats().requests;
    let mut last_failure: HashMap<FailureKey, FailureRecord> = HashMap::new();
    // The resource-level failures of the last round (each round attempts every resource
    // still to do, so an earlier round's failure is either repeated or fixed).
    let mut resource_failures: Vec<FailureRecord> = Vec::new();
    // Set when an observation failed: apply stops and reports what it knows.
    let mut error: Option<String> = None;
    let mut permanent: HashSet<FailureKey> = HashSet::new();
    let mut notes: BTreeMap<(ResourceKind, String), Vec<String>> = BTreeMap::new();
    let mut plan = first;
    phase::restrict(&mut plan, options.phase);
    let mut rounds = 0;
    let mut halted: HashSet<(ResourceKind, String)> = HashSet::new();
    // Resources whose step failed for good (the error policy): not taken again.
    let mut stopped: HashSet<execute::EntryKey> = HashSet::new();
    let mut writes: Vec<String> = Vec::new();
    while rounds < options.max_rounds && !cancel.is_cancelled() && has_work(&plan, &permanent) {
        rounds += 1;
        progress.round(rounds, options.max_rounds, &plan.summary());
        let executor = execute::Executor {
            client,
            project,
            options,
            progress,
            cancel,
            skip: &permanent,
            project_name: plan_options.project.as_deref(),
            record,
            // Labeling waits for the retries of the rounds that follow.
            round: if rounds < options.max_rounds {
                gate::Round::More
            } else {
                gate::Round::Last
            },
        };
        let out = executor.execute(&plan).await;
        halted.extend(out.halted.iter().cloned());
        stopped.extend(out.stopped.iter().cloned());
        writes.extend(out.writes.iter().cloned());
        for f in out.failures {
            let key = (
                f.item.resource_kind,
                f.item.resource.clone(),
                f.item.key.clone().unwrap_or_default(),
            );
            if f.permanent {
                permanent.insert(key.clone());
            }
            last_failure.insert(key, f);
        }
        resource_failures = out.resource_failures;
        for (k, v) in out.notes {
            notes.insert(k, v);
        }
        // Even when interrupted, observe once more: the report's counts are what the
        // remote holds, not what the plan before this round expected.
        if rounds < options.max_rounds && !cancel.is_cancelled() {
            let pause = options
                .round_backoff
                .saturating_mul(1 << (rounds - 1).min(6));
            // Nothing failed transiently: observe at once.
            if out.resource_errors > 0 || last_failure.values().any(|f| !f.permanent) {
                cancel.sleep(pause).await;
            }
        }
        let opts = PlanOptions {
            failed: std::sync::Arc::new(permanent.clone()),
            // The report is made of what this observation holds, never of its prices.
            decide_only: true,
            ..plan_options.clone()
        };
        let mut next = match make_plan(client, project, &opts, &api, &record.get()).await {
            Ok(next) => next,
            Err(e) => {
                error = Some(format!(
                    "observing the remote after round {rounds} failed, so apply stopped (the counts are from the observation before that round): {e}"
                ));
                break;
            }
        };
        phase::restrict(&mut next, options.phase);
        // What the remote changed under since the plan, and what failed for good, is
        // not touched again in this run.
        for r in &mut next.resources {
            let id = (r.kind, r.name.clone());
            if halted.contains(&id) || stopped.contains(&execute::entry_key(r)) {
                r.steps.clear();
            }
        }
        // No progress and nothing left that a retry could fix: stop early.
        let stuck = next.resources == plan.resources
            && out.resource_errors == 0
            && last_failure.values().all(|f| f.permanent);
        plan = next;
        if stuck {
            break;
        }
    }
    let interrupted = cancel.is_cancelled();
    // Only failures of datapoints still missing count: a later round may have fixed them.
    let missing: HashSet<FailureKey> = plan
        .resources
        .iter()
        .flat_map(|r| {
            r.datapoints
                .iter()
                .flat_map(|d| d.add.iter().chain(&d.failed_earlier))
                .chain(r.examples.iter().flat_map(|e| e.add.iter()))
                .map(move |k| (r.kind, r.name.clone(), k.clone()))
        })
        .collect();
    let mut failures: Vec<FailureRecord> = last_failure
        .into_iter()
        .filter(|(k, _)| missing.contains(k))
        .map(|(_, f)| f)
        .collect();
    failures.sort_by(|a, b| {
        (&a.item.resource, &a.item.file, a.item.line, &a.item.key).cmp(&(
            &b.item.resource,
            &b.item.file,
            b.item.line,
            &b.item.key,
        ))
    });
    // Resource-level failures of resources still not done: a later round may have fixed
    // them.
    let pending: HashSet<(ResourceKind, String)> = plan
        .resources
        .iter()
        .filter(|r| !r.steps.is_empty() || r.datapoints.as_ref().is_some_and(|d| !d.add.is_empty()))
        .map(|r| (r.kind, r.name.clone()))
        .chain(stopped.iter().map(|(kind, name, _)| (*kind, name.clone())))
        .collect();
    failures.extend(
        resource_failures
            .into_iter()
            .filter(|f| pending.contains(&(f.item.resource_kind, f.item.resource.clone()))),
    );
    failures.extend(failed_earlier(project, &plan, &failures));
    let resources = outcomes(project, &plan, &failures, &mut notes);
    let mut failures_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for f in &failures {
        *failures_by_reason
            .entry(f.error_message.clone())
            .or_default() += 1;
    }
    let report = ApplyReport {
        format_version: 1,
        api,
        started_at,
        finished_at: chrono::Utc::now(),
        rounds,
        converged: !plan.has_changes()
            && failures.is_empty()
            && halted.is_empty()
            && stopped.is_empty()
            && !interrupted
            && error.is_none(),
        interrupted,
        error,
        requests: client.stats().requests.saturating_sub(requests_before),
        resources,
        failures_by_reason,
        failures,
    };
    let mut halted: Vec<_> = halted.into_iter().collect();
    halted.sort();
    Ok(ApplyOutcome {
        report,
        remaining: plan,
        writes,
        halted,
    })
}

/// Whether a round could change anything: some step other than re-uploading datapoints
/// that already failed for good.
fn has_work(plan: &Plan, permanent: &HashSet<FailureKey>) -> bool {
    plan.resources.iter().any(|r| {
        let only_data = r.steps.iter().all(|s| *s == Step::EditDataset);
        if r.steps.is_empty() {
            return false;
        }
        // Examples that failed for good are not re-sent; recruiting waits for them.
        if let Some(e) = &r.examples {
            let only_examples = r
                .steps
                .iter()
                .all(|s| matches!(s, Step::AddExamples | Step::StartRecruiting));
            if only_examples && !e.add.is_empty() && e.deletions().next().is_none() {
                return e
                    .add
                    .iter()
                    .any(|k| !permanent.contains(&(r.kind, r.name.clone(), k.clone())));
            }
        }
        if !only_data {
            return true;
        }
        r.datapoints.as_ref().is_some_and(|d| {
            d.deletions().next().is_some()
                || d.add
                    .iter()
                    .any(|k| !permanent.contains(&(r.kind, r.name.clone(), k.clone())))
        })
    })
}

/// The datapoints that failed in an earlier apply and that a job runs without: still
/// missing, so still failures in the report (with their source), though this run did not
/// try them again.
fn failed_earlier(project: &Project, plan: &Plan, known: &[FailureRecord]) -> Vec<FailureRecord> {
    let mut out = Vec::new();
    for r in &plan.resources {
        let Some(d) = r
            .datapoints
            .as_ref()
            .filter(|d| !d.failed_earlier.is_empty())
        else {
            continue;
        };
        let Some(Resource::JobDefinition(def)) = project
            .resources
            .iter()
            .find(|x| x.kind() == r.kind && x.name() == r.name)
        else {
            continue;
        };
        let reported: HashSet<&str> = known
            .iter()
            .filter(|f| f.item.resource_kind == r.kind && f.item.resource == r.name)
            .filter_map(|f| f.item.key.as_deref())
            .collect();
        let wanted: HashSet<&str> = d
            .failed_earlier
            .iter()
            .map(String::as_str)
            .filter(|k| !reported.contains(k))
            .collect();
        let Ok(found) = def
            .spec
            .datapoints
            .collect_where(|x| wanted.contains(x.key().as_ref()))
        else {
            continue;
        };
        out.extend(found.iter().map(|dp| {
            FailureRecord::datapoint(
                r.kind,
                &r.name,
                dp,
                crate::remote::FailureClass::Permanent,
                "FailedEarlier",
                format!(
                    "failed to upload in an earlier apply; the job runs without it (`--relabel {}` includes it, labeling everything again)",
                    r.name
                ),
            )
        }));
    }
    out
}

fn outcomes(
    project: &Project,
    plan: &Plan,
    failures: &[FailureRecord],
    notes: &mut BTreeMap<(ResourceKind, String), Vec<String>>,
) -> Vec<ResourceOutcome> {
    plan.resources
        .iter()
        .filter(|r| r.origin.is_some() || !r.steps.is_empty())
        .map(|r| {
            let spec = project.resources.iter().find_map(|res| match res {
                Resource::JobDefinition(d)
                    if r.kind == ResourceKind::JobDefinition && d.name == r.name =>
                {
                    Some(&d.spec)
                }
                Resource::Order(o) if r.kind == ResourceKind::Order && o.name == r.name => {
                    Some(&o.spec)
                }
                _ => None,
            });
            let desired = spec.map_or(0, |s| s.datapoints.len() as u64);
            let missing = r
                .datapoints
                .as_ref()
                .map_or(0, |d| (d.add.len() + d.failed_earlier.len()) as u64);
            let failed = failures
                .iter()
                .filter(|f| {
                    f.item.key.is_some()
                        && f.item.resource_kind == r.kind
                        && f.item.resource == r.name
                })
                .count() as u64;
            let tolerance = spec.map_or(0.0, |s| s.failure_tolerance);
            let rate = if desired == 0 {
                0.0
            } else {
                missing as f64 / desired as f64
            };
            let mut n = notes.remove(&(r.kind, r.name.clone())).unwrap_or_default();
            if r.action == Action::Blocked {
                if let Some(reason) = &r.reason {
                    n.push(format!("blocked: {reason}"));
                }
            }
            ResourceOutcome {
                kind: r.kind,
                name: r.name.clone(),
                remote_id: r.remote_id.clone(),
                desired,
                present: desired.saturating_sub(missing),
                missing,
                failed,
                failure_rate: rate,
                failure_tolerance: tolerance,
                within_tolerance: rate <= tolerance + f64::EPSILON,
                notes: n,
            }
        })
        .collect()
}

#[cfg(test)]
mod execute_tests;
