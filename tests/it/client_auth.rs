//! Credential sources, token caching/refresh, and secret redaction.

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use rapidata::remote::*;
use serde_json::json;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn write_credentials_file(home: &std::path::Path, content: serde_json::Value) {
    let dir = home.join(".config/rapidata");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("credentials.json"), content.to_string()).unwrap();
}

fn stored(
    name: &str,
    id: &str,
    secret: &str,
    endpoint: &str,
    last_used: &str,
) -> serde_json::Value {
    json!({"display_name": name, "client_id": id, "client_secret": secret, "endpoint": endpoint,
           "created_at": "2026-01-01T00:00:00", "last_used": last_used})
}

#[test]
fn credential_sources_in_sdk_order() {
    let home = tempfile::tempdir().unwrap();
    let eps = Endpoints::for_environment("rapidata.ai");
    write_credentials_file(
        home.path(),
        json!({
            "https://auth.rapidata.ai": [
                stored("old laptop", "id-old", "sec-old", "https://auth.rapidata.ai", "2026-01-02T00:00:00"),
                stored("work", "id-new", "sec-new", "https://auth.rapidata.ai", "2026-03-01T00:00:00"),
            ],
            "https://auth.other.env": [stored("other", "id-other", "sec-other", "https://auth.other.env", "2026-05-01T00:00:00")],
        }),
    );
    let all = env_of(&[
        ("RAPIDATA_TOKEN_FILE", "/tmp/tok.json"),
        ("RAPIDATA_CLIENT_ID", "env-id"),
        ("RAPIDATA_CLIENT_SECRET", "env-secret"),
    ]);
    let (c, src) = resolve_credentials_from(&all, Some(home.path()), &eps).unwrap();
    assert_eq!(c, Credentials::TokenFile("/tmp/tok.json".into()));
    assert_eq!(
        src,
        CredentialSource::TokenFileEnv {
            path: "/tmp/tok.json".into()
        }
    );

    let env_only = env_of(&[
        ("RAPIDATA_CLIENT_ID", "env-id"),
        ("RAPIDATA_CLIENT_SECRET", "env-secret"),
    ]);
    let (c, src) = resolve_credentials_from(&env_only, Some(home.path()), &eps).unwrap();
    assert_eq!(
        c,
        Credentials::ClientSecret {
            client_id: "env-id".into(),
            client_secret: Secret::new("env-secret")
        }
    );
    assert_eq!(src, CredentialSource::ClientEnv);

    // File: keyed by the auth endpoint, latest last_used wins.
    let (c, src) = resolve_credentials_from(&env_of(&[]), Some(home.path()), &eps).unwrap();
    assert_eq!(
        c,
        Credentials::ClientSecret {
            client_id: "id-new".into(),
            client_secret: Secret::new("sec-new")
        }
    );
    match src {
        CredentialSource::CredentialsFile { display_name, path } => {
            assert_eq!(display_name, "work");
            assert!(path.ends_with(".config/rapidata/credentials.json"));
        }
        other => panic!("{other:?}"),
    }
    let (c, _) = resolve_credentials_from(
        &env_of(&[]),
        Some(home.path()),
        &Endpoints::for_environment("other.env"),
    )
    .unwrap();
    assert!(matches!(c, Credentials::ClientSecret { client_id, .. } if client_id == "id-other"));

    // Nothing for this endpoint → a clear error naming the sources.
    let err = resolve_credentials_from(
        &env_of(&[]),
        Some(home.path()),
        &Endpoints::single("http://127.0.0.1:9"),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("RAPIDATA_CLIENT_ID")
            && msg.contains("RAPIDATA_TOKEN_FILE")
            && msg.contains("credentials.json"),
        "{msg}"
    );
    let err = resolve_credentials_from(&env_of(&[]), None, &eps).unwrap_err();
    assert!(matches!(err, AuthError::NoCredentials { .. }));

    // Half-configured env is an error, not a silent fallthrough.
    let err = resolve_credentials_from(
        &env_of(&[("RAPIDATA_CLIENT_ID", "x")]),
        Some(home.path()),
        &eps,
    )
    .unwrap_err();
    assert!(err.to_string().contains("RAPIDATA_CLIENT_SECRET"), "{err}");
    // Empty values count as unset.
    let (_, src) = resolve_credentials_from(
        &env_of(&[("RAPIDATA_TOKEN_FILE", "")]),
        Some(home.path()),
        &eps,
    )
    .unwrap();
    assert!(matches!(src, CredentialSource::CredentialsFile { .. }));
}

