//! The datapoint diff of one dataset: keys to add, remote datapoints to delete (removed,
//! changed, duplicated), and what stays.

use std::collections::{HashMap, HashSet};

use super::identity::remote_fingerprint;
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
    // Hash maps, not ordered ones: 100,000 long keys compare slowly in a tree. The
    // output lists are sorted at the end so the plan stays deterministic.
    let desired: HashMap<&str, String> = spec
        .datapoints
        .iter()
        .map(|dp| (dp.key.as_str(), remote_fingerprint(&spec.task, dp)))
        .collect();
    // Datapoints made by other tools count under the manifest key whose content they
    // have (`adopt`), with that comparison's outcome; unmatched ones are unmanaged.
    let adopted = super::adopt::adopt(spec, remote);
    plan.adopted = adopted.len() as u64;
    type RemoteCopy<'r> = (&'r RemoteDatapoint, Option<bool>);
    let mut by_key: HashMap<&str, Vec<RemoteCopy>> = HashMap::with_capacity(remote.len());
    for r in remote {
        let identity = match (r.adopted, &r.key) {
            (true, _) => adopted.get(r.id.as_str()).map(|a| (a.key, Some(a.same))),
            (false, Some(k)) => Some((k.as_str(), None)),
            (false, None) => None,
        };
        match identity {
            Some((k, same)) => by_key.entry(k).or_default().push((r, same)),
            None => plan.unmanaged += 1,
        }
    }
    let rref = |(r, _): &RemoteCopy, k: &str| RemoteRef {
        id: r.id.clone(),
        key: k.to_string(),
    };
    let mut present: HashSet<&str> = HashSet::with_capacity(desired.len());
    for (key, mut copies) in by_key {
        copies.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        match desired.get(key) {
            Some(fp) => {
                let (same, other): (Vec<_>, Vec<_>) =
                    copies.into_iter().partition(|(r, adopted_same)| {
                        adopted_same
                            .unwrap_or_else(|| r.fingerprint.as_deref() == Some(fp.as_str()))
                    });
                if let Some((_kept, extra)) = same.split_first() {
                    plan.unchanged += 1;
                    present.insert(key);
                    plan.duplicates.extend(extra.iter().map(|r| rref(r, key)));
                    plan.duplicates.extend(other.iter().map(|r| rref(r, key)));
                } else {
                    plan.changed.extend(other.iter().map(|r| rref(r, key)));
                }
            }
            None => {
                let (first, extra) = copies
                    .split_first()
                    .map_or((None, &[][..]), |(f, e)| (Some(f), e));
                plan.duplicates.extend(extra.iter().map(|r| rref(r, key)));
                if let Some(first) = first {
                    if prune {
                        plan.remove.push(rref(first, key));
                    } else {
                        plan.orphaned += 1;
                    }
                }
            }
        }
    }
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
        Asset::Text(_) | Asset::Uploaded(_) => None,
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
        let same = *fp == remote_fingerprint(&spec.task, dp)
            || old_task
                .as_ref()
                .is_some_and(|t| *fp == remote_fingerprint(t, dp));
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
