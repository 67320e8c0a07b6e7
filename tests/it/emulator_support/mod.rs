//! Shared helpers of the emulator tests: start an emulator on a free port, get a token, and
//! call the API with plain reqwest (no dependency on the project's typed client).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use rapidata::contract::Contract;
use rapidata::emulator::{self, EmulatorConfig, EmulatorHandle, FaultPlan};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const ID: &str = "test-client";
pub const SECRET: &str = "test-secret";

pub async fn start_with(dir: &Path, faults: FaultPlan, ttl: Duration) -> EmulatorHandle {
    emulator::start(EmulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        client_id: ID.into(),
        client_secret: SECRET.into(),
        token_ttl: ttl,
        faults,
        contract_cut: false,
    })
    .await
    .unwrap()
}

pub async fn start(dir: &Path) -> EmulatorHandle {
    start_with(dir, FaultPlan::default(), Duration::from_secs(3600)).await
}

pub async fn token(base: &str, id: &str, secret: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/connect/token"))
        .basic_auth(id, Some(secret))
        .header(
            "content-type",
            "application/x-www-form-urlencoded;charset=UTF-8",
        )
        .body("grant_type=client_credentials&scope=openid+email+api")
        .send()
        .await
        .unwrap()
}

/// One answered request.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub trace_id: Option<String>,
    pub body: Value,
    pub raw: String,
}

pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn connect(handle: &EmulatorHandle) -> Api {
        let base = handle.base_url();
        let resp = token(&base, ID, SECRET).await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        Api {
            base,
            token: body["access_token"].as_str().unwrap().to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req
            .bearer_auth(&self.token)
            .header("Host", "api.rapidata.emulator")
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let trace_id = resp
            .headers()
            .get("x-trace-id")
            .map(|v| v.to_str().unwrap().to_string());
        let raw = resp.text().await.unwrap();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap()
        };
        Answer {
            status,
            content_type,
            trace_id,
            body,
            raw,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn upload(&self, file_name: &str, bytes: Vec<u8>) -> Answer {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str("image/png")
            .unwrap();
        let form = reqwest::multipart::Form::new().part("file", part);
        self.send(
            self.http
                .post(format!("{}/asset/file", self.base))
                .multipart(form),
        )
        .await
    }

    pub async fn create_dataset(&self, name: &str) -> String {
        let a = self
            .post("/dataset", json!({"name": name, "schema": sdk_schema()}))
            .await;
        assert_eq!(a.status, 200, "{}", a.raw);
        a.body["datasetId"].as_str().unwrap().to_string()
    }
}

/// The schema the SDK posts for a classification definition.
pub fn sdk_schema() -> Value {
    json!([
        {"key": "asset", "kind": "Asset", "label": "Asset", "required": true},
        {"key": "context", "kind": "Text", "label": "Context", "required": false, "maxLength": 400},
        {"key": "context_asset", "kind": "Asset", "label": "Context asset", "required": false},
        {"key": "answer_options", "kind": "OptionList", "label": "Answer options", "required": true}
    ])
}

/// A text datapoint whose asset carries a datapoint key in its metadata, as `apply` writes it.
pub fn text_datapoint(text: &str, key: &str, sort_index: i64) -> Value {
    json!({
        "segments": [
            {"key": "asset", "kind": "Asset", "asset": {"_t": "TextAssetInput", "text": text,
                "metadata": {"rapidata-key": {"_t": "TextMetadataInput", "text": key, "visibilities": ["Customers"]}}}},
            {"key": "answer_options", "kind": "OptionList", "options": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}]}
        ],
        "sortIndex": sort_index, "group": null, "privateMetadata": null
    })
}

pub fn workflow(title: &str) -> Value {
    json!({"_t": "SimpleWorkflow", "rapid": {"_t": "Classify", "asset": {"segment": "asset"},
        "title": {"literal": title}, "categories": {"segment": "answer_options"}}})
}

/// Asserts an error answer is problem+json with title, status and a W3C trace id, and that
/// the `x-trace-id` header names the same trace.
pub fn assert_problem(a: &Answer, status: u16) {
    assert_eq!(a.status.as_u16(), status, "{}", a.raw);
    assert_eq!(a.content_type, "application/problem+json");
    assert!(
        a.body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        a.raw
    );
    assert_eq!(a.body["status"], status);
    let trace = a.body["traceId"].as_str().unwrap();
    let parts: Vec<&str> = trace.split('-').collect();
    assert_eq!(parts.len(), 4, "traceparent form: {trace}");
    assert_eq!(
        (parts[0], parts[1].len(), parts[2].len(), parts[3]),
        ("00", 32, 16, "01")
    );
    assert_eq!(a.trace_id.as_deref(), Some(parts[1]));
    let schema = &Contract::get().root()["errors"]["schema"];
    let errs = Contract::get().validate(schema, &a.body);
    assert!(errs.is_empty(), "problem body off-contract: {errs:?}");
    let extra = Contract::get().undeclared(schema, &a.body);
    assert!(
        extra.is_empty(),
        "problem members the contract does not declare: {extra:?}"
    );
}

/// Asserts a `download-results` body has the shape of Rapidata's results document
/// (`third_party/sdk-docs/understanding_the_results.md`): `info` with the task type, one item
/// per datapoint whose `detailedResults` carry labeler details, and a `summary`. Returns the
/// task type.
pub fn assert_results_document(doc: &Value) -> String {
    let info = &doc["info"];
    let kind = info["type"]
        .as_str()
        .unwrap_or_else(|| panic!("info.type: {doc}"));
    assert!(!kind.is_empty());
    for key in ["createdAt", "version", "name", "instruction"] {
        assert!(info[key].is_string(), "info.{key}: {doc}");
    }
    assert!(doc["summary"].is_object(), "summary: {doc}");
    for item in doc["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results: {doc}"))
    {
        let detailed = item["detailedResults"]
            .as_array()
            .unwrap_or_else(|| panic!("{item}"));
        for d in detailed {
            let u = &d["userDetails"];
            assert!(u["country"].is_string() && u["language"].is_string(), "{d}");
            let score = u["userScores"]["global"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&score), "{d}");
        }
        if let Some(counts) = item["aggregatedResults"].as_object() {
            let total: u64 = counts.values().map(|v| v.as_u64().unwrap()).sum();
            assert_eq!(total as usize, detailed.len(), "{item}");
        }
    }
    kind.to_string()
}

/// Asserts a 200 answer validates against the response schema of `endpoint` and carries no
/// field that schema does not declare.
pub fn assert_on_contract(endpoint: &str, a: &Answer) {
    assert_eq!(a.status, 200, "{endpoint}: {}", a.raw);
    let contract = Contract::get();
    let schema = contract
        .response_schema(endpoint, 200)
        .unwrap_or_else(|| panic!("{endpoint}: no 200 schema"));
    let errs = contract.validate(schema, &a.body);
    assert!(errs.is_empty(), "{endpoint}: {errs:?}\n{}", a.raw);
    let extra = contract.undeclared(schema, &a.body);
    assert!(
        extra.is_empty(),
        "{endpoint}: undeclared {extra:?}\n{}",
        a.raw
    );
}
