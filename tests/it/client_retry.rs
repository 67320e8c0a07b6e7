//! Transient faults, the no-re-send rule for creates, error bodies, paging, uploads.

use crate::support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Multipart, RawQuery};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use rapidata::remote::*;
use serde_json::json;
use tokio::io::AsyncReadExt;

fn with_token(app: Router) -> Router {
    support::with_token_route(app, 3600, Arc::new(AtomicU32::new(0)))
}

/// Answers with `script[n]` on the n-th call (then the last entry forever).
fn scripted(
    script: Vec<(u16, Option<&'static str>)>,
    hits: Arc<AtomicU32>,
    ok_body: serde_json::Value,
) -> axum::routing::MethodRouter {
    let handler = move || {
        let hits = hits.clone();
        let script = script.clone();
        let ok_body = ok_body.clone();
        async move {
            let n = hits.fetch_add(1, Ordering::SeqCst) as usize;
            let (status, retry_after) = script[n.min(script.len() - 1)];
            if status == 200 {
                return axum::Json(ok_body).into_response();
            }
            let mut resp = support::problem(
                status,
                json!({"title": format!("status {status}"), "status": status}),
            );
            if let Some(ra) = retry_after {
                resp.headers_mut()
                    .insert("retry-after", ra.parse().unwrap());
            }
            resp
        }
    };
    get(handler.clone()).post(handler)
}

#[tokio::test]
async fn rate_limited_get_waits_for_retry_after_then_succeeds() {
    let hits = Arc::new(AtomicU32::new(0));
    let progress = json!({"total": 3, "ready": 2, "pending": 1, "failed": 0});
    let app = Router::new().route(
        "/dataset/{id}/progress",
        scripted(vec![(429, Some("1")), (200, None)], hits.clone(), progress),
    );
    let base = support::serve(with_token(app)).await;
    let client = support::client(&base);
    let start = Instant::now();
    let p = client.dataset_progress("ds").await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "did not honour Retry-After: {:?}",
        start.elapsed()
    );
    assert_eq!(
        p,
        DatasetProgress {
            total: 3,
            ready: 2,
            pending: 1,
            failed: 0
        }
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let stats = client.stats();
    assert_eq!(stats.retries, 1);
    assert_eq!(
        stats.by_route.get("GET /dataset/{datasetId}/progress"),
        Some(&2)
    );
}

#[tokio::test]
async fn repeatable_requests_retry_gateway_errors_until_the_limit() {
    let hits = Arc::new(AtomicU32::new(0));
    let app = Router::new().route(
        "/dataset/{id}/progress",
        scripted(
            vec![(502, None), (504, None), (200, None)],
            hits.clone(),
            json!({"total": 0, "ready": 0, "pending": 0, "failed": 0}),
        ),
    );
    let base = support::serve(with_token(app)).await;
    support::client(&base).dataset_progress("ds").await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let hits = Arc::new(AtomicU32::new(0));
    let app = Router::new().route(
        "/dataset/{id}/progress",
        scripted(vec![(503, None)], hits.clone(), json!({})),
    );
    let base = support::serve(with_token(app)).await;
    let err = support::client(&base)
        .dataset_progress("ds")
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert!(err.is_transient());
    assert_eq!(hits.load(Ordering::SeqCst), 4, "1 try + max_retries (3)");
}

#[tokio::test]
async fn create_is_retried_only_when_provably_not_processed() {
    // 429: the server says it did not process it → retried.
    let hits = Arc::new(AtomicU32::new(0));
    let app = Router::new().route(
        "/dataset/{id}/datapoint",
        scripted(
            vec![(429, Some("0")), (429, Some("0")), (200, None)],
            hits.clone(),
            json!({"datapointId": "dp1"}),
        ),
    );
    let base = support::serve(with_token(app)).await;
    let id = support::client(&base)
        .create_datapoint("ds", &json!({"segments": []}))
        .await
        .unwrap();
    assert_eq!(id, "dp1");
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    // 502/503/504 from a gateway (or a server after the write): maybe processed →
    // OutcomeUnknown, sent once.
    for status in [502, 503, 504] {
        let hits = Arc::new(AtomicU32::new(0));
        let app = Router::new().route(
            "/job/definition",
            scripted(
                vec![(status, None), (200, None)],
                hits.clone(),
                json!({"definitionId": "x"}),
            ),
        );
        let base = support::serve(with_token(app)).await;
        let err = support::client(&base)
            .create_job_definition(&json!({}))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::OutcomeUnknown { .. }), "{err:?}");
        assert_eq!(err.kind(), "OutcomeUnknown");
        assert!(!err.is_transient());
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    // A 4xx is final for everyone.
    let hits = Arc::new(AtomicU32::new(0));
    let app = Router::new().route("/job", scripted(vec![(400, None)], hits.clone(), json!({})));
    let base = support::serve(with_token(app)).await;
    let err = support::client(&base)
        .create_job(&json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "ValidationError");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// A raw server that reads each request fully, counts it, then drops the connection
/// without answering: the request was committed, the client cannot know.
async fn committing_then_dropping_server() -> (String, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU32::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let c = c.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                c.fetch_add(1, Ordering::SeqCst);
                drop(sock);
            });
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::test]
async fn create_whose_connection_drops_is_outcome_unknown_and_never_resent() {
    let tokens = support::serve(with_token(Router::new())).await;
    let (api, count) = committing_then_dropping_server().await;
    let mut cfg = support::config(&api);
    cfg.endpoints = Endpoints {
        api: api.clone(),
        auth: tokens,
    };
    let client = Client::new(cfg).unwrap();
    let err = client
        .create_datapoint("ds", &json!({"segments": []}))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::OutcomeUnknown { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("POST /dataset/{datasetId}/datapoint"),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "a create must be sent exactly once"
    );

    // The same fault on a GET is retried (1 + max_retries attempts), then Transport.
    let err = client.dataset_progress("ds").await.unwrap_err();
    assert_eq!(err.kind(), "TransportError");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count.load(Ordering::SeqCst), 1 + 4);
}