#[test]
fn broken_credentials_file_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".config/rapidata");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("credentials.json"), "{not json").unwrap();
    let err = resolve_credentials_from(
        &env_of(&[]),
        Some(home.path()),
        &Endpoints::for_environment("rapidata.ai"),
    )
    .unwrap_err();
    assert!(matches!(err, AuthError::CredentialsFile { .. }), "{err:?}");
}

#[tokio::test]
async fn secrets_never_appear_in_debug_output() {
    let creds = Credentials::ClientSecret {
        client_id: "visible-id".into(),
        client_secret: Secret::new("hunter2-secret"),
    };
    let dbg = format!("{creds:?}");
    assert!(
        dbg.contains("visible-id") && !dbg.contains("hunter2"),
        "{dbg}"
    );
    assert_eq!(format!("{}", Secret::new("hunter2-secret")), "***");
    let mut cfg = support::config("http://127.0.0.1:9");
    cfg.credentials = creds;
    assert!(!format!("{cfg:?}").contains("hunter2"));
    let client = Client::new(cfg).unwrap();
    let dbg = format!("{client:?}");
    assert!(
        !dbg.contains("hunter2") && dbg.contains("visible-id"),
        "{dbg}"
    );
}

/// Records the Authorization header of each API call; answers 401 to tokens in `reject`.
fn api_app(seen: Arc<Mutex<Vec<String>>>, reject: Vec<&'static str>) -> Router {
    Router::new().route(
        "/dataset/{id}/progress",
        get(move |h: HeaderMap| {
            let seen = seen.clone();
            let reject = reject.clone();
            async move {
                let auth = h
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                seen.lock().unwrap().push(auth.clone());
                if reject.iter().any(|r| auth == format!("Bearer {r}")) {
                    return support::problem(401, json!({"title": "Unauthorized", "status": 401}));
                }
                axum::Json(json!({"total": 1, "ready": 1, "pending": 0, "failed": 0}))
                    .into_response()
            }
        }),
    )
}

#[tokio::test]
async fn token_request_is_client_secret_basic_with_sdk_form() {
    let captured: Arc<Mutex<Option<(String, String, String)>>> = Arc::default();
    let cap = captured.clone();
    let app = api_app(Arc::default(), vec![]).route(
        "/connect/token",
        post(move |h: HeaderMap, body: String| {
            let cap = cap.clone();
            async move {
                let get = |k: &str| {
                    h.get(k)
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default()
                };
                *cap.lock().unwrap() = Some((get("authorization"), get("content-type"), body));
                axum::Json(
                    json!({"access_token": "abc", "token_type": "Bearer", "expires_in": 3600}),
                )
            }
        }),
    );
    let base = support::serve(app).await;
    let mut cfg = support::config(&base);
    // Characters that URL-encoding would change: the SDK does not encode them.
    cfg.credentials = Credentials::ClientSecret {
        client_id: "my id+1".into(),
        client_secret: Secret::new("p@ss:w/rd"),
    };
    let client = Client::new(cfg).unwrap();
    client.dataset_progress("ds").await.unwrap();
    let (auth, ctype, body) = captured.lock().unwrap().clone().unwrap();
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode("my id+1:p@ss:w/rd");
    assert_eq!(auth, format!("Basic {expected}"));
    assert_eq!(ctype, "application/x-www-form-urlencoded;charset=UTF-8");
    assert_eq!(body, "grant_type=client_credentials&scope=openid+email+api");
}

