//! The datapoint diff of one dataset: keys to add, remote datapoints to delete (removed,
//! changed, duplicated), and what stays.

use std::collections::{HashMap, HashSet};

use super::identity::same_remote_fingerprint;
use super::model::{DatapointPlan, RemoteRef};
use super::observe::{ObservedDefinition, PendingObserved};
use crate::manifest::{Asset, Datapoint, LabelingSpec, Task};
use crate::remote::RemoteDatapoint;

/// The datapoint diff of one dataset.
pub fn datapoint_plan(
    spec: &LabelingSpec,
    remote: &[RemoteDatapoint],
    dataset_id: Option<String>,
    prune: bool,
) -> DatapointPlan {
    let mut plan = DatapointPlan {
        dataset_id,
        ..Default::default()
    };
    // One map from key to the datapoint (no fingerprint strings: they are compared in
    // place), and the remote datapoints sorted by (key, id) so each key's copies are one
    // run of a slice: no vector per key. Hash maps, not trees: a million long keys compare
    // slowly in a tree. The output lists come out sorted, so the plan is deterministic.
    let desired: HashMap<&str, &Datapoint> = spec
        .datapoints
        .iter()
        .map(|dp| (dp.key.as_str(), dp))
        .collect();
    let mut keyed: Vec<(&str, &RemoteDatapoint)> = Vec::with_capacity(remote.len());
    for r in remote {
        match &r.key {
            Some(k) => keyed.push((k.as_str(), r)),
            None => plan.unmanaged += 1,
        }
    }
    keyed.sort_unstable_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    let rref = |r: &RemoteDatapoint, k: &str| RemoteRef {
        id: r.id.clone(),
        key: k.to_string(),
    };
    let mut present: HashSet<&str> = HashSet::new();
    for copies in keyed.chunk_by(|a, b| a.0 == b.0) {
        let key = copies[0].0;
        match desired.get(key) {
            Some(dp) => {
                let same = |r: &RemoteDatapoint| {
                    r.fingerprint
                        .as_deref()
                        .is_some_and(|fp| same_remote_fingerprint(&spec.task, dp, fp))
                };
                // The first copy with the desired content is kept (lowest id); every other
                // copy is a duplicate, or, when none has that content, a change.
                match copies.iter().position(|(_, r)| same(r)) {
                    Some(kept) => {
                        plan.unchanged += 1;
                        present.insert(key);
                        plan.duplicates.extend(
                            copies
                                .iter()
                                .enumerate()
                                .filter(|(i, _)| *i != kept)
                                .map(|(_, (_, r))| rref(r, key)),
                        );
                    }
                    None => plan
                        .changed
                        .extend(copies.iter().map(|(_, r)| rref(r, key))),
                }
            }
            None => {
                let Some((first, extra)) = copies.split_first() else {
                    continue;
                };
                plan.duplicates
                    .extend(extra.iter().map(|(_, r)| rref(r, key)));
                if prune {
                    plan.remove.push(rref(first.1, key));
                } else {
                    plan.orphaned += 1;
                }
            }
        }
    }
    // Duplicates of kept datapoints come first in key order, so sort the lists once more.
    for list in [&mut plan.remove, &mut plan.changed, &mut plan.duplicates] {
        list.sort_unstable_by(|a, b| (&a.key, &a.id).cmp(&(&b.key, &b.id)));
    }
    for dp in &spec.datapoints {
        if !present.contains(dp.key.as_str()) {
            plan.add.push(dp.key.clone());
        }
    }
    count_uploads(spec, &mut plan);
    plan
}

/// The key an uploaded asset is known by: `file:<blake3>` or `url:<url>`.
pub fn asset_key(a: &Asset) -> Option<String> {
    match a {
        Asset::File { content_hash, .. } => Some(format!("file:{content_hash}")),
        Asset::Url(u) => Some(format!("url:{u}")),
        Asset::Text(_) => None,
    }
}

/// Distinct assets the additions upload (those not reused) and their bytes.
fn count_uploads(spec: &LabelingSpec, plan: &mut DatapointPlan) {
    let adding: HashSet<&str> = plan.add.iter().map(String::as_str).collect();
    let mut assets: HashMap<String, u64> = HashMap::new();
    for dp in spec
        .datapoints
        .iter()
        .filter(|d| adding.contains(d.key.as_str()))
    {
        for a in dp.assets.iter().chain(dp.context_asset.as_ref()) {
            let Some(k) = asset_key(a) else { continue };
            if plan.reuse.contains_key(&k) {
                continue;
            }
            let size = match a {
                Asset::File { size, .. } => *size,
                _ => 0,
            };
            assets.insert(k, size);
        }
    }
    plan.upload_assets = assets.len() as u64;
    plan.upload_bytes = assets.values().sum();
}

/// The datapoints of a new dataset for a definition whose current dataset a job runs on
/// (`set_datapoints`): every desired datapoint, its uploaded files reused where the
/// current dataset has the same content. `current` is the diff against the current
/// dataset (for what is carried over and dropped); `resumed` a dataset an interrupted
/// apply was filling for the same base revision.
pub fn new_dataset_plan(
    spec: &LabelingSpec,
    observed: &ObservedDefinition,
    current: &DatapointPlan,
    resumed: Option<&PendingObserved>,
) -> DatapointPlan {
    let mut plan = match resumed {
        Some(p) => datapoint_plan(spec, &p.datapoints, Some(p.dataset_id.clone()), true),
        None => datapoint_plan(spec, &[], None, true),
    };
    plan.carried_over = current.unchanged;
    plan.dropped = current.deletions().count() as u64;
    plan.fresh = current.add.clone();
    plan.orphaned = 0;
    // Same content remotely: the remote fingerprint matches with the new answer options,
    // or with the ones the current dataset carries.
    let old_task = match (&spec.task, &observed.answer_options) {
        (Task::Classify { instruction, .. }, Some(opts)) => Some(Task::Classify {
            instruction: instruction.clone(),
            answer_options: opts.clone(),
        }),
        _ => None,
    };
    let by_key: HashMap<&str, &Datapoint> = spec
        .datapoints
        .iter()
        .map(|d| (d.key.as_str(), d))
        .collect();
    for r in &observed.datapoints {
        let (Some(k), Some(fp)) = (&r.key, &r.fingerprint) else {
            continue;
        };
        let Some(dp) = by_key.get(k.as_str()) else {
            continue;
        };
        let same = same_remote_fingerprint(&spec.task, dp, fp)
            || old_task
                .as_ref()
                .is_some_and(|t| same_remote_fingerprint(t, dp, fp));
        if !same {
            continue;
        }
        let keys: Vec<String> = dp
            .assets
            .iter()
            .chain(dp.context_asset.as_ref())
            .filter_map(asset_key)
            .collect();
        if keys.len() == r.files.len() {
            for (k, f) in keys.into_iter().zip(&r.files) {
                plan.reuse.entry(k).or_insert_with(|| f.clone());
            }
        }
    }
    count_uploads(spec, &mut plan);
    plan
}
