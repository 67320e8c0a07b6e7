//! The simulated labelers: jobs and orders progress, pause, resume, queue, stop early, and
//! produce results documents; custom audiences produce nothing until they recruit; cost
//! estimates follow the referee; everything is deterministic by seed and survives restarts.

use crate::emulator_support;

use std::time::{Duration, Instant};

use emulator_support::*;
use rapidata::emulator::{EmulatorHandle, FaultPlan, Simulation};
use serde_json::{json, Value};

async fn start_sim(dir: &std::path::Path, simulation: Simulation) -> EmulatorHandle {
    start_with(
        dir,
        FaultPlan {
            simulation,
            ..FaultPlan::default()
        },
        Duration::from_secs(3600),
    )
    .await
}

fn fast(rate: f64) -> Simulation {
    Simulation {
        responses_per_second: rate,
        start_delay_ms: 0,
        ..Simulation::default()
    }
}

/// A classification definition over `n` text datapoints (options yes/no) with `referee`.
async fn definition(api: &Api, n: usize, referee: Value) -> String {
    let ds = api.create_dataset("sim").await;
    for i in 0..n {
        let a = api
            .post(
                &format!("/dataset/{ds}/datapoint"),
                text_datapoint(&format!("text {i}"), &format!("k{i}"), i as i64),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.raw);
    }
    let a = api
        .post(
            "/job/definition",
            json!({"definitionName": "sim", "workflow": workflow("Is it yes?"), "referee": referee, "datasetId": ds}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["definitionId"].as_str().unwrap().to_string()
}

async fn assign(api: &Api, def: &str, audience: &str, preceding: Option<&str>) -> String {
    let a = api
        .post(
            "/job",
            json!({"jobDefinitionId": def, "audienceId": audience, "precedingJobId": preceding}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["jobId"].as_str().unwrap().to_string()
}

async fn progress(api: &Api, job: &str) -> Value {
    let a = api.get(&format!("/job/{job}/progress")).await;
    assert_on_contract("GET /job/{jobId}/progress", &a);
    a.body
}

/// The job's state; every read also checks the job (in whatever state) against the contract.
async fn state(api: &Api, job: &str) -> String {
    let a = api.get(&format!("/job/{job}")).await;
    assert_on_contract("GET /job/{jobId}", &a);
    a.body["state"].as_str().unwrap().to_string()
}

async fn wait_for(api: &Api, job: &str, want: &str, within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let s = state(api, job).await;
        if s == want {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < within,
            "job {job} still {s} after {within:?}, progress {}",
            progress(api, job).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn results(api: &Api, path: &str) -> Value {
    let a = api.get(path).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.content_type, "application/json");
    a.body
}

#[tokio::test]
async fn a_job_completes_with_default_settings_and_its_results_have_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 10, json!({"_t": "NaiveReferee", "totalVotes": 3})).await;
    let job = assign(&api, &def, "global", None).await;
    assert_eq!(state(&api, &job).await, "Running");
    let took = wait_for(&api, &job, "Completed", Duration::from_secs(6)).await;
    println!("10 datapoints x 3 responses completed in {took:?} with the default settings");

    let p = progress(&api, &job).await;
    assert_eq!(
        p,
        json!({"completionPercentage": 100.0, "total": 10, "completed": 10, "state": "Done", "responseCount": 30})
    );
    let j = api.get(&format!("/job/{job}")).await.body;
    assert!(
        j["completedAt"].is_string() && j["resultFileName"].is_string(),
        "{j}"
    );

    let doc = results(&api, &format!("/job/{job}/download-results")).await;
    assert_eq!(assert_results_document(&doc), "Classification");
    assert_eq!(doc["info"]["instruction"], "Is it yes?");
    let items = doc["results"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["identifier"], format!("text {i}"));
        let counts = item["aggregatedResults"].as_object().unwrap();
        assert_eq!(
            counts.keys().collect::<Vec<_>>(),
            vec!["yes", "no"],
            "in option order"
        );
        assert_eq!(counts.values().map(|v| v.as_u64().unwrap()).sum::<u64>(), 3);
        let ratios: f64 = item["aggregatedResultsRatios"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((ratios - 1.0).abs() < 1e-3, "{item}");
        for d in item["detailedResults"].as_array().unwrap() {
            assert!(["yes", "no"].contains(&d["selectedCategory"].as_str().unwrap()));
        }
    }
    let summary: u64 = doc["summary"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(summary, 30);
    emu.shutdown().await;
}

#[tokio::test]
async fn pause_stops_progress_and_resume_continues() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_sim(dir.path(), fast(20.0)).await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 10, json!({"_t": "NaiveReferee", "totalVotes": 10})).await;
    let job = assign(&api, &def, "global", None).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        api.post(&format!("/job/{job}/pause"), Value::Null)
            .await
            .status,
        204
    );
    let paused = progress(&api, &job).await;
    assert_eq!(paused["state"], "Paused");
    assert_eq!(state(&api, &job).await, "Paused");
    let r1 = paused["responseCount"].as_u64().unwrap();
    assert!((1..100).contains(&r1), "{paused}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        progress(&api, &job).await["responseCount"],
        r1,
        "paused jobs collect nothing"
    );

    assert_eq!(
        api.post(&format!("/job/{job}/resume"), Value::Null)
            .await
            .status,
        204
    );
    assert_eq!(state(&api, &job).await, "Running");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resumed = progress(&api, &job).await;
    assert_eq!(resumed["state"], "Labeling");
    assert!(resumed["responseCount"].as_u64().unwrap() > r1, "{resumed}");
    // Partial results: the votes so far.
    let doc = results(&api, &format!("/job/{job}/download-results")).await;
    assert_results_document(&doc);
    emu.shutdown().await;
}

#[tokio::test]
async fn early_stopping_and_quorum_end_datapoints_early() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_sim(dir.path(), fast(1000.0)).await;
    let api = Api::connect(&emu).await;

    let es = definition(
        &api,
        10,
        json!({"_t": "EarlyStoppingReferee", "maxVotes": 20, "threshold": 0.95}),
    )
    .await;
    let cost = api
        .get(&format!("/job/definition/{es}/cost-estimate"))
        .await;
    assert_eq!(cost.body["requiredResponses"], 200, "{}", cost.raw);
    let job = assign(&api, &es, "global", None).await;
    wait_for(&api, &job, "Completed", Duration::from_secs(5)).await;
    let collected = progress(&api, &job).await["responseCount"]
        .as_u64()
        .unwrap();
    assert!(
        collected < 200,
        "early stopping collected all {collected} responses"
    );
    let doc = results(&api, &format!("/job/{job}/download-results")).await;
    assert_results_document(&doc);
    let mut stopped_early = 0;
    for item in doc["results"].as_array().unwrap() {
        let votes = item["detailedResults"].as_array().unwrap().len();
        let confidence = item["confidencePerCategory"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .fold(0.0, f64::max);
        assert!(votes <= 20);
        if votes < 20 {
            stopped_early += 1;
            assert!(confidence >= 0.95, "stopped below the threshold: {item}");
        }
    }
    assert!(stopped_early > 0);

    let quorum = definition(
        &api,
        10,
        json!({"_t": "QuorumReferee", "maxVotes": 9, "threshold": 3}),
    )
    .await;
    let job = assign(&api, &quorum, "global", None).await;
    wait_for(&api, &job, "Completed", Duration::from_secs(5)).await;
    let doc = results(&api, &format!("/job/{job}/download-results")).await;
    for item in doc["results"].as_array().unwrap() {
        let counts: Vec<u64> = item["aggregatedResults"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let (top, total) = (*counts.iter().max().unwrap(), counts.iter().sum::<u64>());
        assert!(top == 3 || total == 9, "quorum 3 of 9 not honoured: {item}");
        assert!(top <= 3, "kept collecting after the quorum: {item}");
    }
    emu.shutdown().await;
}

fn text_example() -> Value {
    json!({"asset": {"_t": "TextAssetInput", "text": "I love it"},
        "payload": {"_t": "ClassifyExamplePayload", "categories": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}], "title": "Yes?"},
        "truth": {"_t": "ClassifyExampleTruth", "correctCategories": ["yes"]}, "randomCorrectProbability": 0.5})
}

