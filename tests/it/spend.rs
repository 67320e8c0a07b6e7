//! Labeling costs money (issue #19): apply starts no labeling the plan did not show, and
//! transient faults never multiply jobs or copies of the data. Includes the fault
//! benchmark: a project with an audience, a definition with a job and an order, against
//! every fault mix of the emulator, two seeds each (its table: `docs/faults.md`; print it
//! with `cargo test --test it spend::fault_benchmark -- --nocapture`).

use crate::harness;

use std::path::Path;
use std::time::Duration;

use harness::*;
use rapidata::apply::{self, ApplyOptions, ApplyOutcome, Cancel, Silent};
use rapidata::emulator::{AssetFailure, Burst429, FaultPlan, RouteFault};
use rapidata::manifest::{Project, ResourceKind};
use rapidata::plan::{make_plan, PlanOptions, RecordStore, Step};

fn route(route: &str) -> RouteFault {
    RouteFault {
        route: route.into(),
        ..Default::default()
    }
}

async fn apply_once(env: &Env, project: &Project) -> ApplyOutcome {
    try_apply(env, project).await.expect("plan")
}

/// One `rapidata apply`: `Err` when its first plan fails (as the CLI would exit), which
/// under injected faults a re-run answers.
async fn try_apply(env: &Env, project: &Project) -> Result<ApplyOutcome, String> {
    let record = RecordStore::open(&project.root, "test");
    let first = make_plan(
        &env.client,
        project,
        &PlanOptions::default(),
        "test",
        &record.get(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let opts = ApplyOptions {
        parallelism: 8,
        max_rounds: 3,
        round_backoff: Duration::from_millis(20),
        ..Default::default()
    };
    apply::apply(
        &env.client,
        project,
        &PlanOptions::default(),
        &opts,
        first,
        &record,
        &Silent,
        &Cancel::new(),
    )
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn transient_502s_during_a_first_apply_never_start_a_second_job() {
    // The case: 500 datapoints, a Job, failureTolerance 0.25, 5% of datapoint
    // creates answered 502 (their outcome unknown, so never re-sent within a round).
    let mut fault = route("POST /dataset/{datasetId}/datapoint");
    fault.error_rate = 0.05;
    fault.status = Some(502);
    let env = env(FaultPlan {
        seed: 5,
        routes: vec![fault],
        ..Default::default()
    })
    .await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 500,
            tolerance: 0.25,
            ..Default::default()
        },
    );
    let project = load(&root);
    let first = apply_once(&env, &project).await;
    let second = apply_once(&env, &project).await;
    let jobs = env.client.find_jobs_named("animals-global").await.unwrap();
    assert_eq!(jobs.len(), 1, "exactly one job: {jobs:?}");
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    assert_eq!(defs.len(), 1);
    let rev = env.client.latest_revision(&defs[0].id).await.unwrap();
    assert_eq!(rev.number, 1, "no new revision, no new dataset");
    let created = env.emulator.datapoints_created().await.unwrap();
    assert!(
        created <= 525,
        "{created} datapoints created for 500 wanted"
    );
    // The job was assigned once, after the retries; the second apply wrote nothing.
    let assigned = |o: &ApplyOutcome| {
        o.writes
            .iter()
            .filter(|w| w.starts_with("CreateJob"))
            .count()
    };
    assert_eq!(
        assigned(&first) + assigned(&second),
        1,
        "{:?}",
        first.writes
    );
    assert!(
        !second
            .writes
            .iter()
            .any(|w| w.starts_with("NewDataset") || w.starts_with("CreateJob")),
        "{:?}",
        second.writes
    );
    let present = key_counts(&env.client, &rev.dataset_id).await.len();
    let r = &second.report;
    let def = r
        .resources
        .iter()
        .find(|x| x.kind == ResourceKind::JobDefinition)
        .unwrap();
    assert_eq!(
        def.present as usize, present,
        "the report counts what is there"
    );
    assert_eq!(def.missing as usize, 500 - present);
}

#[tokio::test]
async fn a_removal_under_a_running_job_is_kept_and_shown_not_dropped() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 6,
            ..Default::default()
        },
    );
    let project = load(&root);
    assert!(apply_once(&env, &project).await.converged());
    let ds = dataset_of(&env.client, "animals").await;
    // One image removed, one added: a new dataset for the running job. Without prune,
    // the removed one is carried over, as it would be kept without a job.
    std::fs::remove_file(root.join("images/img-00002.png")).unwrap();
    std::fs::write(root.join("images/img-00100.png"), png(100)).unwrap();
    let project = load(&root);
    let record = RecordStore::open(&project.root, "test");
    let plan = make_plan(
        &env.client,
        &project,
        &PlanOptions::default(),
        "test",
        &record.get(),
    )
    .await
    .unwrap();
    let def = &plan.resources[0];
    assert!(def.steps.contains(&Step::NewDataset), "{:?}", def.steps);
    let dp = def.datapoints.as_ref().unwrap();
    assert_eq!((dp.keep.len(), dp.dropped), (1, 0));
    let label = dp.keep[0].label.as_deref().unwrap_or_default();
    assert!(
        label.ends_with("img-00002.png"),
        "named by its file: {label}"
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert!(json.to_string().contains("\"keep\""));
    let job = plan
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::Job && r.origin.is_some())
        .unwrap();
    assert_eq!(job.relabel.as_ref().map(|r| r.datapoints), Some(6));
    let out = apply_once(&env, &project).await;
    assert!(out.converged(), "{:?}", out.report);
    let new_ds = dataset_of(&env.client, "animals").await;
    assert_ne!(new_ds, ds);
    assert_eq!(
        key_counts(&env.client, &new_ds).await.len(),
        7,
        "6 kept + 1 new"
    );
    // And the next plan is empty.
    let again = make_plan(
        &env.client,
        &project,
        &PlanOptions::default(),
        "test",
        &record.get(),
    )
    .await
    .unwrap();
    assert!(!again.has_changes(), "{:?}", again.resources);
}

