//! The failure report: resource-level failures are in it, its counts are what the remote
//! holds (also after an interruption), it is written on every run (nothing to do, the API
//! gone mid-apply, SIGTERM) under names that never collide, and every failure keeps the
//! source of its datapoint and the server's trace id.

use crate::harness;

use std::process::Command;
use std::time::Duration;

use harness::*;
use rapidata::apply::{self, ApplyOptions, ApplyOutcome, Cancel, Silent};
use rapidata::emulator::{AssetFailure, FaultPlan, RouteFault};
use rapidata::manifest::{Project, ResourceKind};
use rapidata::plan::{PlanOptions, RecordStore};
use rapidata::remote::FailureClass;
use rapidata::report::failures::{ApplyReport, ResourceOutcome};

fn fault(route: &str, status: u16, rate: f64) -> RouteFault {
    RouteFault {
        route: route.into(),
        error_rate: rate,
        status: Some(status),
        ..Default::default()
    }
}

fn faults(routes: Vec<RouteFault>) -> FaultPlan {
    FaultPlan {
        seed: 11,
        routes,
        ..Default::default()
    }
}

async fn apply_with(
    env: &Env,
    project: &Project,
    max_rounds: u32,
    cancel: &Cancel,
) -> ApplyOutcome {
    let first = plan(env, project, false).await;
    let opts = ApplyOptions {
        parallelism: 4,
        max_rounds,
        round_backoff: Duration::from_millis(50),
        ..Default::default()
    };
    apply::apply(
        &env.client,
        project,
        &PlanOptions::default(),
        &opts,
        first,
        &RecordStore::open(&project.root, "test"),
        &Silent,
        cancel,
    )
    .await
    .expect("apply reports instead of failing")
}

/// The dataset apply is filling for definition `animals` (recorded before the definition
/// exists: the definition is created once its datapoints are in), once it holds `at_least`
/// datapoints.
async fn filling(env: &Env, root: &std::path::Path, at_least: usize) -> String {
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let found = pending_dataset(root, "animals");
        if let Some(ds) = found {
            if env.client.list_datapoints(&ds).await.unwrap().len() >= at_least {
                return ds;
            }
        }
    }
}

fn definition(report: &ApplyReport) -> &ResourceOutcome {
    report
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::JobDefinition)
        .unwrap()
}

#[tokio::test]
async fn a_failed_resource_is_a_failure_in_the_report() {
    // Every job assignment is refused: the datapoints are all in, the job is not.
    let env = env(faults(vec![fault("POST /job", 400, 1.0)])).await;
    let project = load(&write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 5,
            ..Default::default()
        },
    ));
    let out = apply_with(&env, &project, 2, &Cancel::new()).await;
    let r = &out.report;
    assert!(!r.converged);
    assert_eq!(r.failures.len(), 1, "{:#?}", r.failures);
    let f = &r.failures[0];
    assert_eq!(f.item.resource_kind, ResourceKind::Job);
    assert_eq!(f.item.resource, "animals-global");
    assert_eq!(f.item.key, None, "a resource, not a datapoint");
    assert!(f.item.file.as_ref().unwrap().ends_with("rapidata.yaml"));
    assert!(f.item.line.unwrap() > 1, "the Job is the second document");
    assert_eq!(f.error_type, "ValidationError");
    assert_eq!(f.http_status, Some(400));
    assert_eq!(f.class, FailureClass::Permanent);
    let trace = f.trace_id.as_deref().expect("the server's trace id");
    assert_eq!(
        f.error_message.matches(trace).count(),
        1,
        "{}",
        f.error_message
    );
    assert_eq!(r.failures_by_reason.values().sum::<u64>(), 1);
    assert_eq!(definition(r).present, 5);
}

