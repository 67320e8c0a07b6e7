//! Every request body the client sends validates against the API contract's JSON Schemas
//! (`requestBody.schema` of the endpoint in third_party/api/contract-3.27.1.json).

use crate::support;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::Request;
use axum::response::IntoResponse;
use rapidata::remote::wire_build as wb;
use serde_json::{json, Value};
use support::fixtures::*;
use support::schema::Validator;

fn contract() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/third_party/api/contract-3.27.1.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn body_schema<'a>(c: &'a Value, id: &str) -> &'a Value {
    let ep = c["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no endpoint {id}"));
    &ep["requestBody"]["schema"]
}

#[track_caller]
fn assert_valid(c: &Value, endpoint: &str, body: &Value) {
    let errs = Validator::new(c).validate(body_schema(c, endpoint), body);
    assert!(
        errs.is_empty(),
        "{endpoint} body invalid:\n{}\nbody: {body:#}",
        errs.join("\n")
    );
}

#[test]
fn validator_accepts_every_sdk_request_body_and_rejects_broken_ones() {
    let c = contract();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/third_party/api/wire-examples.jsonl"
    ))
    .unwrap();
    let endpoints = c["endpoints"].as_array().unwrap();
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let ex: Value = serde_json::from_str(line).unwrap();
        if ex["host"] != "api" || ex["content_type"] != "application/json" {
            continue;
        }
        let path = ex["path"].as_str().unwrap();
        let ep = endpoints
            .iter()
            .find(|e| {
                e["method"] == ex["method"] && template_matches(e["path"].as_str().unwrap(), path)
            })
            .unwrap();
        let errs = Validator::new(&c).validate(&ep["requestBody"]["schema"], &ex["body"]);
        assert!(errs.is_empty(), "SDK body for {path} rejected: {errs:?}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} SDK bodies checked");

    let good = json!({"definitionName": "x", "workflow": wb::workflow(&all_tasks()[0]), "referee": {"_t": "NaiveReferee", "totalVotes": 3}, "datasetId": "d"});
    assert_valid(&c, "POST /job/definition", &good);
    let schema = body_schema(&c, "POST /job/definition");
    let v = Validator::new(&c);
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("datasetId");
    assert!(
        !v.validate(schema, &missing).is_empty(),
        "missing required member accepted"
    );
    let mut bad_t = good.clone();
    bad_t["referee"]["_t"] = json!("NaiveRefere");
    assert!(
        !v.validate(schema, &bad_t).is_empty(),
        "unknown discriminator accepted"
    );
    let mut typo = good.clone();
    typo["referee"] = json!({"_t": "NaiveReferee", "totalVote": 3});
    assert!(
        !v.validate(schema, &typo).is_empty(),
        "misspelt member accepted"
    );
    let mut wrong_type = good.clone();
    wrong_type["referee"]["totalVotes"] = json!("3");
    assert!(
        !v.validate(schema, &wrong_type).is_empty(),
        "string for integer accepted"
    );
}

fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b)
}

