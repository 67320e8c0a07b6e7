//! The datapoint diff of one dataset: keys to add, remote datapoints to delete (removed,
//! changed, duplicated), and what stays.

use std::collections::{HashMap, HashSet};

use super::identity::remote_fingerprint;
use super::model::{DatapointPlan, RemoteRef};
use crate::manifest::{Asset, LabelingSpec};
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
    let mut by_key: HashMap<&str, Vec<&RemoteDatapoint>> = HashMap::with_capacity(remote.len());
    for r in remote {
        match &r.key {
            Some(k) => by_key.entry(k.as_str()).or_default().push(r),
            None => plan.unmanaged += 1,
        }
    }
    let rref = |r: &RemoteDatapoint, k: &str| RemoteRef {
        id: r.id.clone(),
        key: k.to_string(),
    };
    let mut present: HashSet<&str> = HashSet::with_capacity(desired.len());
    for (key, mut copies) in by_key {
        copies.sort_by(|a, b| a.id.cmp(&b.id));
        match desired.get(key) {
            Some(fp) => {
                let (same, other): (Vec<_>, Vec<_>) = copies
                    .into_iter()
                    .partition(|r| r.fingerprint.as_deref() == Some(fp.as_str()));
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
                    .map_or((None, &[][..]), |(f, e)| (Some(*f), e));
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
    let mut assets: HashMap<&str, u64> = HashMap::new();
    for dp in &spec.datapoints {
        if present.contains(dp.key.as_str()) {
            continue;
        }
        plan.add.push(dp.key.clone());
        for a in dp.assets.iter().chain(dp.context_asset.as_ref()) {
            match a {
                Asset::File {
                    content_hash, size, ..
                } => {
                    assets.insert(content_hash.as_str(), *size);
                }
                Asset::Url(u) => {
                    assets.insert(u.as_str(), 0);
                }
                Asset::Text(_) => {}
            }
        }
    }
    plan.upload_assets = assets.len() as u64;
    plan.upload_bytes = assets.values().sum();
    plan
}
