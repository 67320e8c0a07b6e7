//! Fault injection: seeded determinism, lost responses that still commit, 429 bursts,
//! permanent asset failures, short token lifetimes, route statistics.

use crate::emulator_support;

use std::time::Duration;

use emulator_support::*;
use rapidata::emulator::{AssetFailure, Burst429, FaultPlan, RouteFault};
use serde_json::json;

const DATAPOINT_ROUTE: &str = "POST /dataset/{datasetId}/datapoint";

fn error_plan(seed: u64) -> FaultPlan {
    FaultPlan {
        seed,
        routes: vec![RouteFault {
            route: DATAPOINT_ROUTE.into(),
            error_rate: 0.3,
            status: Some(503),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Statuses of 40 sequential datapoint creations under `plan`.
async fn statuses(plan: FaultPlan) -> Vec<u16> {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let ds = api.create_dataset("faults").await;
    emu.set_faults(plan);
    let mut out = Vec::new();
    for i in 0..40 {
        let a = api
            .post(
                &format!("/dataset/{ds}/datapoint"),
                text_datapoint("t", &format!("k{i}"), i),
            )
            .await;
        if a.status != 200 {
            assert_problem(&a, a.status.as_u16());
        }
        out.push(a.status.as_u16());
    }
    // Only the successful ones were stored.
    emu.set_faults(FaultPlan::default());
    let listed = api
        .get(&format!("/dataset/{ds}/datapoints?page=1&page_size=100"))
        .await;
    assert_eq!(
        listed.body["total"],
        out.iter().filter(|s| **s == 200).count()
    );
    emu.shutdown().await;
    out
}

#[tokio::test]
async fn same_seed_gives_the_same_faults() {
    let a = statuses(error_plan(42)).await;
    let b = statuses(error_plan(42)).await;
    let c = statuses(error_plan(43)).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    let failures = a.iter().filter(|s| **s == 503).count();
    assert!((3..=25).contains(&failures), "{failures} of 40 at 30%");
    assert!(a.iter().all(|s| *s == 200 || *s == 503));
}

#[tokio::test]
async fn a_lost_response_still_commits_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let ds = api.create_dataset("lost").await;
    emu.set_faults(FaultPlan {
        routes: vec![RouteFault {
            route: DATAPOINT_ROUTE.into(),
            lost_response_rate: 1.0,
            ..Default::default()
        }],
        ..Default::default()
    });
    let err = api
        .http
        .post(format!("{}/dataset/{ds}/datapoint", api.base))
        .bearer_auth(&api.token)
        .json(&text_datapoint("lost", "k-lost", 0))
        .send()
        .await
        .expect_err("the response must not arrive");
    assert!(!err.is_status(), "{err}");
    emu.set_faults(FaultPlan::default());
    let listed = api
        .get(&format!("/dataset/{ds}/datapoints?page=1&page_size=10"))
        .await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(
        listed.body["items"][0]["segments"][0]["asset"]["metadata"]["rapidata-key"]["text"],
        "k-lost"
    );
    assert_eq!(emu.stats().get(DATAPOINT_ROUTE), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn bursts_of_429_carry_retry_after_and_latency_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    emu.set_faults(FaultPlan {
        routes: vec![RouteFault {
            route: "GET /jobs".into(),
            latency_ms: 30,
            burst_429: Some(Burst429 {
                period: 4,
                length: 1,
                retry_after_secs: 2,
            }),
            ..Default::default()
        }],
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    for _ in 0..8 {
        let resp = api
            .http
            .get(format!("{}/jobs", api.base))
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            assert_eq!(resp.headers()["retry-after"], "2");
            assert_eq!(resp.headers()["content-type"], "application/problem+json");
        }
        got.push(resp.status().as_u16());
    }
    assert_eq!(got, vec![200, 200, 200, 429, 200, 200, 200, 429]);
    assert!(started.elapsed() >= Duration::from_millis(8 * 30));
    emu.shutdown().await;
}

#[tokio::test]
async fn asset_failures_by_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    emu.set_faults(FaultPlan {
        asset_failures: vec![
            AssetFailure {
                pattern: "FAILME*".into(),
                ..Default::default()
            },
            AssetFailure {
                pattern: "*/broken/*".into(),
                stage: Some("decode".into()),
                upstream_http_status: Some(500),
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    let a = api.upload("FAILME3.png", vec![1, 2, 3]).await;
    assert_problem(&a, 400);
    assert_eq!(a.body["title"], "Unsupported media");
    assert_eq!(api.upload("fine.png", vec![1]).await.status, 200);

    let a = api.post("/asset/batch-upload", json!({"urls": ["https://x.example/a.jpg", "https://x.example/broken/b.jpg"], "correlationId": "c1"})).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let batch = a.body["batchUploadId"].as_str().unwrap().to_string();
    let status = api.get("/asset/batch-upload/status?correlationId=c1").await;
    assert_eq!(status.body["completedBatches"], json!([batch]));
    assert_eq!(
        (
            status.body["completedCount"].clone(),
            status.body["failedCount"].clone()
        ),
        (json!(1), json!(1))
    );
    let result = api.get(&format!("/asset/batch-upload/{batch}")).await;
    let items = result.body["items"].as_array().unwrap();
    assert_eq!(items[0]["status"], "Completed");
    assert!(items[0]["fileName"].as_str().unwrap().ends_with("_a.jpg"));
    assert_eq!(items[1]["status"], "Failed");
    assert_eq!(items[1]["stage"], "decode");
    assert_eq!(items[1]["upstreamHttpStatus"], 500);
    assert!(items[1]["errorMessage"].is_string());

    let a = api
        .post(
            "/asset/url?url=https%3A%2F%2Fx.example%2Fbroken%2Fc.jpg",
            json!(null),
        )
        .await;
    assert_problem(&a, 400);
    assert_eq!(a.body["stage"], "decode");
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_plan_token_ttl_shortens_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_with(
        dir.path(),
        FaultPlan {
            token_ttl_secs: Some(1),
            ..Default::default()
        },
        Duration::from_secs(3600),
    )
    .await;
    let body: serde_json::Value = token(&emu.base_url(), ID, SECRET)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["expires_in"], 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn stats_count_requests_per_route_template() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let ds = api.create_dataset("s").await;
    for i in 0..3 {
        api.post(
            &format!("/dataset/{ds}/datapoint"),
            text_datapoint("t", "k", i),
        )
        .await;
    }
    api.get(&format!("/dataset/{ds}/datapoints")).await;
    let stats = emu.stats();
    assert_eq!(stats.get(DATAPOINT_ROUTE), 3);
    assert_eq!(stats.get("GET /dataset/{datasetId}/datapoints"), 1);
    assert_eq!(stats.get("POST /connect/token"), 1);
    assert_eq!(stats.total(), 6);
    // The token request is not a write: it changes nothing users manage.
    assert_eq!(stats.writes(), 4);
    emu.reset_stats();
    assert_eq!(emu.stats().total(), 0);
    emu.shutdown().await;
}

#[test]
fn fault_plan_file_parses_yaml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("faults.yaml");
    std::fs::write(&yaml, "seed: 9\nlatency_ms: 5\nroutes:\n  - route: \"POST /dataset/{datasetId}/datapoint\"\n    error_rate: 0.05\n    status: 503\n    burst_429: {period: 100, length: 5, retry_after_secs: 1}\nasset_failures:\n  - pattern: \"FAILME*\"\n    title: Unsupported media\ntoken_ttl_secs: 61\n").unwrap();
    let plan = FaultPlan::from_file(&yaml).unwrap();
    assert_eq!(plan.seed, 9);
    assert_eq!(plan.routes[0].burst_429.as_ref().unwrap().length, 5);
    let json_file = dir.path().join("faults.json");
    std::fs::write(
        &json_file,
        r#"{"seed": 9, "routes": [{"route": "*", "error_rate": 1.5}]}"#,
    )
    .unwrap();
    assert!(
        FaultPlan::from_file(&json_file).is_err(),
        "a rate above 1 is rejected"
    );
    std::fs::write(&json_file, r#"{"seed": 9, "unknown": 1}"#).unwrap();
    assert!(
        FaultPlan::from_file(&json_file).is_err(),
        "unknown keys are rejected"
    );
    // The simulation settings live in the same file.
    std::fs::write(&yaml, "simulation:\n  seed: 3\n  responses_per_second: 100\n  start_delay_ms: 0\n  price_per_response: 0.2\n  pricing_delay_ms: 50\n  global_pool: 10\n  candidates_per_second: 1.5\n  max_candidates: 7\n  qualification_ms_per_task: 20\n").unwrap();
    let sim = FaultPlan::from_file(&yaml).unwrap().simulation;
    assert_eq!(
        sim,
        rapidata::emulator::Simulation {
            seed: 3,
            responses_per_second: 100.0,
            start_delay_ms: 0,
            price_per_response: 0.2,
            pricing_delay_ms: 50,
            global_pool: 10,
            candidates_per_second: 1.5,
            max_candidates: 7,
            qualification_ms_per_task: 20,
        }
    );
    std::fs::write(&json_file, r#"{"simulation": {"global_pool": 0}}"#).unwrap();
    assert!(
        FaultPlan::from_file(&json_file).is_err(),
        "an empty global pool is rejected"
    );
}