#[test]
fn every_built_body_validates_against_the_contract() {
    let c = contract();
    let mut n = 0;
    for task in all_tasks() {
        assert_valid(
            &c,
            "POST /dataset",
            &wb::dataset_body("name_dataset", &task),
        );
        for referee in all_referees() {
            for settings in [
                &[][..],
                &[("alert_on_fast_response", "4"), ("no_shuffle", "true")][..],
            ] {
                let s = spec(task.clone(), referee.clone(), settings);
                assert_valid(
                    &c,
                    "POST /job/definition",
                    &wb::job_definition_body("def", &s, "ds1"),
                );
                assert_valid(
                    &c,
                    "POST /job/definition/{definitionId}/revision",
                    &wb::revision_body(&s, "ds2", 3),
                );
                assert_valid(&c, "POST /order", &wb::order_body("order", &s));
                n += 3;
            }
        }
        let s = spec(task.clone(), Default::default(), &[]);
        for d in &s.datapoints.to_vec().unwrap() {
            let body = wb::datapoint_body(&task, d, &uploaded).unwrap();
            assert_valid(&c, "POST /dataset/{datasetId}/datapoint", &body);
            if let Some(g) = &d.group {
                assert_valid(
                    &c,
                    "POST /dataset/{datasetId}/group",
                    &wb::group_body(g, d, &uploaded).unwrap(),
                );
            }
            n += 1;
        }
    }
    let filters = vec![
        json!({"_t": "CountryFilter", "countries": ["DE", "CH"]}),
        json!({"_t": "LanguageFilter", "languages": ["de"]}),
    ];
    for a in [
        audience(vec![], None),
        audience(filters, Some("German speakers")),
    ] {
        assert_valid(&c, "POST /audience", &wb::audience_body(&a));
    }
    for rev in [None, Some(2)] {
        assert_valid(
            &c,
            "POST /job",
            &wb::job_body("def1", "aud1", rev, "my job"),
        );
    }
    assert_valid(&c, "POST /order/{orderId}/submit", &wb::submit_order_body());
    assert_eq!(n, 8 * 3 * 2 * 3 + 8 * 3, "every combination checked");
}

/// The bodies the client itself assembles (dataset, URL batch) and passes through,
/// captured off the wire from a mock server.
#[tokio::test]
async fn bodies_sent_by_the_client_validate() {
    let c = contract();
    let seen: Arc<Mutex<Vec<(String, String, Value)>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let log = log.clone();
        async move {
            let method = req.method().to_string();
            let path = req.uri().path().to_string();
            let bytes: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if path == "/connect/token" {
                return axum::Json(json!({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})).into_response();
            }
            log.lock().unwrap().push((method.clone(), path.clone(), body));
            let resp = match (method.as_str(), path.as_str()) {
                ("POST", "/dataset") => json!({"datasetId": "ds1"}),
                ("POST", "/asset/batch-upload") => json!({"batchUploadId": "b1"}),
                ("GET", "/asset/batch-upload/status") => json!({"status": "Completed", "totalCount": 1, "completedCount": 1, "failedCount": 0, "completedBatches": ["b1"]}),
                ("GET", "/asset/batch-upload/b1") => json!({"batchUploadId": "b1", "status": "Completed", "totalCount": 1, "completedCount": 1, "failedCount": 0, "items": [{"url": "https://example.com/x.jpg", "fileName": "f_x.jpg", "status": "Completed"}]}),
                ("POST", "/order/o1/submit") => return axum::http::StatusCode::NO_CONTENT.into_response(),
                _ => json!({"id": "x"}),
            };
            axum::Json(resp).into_response()
        }
    });
    let base = support::serve(app).await;
    let client = support::client(&base);
    let task = &all_tasks()[0];
    client
        .create_dataset(&wb::dataset_body("n_dataset", task))
        .await
        .unwrap();
    client
        .upload_urls(&["https://example.com/x.jpg".to_string()])
        .await
        .unwrap();
    client.submit_order("o1").await.unwrap();
    let seen = seen.lock().unwrap();
    let endpoints = c["endpoints"].as_array().unwrap();
    let mut posted = 0;
    for (method, path, body) in seen.iter().filter(|(m, _, _)| m == "POST") {
        let ep = endpoints
            .iter()
            .find(|e| {
                e["method"] == method.as_str()
                    && template_matches(e["path"].as_str().unwrap(), path)
            })
            .unwrap_or_else(|| panic!("{method} {path} is not in the contract"));
        let errs = Validator::new(&c).validate(&ep["requestBody"]["schema"], body);
        assert!(errs.is_empty(), "{method} {path}: {errs:?}");
        posted += 1;
    }
    assert_eq!(posted, 3, "{seen:?}");
}

