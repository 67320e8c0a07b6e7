//! One failure policy for every call (transient / permanent / outcome unknown), decided from
//! the typed error; API errors keep their field errors and trace id; short-lived tokens are
//! not fetched again for every request. Against the emulator, with fault plans.

use crate::emulator_support;
use crate::support;

use std::time::{Duration, Instant};

use emulator_support::{start_with, ID, SECRET};
use rapidata::emulator::{EmulatorHandle, FaultPlan, RouteFault};
use rapidata::manifest::model::Task;
use rapidata::remote::wire_build as wb;
use rapidata::remote::*;
use serde_json::json;

fn client_for(emu: &EmulatorHandle) -> Client {
    let mut cfg = support::config(&emu.base_url());
    cfg.credentials = Credentials::ClientSecret {
        client_id: ID.into(),
        client_secret: Secret::new(SECRET),
    };
    cfg.max_concurrency = 8;
    Client::new(cfg).unwrap()
}

fn always(route: &str, status: u16) -> FaultPlan {
    FaultPlan {
        routes: vec![RouteFault {
            route: route.into(),
            error_rate: 1.0,
            status: Some(status),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn task() -> Task {
    Task::Classify {
        instruction: "Cat?".into(),
        answer_options: vec!["yes".into(), "no".into()],
    }
}

fn text_datapoint(key: &str) -> serde_json::Value {
    let mut d = support::fixtures::dp(key, vec![rapidata::manifest::Asset::Text(key.into())]);
    d.fingerprint = format!("fp-{key}");
    wb::datapoint_body(&task(), &d, &|_| None).unwrap()
}

#[tokio::test]
async fn http_500_on_a_create_is_outcome_unknown_sent_once_with_its_trace_id() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_with(dir.path(), FaultPlan::default(), Duration::from_secs(3600)).await;
    let client = client_for(&emu);
    let ds = client
        .create_dataset(&wb::dataset_body("ds", &task()))
        .await
        .unwrap();
    emu.set_faults(always("POST /dataset/{datasetId}/datapoint", 500));
    emu.reset_stats();
    let err = client
        .create_datapoint(&ds, &text_datapoint("a"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::OutcomeUnknown { .. }),
        "a 500 on a create may have happened: {err:?}"
    );
    assert_eq!(err.class(), FailureClass::OutcomeUnknown);
    assert!(!err.is_transient() && !err.is_permanent());
    assert_eq!(err.http_status(), Some(500));
    let trace = err
        .trace_id()
        .expect("the server's trace id is kept")
        .to_string();
    assert_eq!(trace.len(), 32, "{trace}");
    assert_eq!(
        err.to_string().matches(&trace).count(),
        1,
        "trace id once: {err}"
    );
    assert_eq!(
        emu.stats().get("POST /dataset/{datasetId}/datapoint"),
        1,
        "never re-sent"
    );

    // The same status on a read is transient: reading again cannot duplicate anything.
    emu.set_faults(always("GET /dataset/{datasetId}/progress", 500));
    let err = client.dataset_progress(&ds).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Transient, "{err:?}");

    // A 400 is permanent for creates and reads alike.
    emu.set_faults(always("POST /dataset/{datasetId}/datapoint", 400));
    let err = client
        .create_datapoint(&ds, &text_datapoint("b"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), FailureClass::Permanent, "{err:?}");
}

#[tokio::test]
async fn a_busy_token_endpoint_is_transient_and_rejected_credentials_are_permanent() {
    let dir = tempfile::tempdir().unwrap();
    for status in [429, 503] {
        let emu = start_with(
            &dir.path().join(status.to_string()),
            always("POST /connect/token", status),
            Duration::from_secs(3600),
        )
        .await;
        let err = client_for(&emu).dataset_progress("ds").await.unwrap_err();
        assert!(
            matches!(
                err,
                ApiError::Auth(AuthError::TokenUnavailable { status: s, .. }) if s == status
            ),
            "{err:?}"
        );
        assert_eq!(err.class(), FailureClass::Transient, "{err}");
        assert_eq!(err.http_status(), Some(status));
        // 1 try + 3 retries (the test policy), then a later round may try again.
        assert_eq!(emu.stats().get("POST /connect/token"), 4);
        emu.shutdown().await;
    }
    let emu = start_with(
        &dir.path().join("ok"),
        FaultPlan::default(),
        Duration::from_secs(3600),
    )
    .await;
    let mut cfg = support::config(&emu.base_url());
    cfg.credentials = Credentials::ClientSecret {
        client_id: ID.into(),
        client_secret: Secret::new("wrong"),
    };
    let err = Client::new(cfg)
        .unwrap()
        .dataset_progress("ds")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Auth(AuthError::TokenRejected { .. })),
        "{err:?}"
    );
    assert_eq!(err.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn validation_errors_keep_their_fields_and_an_existing_group_is_a_typed_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_with(dir.path(), FaultPlan::default(), Duration::from_secs(3600)).await;
    let client = client_for(&emu);
    let err = client
        .create_audience(
            &json!({"name": "a", "filters": [{"_t": "DeviceFilter", "deviceTypes": 7}]}),
        )
        .await
        .unwrap_err();
    let problem = err.problem().expect("problem details").clone();
    let (field, messages) = problem
        .errors
        .iter()
        .next()
        .expect("the emulator names the field");
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "HTTP 400: One or more validation errors occurred: {field}: {}",
            messages[0]
        )),
        "{message}"
    );
    assert!(
        err.reason().contains(&format!("{field}: ")),
        "{}",
        err.reason()
    );
    let trace = err.trace_id().unwrap();
    assert_eq!(message.matches(trace).count(), 1, "{message}");
    assert_eq!(err.class(), FailureClass::Permanent);
    assert!(!err.is_conflict_on("group"));

    // Creating a group twice: the second answer is recognised from its status and field,
    // not from its text.
    let ds = client
        .create_dataset(&wb::dataset_body("ds", &task()))
        .await
        .unwrap();
    let body =
        json!({"group": "g1", "segments": [{"key": "context", "kind": "Text", "text": "ctx"}]});
    client.create_dataset_group(&ds, &body).await.unwrap();
    let err = client.create_dataset_group(&ds, &body).await.unwrap_err();
    assert!(err.is_conflict_on("group"), "{err:?}");
    assert!(!err.is_conflict_on("name"));
}