#[tokio::test]
async fn timeout_of_a_create_is_outcome_unknown() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/audience",
        post(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(5)).await;
                axum::Json(json!({"audienceId": "late"}))
            }
        }),
    );
    let base = support::serve(with_token(app)).await;
    let mut cfg = support::config(&base);
    cfg.request_timeout = Duration::from_millis(300);
    let err = Client::new(cfg)
        .unwrap()
        .create_audience(&json!({"name": "a"}))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::OutcomeUnknown { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refused_connection_is_retried_even_for_creates() {
    // Bind then drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tokens = support::serve(with_token(Router::new())).await;
    let mut cfg = support::config(&format!("http://127.0.0.1:{port}"));
    cfg.endpoints.auth = tokens;
    let client = Client::new(cfg).unwrap();
    let err = client
        .create_dataset(&serde_json::json!({"name": "d", "schema": null}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "TransportError", "{err:?}");
    assert_eq!(
        client.stats().requests,
        4,
        "connect failures are provably unsent: retried"
    );
}

#[tokio::test]
async fn problem_details_and_trace_id_are_kept() {
    let body = json!({
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "detail": "bad asset",
        "traceId": "00-body-trace-01",
        "errors": {"segments[0].asset": ["Emulator rejected this datapoint"]},
        "stage": "download",
        "upstreamHttpStatus": 404,
        "latestRevisionNumber": 7
    });
    let b1 = body.clone();
    let b2 = body.clone();
    let app = Router::new()
        .route(
            "/dataset/{id}/datapoint",
            post(move || {
                let b = b1.clone();
                async move {
                    let mut r = support::problem(400, b);
                    r.headers_mut()
                        .insert("x-trace-id", "header-trace".parse().unwrap());
                    r
                }
            }),
        )
        .route(
            "/job",
            post(move || {
                let b = b2.clone();
                async move { support::problem(409, b) }
            }),
        )
        .route(
            "/job/{id}",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "kaputt") }),
        );
    let base = support::serve(with_token(app)).await;
    let client = support::client(&base);

    let err = client.create_datapoint("ds", &json!({})).await.unwrap_err();
    assert_eq!(
        err.trace_id(),
        Some("header-trace"),
        "x-trace-id header preferred"
    );
    // The field errors are part of the reason and of the message; the trace id is in the
    // message once.
    assert_eq!(
        err.reason(),
        "One or more validation errors occurred: segments[0].asset: Emulator rejected this datapoint"
    );
    let message = err.to_string();
    assert_eq!(
        message,
        "POST /dataset/{datasetId}/datapoint: HTTP 400: One or more validation errors occurred: \
         segments[0].asset: Emulator rejected this datapoint (bad asset) (trace header-trace)"
    );
    assert_eq!(message.matches("header-trace").count(), 1);
    assert_eq!(err.kind(), "ValidationError");
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.stage(), Some("download"));
    let p = err.problem().unwrap();
    assert_eq!(p.detail.as_deref(), Some("bad asset"));
    assert_eq!(p.trace_id.as_deref(), Some("00-body-trace-01"));
    assert_eq!(
        p.errors["segments[0].asset"],
        vec!["Emulator rejected this datapoint".to_string()]
    );
    assert_eq!(p.upstream_http_status, Some(404));
    assert_eq!(p.latest_revision_number, Some(7));
    match &err {
        ApiError::Problem { route, .. } => assert_eq!(route, "POST /dataset/{datasetId}/datapoint"),
        other => panic!("{other:?}"),
    }

    let err = client.create_job(&json!({})).await.unwrap_err();
    assert_eq!(
        err.trace_id(),
        Some("00-body-trace-01"),
        "body traceId without header"
    );
    assert_eq!(err.kind(), "Conflict");

    let err = client.get_job("j1").await.unwrap_err();
    assert_eq!(err.kind(), "ServerError");
    assert_eq!(err.problem().unwrap().detail.as_deref(), Some("kaputt"));
    assert_eq!(err.reason(), "kaputt");
    // A 500 on a read did nothing: a later round may read again.
    assert_eq!(err.class(), FailureClass::Transient);
}