/// Contract v2: every lifecycle call the client makes goes to a route the contract declares,
/// with the declared method, and its body validates against the route's schema.
#[tokio::test]
async fn lifecycle_calls_use_declared_routes_and_valid_bodies() {
    let c = contract();
    let seen: Arc<Mutex<Vec<(String, String, Value)>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let log = log.clone();
        async move {
            let method = req.method().to_string();
            let path = req.uri().path().to_string();
            let bytes: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if path == "/connect/token" {
                return axum::Json(
                    json!({"access_token": "t", "token_type": "Bearer", "expires_in": 3600}),
                )
                .into_response();
            }
            log.lock()
                .unwrap()
                .push((method.clone(), path.clone(), body));
            match (method.as_str(), path.as_str()) {
                ("GET", p) if p.contains("/revision/") => axum::Json(json!({
                    "definitionId": "d1", "revisionNumber": 1, "datasetId": "ds1",
                    "workflow": {"_t": "SimpleWorkflow", "rapid": {"_t": "Classify"}},
                    "referee": {"_t": "NaiveReferee", "totalVotes": 3}, "featureFlags": []
                }))
                .into_response(),
                ("GET", _) => {
                    axum::Json(json!({"items": [], "total": 0, "page": 1, "pageSize": 100}))
                        .into_response()
                }
                _ => axum::http::StatusCode::NO_CONTENT.into_response(),
            }
        }
    });
    let base = support::serve(app).await;
    let client = support::client(&base);
    let a = audience(
        vec![json!({"_t": "LanguageFilter", "languages": ["de"]})],
        Some("d"),
    );
    client
        .rename_job_definition("d1", "n (replaced)")
        .await
        .unwrap();
    client.revision("d1", 1).await.unwrap();
    client.find_jobs_named("j").await.unwrap();
    client.pause_job("j1").await.unwrap();
    client.resume_job("j1").await.unwrap();
    client.delete_job("j1").await.unwrap();
    client.rename_job("j1", "j2").await.unwrap();
    client
        .update_audience("a1", &wb::audience_update_body(&a))
        .await
        .unwrap();
    client.delete_audience("a1").await.unwrap();
    client.audience_job_ids("a1").await.unwrap();
    client.rename_order("o1", "o (replaced)").await.unwrap();
    client.pause_order("o1").await.unwrap();
    client.resume_order("o1").await.unwrap();
    client.delete_order("o1").await.unwrap();
    client.rename_dataset("ds1", "n_dataset").await.unwrap();
    let seen = seen.lock().unwrap();
    let endpoints = c["endpoints"].as_array().unwrap();
    let mut routes = std::collections::BTreeSet::new();
    for (method, path, body) in seen.iter() {
        let ep = endpoints
            .iter()
            .find(|e| {
                e["method"] == method.as_str()
                    && template_matches(e["path"].as_str().unwrap(), path)
            })
            .unwrap_or_else(|| panic!("{method} {path} is not in the contract"));
        routes.insert(ep["id"].as_str().unwrap().to_string());
        let schema = &ep["requestBody"]["schema"];
        if schema.is_null() {
            assert!(
                body.is_null(),
                "{method} {path} sends a body the route does not take"
            );
        } else {
            let errs = Validator::new(&c).validate(schema, body);
            assert!(errs.is_empty(), "{method} {path}: {errs:?}");
        }
    }
    assert_eq!(routes.len(), 15, "{routes:?}");
    // The revision body apply saves: complete, with the base revision and requireLatest.
    let s = spec(all_tasks()[0].clone(), all_referees()[0].clone(), &[]);
    let carry = rapidata::remote::RevisionCarryOver::default();
    let body = wb::revision_body_full(&s, "ds2", 4, &carry, true);
    assert_valid(&c, "POST /job/definition/{definitionId}/revision", &body);
    assert_eq!(
        (
            body["baseRevisionNumber"].clone(),
            body["requireLatest"].clone()
        ),
        (json!(4), json!(true))
    );
    assert_valid(
        &c,
        "POST /job",
        &wb::job_body_after("d", "a", Some(3), "j", Some("j0")),
    );
}
