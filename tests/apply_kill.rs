//! Killing apply (SIGKILL) at random moments, ten times, then running it again converges
//! to exactly the desired set: no duplicates, nothing missing, one definition, one job.

mod harness;

use std::process::{Command, Stdio};
use std::time::Duration;

use harness::*;
use rapidata::emulator::{FaultPlan, RouteFault};

fn apply_cmd(env: &Env, root: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rapidata"));
    c.arg("apply")
        .arg(root)
        .args([
            "--endpoint",
            &env.emulator.base_url(),
            "--auto-approve",
            "--quiet",
            "--parallelism",
            "8",
        ])
        .env("RAPIDATA_CLIENT_ID", &env.client_id)
        .env("RAPIDATA_CLIENT_SECRET", &env.client_secret)
        .env_remove("RAPIDATA_TOKEN_FILE")
        .env("HOME", env.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_at_random_moments_then_converge() {
    // Latency stretches the run so the kills land mid-upload.
    let faults = FaultPlan {
        routes: vec![RouteFault {
            route: "POST *".into(),
            latency_ms: 5,
            ..Default::default()
        }],
        ..Default::default()
    };
    let env = env(faults).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 150,
            ..Default::default()
        },
    );
    let mut rng = fastrand::Rng::with_seed(42);
    for _ in 0..10 {
        let mut child = apply_cmd(&env, &root).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.u64(100..900))).await;
        // SIGKILL: no cleanup, no report.
        let _ = child.kill();
        let _ = child.wait();
    }
    let status = tokio::task::spawn_blocking({
        let mut c = apply_cmd(&env, &root);
        move || c.status().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0), "the final run converges");
    let ds = dataset_of(&env.client, "animals").await;
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 150);
    assert!(
        counts.values().all(|&n| n == 1),
        "no duplicates: {counts:?}"
    );
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    assert_eq!(defs.len(), 1);
    assert_eq!(env.client.find_jobs(&defs[0].id).await.unwrap().len(), 1);
}