#[tokio::test]
async fn deleting_what_is_gone_is_ok() {
    let app = Router::new()
        .route(
            "/datapoint/{id}",
            delete(|| async {
                support::problem(404, json!({"title": "Not Found", "status": 404}))
            }),
        )
        .route(
            "/job/definition/{id}",
            delete(|| async { axum::http::StatusCode::NO_CONTENT }),
        );
    let base = support::serve(with_token(app)).await;
    let client = support::client(&base);
    client.delete_datapoint("gone").await.unwrap();
    client.delete_job_definition("d1").await.unwrap();
}

fn datapoint_item(i: usize) -> serde_json::Value {
    let metadata = if i.is_multiple_of(5) {
        json!({})
    } else {
        json!({
            KEY_METADATA: {"_t": "TextMetadata", "text": format!("key-{i}")},
            FINGERPRINT_METADATA: {"_t": "TextMetadata", "text": format!("fp-{i}")},
            "originalFilename": {"_t": "OriginalFilenameMetadata", "originalFilename": "x.png"}
        })
    };
    json!({"id": format!("dp{i}"), "datasetId": "ds", "segments": [
        {"key": "asset", "kind": "Asset", "asset": {"_t": "FileAsset", "fileName": "f", "metadata": metadata, "identifier": "f"}},
        {"key": "context", "kind": "Text", "originalText": "c"}
    ]})
}

