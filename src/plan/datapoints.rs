//! The datapoint diff of one dataset: keys to add, remote datapoints to delete (removed,
//! changed, duplicated), and what stays.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use super::identity::same_remote_fingerprint;
use super::model::{DatapointPlan, RemoteRef};
use super::observe::{ObservedDefinition, PendingObserved};
use crate::manifest::{Asset, LabelingSpec, Task};
use crate::remote::RemoteDatapoint;

/// The datapoint diff of one dataset, with what its additions upload.
pub fn datapoint_plan(
    spec: &LabelingSpec,
    remote: &[RemoteDatapoint],
    dataset_id: Option<String>,
    prune: bool,
) -> DatapointPlan {
    let mut plan = diff_keys(spec, remote, dataset_id, prune);
    count_uploads(spec, &mut plan);
    plan
}

/// Keys to add, remote datapoints to delete, what stays.
fn diff_keys(
    spec: &LabelingSpec,
    remote: &[RemoteDatapoint],
    dataset_id: Option<String>,
    prune: bool,
) -> DatapointPlan {
    let mut plan = DatapointPlan {
        dataset_id,
        ..Default::default()
    };
    // The desired side is looked up by key in the resource's datapoint index (no second
    // map, no key strings); the remote datapoints are sorted by (key, id) so each key's
    // copies are one run of a slice: no vector per key. Fingerprints are compared in
    // place. The output lists come out sorted, so the plan is deterministic.
    let desired = &spec.datapoints;
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
    let mut present = vec![false; desired.len()];
    for copies in keyed.chunk_by(|a, b| a.0 == b.0) {
        let key = copies[0].0;
        match desired.get(key) {
            Some(dp) => {
                let own = dp.fingerprint();
                let same = |r: &RemoteDatapoint| {
                    r.fingerprint
                        .as_ref()
                        .is_some_and(|fp| same_remote_fingerprint(&spec.task, &own, fp))
                };
                // The first copy with the desired content is kept (lowest id); every other
                // copy is a duplicate, or, when none has that content, a change.
                match copies.iter().position(|(_, r)| same(r)) {
                    Some(kept) => {
                        plan.unchanged += 1;
                        if let Some(p) = desired.position(key) {
                            present[p] = true;
                        }
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
    plan.add = desired
        .iter()
        .zip(&present)
        .filter(|(_, p)| !**p)
        .map(|(d, _)| d.key().into_owned())
        .collect();
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

/// Distinct assets the additions upload (those not reused) and their bytes. Text needs
/// no upload, so a resource without media is not read again for this.
fn count_uploads(spec: &LabelingSpec, plan: &mut DatapointPlan) {
    if plan.add.is_empty() || !spec.datapoints.has_media() {
        return;
    }
    let adding: Vec<bool> = {
        let set: HashSet<&str> = plan.add.iter().map(String::as_str).collect();
        spec.datapoints
            .iter()
            .map(|d| set.contains(d.key().as_ref()))
            .collect()
    };
    let mut assets: HashMap<String, u64> = HashMap::new();
    // A source changed since it was read: the counts are what could be read; apply
    // reads it again and stops with the error.
    let _ = spec.datapoints.for_each(|i, dp| {
        if adding.get(i).copied().unwrap_or(false) {
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
        ControlFlow::Continue(())
    });
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
        Some(p) => diff_keys(spec, &p.datapoints, Some(p.dataset_id.clone()), true),
        None => diff_keys(spec, &[], None, true),
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
    // The uploaded files of each desired datapoint whose content the dataset has (by
    // position); the content is read again once, only when there are such files.
    let mut files: HashMap<usize, &[String]> = HashMap::new();
    if spec.datapoints.has_media() {
        for r in &observed.datapoints {
            let (Some(k), Some(fp)) = (&r.key, &r.fingerprint) else {
                continue;
            };
            let (Some(dp), Some(pos)) = (spec.datapoints.get(k), spec.datapoints.position(k))
            else {
                continue;
            };
            let own = dp.fingerprint();
            let same = same_remote_fingerprint(&spec.task, &own, fp)
                || old_task
                    .as_ref()
                    .is_some_and(|t| same_remote_fingerprint(t, &own, fp));
            if same && !r.files.is_empty() {
                files.entry(pos).or_insert(&r.files);
            }
        }
    }
    if !files.is_empty() {
        let _ = spec.datapoints.for_each(|i, dp| {
            if let Some(remote_files) = files.get(&i) {
                let keys: Vec<String> = dp
                    .assets
                    .iter()
                    .chain(dp.context_asset.as_ref())
                    .filter_map(asset_key)
                    .collect();
                if keys.len() == remote_files.len() {
                    for (k, f) in keys.into_iter().zip(remote_files.iter()) {
                        plan.reuse.entry(k).or_insert_with(|| f.clone());
                    }
                }
            }
            ControlFlow::Continue(())
        });
    }
    count_uploads(spec, &mut plan);
    plan
}
