//! Plan: observe the remote, diff it against the manifests, say what apply will do.
//!
//! Shaped like uv's `Planner` → `Plan` → installer: [`observe`] gathers facts, [`diff`] is a
//! pure function from (desired, observed) to a [`Plan`], and apply executes the plan.

pub mod adopt;
pub mod audience;
pub mod cost;
pub mod datapoints;
pub mod definition;
pub mod diff;
mod filtered_audience;
pub mod identity;
pub mod jobs;
pub mod model;
pub mod observation_cache;
pub mod observe;
pub mod project_marker;
pub mod recorded;
mod remote_set;
pub mod saved;
mod validation_set;

pub use datapoints::datapoint_plan;
pub use diff::{dataset_name, desired_digest, diff, PlanOptions};
pub use identity::{remote_fingerprint, remote_fingerprint_of};
pub use model::*;
pub use observe::{
    observe, Duplicate, Observation, ObserveError, Observed, ObservedDefinition, ObservedOrder,
    ShownOptions,
};
pub use recorded::{RecordStore, Recorded};
pub use remote_set::{Carried, RemoteSet};
pub use saved::{staleness, SavedPlan};

use crate::manifest::Project;
use crate::remote::Client;

/// Observe and diff in one go: the plan of what apply would do now. `recorded` is what
/// this machine learned at create time that the API does not return later.
pub async fn make_plan(
    client: &Client,
    project: &Project,
    opts: &PlanOptions,
    api: &str,
    recorded: &Recorded,
) -> Result<Plan, ObserveError> {
    let selection = opts.selection(project);
    let selected =
        |r: &crate::manifest::Resource| selection.contains(&(r.kind(), r.name().to_string()));
    let mut observed = observe(client, project, &selected, recorded, opts.cache.as_deref()).await?;
    // Definitions the project made that its manifests no longer have: deleted with
    // `--prune`, shown as kept drift without.
    if let Some(name) = &opts.project {
        // A manifest's names, and those it had (`renamedFrom`: renamed in place, not
        // orphaned).
        let names = |kind: crate::manifest::ResourceKind| {
            project
                .resources
                .iter()
                .filter(move |r| r.kind() == kind)
                .flat_map(|r| {
                    std::iter::once(r.name()).chain(r.renamed_from().iter().map(String::as_str))
                })
                .map(str::to_string)
                .collect()
        };
        let keep = names(crate::manifest::ResourceKind::JobDefinition);
        observed.orphans = observe::find_orphans(client, name, &keep).await?;
        // Their jobs: deleted before them with `--prune`, so no job runs on a definition
        // no plan sees any more.
        observed.orphan_definition_jobs = observe::jobs_of(client, &observed.orphans).await?;
        let keep_audiences = names(crate::manifest::ResourceKind::Audience);
        observed.orphan_audiences =
            observe::find_orphan_audiences(client, name, &keep_audiences).await?;
        // Whether the manifests' definitions carry its marker (adopted into it if not).
        observed.dataset_names = project_marker::dataset_names(client, &observed).await?;
    }
    let mut plan = diff(project, &observed, opts, api);
    if !opts.decide_only {
        cost::annotate(client, project, &mut plan).await;
        label_remote_samples(client, &mut plan).await;
    }
    if let Some(c) = &opts.cache {
        plan.notes.extend(c.take_notes());
    }
    Ok(plan)
}

/// The remote datapoints a plan shows as samples of what goes (removed, not carried over)
/// or stays only remotely get a label a person recognises: they are no longer in the
/// manifests, so only the remote can say what they were. A few reads per resource; a
/// failed read leaves the key.
async fn label_remote_samples(client: &Client, plan: &mut Plan) {
    use crate::report::plan_text::SAMPLES;
    // By dataset: what goes from the dataset the datapoints are in, what is dropped or
    // kept from the current one a new dataset replaces.
    let mut wanted: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for d in plan.resources.iter().filter_map(|r| r.datapoints.as_ref()) {
        if let Some(ds) = d.dataset_id.as_deref() {
            let ids = d.deletions().take(SAMPLES).map(|x| x.id.clone());
            wanted.entry(ds).or_default().extend(ids);
        }
        if let Some(ds) = d.keep_from.as_deref().or(d.dataset_id.as_deref()) {
            let ids = d.dropped_items.iter().take(SAMPLES);
            let ids = ids.chain(d.keep.iter().take(SAMPLES)).map(|x| x.id.clone());
            wanted.entry(ds).or_default().extend(ids);
        }
    }
    let found = futures::future::join_all(
        wanted
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(ds, ids)| client.datapoint_labels(ds, ids)),
    )
    .await;
    let labels: std::collections::HashMap<String, String> =
        found.into_iter().filter_map(Result::ok).flatten().collect();
    if labels.is_empty() {
        return;
    }
    for d in plan
        .resources
        .iter_mut()
        .filter_map(|r| r.datapoints.as_mut())
    {
        for x in d
            .remove
            .iter_mut()
            .chain(d.changed.iter_mut())
            .chain(d.duplicates.iter_mut())
            .chain(d.dropped_items.iter_mut())
            .chain(d.keep.iter_mut())
        {
            if let Some(l) = labels.get(x.id.as_str()) {
                x.label = Some(l.clone());
            }
        }
    }
}

#[cfg(test)]
mod diff_tests;
