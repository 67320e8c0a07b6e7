//! Sharded apply: the datapoints of one large apply spread over several processes with no
//! coordination between them (a CI matrix, a Kubernetes Indexed Job).
//!
//! 1. `apply --phase prepare` (one process) makes the datasets and orders the datapoints go
//!    into, and records them in `.rapidata/recorded.json` (as an interrupted apply would).
//! 2. `apply --shard K/N` (N processes, each with that record) uploads only the missing
//!    datapoints whose key hashes to shard K, into the recorded datasets. Nothing else.
//! 3. `apply` (one process, with the record) does the rest: definitions over their full
//!    datasets, revisions, deletions, and the gates (tolerance, budget, job assignment,
//!    order submission).
//!
//! Each phase restricts the plan to its own steps before executing it, so the usual
//! converge loop, report and exit codes apply per phase.

use crate::plan::{Action, DatapointPlan, Plan, Step};

/// Which part of a sharded apply this process does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// Everything (the default; also the `finalize` step of a sharded apply).
    #[default]
    All,
    /// Only make the datasets and orders the shards fill.
    Prepare,
    /// Only upload the datapoints of shard `index` of `count`.
    Shard { index: u32, count: u32 },
}

impl Phase {
    /// Parse `K/N` (0 ≤ K < N).
    pub fn shard(spec: &str) -> Result<Phase, String> {
        let bad = || format!("`{spec}` is not a shard: write K/N with 0 <= K < N, e.g. 0/4");
        let (k, n) = spec.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Phase::Shard { index, count })
    }
}

/// The shard a datapoint key belongs to: stable across processes and runs.
pub fn shard_of(key: &str, count: u32) -> u32 {
    let h = blake3::hash(key.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    (u64::from_le_bytes(b) % u64::from(count.max(1))) as u32
}

/// Keep only the steps of `phase` in `plan`, as the steps that phase takes.
pub fn restrict(plan: &mut Plan, phase: Phase) {
    match phase {
        Phase::All => return,
        Phase::Prepare => {
            for r in &mut plan.resources {
                let known = r
                    .datapoints
                    .as_ref()
                    .and_then(|d| d.dataset_id.as_ref())
                    .is_some();
                let step = r.steps.iter().find_map(|s| match s {
                    Step::CreateDefinition if !known => Some(Step::PrepareDataset {
                        base_revision: None,
                    }),
                    Step::NewDataset if !known => Some(Step::PrepareDataset {
                        base_revision: r.revision,
                    }),
                    Step::CreateOrder => Some(Step::PrepareOrder),
                    // Already restricted (the CLI shows the restricted plan first).
                    Step::PrepareDataset { .. } | Step::PrepareOrder => Some(s.clone()),
                    _ => None,
                });
                r.steps = step.into_iter().collect();
                if let Some(d) = r.datapoints.as_mut() {
                    // Nothing is uploaded in this phase.
                    d.add.clear();
                    d.fresh.clear();
                    d.upload_assets = 0;
                    d.upload_bytes = 0;
                    d.remove.clear();
                    d.changed.clear();
                    d.duplicates.clear();
                }
            }
        }
        Phase::Shard { index, count } => {
            for r in &mut plan.resources {
                let fills = r.steps.iter().any(|s| {
                    matches!(
                        s,
                        Step::CreateDefinition
                            | Step::NewDataset
                            | Step::EditDataset
                            | Step::FillShard { .. }
                    )
                });
                r.steps.clear();
                let Some(d) = r.datapoints.as_mut() else {
                    continue;
                };
                shard_only(d, index, count);
                if !fills || d.add.is_empty() {
                    continue;
                }
                if d.dataset_id.is_none() {
                    r.action = Action::Blocked;
                    r.reason = Some(
                        "its dataset is not prepared: run `rapidata apply --phase prepare` first and \
                         give every shard its `.rapidata/recorded.json`"
                            .into(),
                    );
                    continue;
                }
                r.steps.push(Step::FillShard { index, count });
            }
        }
    }
    // The headline follows what this phase does.
    for r in &mut plan.resources {
        if r.action == Action::Blocked {
            continue;
        }
        r.action = if r.steps.is_empty() {
            Action::NoChange
        } else if r.remote_id.is_none() {
            Action::Create
        } else {
            Action::UpdateData
        };
    }
}

/// A shard uploads only its own keys and deletes nothing (deletions are the final step's).
fn shard_only(d: &mut DatapointPlan, index: u32, count: u32) {
    d.add.retain(|k| shard_of(k, count) == index);
    d.fresh.retain(|k| shard_of(k, count) == index);
    d.remove.clear();
    d.changed.clear();
    d.duplicates.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricting_twice_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("m.yaml"),
            "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: classify\ninstruction: I\nanswerOptions: [a, b]\ndatapoints:\n  - asset: {text: one}\n  - asset: {text: two}\n",
        )
        .unwrap();
        let opts = crate::manifest::LoadOptions {
            no_cache: true,
            ..Default::default()
        };
        let p = crate::manifest::load(&[dir.path().to_path_buf()], &opts).unwrap();
        for phase in [
            Phase::Prepare,
            Phase::Shard { index: 0, count: 2 },
            Phase::Shard { index: 1, count: 2 },
        ] {
            let mut once = crate::plan::diff(&p, &Default::default(), &Default::default(), "t");
            restrict(&mut once, phase);
            let mut twice = once.clone();
            restrict(&mut twice, phase);
            assert_eq!(once, twice, "{phase:?}");
        }
    }

    #[test]
    fn shards_parse_and_split_keys_evenly_and_stably() {
        assert_eq!(Phase::shard("1/4"), Ok(Phase::Shard { index: 1, count: 4 }));
        assert!(
            Phase::shard("4/4").is_err()
                && Phase::shard("x").is_err()
                && Phase::shard("0/0").is_err()
        );
        let mut per = [0u32; 4];
        for i in 0..4000 {
            per[shard_of(&format!("fp-{i:032x}"), 4) as usize] += 1;
        }
        assert!(per.iter().all(|&n| (850..1150).contains(&n)), "{per:?}");
        assert_eq!(shard_of("a key", 4), shard_of("a key", 4));
    }
}