/// Requests spread over `secs` seconds, `per_sec` a second; returns the client's stats.
async fn steady_requests(client: &Client, ds: &str, secs: u64, per_sec: u64) -> ClientStats {
    let start = Instant::now();
    for i in 0..secs * per_sec {
        let due = Duration::from_millis(i * 1000 / per_sec);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        client.dataset_progress(ds).await.unwrap();
    }
    client.stats()
}

#[tokio::test]
async fn short_lived_tokens_are_reused_for_most_of_their_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    // 60 s: at or below the SDK's 60 s leeway, which made every request fetch a token.
    let emu = start_with(dir.path(), FaultPlan::default(), Duration::from_secs(60)).await;
    let client = client_for(&emu);
    let ds = client
        .create_dataset(&wb::dataset_body("ds", &task()))
        .await
        .unwrap();
    let bodies: Vec<_> = (0..200).map(|i| text_datapoint(&format!("k{i}"))).collect();
    let datapoints =
        futures::future::join_all(bodies.iter().map(|b| client.create_datapoint(&ds, b))).await;
    assert!(datapoints.iter().all(Result::is_ok));
    let stats = client.stats();
    assert_eq!(
        stats.token_fetches, 1,
        "one token for 201 requests: {stats:?}"
    );
    assert_eq!(emu.stats().get("POST /connect/token"), 1);

    // 2 s: refreshed after about 1.5 s (a quarter of the lifetime before expiry), never
    // used expired (no 401 and retry), and not fetched per request.
    emu.set_faults(FaultPlan {
        token_ttl_secs: Some(2),
        ..Default::default()
    });
    let client = client_for(&emu);
    let stats = steady_requests(&client, &ds, 4, 25).await;
    assert_eq!(
        stats.retries, 0,
        "no request met an expired token: {stats:?}"
    );
    assert!(
        (2..=4).contains(&stats.token_fetches),
        "about one token per 1.5 s over 4 s, not one per request: {stats:?}"
    );
}