#[tokio::test]
async fn a_rename_in_place_uploads_nothing_and_assigns_no_job() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 5,
            ..Default::default()
        },
    );
    let project = load(&root);
    assert!(apply_once(&env, &project).await.converged());
    let yaml = std::fs::read_to_string(root.join("rapidata.yaml")).unwrap();
    let renamed = yaml
        .replace("name: animals\n", "name: pets\nrenamedFrom: animals\n")
        .replace("definition: animals\n", "definition: pets\n")
        .replace(
            "name: animals-global\n",
            "name: pets-global\nrenamedFrom: [animals-global]\n",
        );
    std::fs::write(root.join("rapidata.yaml"), renamed).unwrap();
    let project = load(&root);
    env.emulator.reset_stats();
    let out = apply_once(&env, &project).await;
    assert!(out.converged(), "{:?}", out.report);
    assert_eq!(
        out.writes,
        vec![
            "Rename JobDefinition/pets".to_string(),
            "Rename Job/pets-global".to_string()
        ]
    );
    let stats = env.emulator.stats();
    assert_eq!(stats.get("POST /dataset/{datasetId}/datapoint"), 0);
    assert_eq!(stats.get("POST /job"), 0);
    assert_eq!(
        env.client
            .find_jobs_named("pets-global")
            .await
            .unwrap()
            .len(),
        1
    );
    let record = RecordStore::open(&project.root, "test");
    let again = make_plan(
        &env.client,
        &project,
        &PlanOptions::default(),
        "test",
        &record.get(),
    )
    .await
    .unwrap();
    assert!(!again.has_changes(), "{:?}", again.resources);
}

