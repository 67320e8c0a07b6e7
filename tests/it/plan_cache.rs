//! The validated observation cache (issue #24): a plan that replays `.rapidata/cache/` is
//! the plan that lists the dataset again, whatever another client added or deleted between
//! the two plans — the newest, the oldest, one in the middle, several, deletes and adds
//! together — and a damaged cache file is ignored with a note.

use crate::harness;
use crate::support::fixtures;

use std::sync::Arc;

use harness::*;
use rapidata::emulator::FaultPlan;
use rapidata::manifest::{Asset, Project, Resource};
use rapidata::plan::observation_cache::ObservationCache;
use rapidata::plan::{make_plan, Plan, PlanOptions, RecordStore};
use rapidata::remote::wire_build;

async fn plan_with(env: &Env, project: &Project, cache: Option<Arc<ObservationCache>>) -> Plan {
    let opts = PlanOptions {
        cache,
        ..Default::default()
    };
    let record = RecordStore::open(&project.root, "test");
    make_plan(&env.client, project, &opts, "test", &record.get())
        .await
        .unwrap()
}

const LISTING: &str = "GET /dataset/{datasetId}/datapoints";

/// Plans from the cache and without it agree, resource by resource. Returns how many
/// listing requests the cached plan made to observe (not counting the one per dataset that
/// names the remote datapoints the plan shows as samples, `id[in]`).
async fn agree(env: &Env, project: &Project, cache: &Arc<ObservationCache>, what: &str) -> u64 {
    let before = env.emulator.stats().get(LISTING);
    let cached = plan_with(env, project, Some(cache.clone())).await;
    let labelled = cached
        .resources
        .iter()
        .filter_map(|r| r.datapoints.as_ref())
        .filter(|d| {
            d.deletions().next().is_some() || !d.dropped_items.is_empty() || !d.keep.is_empty()
        })
        .count() as u64;
    let requests = env.emulator.stats().get(LISTING) - before - labelled;
    let listed = plan_with(env, project, None).await;
    assert_eq!(
        serde_json::to_value(&cached.resources).unwrap(),
        serde_json::to_value(&listed.resources).unwrap(),
        "{what}: the cached observation missed a change"
    );
    assert_eq!(cached.observed_digest, listed.observed_digest, "{what}");
    requests
}

#[tokio::test]
async fn every_change_by_another_client_is_seen_through_the_cache() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 12,
            with_job: false,
            ..Default::default()
        },
    );
    let project = load(&root);
    assert!(apply(&env, &project, 3).await.converged());
    let ds = dataset_of(&env.client, "animals").await;
    let cache = Arc::new(ObservationCache::new(env.dir.path().join("cache"), "test"));
    let Resource::JobDefinition(def) = &project.resources[0] else {
        unreachable!()
    };
    let mut n = 0u32;
    // Another client's datapoint, with a key no manifest has.
    let add = |n: u32| {
        let dp = fixtures::dp(
            &format!("other-{n}"),
            vec![Asset::Text(format!("other {n}"))],
        );
        wire_build::datapoint_body(&def.spec.task, &dp, &|_| None).unwrap()
    };
    // Warm: the first plan lists and writes the cache; the second replays it.
    assert!(agree(&env, &project, &cache, "cold").await > 1);
    assert_eq!(
        agree(&env, &project, &cache, "warm").await,
        1,
        "a warm plan reads the dataset's head only"
    );
    // (deletes: positions from the oldest (0) or the newest (-1); adds)
    let cases: Vec<(&str, Vec<i64>, u32)> = vec![
        ("add one", vec![], 1),
        ("delete the newest", vec![-1], 0),
        ("delete the oldest", vec![0], 0),
        ("delete one in the middle", vec![5], 0),
        ("delete the newest, add one", vec![-1], 1),
        ("delete the oldest, add one", vec![0], 1),
        ("delete one in the middle, add one", vec![4], 1),
        ("delete two, add two", vec![1, -2], 2),
        ("add three", vec![], 3),
        ("delete three, add one", vec![0, 2, -1], 1),
    ];
    for (what, deletes, adds) in cases {
        // Oldest first, as the listing pages them.
        let mut ids: Vec<String> = Vec::new();
        env.client
            .scan_datapoints(&ds, |d| ids.push(d.id))
            .await
            .unwrap();
        let pick = |p: i64| {
            if p >= 0 {
                ids[p as usize].clone()
            } else {
                ids[ids.len() - (-p) as usize].clone()
            }
        };
        let gone: Vec<String> = deletes.iter().map(|p| pick(*p)).collect();
        for id in &gone {
            env.client.delete_datapoint(id).await.unwrap();
        }
        for _ in 0..adds {
            n += 1;
            env.client.create_datapoint(&ds, &add(n)).await.unwrap();
        }
        assert!(
            agree(&env, &project, &cache, what).await > 1,
            "{what}: the change must be noticed and the dataset listed again"
        );
        // And once more from the cache just rewritten.
        assert_eq!(
            agree(&env, &project, &cache, &format!("{what}, warm")).await,
            1
        );
    }
}

#[tokio::test]
async fn a_damaged_cache_file_is_ignored_with_a_note() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 4,
            with_job: false,
            ..Default::default()
        },
    );
    let project = load(&root);
    assert!(apply(&env, &project, 3).await.converged());
    let dir = env.dir.path().join("cache");
    let cache = Arc::new(ObservationCache::new(dir.clone(), "test"));
    let clean = plan_with(&env, &project, Some(cache.clone())).await;
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .expect("the cache was written");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 50;
    bytes[at] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let plan = plan_with(&env, &project, Some(cache.clone())).await;
    assert!(
        plan.notes.iter().any(|n| n.contains("was ignored")),
        "{:?}",
        plan.notes
    );
    assert_eq!(plan.resources, clean.resources);
    // Truncated: the same.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let plan = plan_with(&env, &project, Some(cache)).await;
    assert_eq!(plan.resources, clean.resources);
}
