//! Contract v3 in the emulator: validation sets (a revision's `validationSetId`, labelers scored
//! against the set's tasks) and filtered audiences (a base audience's graduates, narrowed); and
//! the fidelity fixes of issue #20 (ranking votes per comparison, token lifetimes, datapoint
//! reads).

use crate::emulator_support;

use std::time::{Duration, Instant};

use emulator_support::*;
use rapidata::emulator::{EmulatorConfig, FaultPlan, Simulation};
use serde_json::{json, Value};

async fn start_fast(dir: &std::path::Path, rate: f64) -> rapidata::emulator::EmulatorHandle {
    start_with(
        dir,
        FaultPlan {
            simulation: Simulation {
                responses_per_second: rate,
                start_delay_ms: 0,
                candidates_per_second: 100.0,
                qualification_ms_per_task: 5,
                ..Simulation::default()
            },
            ..FaultPlan::default()
        },
        Duration::from_secs(3600),
    )
    .await
}

/// A classification definition over `n` text datapoints (options yes/no), 3 votes each.
async fn definition(api: &Api, n: usize) -> String {
    let ds = api.create_dataset("quality").await;
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
            json!({"definitionName": "quality", "workflow": workflow("Is it yes?"),
                "referee": {"_t": "NaiveReferee", "totalVotes": 3}, "datasetId": ds}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["definitionId"].as_str().unwrap().to_string()
}

async fn assign(api: &Api, def: &str, audience: &str) -> String {
    let a = api
        .post(
            "/job",
            json!({"jobDefinitionId": def, "audienceId": audience}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["jobId"].as_str().unwrap().to_string()
}

async fn wait_completed(api: &Api, job: &str, within: Duration) {
    let t0 = Instant::now();
    loop {
        let a = api.get(&format!("/job/{job}")).await;
        assert_on_contract("GET /job/{jobId}", &a);
        if a.body["state"] == "Completed" {
            return;
        }
        assert!(
            t0.elapsed() < within,
            "job {job} still {} after {within:?}",
            a.body["state"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn results(api: &Api, job: &str) -> Value {
    let a = api.get(&format!("/job/{job}/download-results")).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_results_document(&a.body);
    a.body
}

/// A text classification task as `create_classification_set` sends it
/// (`rapids_manager.py` `classification_rapid`).
fn rapid(text: &str, truth: &str, explanation: Option<&str>) -> Value {
    json!({"asset": {"_t": "TextAssetInput", "text": text},
        "payload": {"_t": "ClassifyPayload", "title": "Is it yes?",
            "categories": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}]},
        "truth": {"_t": "AttachCategoryTruth", "correctCategories": [truth]},
        "context": null, "contextAsset": null, "randomCorrectProbability": 0.5,
        "explanation": explanation, "featureFlags": null})
}

async fn validation_set(api: &Api, name: &str, tasks: usize) -> String {
    let a = api.post("/validation-set", json!({"name": name})).await;
    assert_on_contract("POST /validation-set", &a);
    let id = a.body["validationSetId"].as_str().unwrap().to_string();
    for i in 0..tasks {
        let truth = if i % 2 == 0 { "yes" } else { "no" };
        let a = api
            .post(
                &format!("/validation-set/{id}/rapid"),
                rapid(&format!("known {i}"), truth, None),
            )
            .await;
        assert_eq!((a.status.as_u16(), a.raw.as_str()), (204, ""));
    }
    id
}

#[tokio::test]
async fn validation_sets_are_created_listed_updated_and_deleted_on_contract() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let golden = validation_set(&api, "golden-sentiment", 3).await;
    let other = validation_set(&api, "other-set", 1).await;

    // A truth outside the categories, an unknown set, an empty name.
    let bad = api
        .post(
            &format!("/validation-set/{golden}/rapid"),
            rapid("x", "maybe", None),
        )
        .await;
    assert_problem(&bad, 400);
    assert!(
        bad.raw.contains("truth.correctCategories[0]"),
        "{}",
        bad.raw
    );
    assert_problem(
        &api.post("/validation-set/nope/rapid", rapid("x", "yes", None))
            .await,
        404,
    );
    assert_problem(
        &api.post("/validation-set", json!({"name": " "})).await,
        400,
    );
    assert_problem(&api.post("/validation-set", json!({})).await, 400);

    let a = api.get(&format!("/validation-set/{golden}")).await;
    assert_on_contract("GET /validation-set/{validationSetId}", &a);
    assert_eq!(
        (a.body["name"].as_str(), a.body["dimensions"].clone()),
        (Some("golden-sentiment"), json!([]))
    );

    // Listing as find_validation_sets sends it: name[contains], -created_at.
    let list = api
        .get("/validation-sets?page=1&page_size=10&name%5Bcontains%5D=GOLDEN&sort=-created_at")
        .await;
    assert_on_contract("GET /validation-sets", &list);
    assert_eq!(list.body["total"], 1, "{}", list.raw);
    let row = &list.body["items"][0];
    assert_eq!(row["id"], golden.as_str());
    assert_eq!(
        (&row["modality"], &row["assetType"], &row["promptType"]),
        (&json!(["Classify"]), &json!(["Text"]), &json!(["None"]))
    );
    let all = api.get("/validation-sets?sort=-created_at").await;
    let ids: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![other.as_str(), golden.as_str()]);

    // The rapids, paged.
    let page = api
        .get(&format!(
            "/validation-set/{golden}/rapids?page=2&page_size=2"
        ))
        .await;
    assert_on_contract("GET /validation-set/{validationSetId}/rapids", &page);
    assert_eq!(
        (
            page.body["total"].as_u64(),
            page.body["totalPages"].as_u64()
        ),
        (Some(3), Some(2))
    );
    let item = &page.body["items"][0];
    assert_eq!(item["asset"]["_t"], "TextAsset");
    assert_eq!(item["truth"]["correctCategories"], json!(["yes"]));
    assert_eq!(
        (item["type"].as_str(), item["state"].as_str()),
        (Some("Classify"), Some("Labeling"))
    );
    assert_eq!(item["correctValidationCount"], 0);

    // Patch semantics: what is given changes, null leaves as is.
    let p = api
        .patch(
            &format!("/validation-set/{golden}"),
            json!({"dimensions": ["sentiment"], "name": null, "shouldAlert": false}),
        )
        .await;
    assert_eq!((p.status.as_u16(), p.raw.as_str()), (204, ""));
    let a = api.get(&format!("/validation-set/{golden}")).await;
    assert_eq!(
        (a.body["name"].as_str(), a.body["dimensions"].clone()),
        (Some("golden-sentiment"), json!(["sentiment"]))
    );
    assert_problem(
        &api.patch("/validation-set/nope", json!({"name": "x"}))
            .await,
        404,
    );

    let d = api.delete(&format!("/validation-set/{other}")).await;
    assert_eq!((d.status.as_u16(), d.raw.as_str()), (204, ""));
    assert_problem(&api.get(&format!("/validation-set/{other}")).await, 404);
    assert_problem(
        &api.get(&format!("/validation-set/{other}/rapids")).await,
        404,
    );
    assert_problem(&api.delete(&format!("/validation-set/{other}")).await, 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_revision_carries_its_validation_set_until_null_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let vs = validation_set(&api, "gold", 2).await;
    let def = definition(&api, 1).await;
    let rev = |n: u64| {
        let api = &api;
        let def = def.clone();
        async move {
            let a = api
                .get(&format!("/job/definition/{def}/revision/{n}"))
                .await;
            assert_on_contract(
                "GET /job/definition/{definitionId}/revision/{revisionNumber}",
                &a,
            );
            a.body["validationSetId"].clone()
        }
    };
    let save = |body: Value| {
        let api = &api;
        let def = def.clone();
        async move {
            api.post(&format!("/job/definition/{def}/revision"), body)
                .await
        }
    };
    assert_eq!(rev(1).await, Value::Null);
    assert_eq!(
        save(json!({"validationSetId": vs})).await.body["revisionNumber"],
        2
    );
    assert_eq!(rev(2).await, vs.as_str());
    // Absent: inherited from the latest revision.
    assert_eq!(
        save(json!({"baseRevisionNumber": 2})).await.body["revisionNumber"],
        3
    );
    assert_eq!(rev(3).await, vs.as_str());
    // An unknown set is refused.
    let a = save(json!({"validationSetId": "no-such-set"})).await;
    assert_problem(&a, 400);
    assert!(a.raw.contains("validationSetId"), "{}", a.raw);
    // Explicit null clears it (as _revision_body.py sends a None validation_set_id).
    assert_eq!(
        save(json!({"validationSetId": null})).await.body["revisionNumber"],
        4
    );
    assert_eq!(rev(4).await, Value::Null);
    emu.shutdown().await;
}

#[tokio::test]
async fn labelers_are_scored_against_the_validation_set_and_weighted_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_fast(dir.path(), 2000.0).await;
    let api = Api::connect(&emu).await;
    let vs = validation_set(&api, "gold", 4).await;
    api.patch(
        &format!("/validation-set/{vs}"),
        json!({"dimensions": ["sentiment"]}),
    )
    .await;
    let def = definition(&api, 6).await;
    let plain_job = assign(&api, &def, "global").await;
    let a = api
        .post(
            &format!("/job/definition/{def}/revision"),
            json!({"validationSetId": vs}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let job = assign(&api, &def, "global").await;
    wait_completed(&api, &job, Duration::from_secs(10)).await;
    wait_completed(&api, &plain_job, Duration::from_secs(10)).await;

    // Every labeler of the validated job has a measured accuracy in the set's dimension: a
    // share of 4 tasks. The summed user scores weigh each vote by the mean of its scores.
    let doc = results(&api, &job).await;
    let mut voters = std::collections::BTreeSet::new();
    let mut measured = Vec::new();
    for item in doc["results"].as_array().unwrap() {
        let mut summed: std::collections::BTreeMap<String, f64> = Default::default();
        for d in item["detailedResults"].as_array().unwrap() {
            let scores = d["userDetails"]["userScores"].as_object().unwrap();
            let acc = scores["sentiment"].as_f64().unwrap();
            assert!(
                [0.0, 0.25, 0.5, 0.75, 1.0].contains(&acc),
                "not a share of 4 tasks: {acc}"
            );
            measured.push(acc);
            let mean = (scores["global"].as_f64().unwrap() + acc) / 2.0;
            *summed
                .entry(d["selectedCategory"].as_str().unwrap().to_string())
                .or_default() += mean;
            voters.insert(d["userDetails"].to_string());
        }
        for (option, want) in summed {
            let got = item["summedUserScores"][&option].as_f64().unwrap();
            assert!((got - want).abs() < 1e-3, "{option}: {got} != {want}");
        }
    }
    assert!(
        measured.iter().any(|a| *a != measured[0]),
        "every labeler measured the same: {measured:?}"
    );
    // Without a validation set, only the global score.
    let plain = results(&api, &plain_job).await;
    let d = &plain["results"][0]["detailedResults"][0]["userDetails"]["userScores"];
    assert_eq!(d.as_object().unwrap().len(), 1, "{d}");

    // The rapids count the answers of the labelers who worked on the job: each of them
    // answered every task once.
    let rapids = api
        .get(&format!("/validation-set/{vs}/rapids?page_size=10"))
        .await;
    assert_on_contract("GET /validation-set/{validationSetId}/rapids", &rapids);
    let counts: Vec<(u64, u64)> = rapids.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["correctValidationCount"].as_u64().unwrap(),
                r["invalidValidationCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts.len(), 4);
    let answered = counts[0].0 + counts[0].1;
    assert!(answered > 1, "{counts:?}");
    assert!(counts.iter().all(|(r, w)| r + w == answered), "{counts:?}");
    assert!(answered as usize <= voters.len() * 4, "{counts:?}");
    let right: u64 = counts.iter().map(|c| c.0).sum();
    assert!(
        right > 0 && right < 4 * answered,
        "reliability 0.6-0.98 gets some right and some wrong: {counts:?}"
    );

    // Deleting the set changes no job: the job kept its tasks.
    assert_eq!(
        api.delete(&format!("/validation-set/{vs}")).await.status,
        204
    );
    assert_eq!(results(&api, &job).await["results"], doc["results"]);
    emu.shutdown().await;
}

async fn custom_audience(api: &Api, name: &str, examples: usize) -> String {
    let a = api
        .post(
            "/audience",
            json!({"name": name, "filters": [{"_t": "LanguageFilter", "languages": ["en"]}]}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let id = a.body["audienceId"].as_str().unwrap().to_string();
    for i in 0..examples {
        let ex = json!({"asset": {"_t": "TextAssetInput", "text": format!("example {i}")},
            "payload": {"_t": "ClassifyExamplePayload", "categories": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}], "title": "Yes?"},
            "truth": {"_t": "ClassifyExampleTruth", "correctCategories": ["yes"]}, "randomCorrectProbability": 0.5});
        let a = api.post(&format!("/audience/{id}/example"), ex).await;
        assert_eq!(a.status, 200, "{}", a.raw);
    }
    id
}

async fn filter(api: &Api, base: &str, countries: &[&str]) -> String {
    let a = api
        .post(
            &format!("/audience/{base}/filter"),
            json!({"filter": {"_t": "CountryFilter", "countries": countries}}),
        )
        .await;
    assert_on_contract("POST /audience/{baseAudienceId}/filter", &a);
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["audienceId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_filtered_audience_runs_on_its_base_audience_graduates_only() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_fast(dir.path(), 1000.0).await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 3).await;
    let base = custom_audience(&api, "base-pool", 3).await;
    let narrowed = filter(&api, &base, &["US"]).await;
    assert!(
        narrowed.starts_with("fau_") && narrowed != base,
        "{narrowed}"
    );

    let a = api.get(&format!("/audience/{narrowed}")).await;
    assert_on_contract("GET /audience/{audienceId}", &a);
    assert_eq!(a.body["baseAudienceId"], base.as_str());
    assert_eq!(a.body["name"], "base-pool");
    assert_eq!(
        a.body["filters"],
        json!([{"_t": "CountryFilter", "countries": ["US"]}])
    );

    // The base has not recruited: nobody graduated, so the filtered audience's job waits.
    let job = assign(&api, &def, &narrowed).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = api.get(&format!("/job/{job}/progress")).await;
    assert_eq!(p.body["responseCount"], 0, "{}", p.raw);
    let m = api.get(&format!("/audience/{narrowed}/user-metrics")).await;
    assert_on_contract("GET /audience/{audienceId}/user-metrics", &m);
    assert_eq!(m.body["usersPerState"]["Graduated"], 0);
    let jobs = api
        .get(&format!(
            "/jobs?audience_id%5Beq%5D={narrowed}&sort=-created_at"
        ))
        .await;
    assert_eq!(jobs.body["items"][0]["jobId"], job.as_str(), "{}", jobs.raw);

    // What a filtered audience has no own of.
    for (path, body) in [
        (format!("/audience/{narrowed}/recruit"), Value::Null),
        (
            format!("/audience/{narrowed}/example"),
            json!({"asset": {"_t": "TextAssetInput", "text": "x"},
                "payload": {"_t": "ClassifyExamplePayload", "categories": [{"label": "a", "value": "a"}], "title": "t"},
                "truth": {"_t": "ClassifyExampleTruth", "correctCategories": ["a"]}, "randomCorrectProbability": 1.0}),
        ),
        (
            format!("/audience/{narrowed}/filter"),
            json!({"filter": {"_t": "CountryFilter", "countries": ["CA"]}}),
        ),
    ] {
        let a = api.post(&path, body).await;
        assert_problem(&a, 400);
        assert!(a.raw.contains("filter"), "{path}: {}", a.raw);
    }
    let a = api
        .patch(
            &format!("/audience/{narrowed}"),
            json!({"filters": [{"_t": "CountryFilter", "countries": ["CA"]}]}),
        )
        .await;
    assert_problem(&a, 400);
    assert_problem(
        &api.post(
            "/audience/nope/filter",
            json!({"filter": {"_t": "CountryFilter", "countries": ["US"]}}),
        )
        .await,
        404,
    );

    // The base recruits and graduates labelers: the filtered audience's job runs on them,
    // narrowed to its country.
    assert_eq!(
        api.post(&format!("/audience/{base}/recruit"), Value::Null)
            .await
            .status,
        204
    );
    wait_completed(&api, &job, Duration::from_secs(10)).await;
    let doc = results(&api, &job).await;
    let details: Vec<&Value> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["detailedResults"].as_array().unwrap())
        .map(|d| &d["userDetails"])
        .collect();
    assert_eq!(details.len(), 9);
    assert!(
        details
            .iter()
            .all(|d| d["country"] == "US" && d["language"] == "en"),
        "{details:?}"
    );
    let a = api.get(&format!("/audience/{narrowed}")).await;
    assert_eq!(a.body["status"], "Ready");
    assert!(a.body["qualifiedUserCount"].as_u64().unwrap() > 0);

    // A filtered view on the global pool is ready at once; a filtered audience can be deleted.
    let global_us = filter(&api, "global", &["US"]).await;
    let job2 = assign(&api, &def, &global_us).await;
    wait_completed(&api, &job2, Duration::from_secs(10)).await;
    let d = api.delete(&format!("/audience/{narrowed}")).await;
    assert_eq!(d.status, 204, "{}", d.raw);
    assert_problem(&api.get(&format!("/audience/{narrowed}")).await, 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_filtered_audience_of_a_base_without_enough_examples_never_completes() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_fast(dir.path(), 1000.0).await;
    let api = Api::connect(&emu).await;
    let def = definition(&api, 2).await;
    // Two examples and recruiting: nobody graduates (the SDK's bar is 3 examples).
    let base = custom_audience(&api, "thin-pool", 2).await;
    api.post(&format!("/audience/{base}/recruit"), Value::Null)
        .await;
    let narrowed = filter(&api, &base, &["DE"]).await;
    let job = assign(&api, &def, &narrowed).await;
    let base_job = assign(&api, &def, &base).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    for j in [&job, &base_job] {
        let a = api.get(&format!("/job/{j}")).await;
        assert_eq!(a.body["state"], "Running", "{}", a.raw);
        assert_eq!(
            api.get(&format!("/job/{j}/progress")).await.body["responseCount"],
            0
        );
    }
    let m = api.get(&format!("/audience/{base}/user-metrics")).await;
    assert_eq!(m.body["usersPerState"]["Graduated"], 0, "{}", m.raw);
    assert!(m.body["usersPerState"]["Distilling"].as_u64().unwrap() > 0);
    emu.shutdown().await;
}

/// A ranking definition over one group of `size` texts.
async fn ranking(api: &Api, size: usize, pair_maker: Value, votes: u32) -> String {
    let ds = api.create_dataset("rank").await;
    for i in 0..size {
        let mut dp = text_datapoint(&format!("item {i}"), &format!("r{i}"), i as i64);
        dp["group"] = json!("g0");
        let a = api.post(&format!("/dataset/{ds}/datapoint"), dp).await;
        assert_eq!(a.status, 200, "{}", a.raw);
    }
    let wf = json!({"_t": "GroupedRankingWorkflow", "criteria": "Which is better?",
        "pairMakerConfig": pair_maker,
        "rankingConfig": {"_t": "BradleyTerryRankingConfig", "startingScore": 1200}});
    let a = api
        .post(
            "/job/definition",
            json!({"definitionName": "rank", "workflow": wf,
                "referee": {"_t": "NaiveReferee", "totalVotes": votes}, "datasetId": ds}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["definitionId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_ranking_collects_its_votes_per_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_fast(dir.path(), 2000.0).await;
    let api = Api::connect(&emu).await;
    // Online pair maker: a budget of 50 comparisons, 2 responses each (the SDK sends
    // responses_per_comparison as totalVotes).
    let online = ranking(
        &api,
        8,
        json!({"_t": "OnlinePairMaker", "totalComparisonBudget": 50, "randomMatchesRatio": 0.5}),
        2,
    )
    .await;
    // Full permutation: every pair of 3 items once, 4 responses each.
    let full = ranking(&api, 3, json!({"_t": "FullPermutationPairMaker"}), 4).await;
    for (def, want) in [(online, 100u64), (full, 12u64)] {
        let job = assign(&api, &def, "global").await;
        wait_completed(&api, &job, Duration::from_secs(10)).await;
        let p = api.get(&format!("/job/{job}/progress")).await;
        assert_eq!(p.body["responseCount"].as_u64(), Some(want), "{}", p.raw);
        let doc = results(&api, &job).await;
        let votes: u64 = doc["results"][0]["aggregatedResults"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(votes, want, "{}", doc["results"][0]);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn a_token_lifetime_beyond_a_timestamp_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = |ttl: u64, faults: FaultPlan| EmulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        client_id: ID.into(),
        client_secret: SECRET.into(),
        token_ttl: Duration::from_secs(ttl),
        faults,
        contract_cut: false,
    };
    let e = rapidata::emulator::start(config(u64::MAX, FaultPlan::default()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--token-ttl 18446744073709551615 is too large") && e.contains("at most"),
        "{e}"
    );
    let plan = FaultPlan {
        token_ttl_secs: Some(10_000_000_000_000),
        ..FaultPlan::default()
    };
    let e = rapidata::emulator::start(config(3600, plan))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("token_ttl_secs 10000000000000 is too large"),
        "{e}"
    );
    // A long but representable lifetime works, and its tokens are accepted.
    let emu = rapidata::emulator::start(config(50 * 365 * 86_400, FaultPlan::default()))
        .await
        .unwrap();
    let api = Api::connect(&emu).await;
    assert_eq!(api.get("/audience/global").await.status, 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_datapoint_reads_back_on_its_contract_model() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let ds = api.create_dataset("dp").await;
    let a = api
        .post(
            &format!("/dataset/{ds}/datapoint"),
            text_datapoint("hello", "k1", 7),
        )
        .await;
    let id = a.body["datapointId"].as_str().unwrap().to_string();
    let a = api.get(&format!("/datapoint/{id}")).await;
    assert_on_contract("GET /datapoint/{datapointId}", &a);
    // GetDatapointEndpointOutput (DatapointsApi, the class the SDK's service layer uses).
    let keys: Vec<&str> = a
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "createdAt",
            "datasetId",
            "id",
            "segments",
            "sortIndex",
            "state"
        ]
    );
    assert_eq!(a.body["sortIndex"], 7);
    let asset = &a.body["segments"][0]["asset"];
    assert_eq!(asset["_t"], "TextAsset", "{}", a.raw);
    assert!(asset["metadata"].is_object() && asset["identifier"].is_string());
    emu.shutdown().await;
}
