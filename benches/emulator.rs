//! Emulator throughput: datapoint creation over HTTP with concurrent clients, reading a
//! 1,000,000-datapoint dataset page by page, and the simulated labelers' read path (progress
//! and results of an early-stopping job).
//!
//! `cargo bench --bench emulator` (env: `BENCH_CREATE_N` default 20000, `BENCH_CONCURRENCY`
//! default 32, `BENCH_LIST_N` default 1000000, `BENCH_PAGE_SIZE` default the maximum, 1000,
//! `BENCH_SIM_N` default 10000 datapoints in the simulated job).
//! Client and server share the machine, so the numbers are end-to-end on this box.

use std::time::Instant;

use futures::StreamExt;
use rapidata::emulator::{self, EmulatorConfig, FaultPlan, Simulation, MAX_PAGE_SIZE};
use serde_json::{json, Value};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn datapoint(i: u64) -> Value {
    json!({
        "segments": [
            {"key": "asset", "kind": "Asset", "asset": {"_t": "TextAssetInput", "text": format!("benchmark sentence number {i}"),
                "metadata": {"rapidata-key": {"_t": "TextMetadataInput", "text": format!("key-{i}"), "visibilities": ["Customers"]}}}},
            {"key": "answer_options", "kind": "OptionList", "options": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}]}
        ],
        "sortIndex": i, "group": null, "privateMetadata": null
    })
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let create_n = env_u64("BENCH_CREATE_N", 20_000);
    let concurrency = env_u64("BENCH_CONCURRENCY", 32) as usize;
    let list_n = env_u64("BENCH_LIST_N", 1_000_000);
    let page_size = env_u64("BENCH_PAGE_SIZE", MAX_PAGE_SIZE);
    let sim_n = env_u64("BENCH_SIM_N", 10_000);

    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmulatorConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        faults: FaultPlan::default(),
        ..EmulatorConfig::default()
    };
    let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let emu = emulator::start(config).await.expect("start");
    let base = emu.base_url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let token: Value = http
        .post(format!("{base}/connect/token"))
        .basic_auth(&id, Some(&secret))
        .body("grant_type=client_credentials")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let schema = json!([
        {"key": "asset", "kind": "Asset", "label": "Asset", "required": true},
        {"key": "answer_options", "kind": "OptionList", "label": "Answer options", "required": true}
    ]);
    let new_dataset = |name: &'static str| {
        let (http, base, token, schema) =
            (http.clone(), base.clone(), token.clone(), schema.clone());
        async move {
            let v: Value = http
                .post(format!("{base}/dataset"))
                .bearer_auth(&token)
                .json(&json!({"name": name, "schema": schema}))
                .send()
                .await
                .expect("dataset")
                .json()
                .await
                .expect("dataset json");
            v["datasetId"].as_str().expect("datasetId").to_string()
        }
    };

    // 1. Datapoint creation over HTTP.
    let ds = new_dataset("bench-create").await;
    let url = format!("{base}/dataset/{ds}/datapoint");
    let started = Instant::now();
    let failures = futures::stream::iter(0..create_n)
        .map(|i| {
            let req = http.post(&url).bearer_auth(&token).json(&datapoint(i));
            async move {
                req.send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| futures::future::ready(!ok))
        .count()
        .await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "create: {create_n} datapoints, {concurrency} in flight: {secs:.2} s, {:.0} datapoints/s, {failures} failed",
        create_n as f64 / secs
    );

    // 2. Seed a large dataset directly, then read it page by page over HTTP.
    let big = new_dataset("bench-list").await;
    let started = Instant::now();
    emu.bulk_insert_datapoints(&big, datapoint(0)["segments"].clone(), list_n)
        .await
        .expect("bulk insert");
    println!(
        "seed: {list_n} datapoints inserted in {:.2} s (bulk helper, one transaction)",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut page = 1;
    let mut items = 0u64;
    let mut bytes = 0usize;
    loop {
        let resp = http
            .get(format!(
                "{base}/dataset/{big}/datapoints?page={page}&page_size={page_size}"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("page");
        let text = resp.text().await.expect("page body");
        bytes += text.len();
        let v: Value = serde_json::from_str(&text).expect("page json");
        let n = v["items"].as_array().map(Vec::len).unwrap_or(0) as u64;
        items += n;
        if n < page_size {
            break;
        }
        page += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "list: {items} datapoints in {page} pages of {page_size}: {secs:.2} s ({:.0} datapoints/s, {:.1} MB, client parses every page)",
        items as f64 / secs,
        bytes as f64 / 1e6
    );
    assert_eq!(items, list_n, "every datapoint listed once");

    // 3. Simulated labelers: an early-stopping job (votes simulated per datapoint) on the global
    // audience, fast enough to complete within the measurement.
    let sim_ds = new_dataset("bench-sim").await;
    emu.bulk_insert_datapoints(&sim_ds, datapoint(0)["segments"].clone(), sim_n)
        .await
        .expect("bulk insert");
    emu.set_simulation(Simulation {
        responses_per_second: 1e9,
        start_delay_ms: 0,
        ..Simulation::default()
    })
    .expect("simulation");
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.expect("request");
            assert!(resp.status().is_success(), "{}", resp.status());
            resp.text().await.expect("body")
        }
    };
    let workflow = json!({"_t": "SimpleWorkflow", "rapid": {"_t": "Classify", "asset": {"segment": "asset"},
        "title": {"literal": "Yes?"}, "categories": {"segment": "answer_options"}}});
    let def: Value = serde_json::from_str(
        &send(
            reqwest::Method::POST,
            "/job/definition".into(),
            Some(
                json!({"definitionName": "bench-sim", "workflow": workflow, "datasetId": sim_ds,
                "referee": {"_t": "EarlyStoppingReferee", "maxVotes": 15, "threshold": 0.95}}),
            ),
        )
        .await,
    )
    .expect("definition");
    let job: Value = serde_json::from_str(
        &send(
            reqwest::Method::POST,
            "/job".into(),
            Some(json!({"jobDefinitionId": def["definitionId"], "audienceId": "global"})),
        )
        .await,
    )
    .expect("job");
    let job = job["jobId"].as_str().expect("jobId").to_string();
    let started = Instant::now();
    let first = send(reqwest::Method::GET, format!("/job/{job}/progress"), None).await;
    let cold = started.elapsed().as_secs_f64() * 1e3;
    let reads = 200;
    let started = Instant::now();
    for _ in 0..reads {
        send(reqwest::Method::GET, format!("/job/{job}"), None).await;
    }
    let warm = started.elapsed().as_secs_f64() * 1e3 / reads as f64;
    let started = Instant::now();
    let doc = send(
        reqwest::Method::GET,
        format!("/job/{job}/download-results"),
        None,
    )
    .await;
    let results_ms = started.elapsed().as_secs_f64() * 1e3;
    let progress: Value = serde_json::from_str(&first).expect("progress");
    println!(
        "simulation: {sim_n} datapoints, early stopping (max 15, 0.95): first progress {cold:.1} ms \
         (simulates every datapoint's votes), GET /job {warm:.2} ms per read (cached), \
         results {results_ms:.0} ms ({:.1} MB); {} responses instead of {}",
        doc.len() as f64 / 1e6,
        progress["responseCount"],
        sim_n * 15
    );
    emu.shutdown().await;
}
