//! The datapoint diff of one dataset: keys to add, remote datapoints to delete (removed,
//! changed, duplicated), and what stays.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::identity::remote_fingerprint;
use super::model::{DatapointPlan, RemoteRef};
use crate::manifest::{Asset, Datapoint, LabelingSpec};
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
    let desired: HashMap<&str, (String, &Datapoint)> = spec
        .datapoints
        .iter()
        .map(|dp| (dp.key.as_str(), (remote_fingerprint(&spec.task, dp), dp)))
        .collect();
    let mut by_key: BTreeMap<&str, Vec<&RemoteDatapoint>> = BTreeMap::new();
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
    let mut present: BTreeSet<&str> = BTreeSet::new();
    for (key, mut copies) in by_key {
        copies.sort_by(|a, b| a.id.cmp(&b.id));
        match desired.get(key) {
            Some((fp, _)) => {
                let (same, other): (Vec<_>, Vec<_>) = copies
                    .into_iter()
                    .partition(|r| r.fingerprint.as_deref() == Some(fp.as_str()));
                if let Some((keep, extra)) = same.split_first() {
                    let _ = keep;
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
    let mut assets: BTreeMap<String, u64> = BTreeMap::new();
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
                    assets.insert(format!("file:{content_hash}"), *size);
                }
                Asset::Url(u) => {
                    assets.insert(format!("url:{u}"), 0);
                }
                Asset::Text(_) => {}
            }
        }
    }
    plan.upload_assets = assets.len() as u64;
    plan.upload_bytes = assets.values().sum();
    plan
}
