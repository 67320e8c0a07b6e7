//! Killing apply (SIGKILL) at random moments, ten times, then running it again converges
//! to exactly the desired set: no duplicates, nothing missing, one definition, one job.

use crate::harness;

use std::process::Command;
use std::time::Duration;

use harness::*;
use rapidata::emulator::{FaultPlan, RouteFault};

/// Every write takes `ms` longer, so that runs last long enough to be interrupted.
fn slow_writes(ms: u64) -> FaultPlan {
    FaultPlan {
        routes: vec![RouteFault {
            route: "POST *".into(),
            latency_ms: ms,
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_at_random_moments_then_converge() {
    // Latency stretches the run so the kills land mid-upload.
    let env = env(slow_writes(10)).await;
    // Sized so that ten interrupted runs cannot finish the work: 1,500 uploads and creates
    // at 10 ms each, 8 in flight, take longer than the ten runs are given together.
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 1500,
            ..Default::default()
        },
    );
    let mut rng = fastrand::Rng::with_seed(42);
    let mut killed_mid_run = 0;
    for _ in 0..10 {
        let mut child = apply_cmd(&env, &root, &["--parallelism", "8"])
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(rng.u64(50..350))).await;
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        // SIGKILL: no cleanup, no report.
        let _ = child.kill();
        let _ = child.wait();
    }
    eprintln!("killed mid-run: {killed_mid_run} of 10");
    assert!(
        killed_mid_run >= 8,
        "the kills must land while apply runs ({killed_mid_run} of 10 did)"
    );
    let status = tokio::task::spawn_blocking({
        let mut c = apply_cmd(&env, &root, &["--parallelism", "8"]);
        move || c.status().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0), "the final run converges");
    let ds = dataset_of(&env.client, "animals").await;
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 1500);
    assert!(
        counts.values().all(|&n| n == 1),
        "no duplicates: {counts:?}"
    );
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    assert_eq!(defs.len(), 1);
    assert_eq!(env.client.find_jobs(&defs[0].id).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_writes_the_report_and_a_rerun_converges() {
    let env = env(slow_writes(20)).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 300,
            ..Default::default()
        },
    );
    let mut child = apply_cmd(&env, &root, &["--parallelism", "8"])
        .spawn()
        .unwrap();
    // Let it get into the uploads. The dataset comes first and the definition only once
    // its datapoints are in (the SDK's order); apply records the dataset it is filling.
    let ds = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(ds) = pending_dataset(&root, "animals") {
            if !env.client.list_datapoints(&ds).await.unwrap().is_empty() {
                break ds;
            }
        }
    };
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(130), "interrupted apply exits 130");
    let reports: Vec<_> = std::fs::read_dir(root.join(".rapidata/reports"))
        .unwrap()
        .collect();
    assert_eq!(reports.len(), 1, "the report was written");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports[0].as_ref().unwrap().path()).unwrap())
            .unwrap();
    assert_eq!(report["interrupted"], true);
    let partial = env.client.list_datapoints(&ds).await.unwrap().len();
    assert!(partial < 300, "it stopped before the end ({partial})");

    let status = tokio::task::spawn_blocking({
        let mut c = apply_cmd(&env, &root, &["--parallelism", "8"]);
        move || c.status().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        dataset_of(&env.client, "animals").await,
        ds,
        "the re-run resumed the interrupted dataset instead of starting another"
    );
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 300);
    assert!(counts.values().all(|&n| n == 1));
}