#[tokio::test]
async fn list_datapoints_reads_every_page_and_extracts_identity() {
    let queries: Arc<Mutex<Vec<String>>> = Arc::default();
    let q = queries.clone();
    let app = Router::new().route(
        "/dataset/{id}/datapoints",
        get(move |RawQuery(query): RawQuery| {
            let q = q.clone();
            async move {
                let query = query.unwrap_or_default();
                q.lock().unwrap().push(query.clone());
                let page: usize = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("page="))
                    .unwrap()
                    .parse()
                    .unwrap();
                let items: Vec<_> = (0..250)
                    .skip((page - 1) * 100)
                    .take(100)
                    .map(datapoint_item)
                    .collect();
                axum::Json(json!({"total": 250, "page": page, "pageSize": 100, "items": items}))
            }
        }),
    );
    let base = support::serve(with_token(app)).await;
    let dps = support::client(&base).list_datapoints("ds").await.unwrap();
    assert_eq!(dps.len(), 250);
    assert_eq!(
        dps[1],
        RemoteDatapoint {
            id: "dp1".into(),
            key: Some("key-1".into()),
            fingerprint: Some("fp-1".into()),
            files: vec!["f".into()],
            adopted: false,
            answer_options: None,
        }
    );
    // No metadata: made by another tool, identified by its content (an uploaded file and
    // a context), as the manifest datapoint `{asset: {uploaded: f}, context: c}` is.
    assert!(dps[0].adopted);
    let content = [rapidata::manifest::Asset::Uploaded("f".into())];
    let fp =
        rapidata::manifest::fingerprint::fingerprint(&rapidata::manifest::fingerprint::Content {
            assets: &content,
            context: Some("c"),
            context_asset: None,
            private_metadata: &Default::default(),
            group: None,
            sentence: None,
        });
    assert_eq!(
        (
            dps[0].key.as_deref(),
            dps[0]
                .fingerprint
                .as_ref()
                .map(|f| f.as_str().into_owned())
                .as_deref()
        ),
        (
            Some(rapidata::manifest::fingerprint::fingerprint_key(&fp).as_str()),
            Some(fp.as_str())
        )
    );
    let mut qs = queries.lock().unwrap().clone();
    qs.sort();
    assert_eq!(qs.len(), 3);
    // The SDK's page size: at most 100 per page.
    assert_eq!(qs[0], "page=1&page_size=100&sort=created_at");
}

#[tokio::test]
async fn find_job_definitions_filters_exact_names_and_encodes_like_the_sdk() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    let app = Router::new().route(
        "/job/definitions",
        get(move |RawQuery(query): RawQuery| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(query.unwrap_or_default());
                let item = |id: &str, name: &str| json!({"definitionId": id, "name": name, "definitionType": "Classify", "createdAt": "2026-01-01T00:00:00Z", "revisionCount": 1, "ownerId": "o", "ownerMail": "m", "organizationId": "org"});
                axum::Json(json!({"total": 3, "page": 1, "pageSize": 100, "totalPages": 1,
                    "items": [item("1", "cats & dogs"), item("2", "cats & dogs v2"), item("3", "cats & dogs")]}))
            }
        }),
    );
    let base = support::serve(with_token(app)).await;
    let found = support::client(&base)
        .find_job_definitions("cats & dogs")
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        vec!["1", "3"]
    );
    assert_eq!(
        seen.lock().unwrap()[0],
        "page=1&page_size=100&sort=-created_at&name%5Bcontains%5D=cats%20%26%20dogs"
    );
}

#[tokio::test]
async fn upload_file_sends_one_multipart_file_part() {
    type Part = (String, String, String, Vec<u8>);
    let got: Arc<Mutex<Option<Part>>> = Arc::default();
    let g = got.clone();
    let app = Router::new().route(
        "/asset/file",
        post(move |mut mp: Multipart| {
            let g = g.clone();
            async move {
                let field = mp.next_field().await.unwrap().unwrap();
                let name = field.name().unwrap().to_string();
                let file = field.file_name().unwrap().to_string();
                let ctype = field.content_type().unwrap().to_string();
                let bytes = field.bytes().await.unwrap().to_vec();
                assert!(mp.next_field().await.unwrap().is_none());
                *g.lock().unwrap() = Some((name, file.clone(), ctype, bytes));
                axum::Json(json!({"fileName": format!("abc_{file}"), "warnings": [], "wasCompressed": false}))
            }
        }),
    );
    let base = support::serve(with_token(app)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noext");
    let png = b"\x89PNG\r\n\x1a\nrest-of-image".to_vec();
    std::fs::write(&path, &png).unwrap();
    let client = support::client(&base);
    let name = client.upload_file(&path, "cat.png").await.unwrap();
    assert_eq!(name, "abc_cat.png");
    let (part, file, ctype, bytes) = got.lock().unwrap().clone().unwrap();
    assert_eq!(
        (part.as_str(), file.as_str(), ctype.as_str()),
        ("file", "cat.png", "image/png")
    );
    assert_eq!(bytes, png);
    // No extension: sniffed from the bytes.
    client.upload_file(&path, "blob").await.unwrap();
    assert_eq!(got.lock().unwrap().clone().unwrap().2, "image/png");
    // Missing file: an Io error, nothing sent.
    let err = client
        .upload_file(&dir.path().join("missing.png"), "missing.png")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "IoError");
}

