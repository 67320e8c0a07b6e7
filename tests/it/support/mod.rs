//! Shared test helpers: a tiny HTTP mock harness and a JSON Schema validator.
#![allow(dead_code)]

pub mod fixtures;
pub mod schema;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use rapidata::remote::{Client, ClientConfig, Credentials, Endpoints, RetryPolicy, Secret};

/// Serve `app` on an ephemeral port; returns the base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

/// A token endpoint issuing `tok-1`, `tok-2`, ... with the given lifetime.
pub fn with_token_route(app: Router, expires_in: u64, fetches: Arc<AtomicU32>) -> Router {
    app.route(
        "/connect/token",
        post(move |_h: HeaderMap, _body: String| {
            let fetches = fetches.clone();
            async move {
                let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                axum::Json(serde_json::json!({
                    "access_token": format!("tok-{n}"),
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                    "scope": "openid email api"
                }))
            }
        }),
    )
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
    }
}

pub fn config(base: &str) -> ClientConfig {
    ClientConfig {
        endpoints: Endpoints::single(base),
        credentials: Credentials::ClientSecret {
            client_id: "test-client".into(),
            client_secret: Secret::new("s3cr3t-value"),
        },
        request_timeout: Duration::from_secs(5),
        max_concurrency: 4,
        retry: fast_retry(),
    }
}

pub fn client(base: &str) -> Client {
    Client::new(config(base)).unwrap()
}

pub fn problem(status: u16, body: serde_json::Value) -> axum::response::Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}