#[tokio::test]
async fn token_is_cached_and_refetched_when_about_to_expire() {
    // Long-lived token: one fetch for several calls.
    let fetches = Arc::new(AtomicU32::new(0));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let base = support::serve(support::with_token_route(
        api_app(seen.clone(), vec![]),
        3600,
        fetches.clone(),
    ))
    .await;
    let client = support::client(&base);
    for _ in 0..3 {
        client.dataset_progress("ds").await.unwrap();
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    assert!(seen.lock().unwrap().iter().all(|a| a == "Bearer tok-1"));

    // A token living less than the 60 s leeway is not stale at once (that fetched a token
    // for every request): it is refreshed a quarter of its lifetime before expiry.
    let fetches = Arc::new(AtomicU32::new(0));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let base = support::serve(support::with_token_route(
        api_app(seen.clone(), vec![]),
        30,
        fetches.clone(),
    ))
    .await;
    let client = support::client(&base);
    for _ in 0..3 {
        client.dataset_progress("ds").await.unwrap();
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // A 1 s token is used for 0.75 s, then replaced.
    let fetches = Arc::new(AtomicU32::new(0));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let base = support::serve(support::with_token_route(
        api_app(seen.clone(), vec![]),
        1,
        fetches.clone(),
    ))
    .await;
    let client = support::client(&base);
    client.dataset_progress("ds").await.unwrap();
    client.dataset_progress("ds").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    client.dataset_progress("ds").await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            "Bearer tok-1".to_string(),
            "Bearer tok-1".to_string(),
            "Bearer tok-2".to_string()
        ]
    );
    assert_eq!(client.stats().token_fetches, 2);
}

#[tokio::test]
async fn unauthorized_triggers_one_refresh_and_retry() {
    let fetches = Arc::new(AtomicU32::new(0));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let base = support::serve(support::with_token_route(
        api_app(seen.clone(), vec!["tok-1"]),
        3600,
        fetches.clone(),
    ))
    .await;
    let client = support::client(&base);
    let p = client.dataset_progress("ds").await.unwrap();
    assert_eq!(p.total, 1);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["Bearer tok-1".to_string(), "Bearer tok-2".to_string()]
    );

    // Still 401 after the refresh → the error, after exactly one retry.
    let fetches = Arc::new(AtomicU32::new(0));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let app = api_app(seen.clone(), vec!["tok-1", "tok-2", "tok-3"]);
    let base = support::serve(support::with_token_route(app, 3600, fetches.clone())).await;
    let err = support::client(&base)
        .dataset_progress("ds")
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(err.kind(), "Unauthorized");
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_requests_share_one_token_fetch() {
    let fetches = Arc::new(AtomicU32::new(0));
    let f = fetches.clone();
    let app = api_app(Arc::default(), vec![]).route(
        "/connect/token",
        post(move || {
            let f = f.clone();
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                axum::Json(
                    json!({"access_token": "shared", "token_type": "Bearer", "expires_in": 3600}),
                )
            }
        }),
    );
    let base = support::serve(app).await;
    let client = support::client(&base);
    let calls = (0..16).map(|_| {
        let c = client.clone();
        async move { c.dataset_progress("ds").await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn token_file_is_used_and_expiry_reported() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let base = support::serve(api_app(seen.clone(), vec![])).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    let far = chrono::Utc::now().timestamp() + 3600;
    std::fs::write(
        &path,
        json!({"access_token": "from-file", "token_type": "Bearer", "expires_at": far}).to_string(),
    )
    .unwrap();
    let mut cfg = support::config(&base);
    cfg.credentials = Credentials::TokenFile(path.clone());
    let client = Client::new(cfg.clone()).unwrap();
    client.dataset_progress("ds").await.unwrap();
    assert_eq!(*seen.lock().unwrap(), vec!["Bearer from-file".to_string()]);

    std::fs::write(
        &path,
        json!({"access_token": "old", "token_type": "Bearer", "expires_at": 1000}).to_string(),
    )
    .unwrap();
    let err = Client::new(cfg)
        .unwrap()
        .dataset_progress("ds")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Auth(AuthError::TokenFile { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("expired"));
}

#[tokio::test]
async fn invalid_client_is_reported_with_the_oauth_error() {
    let app = Router::new().route(
        "/connect/token",
        post(|| async {
            (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "invalid_client", "error_description": "bad client"})),
            )
        }),
    );
    let base = support::serve(app).await;
    let err = support::client(&base)
        .check_credentials()
        .await
        .unwrap_err();
    match &err {
        ApiError::Auth(AuthError::TokenRejected {
            status,
            error,
            description,
        }) => {
            assert_eq!(*status, 400);
            assert_eq!(error.as_deref(), Some("invalid_client"));
            assert_eq!(description.as_deref(), Some("bad client"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("s3cr3t"));
}