#[tokio::test]
async fn prune_deletes_a_removed_definitions_job_first_and_leaves_nothing_running() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 3,
            ..Default::default()
        },
    );
    let opts = PlanOptions {
        project: Some("p".into()),
        ..Default::default()
    };
    let project = load(&root);
    let record = RecordStore::open(&project.root, "test");
    let run = |project: Project, opts: PlanOptions| {
        let env = &env;
        let record = &record;
        async move {
            let plan = make_plan(&env.client, &project, &opts, "test", &record.get())
                .await
                .unwrap();
            apply::apply(
                &env.client,
                &project,
                &opts,
                &ApplyOptions {
                    round_backoff: Duration::from_millis(20),
                    ..Default::default()
                },
                plan,
                record,
                &Silent,
                &Cancel::new(),
            )
            .await
            .unwrap()
        }
    };
    assert!(run(project, opts.clone()).await.converged());
    // Both manifests removed (another resource keeps the project non-empty).
    std::fs::write(
        root.join("rapidata.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: Audience\nname: other\n",
    )
    .unwrap();
    let project = load(&root);
    let pruning = PlanOptions {
        prune: true,
        ..opts.clone()
    };
    let plan = make_plan(&env.client, &project, &pruning, "test", &record.get())
        .await
        .unwrap();
    let deletes: Vec<(ResourceKind, &str)> = plan
        .resources
        .iter()
        .filter(|r| r.steps == vec![Step::Delete])
        .map(|r| (r.kind, r.name.as_str()))
        .collect();
    assert_eq!(
        deletes,
        vec![
            (ResourceKind::Job, "animals-global"),
            (ResourceKind::JobDefinition, "animals")
        ]
    );
    let out = run(project, pruning).await;
    assert!(out.converged(), "{:?}", out.report);
    assert!(env
        .client
        .find_jobs_named("animals-global")
        .await
        .unwrap()
        .is_empty());
    assert!(env
        .client
        .find_job_definitions("animals")
        .await
        .unwrap()
        .is_empty());
}

/// A project with an audience (3 examples), a definition with a job, and an order.
fn mixed_project(dir: &Path, images: usize) -> std::path::PathBuf {
    let root = write_project(
        dir,
        &ProjectSpec {
            images,
            failing: &[3, 11],
            tolerance: 0.25,
            with_job: false,
            ..Default::default()
        },
    );
    let mut yaml = std::fs::read_to_string(root.join("rapidata.yaml")).unwrap();
    yaml.push_str("---\napiVersion: rapidata.ai/v1\nkind: Audience\nname: raters\nfilters:\n  - _t: LanguageFilter\n    languages: [en]\nexamples:\n");
    for (i, truth) in ["cat", "dog", "cat"].iter().enumerate() {
        yaml.push_str(&format!(
            "  - type: classify\n    instruction: Which animal?\n    answerOptions: [cat, dog]\n    asset: images/img-{:05}.png\n    truth: [{truth}]\n",
            i + 20
        ));
    }
    yaml.push_str("---\napiVersion: rapidata.ai/v1\nkind: Job\nname: animals-raters\ndefinition: animals\naudience: raters\n");
    yaml.push_str("---\napiVersion: rapidata.ai/v1\nkind: Order\nname: cuter\ntype: compare\ninstruction: Which is cuter?\nfailureTolerance: 0.5\nrun: true\ndatapoints:\n");
    for i in 0..6 {
        yaml.push_str(&format!(
            "  - assets: [images/img-{:05}.png, images/img-{:05}.png]\n",
            24 + 2 * i,
            25 + 2 * i
        ));
    }
    std::fs::write(root.join("rapidata.yaml"), yaml).unwrap();
    root
}