/// GET /audience/{id} (or `/user-metrics` when `metrics`), checked against the contract.
async fn audience(api: &Api, id: &str, metrics: bool) -> Value {
    let (path, endpoint) = if metrics {
        (
            format!("/audience/{id}/user-metrics"),
            "GET /audience/{audienceId}/user-metrics",
        )
    } else {
        (format!("/audience/{id}"), "GET /audience/{audienceId}")
    };
    let a = api.get(&path).await;
    assert_on_contract(endpoint, &a);
    a.body
}

async fn custom_audience(api: &Api, name: &str) -> String {
    let filters = json!([{"_t": "CountryFilter", "countries": ["DE", "AT"]}]);
    let a = api
        .post("/audience", json!({"name": name, "filters": filters}))
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["audienceId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_custom_audience_produces_responses_only_after_recruiting_with_three_examples() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_sim(
        dir.path(),
        Simulation {
            candidates_per_second: 100.0,
            qualification_ms_per_task: 5,
            ..fast(1000.0)
        },
    )
    .await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 3, json!({"_t": "NaiveReferee", "totalVotes": 3})).await;

    // Examples but no recruiting; recruiting but no examples.
    let never = custom_audience(&api, "never recruits").await;
    for _ in 0..3 {
        assert_eq!(
            api.post(&format!("/audience/{never}/example"), text_example())
                .await
                .status,
            200
        );
    }
    let empty = custom_audience(&api, "no examples").await;
    assert_eq!(
        api.post(&format!("/audience/{empty}/recruit"), Value::Null)
            .await
            .status,
        204
    );
    let jobs = [
        assign(&api, &def, &never, None).await,
        assign(&api, &def, &empty, None).await,
    ];
    tokio::time::sleep(Duration::from_millis(800)).await;
    for job in &jobs {
        let p = progress(&api, job).await;
        assert_eq!(
            (p["responseCount"].as_u64(), p["state"].as_str()),
            (Some(0), Some("Started")),
            "{p}"
        );
        assert_eq!(state(&api, job).await, "Running");
        let doc = results(&api, &format!("/job/{job}/download-results")).await;
        assert!(doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["detailedResults"] == json!([])));
    }
    let a = audience(&api, &never, false).await;
    assert_eq!(
        (a["status"].as_str(), a["qualifiedUserCount"].as_u64()),
        (Some("Created"), Some(0))
    );
    let m = audience(&api, &never, true).await;
    assert_eq!(
        m,
        json!({"usersPerState": {"Distilling": 0, "Graduated": 0}, "capacity": "None"})
    );
    let global = audience(&api, "global", true).await;
    assert_eq!(
        global,
        json!({"usersPerState": {"Distilling": 0, "Graduated": 1000}, "capacity": "Sufficient"}),
        "the global pool is ready"
    );
    let m = audience(&api, &empty, true).await;
    assert_eq!(m["usersPerState"]["Graduated"], 0);
    assert!(
        m["usersPerState"]["Distilling"].as_u64().unwrap() > 0,
        "{m}"
    );
    assert_eq!(audience(&api, &empty, false).await["status"], "Recruiting");

    // Recruiting the audience that has an example graduates labelers; its job then runs.
    assert_eq!(
        api.post(&format!("/audience/{never}/recruit"), Value::Null)
            .await
            .status,
        204
    );
    wait_for(&api, &jobs[0], "Completed", Duration::from_secs(5)).await;
    // Its labelers come from the audience's countries.
    let doc = results(&api, &format!("/job/{}/download-results", jobs[0])).await;
    let countries: std::collections::BTreeSet<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["detailedResults"].as_array().unwrap())
        .map(|d| d["userDetails"]["country"].as_str().unwrap())
        .collect();
    assert!(
        !countries.is_empty() && countries.iter().all(|c| ["DE", "AT"].contains(c)),
        "{countries:?}"
    );
    let m = audience(&api, &never, true).await;
    assert!(m["usersPerState"]["Graduated"].as_u64().unwrap() > 0, "{m}");
    assert_eq!(audience(&api, &never, false).await["status"], "Ready");
    assert_eq!(progress(&api, &jobs[1]).await["responseCount"], 0);

    // Examples added after recruiting started start qualification too, once there are 3
    // ("Annotators only graduate once the audience has at least 3 qualification examples",
    // rapidata_audience.py): with 2, nobody graduates.
    for _ in 0..2 {
        assert_eq!(
            api.post(&format!("/audience/{empty}/example"), text_example())
                .await
                .status,
            200
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(progress(&api, &jobs[1]).await["responseCount"], 0);
    assert_eq!(
        audience(&api, &empty, true).await["usersPerState"]["Graduated"],
        0
    );
    assert_eq!(
        api.post(&format!("/audience/{empty}/example"), text_example())
            .await
            .status,
        200
    );
    wait_for(&api, &jobs[1], "Completed", Duration::from_secs(5)).await;
    emu.shutdown().await;
}

#[tokio::test]
async fn a_job_queued_behind_another_starts_when_it_completes() {
    let dir = tempfile::tempdir().unwrap();
    // 10 x 6 responses at 30/s: each run takes 2 s, ample time to observe the queue.
    let emu = start_sim(dir.path(), fast(30.0)).await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 10, json!({"_t": "NaiveReferee", "totalVotes": 6})).await;
    let first = assign(&api, &def, "global", None).await;
    let second = assign(&api, &def, "global", Some(&first)).await;
    assert_eq!(state(&api, &second).await, "Queued");
    assert_eq!(progress(&api, &second).await["state"], "Created");
    wait_for(&api, &first, "Completed", Duration::from_secs(10)).await;
    wait_for(&api, &second, "Completed", Duration::from_secs(10)).await;
    let done = |j: Value| j["completedAt"].as_str().unwrap().to_string();
    let (a, b) = (
        done(api.get(&format!("/job/{first}")).await.body),
        done(api.get(&format!("/job/{second}")).await.body),
    );
    assert!(a < b, "{a} !< {b}");
    assert_problem(
        &api.post(
            "/job",
            json!({"jobDefinitionId": def, "audienceId": "global", "precedingJobId": "nope"}),
        )
        .await,
        400,
    );

    // Deleting a paused predecessor releases the job queued behind it.
    let third = assign(&api, &def, "global", None).await;
    api.post(&format!("/job/{third}/pause"), Value::Null).await;
    let fourth = assign(&api, &def, "global", Some(&third)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(state(&api, &fourth).await, "Queued");
    assert_eq!(api.delete(&format!("/job/{third}")).await.status, 204);
    assert_eq!(api.get(&format!("/job/{third}")).await.status, 404);
    wait_for(&api, &fourth, "Completed", Duration::from_secs(10)).await;

    // Orders queue the same way (PATCH precedingOrderId).
    let order = |name: &'static str| {
        let api = &api;
        async move {
            let o = api
                .post("/order", json!({"orderName": name, "workflow": workflow("Yes?"), "referee": {"_t": "NaiveReferee", "totalVotes": 6}}))
                .await;
            let (id, ds) = (
                o.body["orderId"].as_str().unwrap().to_string(),
                o.body["datasetId"].as_str().unwrap().to_string(),
            );
            for i in 0..10 {
                api.post(
                    &format!("/dataset/{ds}/datapoint"),
                    text_datapoint(&format!("t{i}"), "k", i),
                )
                .await;
            }
            id
        }
    };
    let (o1, o2) = (order("first").await, order("second").await);
    let patched = api
        .patch(&format!("/order/{o2}"), json!({"precedingOrderId": o1}))
        .await;
    assert_eq!(patched.status, 204, "{}", patched.raw);
    api.post(&format!("/order/{o2}/submit"), json!({})).await;
    api.post(&format!("/order/{o1}/submit"), json!({})).await;
    let order_state = |id: String| {
        let api = &api;
        async move {
            api.get(&format!("/order/{id}")).await.body["state"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(order_state(o2.clone()).await, "Queued");
    let t0 = Instant::now();
    while order_state(o2.clone()).await != "Completed" {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "second order never completed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(order_state(o1.clone()).await, "Completed");
    assert_problem(
        &api.patch(&format!("/order/{o1}"), json!({"precedingOrderId": o2}))
            .await,
        400,
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn jobs_stored_by_an_older_emulator_get_a_timeline_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_sim(dir.path(), fast(1000.0)).await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 3, json!({"_t": "NaiveReferee", "totalVotes": 2})).await;
    let job = assign(&api, &def, "global", None).await;
    emu.shutdown().await;
    // What a v1 emulator stored: no timeline, no run.
    let db = rusqlite::Connection::open(dir.path().join("emulator.sqlite3")).unwrap();
    let n = db
        .execute(
            "UPDATE objects SET body = json_remove(body, '$._sim', '$._run') WHERE kind = 'job'",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(db);
    let emu = start_sim(dir.path(), fast(1000.0)).await;
    let api = Api::connect(&emu).await;
    wait_for(&api, &job, "Completed", Duration::from_secs(5)).await;
    assert_eq!(progress(&api, &job).await["responseCount"], 6);
    emu.shutdown().await;
}

/// Creates one completed job and returns its results without `info.createdAt`.
async fn one_run(dir: &std::path::Path, seed: u64) -> (EmulatorHandle, String, Value) {
    let emu = start_sim(
        dir,
        Simulation {
            seed,
            ..fast(1000.0)
        },
    )
    .await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 5, json!({"_t": "NaiveReferee", "totalVotes": 4})).await;
    let job = assign(&api, &def, "global", None).await;
    wait_for(&api, &job, "Completed", Duration::from_secs(5)).await;
    let mut doc = results(&api, &format!("/job/{job}/download-results")).await;
    doc["info"]["createdAt"] = Value::Null;
    (emu, job, doc)
}

#[tokio::test]
async fn votes_are_deterministic_by_seed_and_survive_a_restart() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let (emu, job, a) = one_run(dirs[0].path(), 7).await;
    let (emu_b, _, b) = one_run(dirs[1].path(), 7).await;
    let (emu_c, _, c) = one_run(dirs[2].path(), 8).await;
    assert_eq!(a, b, "same seed, same requests, same votes");
    assert_ne!(a["results"], c["results"], "another seed draws other votes");
    emu_b.shutdown().await;
    emu_c.shutdown().await;

    let api = Api::connect(&emu).await;
    assert_eq!(
        api.post(&format!("/job/{job}/pause"), Value::Null)
            .await
            .status,
        409,
        "a completed job cannot be paused"
    );
    emu.shutdown().await;
    let emu = start(dirs[0].path()).await;
    let api = Api::connect(&emu).await;
    assert_eq!(state(&api, &job).await, "Completed");
    let mut again = results(&api, &format!("/job/{job}/download-results")).await;
    again["info"]["createdAt"] = Value::Null;
    assert_eq!(again, a, "results survive a restart");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_paused_job_stays_paused_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_sim(dir.path(), fast(20.0)).await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 5, json!({"_t": "NaiveReferee", "totalVotes": 10})).await;
    let job = assign(&api, &def, "global", None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.post(&format!("/job/{job}/pause"), Value::Null).await;
    let before = progress(&api, &job).await;
    emu.shutdown().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    assert_eq!(progress(&api, &job).await, before);
    emu.shutdown().await;
}

#[tokio::test]
async fn cost_estimates_follow_the_referee_after_the_pricing_delay() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_sim(
        dir.path(),
        Simulation {
            price_per_response: 0.1,
            pricing_delay_ms: 1500,
            ..fast(1.0)
        },
    )
    .await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 4, json!({"_t": "NaiveReferee", "totalVotes": 5})).await;
    let early = api
        .get(&format!("/job/definition/{def}/cost-estimate"))
        .await;
    assert_problem(&early, 409);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let want = json!({"estimatedCost": 2.0, "costPerResponse": 0.1, "datapointCount": 4, "requiredResponses": 20});
    assert_eq!(
        api.get(&format!("/job/definition/{def}/cost-estimate"))
            .await
            .body,
        want
    );
    let job = assign(&api, &def, "global", None).await;
    assert_problem(&api.get(&format!("/job/{job}/cost-estimate")).await, 409);
    emu.set_simulation(Simulation {
        price_per_response: 0.1,
        ..fast(1.0)
    })
    .unwrap();
    assert_eq!(
        api.get(&format!("/job/{job}/cost-estimate")).await.body,
        want
    );
    // No datapoints: nothing to price yet.
    let ds = api.create_dataset("empty").await;
    let empty = api
        .post(
            "/job/definition",
            json!({"definitionName": "e", "workflow": workflow("q"), "referee": {"_t": "NaiveReferee", "totalVotes": 3}, "datasetId": ds}),
        )
        .await;
    let id = empty.body["definitionId"].as_str().unwrap();
    assert_problem(
        &api.get(&format!("/job/definition/{id}/cost-estimate"))
            .await,
        409,
    );
    assert!(emu
        .set_simulation(Simulation {
            responses_per_second: -1.0,
            ..Simulation::default()
        })
        .is_err());
    emu.shutdown().await;
}

#[tokio::test]
async fn compare_free_text_and_order_results() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_sim(dir.path(), fast(1000.0)).await;
    let api = Api::connect(&emu).await;

    // Compare: votes over the datapoint's two assets.
    let ds = api.create_dataset("compare").await;
    let pair = json!({"segments": [{"key": "asset", "kind": "Asset", "asset": {"_t": "MultiAssetInput", "assets": [
        {"_t": "TextAssetInput", "text": "left"}, {"_t": "TextAssetInput", "text": "right"}]}},
        {"key": "answer_options", "kind": "OptionList", "options": [{"label": "x", "value": "x"}]},
        {"key": "context", "kind": "Text", "text": "which one?"}]});
    api.post(&format!("/dataset/{ds}/datapoint"), pair).await;
    let wf = json!({"_t": "SimpleWorkflow", "rapid": {"_t": "Compare", "asset": {"segment": "asset"},
        "criteria": {"literal": "Better?"}, "context": {"segment": "context"}}});
    let def = api
        .post("/job/definition", json!({"definitionName": "cmp", "workflow": wf, "referee": {"_t": "NaiveReferee", "totalVotes": 5}, "datasetId": ds}))
        .await
        .body["definitionId"]
        .as_str()
        .unwrap()
        .to_string();
    let job = assign(&api, &def, "global", None).await;
    wait_for(&api, &job, "Completed", Duration::from_secs(5)).await;
    let doc = results(&api, &format!("/job/{job}/download-results")).await;
    assert_eq!(assert_results_document(&doc), "Compare");
    let item = &doc["results"][0];
    assert_eq!(item["context"], "which one?");
    let counts = item["aggregatedResults"].as_object().unwrap();
    assert_eq!(counts.keys().collect::<Vec<_>>(), vec!["left", "right"]);
    let (l, r) = (
        counts["left"].as_u64().unwrap(),
        counts["right"].as_u64().unwrap(),
    );
    assert_eq!(l + r, 5);
    let winner = if l > r { "left" } else { "right" };
    assert_eq!(
        (item["winner"].as_str(), item["winnerIndex"].as_u64()),
        (Some(winner), Some(u64::from(r > l)))
    );
    assert_eq!(item["winner_index"], item["winnerIndex"]);
    let wins = &doc["summary"];
    assert_eq!(
        wins["A_wins_total"].as_u64().unwrap() + wins["B_wins_total"].as_u64().unwrap(),
        1
    );

    // Free text: one answer per response, no aggregation.
    let wf = json!({"_t": "SimpleWorkflow", "rapid": {"_t": "FreeText", "asset": {"segment": "asset"}, "question": {"literal": "Describe it"}}});
    let ds = api.create_dataset("free").await;
    api.post(
        &format!("/dataset/{ds}/datapoint"),
        text_datapoint("a photo", "k", 0),
    )
    .await;
    let def = api
        .post("/job/definition", json!({"definitionName": "ft", "workflow": wf, "referee": {"_t": "NaiveReferee", "totalVotes": 2}, "datasetId": ds}))
        .await
        .body["definitionId"]
        .as_str()
        .unwrap()
        .to_string();
    let job = assign(&api, &def, "global", None).await;
    wait_for(&api, &job, "Completed", Duration::from_secs(5)).await;
    let doc = results(&api, &format!("/job/{job}/download-results")).await;
    assert_eq!(assert_results_document(&doc), "FreeText");
    let answers = doc["results"][0]["detailedResults"].as_array().unwrap();
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|a| a["text"].is_string()));

    // Orders run once submitted, on the global audience.
    let o = api.post("/order", json!({"orderName": "ord", "workflow": workflow("Yes?"), "referee": {"_t": "NaiveReferee", "totalVotes": 2}})).await;
    let (order, ods) = (
        o.body["orderId"].as_str().unwrap(),
        o.body["datasetId"].as_str().unwrap(),
    );
    api.post(
        &format!("/dataset/{ods}/datapoint"),
        text_datapoint("t", "k", 0),
    )
    .await;
    assert_problem(
        &api.post(&format!("/order/{order}/pause"), Value::Null)
            .await,
        409,
    );
    assert_problem(
        &api.get(&format!("/order/{order}/download-results")).await,
        409,
    );
    api.post(&format!("/order/{order}/submit"), json!({})).await;
    let t0 = Instant::now();
    while api.get(&format!("/order/{order}")).await.body["state"] != "Completed" {
        assert!(t0.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let doc = results(&api, &format!("/order/{order}/download-results")).await;
    assert_eq!(assert_results_document(&doc), "Classification");
    assert_eq!(doc["info"]["name"], "ord");
    assert_eq!(
        doc["summary"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    emu.shutdown().await;
}