#[tokio::test]
async fn http_500_on_creates_is_observed_then_retried_never_duplicated() {
    // A third of the datapoint creates answer 500: outcome unknown, so not re-sent; the next
    // observation finds them missing and a later round creates them.
    let env = env(faults(vec![fault(
        "POST /dataset/{datasetId}/datapoint",
        500,
        0.3,
    )]))
    .await;
    let project = load(&write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 40,
            ..Default::default()
        },
    ));
    let one_round = apply_with(&env, &project, 1, &Cancel::new()).await;
    let r = &one_round.report;
    let datapoint_failures: Vec<_> = r.failures.iter().filter(|f| f.item.key.is_some()).collect();
    assert!(!datapoint_failures.is_empty(), "some creates failed");
    for f in &datapoint_failures {
        assert_eq!(f.class, FailureClass::OutcomeUnknown, "{f:?}");
        assert!(!f.permanent);
        assert_eq!(f.http_status, Some(500));
        assert!(f.trace_id.is_some(), "the 500 carried a trace id: {f:?}");
        assert!(
            f.item.assets.len() == 1 && f.item.assets[0].contains("images/img-"),
            "the datapoint's source: {:?}",
            f.item
        );
        assert!(f.item.file.as_ref().unwrap().ends_with("rapidata.yaml"));
    }
    assert_eq!(
        definition(r).missing,
        datapoint_failures.len() as u64,
        "counts from the observation after the round"
    );

    // The next apply: its first round meets a server failing every create with 500, then
    // the server recovers. Round 2 must retry them (they were never permanent), each once.
    let missing = definition(r).missing;
    assert!(missing > 0);
    let route = "POST /dataset/{datasetId}/datapoint";
    env.emulator
        .set_faults(faults(vec![fault(route, 500, 1.0)]));
    env.emulator.reset_stats();
    let recover = async {
        while env.emulator.stats().get(route) < missing {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        env.emulator.set_faults(FaultPlan::default());
    };
    let cancel = Cancel::new();
    let (out, ()) = tokio::join!(apply_with(&env, &project, 2, &cancel), recover);
    assert!(out.converged(), "{:#?}", out.report);
    assert_eq!(out.report.rounds, 2);
    assert_eq!(
        env.emulator.stats().get(route),
        2 * missing,
        "each create sent once in round 1 (500, not re-sent by the client) and once in round 2"
    );
    let ds = dataset_of(&env.client, "animals").await;
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 40);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[tokio::test]
async fn url_asset_failures_keep_the_trace_id_and_the_url() {
    let env = env(FaultPlan {
        asset_failures: vec![AssetFailure {
            pattern: "*/broken/*".into(),
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    let root = env.dir.path().join("urls");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("rapidata.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: urls\ntype: classify\ninstruction: Which?\nanswerOptions: [a, b]\nfailureTolerance: 0.5\ndatapoints:\n  - asset: https://example.com/ok/1.jpg\n  - asset: https://example.com/broken/2.jpg\n",
    )
    .unwrap();
    let project = load(&root);
    let out = apply_with(&env, &project, 2, &Cancel::new()).await;
    let f = &out.report.failures;
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].error_type, "AssetUploadFailed");
    assert_eq!(
        f[0].asset.as_deref(),
        Some("https://example.com/broken/2.jpg")
    );
    assert!(f[0].trace_id.is_some(), "{:?}", f[0]);
    assert_eq!(f[0].item.line, Some(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_apply_reports_what_the_remote_holds() {
    let env = env(FaultPlan {
        routes: vec![RouteFault {
            route: "POST *".into(),
            latency_ms: 20,
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    let project = load(&write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 300,
            ..Default::default()
        },
    ));
    let root = project.root.clone();
    let cancel = Cancel::new();
    // Cancel once 20 datapoints are in, while apply runs (in the same task: the apply
    // future borrows the project).
    let watch = async {
        let ds = filling(&env, &root, 20).await;
        cancel.cancel();
        ds
    };
    let (out, ds) = tokio::join!(apply_with(&env, &project, 3, &cancel), watch);
    let held = key_counts(&env.client, &ds).await.len() as u64;
    assert!(out.report.interrupted);
    assert!((20..300).contains(&held), "{held}");
    let def = definition(&out.report);
    assert_eq!(def.present, held, "present is what the remote holds");
    assert_eq!(def.missing, 300 - held);
    assert_eq!(def.failed, 0, "nothing failed, the rest was not attempted");
}

#[tokio::test]
async fn an_api_that_goes_away_mid_apply_still_gets_a_report() {
    let env = env(FaultPlan::default()).await;
    let project = load(&write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 10,
            ..Default::default()
        },
    ));
    let first = plan(&env, &project, false).await;
    // From now on every read fails: the observation after round 1 cannot happen.
    env.emulator
        .set_faults(faults(vec![fault("GET *", 503, 1.0)]));
    let opts = ApplyOptions {
        parallelism: 4,
        max_rounds: 3,
        round_backoff: Duration::from_millis(10),
        ..Default::default()
    };
    let out = apply::apply(
        &env.client,
        &project,
        &PlanOptions::default(),
        &opts,
        first,
        &RecordStore::open(&project.root, "test"),
        &Silent,
        &Cancel::new(),
    )
    .await
    .expect("a report, not an error");
    let r = &out.report;
    assert!(!r.converged);
    assert_eq!(r.rounds, 1);
    let error = r.error.as_deref().expect("why it stopped");
    assert!(error.contains("observing the remote"), "{error}");
    assert!(error.contains("503"), "{error}");
}

#[test]
fn report_names_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let report = ApplyReport::not_started("http://x", chrono::Utc::now(), "test".into());
    let paths: std::collections::BTreeSet<_> = (0..50)
        .map(|_| report.write_new(dir.path()).unwrap())
        .collect();
    assert_eq!(paths.len(), 50);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 50);
}

fn reports(root: &std::path::Path) -> Vec<ApplyReport> {
    let mut out: Vec<(std::path::PathBuf, ApplyReport)> =
        std::fs::read_dir(root.join(".rapidata/reports"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let r = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                (p, r)
            })
            .collect();
    out.sort_by(|a, b| (a.1.started_at, &a.0).cmp(&(b.1.started_at, &b.0)));
    out.into_iter().map(|(_, r)| r).collect()
}

async fn run(mut c: Command) -> Option<i32> {
    tokio::task::spawn_blocking(move || c.status().unwrap().code())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_writes_its_own_report_even_with_nothing_to_do() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 5,
            ..Default::default()
        },
    );
    assert_eq!(
        run(apply_cmd(&env, &root, &["--parallelism", "4"])).await,
        Some(0)
    );
    // Twice with nothing to do, back to back (the same second).
    assert_eq!(
        run(apply_cmd(&env, &root, &["--parallelism", "4"])).await,
        Some(0)
    );
    assert_eq!(
        run(apply_cmd(&env, &root, &["--parallelism", "4"])).await,
        Some(0)
    );
    let r = reports(&root);
    assert_eq!(r.len(), 3, "one report per run, none overwritten");
    assert!(r.iter().all(|r| r.converged));
    assert_eq!((r[0].rounds, r[1].rounds, r[2].rounds), (1, 0, 0));
    assert!(r[1..].iter().all(|r| definition(r).present == 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_like_ctrl_c_and_writes_the_report() {
    let env = env(FaultPlan {
        routes: vec![RouteFault {
            route: "POST *".into(),
            latency_ms: 20,
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 300,
            ..Default::default()
        },
    );
    let mut child = apply_cmd(&env, &root, &["--parallelism", "4"])
        .spawn()
        .unwrap();
    let ds = filling(&env, &root, 1).await;
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(143), "128 + SIGTERM");
    let r = reports(&root);
    assert_eq!(r.len(), 1, "the report was written");
    assert!(r[0].interrupted);
    let held = key_counts(&env.client, &ds).await.len() as u64;
    assert!(held < 300, "it stopped before the end ({held})");
    assert_eq!(definition(&r[0]).present, held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_token_endpoint_fails_uploads_transiently_and_they_are_retried() {
    // Tokens live 2 s, so apply needs a new one partway.
    let short_tokens = FaultPlan {
        token_ttl_secs: Some(2),
        ..Default::default()
    };
    let env = env(short_tokens.clone()).await;
    let spec = ProjectSpec {
        images: 5,
        with_job: false,
        ..Default::default()
    };
    let root = write_project(env.dir.path(), &spec);
    assert!(apply_with(&env, &load(&root), 2, &Cancel::new())
        .await
        .converged());
    // Five more images go into the same dataset.
    write_project(env.dir.path(), &ProjectSpec { images: 10, ..spec });
    let project = load(&root);
    let first = plan(&env, &project, false).await;
    // The token endpoint answers 503 until one fetch has used up all its retries; by then
    // the cached token is due for refresh, so an upload meets AuthError::TokenUnavailable.
    let token = "POST /connect/token";
    env.emulator.set_faults(FaultPlan {
        routes: vec![fault(token, 503, 1.0)],
        ..short_tokens
    });
    tokio::time::sleep(Duration::from_millis(1600)).await;
    env.emulator.reset_stats();
    let attempts = 7; // 1 + the harness client's 6 retries
    let recover = async {
        while env.emulator.stats().get(token) < attempts {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        env.emulator.set_faults(FaultPlan {
            token_ttl_secs: Some(2),
            ..Default::default()
        });
    };
    let cancel = Cancel::new();
    let run = async {
        let opts = ApplyOptions {
            parallelism: 4,
            max_rounds: 3,
            round_backoff: Duration::from_millis(50),
            ..Default::default()
        };
        apply::apply(
            &env.client,
            &project,
            &PlanOptions::default(),
            &opts,
            first,
            &RecordStore::open(&project.root, "test"),
            &Silent,
            &cancel,
        )
        .await
        .unwrap()
    };
    let (out, ()) = tokio::join!(run, recover);
    assert!(
        env.emulator.stats().get(token) > attempts,
        "a fetch failed for good, then one succeeded"
    );
    // A busy token endpoint is not a verdict on the datapoint: retried, converged.
    assert!(out.converged(), "{:#?}", out.report);
    let ds = dataset_of(&env.client, "animals").await;
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 10);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_observation_that_fails_still_leaves_a_report() {
    let env = env(faults(vec![fault("GET *", 400, 1.0)])).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 2,
            ..Default::default()
        },
    );
    assert_eq!(
        run(apply_cmd(&env, &root, &["--parallelism", "4"])).await,
        Some(1)
    );
    let r = reports(&root);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].rounds, 0);
    assert!(!r[0].converged);
    let error = r[0].error.as_deref().unwrap();
    assert!(error.starts_with("observing the remote failed"), "{error}");
    assert!(error.contains("HTTP 400"), "{error}");
    assert_eq!(env.emulator.stats().writes(), 0, "nothing was changed");
}