fn mixes(seed: u64) -> Vec<(&'static str, FaultPlan)> {
    let after = |status: u16| {
        let mut r = route("POST *");
        r.after_write_rate = 0.05;
        r.status = Some(status);
        r
    };
    let before = |status: u16| {
        let mut r = route("POST *");
        r.error_rate = 0.05;
        r.status = Some(status);
        r
    };
    let burst = {
        let mut r = route("*");
        r.burst_429 = Some(Burst429 {
            period: 60,
            length: 2,
            retry_after_secs: 1,
        });
        r
    };
    let lost = {
        let mut r = route("POST *");
        r.lost_response_rate = 0.05;
        r
    };
    let plan = |routes: Vec<RouteFault>| FaultPlan {
        seed,
        routes,
        ..Default::default()
    };
    let assets = vec![AssetFailure {
        pattern: "FAILME*".into(),
        ..Default::default()
    }];
    vec![
        ("503", plan(vec![before(503)])),
        ("502 after the write", plan(vec![after(502)])),
        ("504 after the write", plan(vec![after(504)])),
        ("503 after the write", plan(vec![after(503)])),
        ("500", plan(vec![before(500)])),
        ("429 bursts", plan(vec![burst.clone()])),
        ("lost responses", plan(vec![lost.clone()])),
        (
            "token expiry",
            FaultPlan {
                token_ttl_secs: Some(1),
                ..plan(vec![])
            },
        ),
        (
            "asset failures",
            FaultPlan {
                asset_failures: assets.clone(),
                ..plan(vec![])
            },
        ),
        (
            "all at once",
            FaultPlan {
                token_ttl_secs: Some(1),
                asset_failures: assets,
                ..plan(vec![
                    before(503),
                    after(502),
                    after(504),
                    before(500),
                    burst,
                    lost,
                ])
            },
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_benchmark() {
    const IMAGES: usize = 40;
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for seed in [1u64, 2] {
        for (name, faults) in mixes(seed) {
            let env = env(faults).await;
            let root = mixed_project(env.dir.path(), IMAGES);
            let project = load(&root);
            // What the manifests want: the definition's datapoints and the order's.
            let wanted = IMAGES as u64 + 6;
            let mut applies = 0;
            let mut out = None;
            // Two applies; a run whose first plan fails under the faults (the CLI exits
            // with the error) is run again, once.
            let mut plan_errors = 0;
            while applies < 2 + plan_errors && plan_errors <= 1 {
                applies += 1;
                let o = match try_apply(&env, &project).await {
                    Ok(o) => o,
                    Err(e) => {
                        eprintln!("{name} seed {seed}: the plan failed ({e}); run again");
                        plan_errors += 1;
                        continue;
                    }
                };
                let done =
                    o.converged() || o.remaining.resources.iter().all(|r| r.steps.is_empty());
                out = Some(o);
                if done {
                    break;
                }
            }
            let out =
                out.unwrap_or_else(|| panic!("{name} seed {seed}: no apply got past its plan"));
            let r = &out.report;
            let jobs = env
                .client
                .find_jobs_named("animals-raters")
                .await
                .unwrap()
                .len();
            let created = env.emulator.datapoints_created().await.unwrap();
            // Every failure in the report is a datapoint still missing, and every missing
            // datapoint has its failure.
            let missing: u64 = r.resources.iter().map(|x| x.missing).sum();
            let failures = r.failures.iter().filter(|f| f.item.key.is_some()).count() as u64;
            let settled = out.remaining.resources.iter().all(|r| r.steps.is_empty());
            let ok = settled
                && jobs == 1
                && created as f64 <= 1.05 * wanted as f64
                && failures == missing;
            rows.push(format!(
                "| {name} | {seed} | {applies} | {} | {jobs} | {created} / {wanted} | {missing} | {failures} | {} |",
                if settled { "yes" } else { "no" },
                if ok { "PASS" } else { "FAIL" }
            ));
            if !ok {
                failed.push(format!(
                    "{name} (seed {seed}): {:#?}",
                    out.remaining
                        .resources
                        .iter()
                        .filter(|r| !r.steps.is_empty())
                        .collect::<Vec<_>>()
                ));
            }
            env.emulator.shutdown().await;
        }
    }
    println!("| faults | seed | applies | settled (no step left) | jobs named by the Job manifest | datapoints created / wanted | missing | failures in report | |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
