//! The datapoint diff of one dataset: keys to add, remote datapoints to delete (removed,
//! changed, duplicated), and what stays.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use super::model::{DatapointPlan, RemoteRef};
use super::observe::{ObservedDefinition, PendingObserved};
use super::remote_set::RemoteSet;
use crate::manifest::{Asset, LabelingSpec};
use crate::remote::RemoteDatapoint;

/// The datapoint diff of one dataset, with what its additions upload.
pub fn datapoint_plan(
    spec: &LabelingSpec,
    remote: &RemoteSet,
    dataset_id: Option<String>,
    prune: bool,
) -> DatapointPlan {
    let mut plan = diff_keys(spec, remote, dataset_id, prune);
    count_uploads(spec, &mut plan);
    plan
}

/// Keys to add, remote datapoints to delete, what stays. The kept copies were found while
/// observing ([`RemoteSet`]); the rest is sorted by (key, id) so each key's copies are one
/// run of a slice. The output lists come out sorted, so the plan is deterministic.
fn diff_keys(
    spec: &LabelingSpec,
    remote: &RemoteSet,
    dataset_id: Option<String>,
    prune: bool,
) -> DatapointPlan {
    let mut plan = DatapointPlan {
        dataset_id,
        unchanged: remote.kept_count(),
        ..Default::default()
    };
    let desired = &spec.datapoints;
    // Datapoints made by other tools and not kept while observing count under the
    // manifest key whose content they have (`adopt`), with that comparison's outcome;
    // unmatched ones are unmanaged.
    let adopted = super::adopt::adopt(spec, remote);
    plan.adopted = remote.kept_adopted() + adopted.len() as u64;
    let mut keyed: Vec<(&str, &RemoteDatapoint, Option<bool>)> =
        Vec::with_capacity(remote.rest().len());
    for r in remote.rest() {
        let identity = match (r.adopted, &r.key) {
            (true, _) => adopted
                .get(r.id.as_str())
                .map(|a| (a.key.as_str(), Some(a.same))),
            (false, Some(k)) => Some((k.as_str(), None)),
            (false, None) => None,
        };
        match identity {
            Some((k, same)) => keyed.push((k, r, same)),
            None => plan.unmanaged += 1,
        }
    }
    keyed.sort_unstable_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    let rref = |r: &RemoteDatapoint, k: &str| RemoteRef {
        id: r.id.clone(),
        key: k.to_string(),
        label: None,
    };
    // Desired datapoints an adopted copy in the rest holds.
    let mut adopted_present: HashSet<usize> = HashSet::new();
    for copies in keyed.chunk_by(|a, b| a.0 == b.0) {
        let key = copies[0].0;
        match desired.position(key) {
            // A copy with the desired content is kept: these are duplicates.
            Some(pos) if remote.is_kept(pos) => plan
                .duplicates
                .extend(copies.iter().map(|(_, r, _)| rref(r, key))),
            // Only an adopted copy can still have the desired content here (a managed
            // one would have been kept): the first is kept, the others are duplicates;
            // with none, a change.
            Some(pos) => match copies.iter().position(|c| c.2 == Some(true)) {
                Some(kept) => {
                    plan.unchanged += 1;
                    adopted_present.insert(pos);
                    plan.duplicates.extend(
                        copies
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != kept)
                            .map(|(_, (_, r, _))| rref(r, key)),
                    );
                }
                None => plan
                    .changed
                    .extend(copies.iter().map(|(_, r, _)| rref(r, key))),
            },
            None => {
                let Some((first, extra)) = copies.split_first() else {
                    continue;
                };
                plan.duplicates
                    .extend(extra.iter().map(|(_, r, _)| rref(r, key)));
                if prune {
                    plan.remove.push(rref(first.1, key));
                } else {
                    plan.orphaned += 1;
                    plan.keep.push(rref(first.1, key));
                }
            }
        }
    }
    for list in [
        &mut plan.remove,
        &mut plan.changed,
        &mut plan.duplicates,
        &mut plan.keep,
    ] {
        list.sort_unstable_by(|a, b| (&a.key, &a.id).cmp(&(&b.key, &b.id)));
    }
    plan.add = desired
        .iter()
        .enumerate()
        .filter(|(pos, _)| !remote.is_kept(*pos) && !adopted_present.contains(pos))
        .map(|(_, d)| d.key().into_owned())
        .collect();
    plan
}

/// The key a URL asset is known by (see [`asset_key`]).
pub fn url_key(url: &str) -> String {
    format!("url:{url}")
}

/// The key an uploaded asset is known by: `file:<blake3>` or `url:<url>`.
pub fn asset_key(a: &Asset) -> Option<String> {
    match a {
        Asset::File { content_hash, .. } => Some(format!("file:{content_hash}")),
        Asset::Url(u) => Some(url_key(u)),
        Asset::Text(_) | Asset::Uploaded(_) => None,
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
        None => diff_keys(spec, &RemoteSet::empty(), None, true),
    };
    // What the manifests no longer list is kept unless prune is on (`current.keep`):
    // copied from the current dataset. A resumed dataset may hold some copies already.
    let kept_keys: HashSet<&str> = current.keep.iter().map(|r| r.key.as_str()).collect();
    let (copied, remove): (Vec<RemoteRef>, Vec<RemoteRef>) = std::mem::take(&mut plan.remove)
        .into_iter()
        .partition(|r| kept_keys.contains(r.key.as_str()));
    plan.remove = remove;
    let copied: HashSet<&str> = copied.iter().map(|r| r.key.as_str()).collect();
    plan.keep = current
        .keep
        .iter()
        .filter(|r| !copied.contains(r.key.as_str()))
        .cloned()
        .collect();
    plan.keep_from = current.dataset_id.clone();
    plan.carried_over = current.unchanged + current.keep.len() as u64;
    plan.dropped_items = current.deletions().cloned().collect();
    plan.dropped = plan.dropped_items.len() as u64;
    plan.fresh = current.add.clone();
    plan.failed_earlier.clear();
    plan.orphaned = 0;
    // The uploaded files of each desired datapoint whose content the dataset has (by
    // position); the content is read again once, only when there are such files.
    let files: HashMap<usize, &[String]> = observed
        .datapoints
        .kept_files()
        .iter()
        .map(|(p, f)| (*p, f.as_slice()))
        .collect();
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