#[tokio::test]
async fn upload_urls_submits_polls_and_maps_results() {
    let polls = Arc::new(AtomicU32::new(0));
    let posted: Arc<Mutex<Option<serde_json::Value>>> = Arc::default();
    let (p, b) = (polls.clone(), posted.clone());
    let app = Router::new()
        .route(
            "/asset/batch-upload",
            post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let b = b.clone();
                async move {
                    *b.lock().unwrap() = Some(body);
                    axum::Json(json!({"batchUploadId": "b1"}))
                }
            }),
        )
        .route(
            "/asset/batch-upload/status",
            get(move || {
                let p = p.clone();
                async move {
                    let done = p.fetch_add(1, Ordering::SeqCst) >= 1;
                    axum::Json(json!({"status": if done {"Completed"} else {"Processing"}, "totalCount": 2,
                        "completedCount": 1, "failedCount": 1, "completedBatches": if done { json!(["b1"]) } else { json!([]) }}))
                }
            }),
        )
        .route(
            "/asset/batch-upload/{id}",
            get(|| async {
                (
                    [("x-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736")],
                    axum::Json(json!({"batchUploadId": "b1", "status": "Completed", "totalCount": 2, "completedCount": 1, "failedCount": 1, "items": [
                        {"url": "https://example.com/a.jpg", "fileName": "45_a.jpg", "status": "Completed", "warnings": []},
                        {"url": "https://example.com/FAIL.jpg", "status": "Failed", "errorMessage": "download failed", "stage": "download", "upstreamHttpStatus": 404}
                    ]})),
                )
            }),
        );
    let base = support::serve(with_token(app)).await;
    let urls = vec![
        "https://example.com/a.jpg".to_string(),
        "https://example.com/FAIL.jpg".to_string(),
    ];
    let out = support::client(&base).upload_urls(&urls).await.unwrap();
    assert_eq!(
        out[0],
        (
            urls[0].clone(),
            UrlUpload::Completed {
                file_name: "45_a.jpg".into()
            }
        )
    );
    assert_eq!(
        out[1],
        (
            urls[1].clone(),
            UrlUpload::Failed {
                message: "download failed".into(),
                stage: Some("download".into()),
                upstream_http_status: Some(404),
                // The items carry no trace id: the answer that reported the failure does.
                trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into())
            }
        )
    );
    assert_eq!(polls.load(Ordering::SeqCst), 2);
    let body = posted.lock().unwrap().clone().unwrap();
    assert_eq!(body["urls"], json!(urls));
    assert_eq!(body["correlationId"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn concurrency_is_bounded_across_clones() {
    let in_flight = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let (i, p) = (in_flight.clone(), peak.clone());
    let app = Router::new().route(
        "/job/{id}",
        get(move || {
            let (i, p) = (i.clone(), p.clone());
            async move {
                let now = i.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                i.fetch_sub(1, Ordering::SeqCst);
                axum::Json(json!({"jobId": "j", "name": "n", "definitionId": "d", "audienceId": "a", "revisionNumber": 2, "state": "Running"}))
            }
        }),
    );
    let base = support::serve(with_token(app)).await;
    let mut cfg = support::config(&base);
    cfg.max_concurrency = 3;
    let client = Client::new(cfg).unwrap();
    let calls = (0..12).map(|_| {
        let c = client.clone();
        async move { c.get_job("j").await }
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().revision_number, 2);
    }
    assert!(
        peak.load(Ordering::SeqCst) <= 3,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert_eq!(client.stats().requests, 12);
}
