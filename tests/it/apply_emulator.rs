//! `apply` against the emulator with faults: tolerance, convergence, idempotence.

use crate::harness;

use harness::*;
use rapidata::emulator::{AssetFailure, Burst429, FaultPlan, RouteFault};
use rapidata::manifest::{self, ResourceKind};

fn failing_every_tenth() -> Vec<usize> {
    (0..50).filter(|i| i % 10 == 3).collect()
}

fn unsupported_media() -> FaultPlan {
    FaultPlan {
        asset_failures: vec![AssetFailure {
            pattern: "FAILME*".into(),
            title: Some("Unsupported media".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// 50 images of which 5 (10%) fail permanently, applied with the given tolerance.
async fn apply_with_failing_images(tolerance: f64) -> (Env, rapidata::apply::ApplyOutcome) {
    let env = env(unsupported_media()).await;
    let failing = failing_every_tenth();
    let spec = ProjectSpec {
        images: 50,
        failing: &failing,
        tolerance,
        ..Default::default()
    };
    let project = load(&write_project(env.dir.path(), &spec));
    let out = apply(&env, &project, 3).await;
    (env, out)
}

#[tokio::test]
async fn permanent_failures_within_tolerance_still_assign_the_job() {
    let (env, out) = apply_with_failing_images(0.2).await;
    let r = &out.report;
    // The definition exists with the 45 that uploaded.
    let ds = dataset_of(&env.client, "animals").await;
    assert_eq!(env.client.list_datapoints(&ds).await.unwrap().len(), 45);
    // Failures: one per failing image, grouped under the asset service's reason.
    assert_eq!(r.failures.len(), 5);
    assert_eq!(r.failures_by_reason.get("Unsupported media"), Some(&5));
    assert!(r
        .failures
        .iter()
        .all(|f| f.error_type == "AssetUploadFailed" && f.permanent));
    // Within tolerance (10% ≤ 20%): the job is assigned.
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    assert_eq!(env.client.find_jobs(&defs[0].id).await.unwrap().len(), 1);
    let def = r
        .resources
        .iter()
        .find(|x| x.kind == ResourceKind::JobDefinition)
        .unwrap();
    assert_eq!((def.desired, def.present, def.failed), (50, 45, 5));
    assert!(def.within_tolerance);
    // Permanent failures are not retried: each failing file was sent once.
    assert_eq!(env.emulator.stats().get("POST /asset/file"), 50);
    assert!(!out.converged(), "5 datapoints are still missing");
}

#[tokio::test]
async fn permanent_failures_above_tolerance_block_the_assignment() {
    let (env, out) = apply_with_failing_images(0.05).await;
    // The definition is still created with what uploaded (the SDK's semantics)...
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    assert_eq!(defs.len(), 1);
    // ...but not assigned.
    assert!(env.client.find_jobs(&defs[0].id).await.unwrap().is_empty());
    let job = out
        .report
        .resources
        .iter()
        .find(|x| x.kind == ResourceKind::Job)
        .unwrap();
    assert!(
        job.notes.iter().any(|n| n.contains("not assigned")),
        "{:?}",
        job.notes
    );
    assert!(!out.converged());
}

#[tokio::test]
async fn transient_faults_and_lost_responses_converge_without_duplicates() {
    let faults = FaultPlan {
        seed: 7,
        routes: vec![
            RouteFault {
                route: "*".into(),
                error_rate: 0.05,
                status: Some(503),
                ..Default::default()
            },
            RouteFault {
                route: "POST /dataset/{datasetId}/datapoint".into(),
                lost_response_rate: 0.02,
                ..Default::default()
            },
            RouteFault {
                route: "POST /asset/file".into(),
                burst_429: Some(Burst429 {
                    period: 40,
                    length: 3,
                    retry_after_secs: 1,
                }),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let env = env(faults).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 200,
            ..Default::default()
        },
    );
    let project = load(&root);
    let out = apply(&env, &project, 6).await;
    assert!(out.converged(), "{:#?}", out.report.resources);
    let ds = dataset_of(&env.client, "animals").await;
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 200, "0 missing");
    assert!(counts.values().all(|&n| n == 1), "0 duplicates: {counts:?}");
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    assert_eq!(defs.len(), 1);
    assert_eq!(env.client.find_jobs(&defs[0].id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn second_apply_is_a_no_op_with_zero_writes() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(env.dir.path(), &ProjectSpec::default());
    let project = load(&root);
    assert!(apply(&env, &project, 3).await.converged());
    env.emulator.reset_stats();
    let out = apply(&env, &project, 3).await;
    assert!(out.converged());
    assert_eq!(out.report.rounds, 0, "nothing to do");
    let stats = env.emulator.stats();
    assert_eq!(stats.writes(), 0, "{:?}", stats.routes());
    assert!(stats.total() > 0, "it did observe");
}

#[tokio::test]
async fn a_file_deleted_after_validation_is_a_permanent_failure_not_a_crash() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 10,
            tolerance: 0.5,
            ..Default::default()
        },
    );
    let project = load(&root);
    std::fs::remove_file(root.join("images/img-00004.png")).unwrap();
    let out = apply(&env, &project, 3).await;
    let f = &out.report.failures;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].error_type, "AssetUploadFailed");
    assert!(
        f[0].error_message.contains("img-00004.png"),
        "{}",
        f[0].error_message
    );
    assert!(f[0].permanent);
    // Never sent, never retried; the other nine are in and the job (tolerance 50%) assigned.
    assert_eq!(env.emulator.stats().get("POST /asset/file"), 9);
    let ds = dataset_of(&env.client, "animals").await;
    assert_eq!(env.client.list_datapoints(&ds).await.unwrap().len(), 9);
}

/// A text JSONL project of `n` datapoints (no files).
fn text_project(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let root = dir.join("texts");
    std::fs::create_dir_all(&root).unwrap();
    let rows: String = (0..n)
        .map(|i| format!("{{\"asset\": {{\"text\": \"sentence {i}\"}}}}\n"))
        .collect();
    std::fs::write(root.join("data.jsonl"), rows).unwrap();
    std::fs::write(
        root.join("rapidata.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: texts\ntype: classify\n\
         instruction: Positive?\nanswerOptions: [yes, no]\nreferee:\n  responsesPerDatapoint: 1\n\
         datapointSources:\n  - jsonl: data.jsonl\n",
    )
    .unwrap();
    root
}

/// The content is read again from the sources and uploaded a chunk at a time (4,096):
/// more than one chunk arrives whole, once each, and the plan holds only identities.
#[tokio::test]
async fn datapoints_read_again_from_the_sources_upload_in_chunks_exactly_once() {
    let env = env(FaultPlan::default()).await;
    let root = text_project(env.dir.path(), 9_000);
    let project = load(&root);
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report.failures_by_reason);
    let ds = dataset_of(&env.client, "texts").await;
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 9_000, "0 missing");
    assert!(counts.values().all(|&n| n == 1), "0 duplicates");
    assert!(!plan(&env, &project, false).await.has_changes());
}

/// Apply's observation after a round decides what is left, nothing more: it reads no
/// price (shown to people, never a step) — a new definition's apply asks for no cost
/// estimate — while a plan of the result does.
#[tokio::test]
async fn the_observation_after_a_round_reads_no_prices() {
    let env = env(FaultPlan::default()).await;
    let root = text_project(env.dir.path(), 20);
    let project = load(&root);
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report.failures_by_reason);
    let estimates = || {
        env.emulator
            .stats()
            .get("GET /job/definition/{definitionId}/cost-estimate")
    };
    assert_eq!(estimates(), 0);
    assert!(!plan(&env, &project, false).await.has_changes());
    assert_eq!(estimates(), 1, "a plan still prices what exists");
}

/// A source edited after the plan read it is not uploaded as something else: apply stops
/// that resource and says to plan again; nothing of it reaches the remote.
#[tokio::test]
async fn a_source_edited_after_the_plan_is_not_uploaded() {
    let env = env(FaultPlan::default()).await;
    let root = text_project(env.dir.path(), 50);
    let project = load(&root);
    let rows = std::fs::read_to_string(root.join("data.jsonl")).unwrap();
    std::fs::write(
        root.join("data.jsonl"),
        rows.replace("sentence 7\"", "sentence seven\""),
    )
    .unwrap();
    let manifest::Resource::JobDefinition(d) = &project.resources[0] else {
        unreachable!()
    };
    let err = d.spec.datapoints.to_vec().unwrap_err();
    assert!(
        err.to_string().contains("changed since it was read") && err.to_string().contains("line 8"),
        "{err}"
    );
    let out = apply(&env, &project, 1).await;
    assert!(!out.converged());
    let failures = format!("{:?}", out.report);
    assert!(failures.contains("run plan again"), "{failures}");
    // The dataset exists (made first) but nothing was uploaded into it.
    let uploaded = env
        .emulator
        .stats()
        .get("POST /dataset/{datasetId}/datapoint");
    assert_eq!(uploaded, 0);
}
