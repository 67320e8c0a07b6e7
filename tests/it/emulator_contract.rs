//! Contract test: every endpoint the emulator serves answers with bodies that validate against
//! the response schemas of `third_party/api/contract-3.27.1.json` and carry no field those
//! schemas do not declare, with the right content types, and every endpoint of the contract
//! is served.

use crate::emulator_support;

use std::collections::BTreeSet;

use emulator_support::*;
use rapidata::contract::Contract;
use serde_json::{json, Value};

/// Checks one answer against the contract entry `endpoint` and records the endpoint as covered.
fn check(covered: &mut BTreeSet<String>, endpoint: &str, a: &Answer) {
    let contract = Contract::get();
    assert!(
        contract.endpoint(endpoint).is_some(),
        "{endpoint} is not in the contract"
    );
    let status = a.status.as_u16();
    assert!(a.trace_id.is_some(), "{endpoint}: no x-trace-id");
    if status == 204 {
        assert!(a.raw.is_empty(), "{endpoint}: 204 with a body");
    } else if (200..300).contains(&status) {
        assert_eq!(a.content_type, "application/json", "{endpoint}");
        let schema = contract
            .response_schema(endpoint, status)
            .unwrap_or_else(|| panic!("{endpoint}: no schema for {status}"));
        if schema["format"] == "binary" {
            // A file download (results): the document of understanding_the_results.md.
            assert_results_document(&a.body);
        } else {
            let errs = contract.validate(schema, &a.body);
            assert!(errs.is_empty(), "{endpoint} {status}: {errs:?}\n{}", a.raw);
            let extra = contract.undeclared(schema, &a.body);
            assert!(
                extra.is_empty(),
                "{endpoint} {status}: fields the contract does not declare: {extra:?}\n{}",
                a.raw
            );
        }
    } else {
        assert_problem(a, status);
    }
    covered.insert(endpoint.to_string());
}

#[tokio::test]
async fn every_endpoint_answers_on_contract() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let mut c = BTreeSet::new();

    let a = api
        .post(
            "/dataset",
            json!({"name": "contract", "schema": sdk_schema()}),
        )
        .await;
    check(&mut c, "POST /dataset", &a);
    let ds = a.body["datasetId"].as_str().unwrap().to_string();
    check(
        &mut c,
        "GET /dataset/{datasetId}",
        &api.get(&format!("/dataset/{ds}")).await,
    );
    check(
        &mut c,
        "POST /dataset",
        &api.post("/dataset", json!({"name": 1})).await,
    );

    let up = api.upload("cat.png", vec![9; 16]).await;
    check(&mut c, "POST /asset/file", &up);
    let file_name = up.body["fileName"].as_str().unwrap().to_string();
    let url = api
        .post(
            "/asset/url?url=https%3A%2F%2Fa.example%2Fdog.jpg",
            Value::Null,
        )
        .await;
    check(&mut c, "POST /asset/url", &url);
    let batch = api.post("/asset/batch-upload", json!({"urls": ["https://a.example/x.jpg"], "correlationId": "corr", "compression": null})).await;
    check(&mut c, "POST /asset/batch-upload", &batch);
    let batch_id = batch.body["batchUploadId"].as_str().unwrap().to_string();
    check(
        &mut c,
        "GET /asset/batch-upload/status",
        &api.get("/asset/batch-upload/status?correlationId=corr")
            .await,
    );
    check(
        &mut c,
        "GET /asset/batch-upload/status",
        &api.get(&format!(
            "/asset/batch-upload/status?batchUploadIds={batch_id}"
        ))
        .await,
    );
    check(
        &mut c,
        "GET /asset/batch-upload/{batchUploadId}",
        &api.get(&format!("/asset/batch-upload/{batch_id}")).await,
    );
    check(
        &mut c,
        "POST /asset/batch-upload/{batchUploadId}/abort",
        &api.post(
            &format!("/asset/batch-upload/{batch_id}/abort"),
            Value::Null,
        )
        .await,
    );
    let from_batch = api
        .get(&format!("/asset/batch-upload/{batch_id}"))
        .await
        .body["items"][0]["fileName"]
        .as_str()
        .unwrap()
        .to_string();

    // Datapoints with every asset kind.
    let options = json!([{"label": "a", "value": "a"}]);
    let bodies = [
        json!({"segments": [{"key": "asset", "kind": "Asset", "asset": {"_t": "ExistingAssetInput", "name": file_name, "metadata": {"rapidata-key": {"_t": "TextMetadataInput", "text": "k1", "visibilities": ["Customers"]}}}},
            {"key": "answer_options", "kind": "OptionList", "options": options}], "sortIndex": 0, "group": null, "privateMetadata": {"k": "1"}}),
        json!({"segments": [{"key": "asset", "kind": "Asset", "asset": {"_t": "MultiAssetInput", "assets": [
                {"_t": "ExistingAssetInput", "name": url.body["fileName"]}, {"_t": "ExistingAssetInput", "name": from_batch}, {"_t": "TextAssetInput", "text": "t"}]}},
            {"key": "context", "kind": "Text", "text": "ctx"},
            {"key": "context_asset", "kind": "Asset", "asset": {"_t": "TextAssetInput", "text": "more", "identifier": null, "metadata": null}},
            {"key": "answer_options", "kind": "OptionList", "options": options}]}),
        text_datapoint("plain", "k3", 2),
    ];
    let mut dp_ids = Vec::new();
    for body in bodies {
        let a = api.post(&format!("/dataset/{ds}/datapoint"), body).await;
        check(&mut c, "POST /dataset/{datasetId}/datapoint", &a);
        dp_ids.push(a.body["datapointId"].as_str().unwrap().to_string());
    }
    check(
        &mut c,
        "POST /dataset/{datasetId}/datapoint",
        &api.post(
            &format!("/dataset/{ds}/datapoint"),
            json!({"segments": [{"key": "asset"}]}),
        )
        .await,
    );
    check(
        &mut c,
        "GET /dataset/{datasetId}/datapoints",
        &api.get(&format!(
            "/dataset/{ds}/datapoints?page=1&page_size=2&sort=-created_at"
        ))
        .await,
    );
    check(
        &mut c,
        "GET /dataset/{datasetId}/datapoints",
        &api.get(&format!("/dataset/{ds}/datapoints?sort=sort_index"))
            .await,
    );
    for id in &dp_ids {
        check(
            &mut c,
            "GET /datapoint/{datapointId}",
            &api.get(&format!("/datapoint/{id}")).await,
        );
    }
    check(
        &mut c,
        "GET /dataset/{datasetId}/datapoints/failed",
        &api.get(&format!("/dataset/{ds}/datapoints/failed")).await,
    );
    check(
        &mut c,
        "GET /dataset/{datasetId}/progress",
        &api.get(&format!("/dataset/{ds}/progress")).await,
    );
    check(&mut c, "POST /dataset/{datasetId}/group", &api.post(&format!("/dataset/{ds}/group"), json!({"group": "g1", "segments": [{"key": "context", "kind": "Text", "text": "group context"}]})).await);
    check(
        &mut c,
        "DELETE /datapoint/{datapointId}",
        &api.delete(&format!("/datapoint/{}", dp_ids[2])).await,
    );
    check(
        &mut c,
        "GET /datapoint/{datapointId}",
        &api.get(&format!("/datapoint/{}", dp_ids[2])).await,
    );

    // Definitions and revisions.
    let a = api.post("/job/definition", json!({"definitionName": "contract-def", "workflow": workflow("q?"),
        "referee": {"_t": "QuorumReferee", "maxVotes": 7, "threshold": 3}, "datasetId": ds,
        "rapidFeatureFlags": [{"key": "a", "value": "b"}], "campaignFeatureFlags": null, "aggregatorType": null})).await;
    check(&mut c, "POST /job/definition", &a);
    let def = a.body["definitionId"].as_str().unwrap().to_string();
    check(&mut c, "POST /job/definition", &api.post("/job/definition", json!({"definitionName": "x", "workflow": {"_t": "NoSuchWorkflow"}, "referee": {"_t": "NaiveReferee", "totalVotes": 1}, "datasetId": ds})).await);
    check(
        &mut c,
        "GET /job/definition/{definitionId}",
        &api.get(&format!("/job/definition/{def}")).await,
    );
    check(
        &mut c,
        "PATCH /job/definition/{definitionId}",
        &api.patch(
            &format!("/job/definition/{def}"),
            json!({"name": "contract-def-2"}),
        )
        .await,
    );
    check(&mut c, "POST /job/definition/{definitionId}/revision", &api.post(&format!("/job/definition/{def}/revision"),
        json!({"workflow": workflow("q2"), "referee": {"_t": "NaiveReferee", "totalVotes": 4}, "datasetId": ds, "rapidFeatureFlags": [],
            "campaignFeatureFlags": [], "baseRevisionNumber": 1, "requireLatest": false, "aggregatorType": null, "validationSetId": null})).await);
    check(
        &mut c,
        "POST /job/definition/{definitionId}/revision",
        &api.post(
            &format!("/job/definition/{def}/revision"),
            json!({"baseRevisionNumber": 1, "requireLatest": true}),
        )
        .await,
    );
    check(
        &mut c,
        "GET /job/definition/{definitionId}/revision",
        &api.get(&format!("/job/definition/{def}/revision")).await,
    );
    check(
        &mut c,
        "GET /job/definition/{definitionId}/revision/{revisionNumber}",
        &api.get(&format!("/job/definition/{def}/revision/1")).await,
    );
    check(
        &mut c,
        "GET /job/definition/{definitionId}/revision/{revisionNumber}",
        &api.get(&format!("/job/definition/{def}/revision/9")).await,
    );
    check(
        &mut c,
        "GET /job/definition/{definitionId}/revisions",
        &api.get(&format!(
            "/job/definition/{def}/revisions?page=1&page_size=100&sort=revision_number"
        ))
        .await,
    );
    check(
        &mut c,
        "GET /job/definitions",
        &api.get(
            "/job/definitions?page=1&page_size=10&sort=-created_at&name%5Bcontains%5D=contract",
        )
        .await,
    );

    // Audiences and jobs.
    let a = api.post("/audience", json!({"name": "contract-aud", "filters": [{"_t": "CountryFilter", "countries": ["CH"]}]})).await;
    check(&mut c, "POST /audience", &a);
    let aud = a.body["audienceId"].as_str().unwrap().to_string();
    check(
        &mut c,
        "GET /audience/{audienceId}",
        &api.get(&format!("/audience/{aud}")).await,
    );
    check(
        &mut c,
        "GET /audience/{audienceId}",
        &api.get("/audience/global").await,
    );
    check(
        &mut c,
        "GET /audience/{audienceId}/user-metrics",
        &api.get(&format!("/audience/{aud}/user-metrics")).await,
    );
    check(
        &mut c,
        "GET /audiences",
        &api.get("/audiences?page=1&page_size=10&sort=-created_at&name%5Bcontains%5D=aud")
            .await,
    );
    let a = api.post("/job", json!({"jobDefinitionId": def, "audienceId": aud, "revisionNumber": 2, "precedingJobId": null, "checkForExplicitContent": null, "experimentId": null})).await;
    check(&mut c, "POST /job", &a);
    let job = a.body["jobId"].as_str().unwrap().to_string();
    check(
        &mut c,
        "GET /job/{jobId}",
        &api.get(&format!("/job/{job}")).await,
    );
    check(
        &mut c,
        "GET /job/{jobId}/progress",
        &api.get(&format!("/job/{job}/progress")).await,
    );
    check(
        &mut c,
        "GET /jobs",
        &api.get(&format!(
            "/jobs?job_definition_id%5Beq%5D={def}&page=1&page_size=10"
        ))
        .await,
    );
    check(&mut c, "GET /job/{jobId}", &api.get("/job/unknown").await);

    // Orders.
    let a = api.post("/order", json!({"orderName": "contract-order", "workflow": workflow("q"), "referee": {"_t": "NaiveReferee", "totalVotes": 3}, "priority": null})).await;
    check(&mut c, "POST /order", &a);
    let order = a.body["orderId"].as_str().unwrap().to_string();
    check(
        &mut c,
        "GET /order/{orderId}",
        &api.get(&format!("/order/{order}")).await,
    );
    check(
        &mut c,
        "POST /order/{orderId}/preview",
        &api.post(
            &format!("/order/{order}/preview"),
            json!({"ignoreFailedDatapoints": true}),
        )
        .await,
    );
    check(
        &mut c,
        "POST /order/{orderId}/submit",
        &api.post(&format!("/order/{order}/submit"), json!({})).await,
    );
    check(
        &mut c,
        "GET /orders",
        &api.get("/orders?order_name%5Bcontains%5D=contract").await,
    );

    quality_control(&api, &mut c, &def, &file_name).await;
    lifecycle(&api, &mut c, &ds, &def, &aud, &job, &order, &file_name).await;

    check(
        &mut c,
        "DELETE /job/definition/{definitionId}",
        &api.delete(&format!("/job/definition/{def}")).await,
    );
    check(
        &mut c,
        "DELETE /job/definition/{definitionId}",
        &api.delete(&format!("/job/definition/{def}")).await,
    );

    // Every endpoint of the contract was exercised.
    let all: BTreeSet<String> = Contract::get().root()["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = all.difference(&c).collect();
    assert!(missing.is_empty(), "endpoints not exercised: {missing:?}");
    emu.shutdown().await;
}

/// The SDK's recorded request bodies pass the emulator's request validation (no false
/// rejections), and the recorded responses validate against the contract with the same
/// validator the test above uses.
#[test]
fn wire_examples_validate() {
    let contract = Contract::get();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/third_party/api/wire-examples.jsonl"
    ))
    .unwrap();
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let ex: Value = serde_json::from_str(line).unwrap();
        if ex["host"] != "api" {
            continue;
        }
        let id = contract.root()["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                e["method"] == ex["method"]
                    && path_matches(e["path"].as_str().unwrap(), ex["path"].as_str().unwrap())
            })
            .map(|e| e["id"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no endpoint for {} {}", ex["method"], ex["path"]));
        let endpoint = contract.endpoint(&id).unwrap();
        if let Some(schema) = endpoint["requestBody"]
            .get("schema")
            .filter(|s| s.get("$ref").is_some())
        {
            let errs = contract.validate(schema, &ex["body"]);
            assert!(errs.is_empty(), "request of {id}: {errs:?}");
            checked += 1;
        }
        let status = ex["status"].as_u64().unwrap() as u16;
        if let Some(schema) = contract.response_schema(&id, status) {
            if status < 300 {
                let errs = contract.validate(schema, &ex["response"]);
                assert!(errs.is_empty(), "response of {id}: {errs:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} bodies checked");
}

fn path_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
}

/// The v2 lifecycle endpoints (contract facts 12-19).
#[allow(clippy::too_many_arguments)]
async fn lifecycle(
    api: &Api,
    c: &mut BTreeSet<String>,
    ds: &str,
    def: &str,
    aud: &str,
    job: &str,
    order: &str,
    file_name: &str,
) {
    check(
        c,
        "PATCH /dataset/{datasetId}/name",
        &api.patch(&format!("/dataset/{ds}/name"), json!({"name": "renamed"}))
            .await,
    );
    check(
        c,
        "PATCH /dataset/{datasetId}/name",
        &api.patch("/dataset/nope/name", json!({"name": "x"})).await,
    );
    assert_eq!(
        api.get(&format!("/dataset/{ds}")).await.body["name"],
        "renamed"
    );
    check(
        c,
        "GET /job/definition/{definitionId}/cost-estimate",
        &api.get(&format!("/job/definition/{def}/cost-estimate"))
            .await,
    );
    check(
        c,
        "GET /job/{jobId}/cost-estimate",
        &api.get(&format!("/job/{job}/cost-estimate")).await,
    );
    check(
        c,
        "PATCH /job/{jobId}",
        &api.patch(&format!("/job/{job}"), json!({"name": "renamed job"}))
            .await,
    );
    check(
        c,
        "POST /job/{jobId}/pause",
        &api.post(&format!("/job/{job}/pause"), Value::Null).await,
    );
    check(
        c,
        "GET /job/{jobId}",
        &api.get(&format!("/job/{job}")).await,
    );
    check(
        c,
        "POST /job/{jobId}/resume",
        &api.post(&format!("/job/{job}/resume"), Value::Null).await,
    );
    check(
        c,
        "GET /job/{jobId}/download-results",
        &api.get(&format!("/job/{job}/download-results")).await,
    );
    check(
        c,
        "GET /audience/{audienceId}/jobs",
        &api.get(&format!(
            "/audience/{aud}/jobs?page=1&page_size=10&sort=-created_at&status%5Beq%5D=Running"
        ))
        .await,
    );

    // Audience lifecycle: update, examples, recruiting.
    check(
        c,
        "PATCH /audience/{audienceId}",
        &api.patch(&format!("/audience/{aud}"), json!({"name": "renamed audience",
            "filters": [{"_t": "LanguageFilter", "languages": ["de"]}, {"_t": "CountryFilter", "countries": ["DE", "AT"]}],
            "description": null, "graduationRule": {"_t": "TaskAccuracy", "targetAccuracy": 0.8, "minTasks": 12}}))
            .await,
    );
    check(
        c,
        "PATCH /audience/{audienceId}",
        &api.patch("/audience/global", json!({"name": "mine now"}))
            .await,
    );
    let example = json!({"asset": {"_t": "ExistingAssetInput", "name": file_name},
        "payload": {"_t": "ClassifyExamplePayload", "categories": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}], "title": "Cat?"},
        "truth": {"_t": "ClassifyExampleTruth", "correctCategories": ["yes"]}, "context": null, "contextAsset": null,
        "explanation": null, "randomCorrectProbability": 0.5, "featureFlags": null});
    check(
        c,
        "POST /audience/{audienceId}/example",
        &api.post(&format!("/audience/{aud}/example"), example.clone())
            .await,
    );
    let text_example = json!({"asset": {"_t": "TextAssetInput", "text": "I love it"},
        "payload": {"_t": "ClassifyExamplePayload", "categories": [{"label": "positive", "value": "positive"}], "title": "Positive?"},
        "truth": {"_t": "ClassifyExampleTruth", "correctCategories": ["positive"]}, "randomCorrectProbability": 1.0});
    check(
        c,
        "POST /audience/{audienceId}/example",
        &api.post(&format!("/audience/{aud}/example"), text_example)
            .await,
    );
    let mut bad = example;
    bad["asset"]["name"] = json!("never-uploaded.png");
    check(
        c,
        "POST /audience/{audienceId}/example",
        &api.post(&format!("/audience/{aud}/example"), bad).await,
    );
    let list = api
        .get(&format!("/audience/{aud}/examples?page=1&page_size=10"))
        .await;
    check(c, "GET /audience/{audienceId}/examples", &list);
    assert_eq!(list.body["total"], 2, "{}", list.raw);
    let ex = list.body["items"][0]["id"].as_str().unwrap().to_string();
    check(
        c,
        "PATCH /audience/{audienceId}/example/{exampleId}",
        &api.patch(
            &format!("/audience/{aud}/example/{ex}"),
            json!({"instructionText": "Is it a cat?", "explanation": "Whiskers.", "visibility": "Public"}),
        )
        .await,
    );
    let list = api.get(&format!("/audience/{aud}/examples")).await;
    check(c, "GET /audience/{audienceId}/examples", &list);
    assert_eq!(list.body["items"][0]["payload"]["title"], "Is it a cat?");
    check(
        c,
        "POST /audience/{audienceId}/recruit",
        &api.post(&format!("/audience/{aud}/recruit"), Value::Null)
            .await,
    );
    check(
        c,
        "GET /audience/{audienceId}/user-metrics",
        &api.get(&format!("/audience/{aud}/user-metrics")).await,
    );
    check(
        c,
        "GET /audience/{audienceId}",
        &api.get(&format!("/audience/{aud}")).await,
    );
    check(
        c,
        "DELETE /audience/example/{exampleId}",
        &api.delete(&format!("/audience/example/{ex}")).await,
    );
    check(
        c,
        "DELETE /audience/example/{exampleId}",
        &api.delete(&format!("/audience/example/{ex}")).await,
    );

    // Orders: update, pause, results, delete.
    check(
        c,
        "PATCH /order/{orderId}",
        &api.patch(
            &format!("/order/{order}"),
            json!({"name": "renamed order", "precedingOrderId": null}),
        )
        .await,
    );
    check(
        c,
        "POST /order/{orderId}/pause",
        &api.post(&format!("/order/{order}/pause"), Value::Null)
            .await,
    );
    check(
        c,
        "GET /order/{orderId}",
        &api.get(&format!("/order/{order}")).await,
    );
    check(
        c,
        "POST /order/{orderId}/resume",
        &api.post(&format!("/order/{order}/resume"), Value::Null)
            .await,
    );
    check(
        c,
        "GET /order/{orderId}/download-results",
        &api.get(&format!("/order/{order}/download-results")).await,
    );
    check(
        c,
        "GET /orders",
        &api.get("/orders?order_name%5Bcontains%5D=renamed").await,
    );
    check(
        c,
        "DELETE /order/{orderId}",
        &api.delete(&format!("/order/{order}")).await,
    );
    check(
        c,
        "GET /order/{orderId}",
        &api.get(&format!("/order/{order}")).await,
    );

    // Deleting the audience leaves the job (audienceDeleted); then the job goes.
    check(
        c,
        "DELETE /audience/{audienceId}",
        &api.delete(&format!("/audience/{aud}")).await,
    );
    let j = api.get(&format!("/job/{job}")).await;
    check(c, "GET /job/{jobId}", &j);
    assert_eq!(j.body["audienceDeleted"], true);
    check(
        c,
        "GET /audience/{audienceId}",
        &api.get(&format!("/audience/{aud}")).await,
    );
    check(
        c,
        "DELETE /job/{jobId}",
        &api.delete(&format!("/job/{job}")).await,
    );
    check(
        c,
        "GET /job/{jobId}",
        &api.get(&format!("/job/{job}")).await,
    );
    check(
        c,
        "DELETE /job/{jobId}",
        &api.delete(&format!("/job/{job}")).await,
    );
}

/// The v3 quality-control endpoints (contract facts 20-21): validation sets, a revision that
/// names one, a job on it, and filtered audiences.
async fn quality_control(api: &Api, c: &mut BTreeSet<String>, def: &str, file_name: &str) {
    let a = api
        .post("/validation-set", json!({"name": "contract-golden"}))
        .await;
    check(c, "POST /validation-set", &a);
    let vs = a.body["validationSetId"].as_str().unwrap().to_string();
    check(
        c,
        "POST /validation-set",
        &api.post("/validation-set", json!({"name": 5})).await,
    );
    let classify = json!({"_t": "ClassifyPayload", "title": "Cat?",
        "categories": [{"label": "yes", "value": "yes"}, {"label": "no", "value": null}]});
    for body in [
        json!({"asset": {"_t": "ExistingAssetInput", "name": file_name}, "payload": classify,
            "truth": {"_t": "AttachCategoryTruth", "correctCategories": ["yes"]},
            "randomCorrectProbability": 0.5, "explanation": "Whiskers.", "context": "Look closely.",
            "contextAsset": {"_t": "TextAssetInput", "text": "a hint"}, "featureFlags": [{"key": "k", "value": "v"}]}),
        json!({"asset": {"_t": "MultiAssetInput", "assets": [{"_t": "TextAssetInput", "text": "A"}, {"_t": "TextAssetInput", "text": "B"}]},
            "payload": {"_t": "ComparePayload", "criteria": "Which is nicer?"},
            "truth": {"_t": "CompareTruth", "winnerId": "A"}, "randomCorrectProbability": 0.5}),
        json!({"asset": {"_t": "TextAssetInput", "text": "no truth"}, "payload": classify, "truth": null}),
    ] {
        check(
            c,
            "POST /validation-set/{validationSetId}/rapid",
            &api.post(&format!("/validation-set/{vs}/rapid"), body).await,
        );
    }
    check(c, "POST /validation-set/{validationSetId}/rapid",
        &api.post(&format!("/validation-set/{vs}/rapid"), json!({"asset": {"_t": "ExistingAssetInput", "name": "never.png"}, "payload": classify})).await);
    check(
        c,
        "POST /validation-set/{validationSetId}/rapid",
        &api.post(
            "/validation-set/nope/rapid",
            json!({"asset": {"_t": "TextAssetInput", "text": "x"}, "payload": classify}),
        )
        .await,
    );
    check(
        c,
        "GET /validation-set/{validationSetId}",
        &api.get(&format!("/validation-set/{vs}")).await,
    );
    check(
        c,
        "GET /validation-set/{validationSetId}",
        &api.get("/validation-set/nope").await,
    );
    check(
        c,
        "PATCH /validation-set/{validationSetId}",
        &api.patch(
            &format!("/validation-set/{vs}"),
            json!({"dimensions": ["cats"], "shouldAlert": false,
            "isPublic": null, "isFlagOverruled": true, "name": "contract-golden-2"}),
        )
        .await,
    );
    check(
        c,
        "PATCH /validation-set/{validationSetId}",
        &api.patch(&format!("/validation-set/{vs}"), json!({"name": ""}))
            .await,
    );
    check(
        c,
        "GET /validation-sets",
        &api.get("/validation-sets?page=1&page_size=10&sort=-created_at&name%5Bcontains%5D=golden")
            .await,
    );
    check(
        c,
        "GET /validation-sets",
        &api.get("/validation-sets?page=0").await,
    );

    // A revision naming the set, a job on it, and the rapids with their counts.
    check(
        c,
        "POST /job/definition/{definitionId}/revision",
        &api.post(
            &format!("/job/definition/{def}/revision"),
            json!({"validationSetId": vs}),
        )
        .await,
    );
    let rev = api.get(&format!("/job/definition/{def}/revision")).await;
    check(c, "GET /job/definition/{definitionId}/revision", &rev);
    assert_eq!(rev.body["validationSetId"], vs.as_str());
    let job = api
        .post(
            "/job",
            json!({"jobDefinitionId": def, "audienceId": "global"}),
        )
        .await;
    check(c, "POST /job", &job);
    let rapids = api
        .get(&format!(
            "/validation-set/{vs}/rapids?page=1&page_size=2&sort=-type"
        ))
        .await;
    check(c, "GET /validation-set/{validationSetId}/rapids", &rapids);
    assert_eq!(rapids.body["total"], 3, "{}", rapids.raw);
    check(
        c,
        "GET /validation-set/{validationSetId}/rapids",
        &api.get(&format!("/validation-set/{vs}/rapids?type%5Beq%5D=Compare"))
            .await,
    );
    check(
        c,
        "GET /validation-set/{validationSetId}/rapids",
        &api.get("/validation-set/nope/rapids").await,
    );
    check(
        c,
        "DELETE /validation-set/{validationSetId}",
        &api.delete(&format!("/validation-set/{vs}")).await,
    );
    check(
        c,
        "DELETE /validation-set/{validationSetId}",
        &api.delete(&format!("/validation-set/{vs}")).await,
    );
    let j = job.body["jobId"].as_str().unwrap();
    check(c, "GET /job/{jobId}", &api.get(&format!("/job/{j}")).await);

    // Filtered audiences, on a custom base and on the global pool.
    let base = api.post("/audience", json!({"name": "contract-base", "filters": [{"_t": "LanguageFilter", "languages": ["en"]}]})).await;
    let base = base.body["audienceId"].as_str().unwrap().to_string();
    let f = api.post(&format!("/audience/{base}/filter"), json!({"filter": {"_t": "AndFilter", "filters": [
        {"_t": "CountryFilter", "countries": ["US"]}, {"_t": "NotFilter", "filter": {"_t": "LanguageFilter", "languages": ["de"]}}]}})).await;
    check(c, "POST /audience/{baseAudienceId}/filter", &f);
    let fau = f.body["audienceId"].as_str().unwrap().to_string();
    check(
        c,
        "GET /audience/{audienceId}",
        &api.get(&format!("/audience/{fau}")).await,
    );
    check(
        c,
        "GET /audience/{audienceId}/user-metrics",
        &api.get(&format!("/audience/{fau}/user-metrics")).await,
    );
    check(
        c,
        "GET /audiences",
        &api.get("/audiences?name%5Bcontains%5D=contract-base").await,
    );
    check(
        c,
        "POST /audience/{baseAudienceId}/filter",
        &api.post(
            "/audience/global/filter",
            json!({"filter": {"_t": "CountryFilter", "countries": ["DE"]}}),
        )
        .await,
    );
    check(
        c,
        "POST /audience/{baseAudienceId}/filter",
        &api.post(
            &format!("/audience/{fau}/filter"),
            json!({"filter": {"_t": "CountryFilter", "countries": ["DE"]}}),
        )
        .await,
    );
    check(
        c,
        "POST /audience/{baseAudienceId}/filter",
        &api.post(
            &format!("/audience/{base}/filter"),
            json!({"filter": {"_t": "NoSuchFilter"}}),
        )
        .await,
    );
    check(
        c,
        "POST /audience/{baseAudienceId}/filter",
        &api.post(
            "/audience/nope/filter",
            json!({"filter": {"_t": "CountryFilter", "countries": ["DE"]}}),
        )
        .await,
    );
    check(
        c,
        "DELETE /audience/{audienceId}",
        &api.delete(&format!("/audience/{fau}")).await,
    );
}

/// Each name field of a request body the contract declares (`name`, `definitionName`,
/// `orderName`), with the `maxLength` it declares (through `anyOf`), by definition.
fn contract_name_limits() -> Vec<(String, String, Option<u64>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/third_party/api/contract-3.27.1.json"
    );
    let root: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let defs = root["definitions"].as_object().unwrap();
    let mut out = Vec::new();
    for e in root["endpoints"].as_array().unwrap() {
        let Some(def) = e["requestBody"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/definitions/"))
        else {
            continue;
        };
        let Some(props) = defs[def]["properties"].as_object() else {
            continue;
        };
        for (field, schema) in props {
            if field != "name" && !field.ends_with("Name") {
                continue;
            }
            let max = std::iter::once(schema)
                .chain(schema["anyOf"].as_array().into_iter().flatten())
                .find_map(|s| s["maxLength"].as_u64());
            out.push((def.to_string(), field.clone(), max));
        }
    }
    out
}

/// Name lengths (issue #20): what `validate` allows fits every name field of the contract
/// (the derived dataset name `{name}_dataset` plus the project marker too), and the emulator
/// refuses exactly what the contract refuses — in 3.27.1 no name field declares a
/// `maxLength`, so the emulator takes a name ten times the manifest limit.
#[tokio::test]
async fn name_lengths_agree_between_the_contract_the_emulator_and_validate() {
    use rapidata::manifest::MAX_NAME_CHARS;
    use rapidata::plan::diff::PROJECT_MARKER;
    let limits = contract_name_limits();
    let limit = |def: &str, field: &str| {
        limits
            .iter()
            .find(|(d, f, _)| d == def && f == field)
            .unwrap_or_else(|| panic!("{def}.{field} is not a name field of the contract"))
            .2
    };
    let dataset_name = MAX_NAME_CHARS + "_dataset".len() + PROJECT_MARKER.chars().count();
    for (def, field, max) in &limits {
        if let Some(max) = *max {
            let longest = if def.contains("Dataset") {
                dataset_name
            } else {
                MAX_NAME_CHARS
            };
            assert!(
                longest as u64 <= max,
                "{def}.{field} takes at most {max} characters; validate lets {longest} through"
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    type Body = fn(String) -> Value;
    let bodies: [(&str, &str, Body); 3] = [
        (
            "/audience",
            "CreateAudienceEndpointInput",
            |n| json!({ "name": n }),
        ),
        (
            "/dataset",
            "CreateDatasetEndpointInput",
            |n| json!({"name": n, "schema": sdk_schema()}),
        ),
        (
            "/validation-set",
            "CreateValidationSetEndpointInput",
            |n| json!({ "name": n }),
        ),
    ];
    for (path, def, body) in bodies {
        match limit(def, "name") {
            Some(max) => {
                let max = usize::try_from(max).unwrap();
                let a = api.post(path, body("n".repeat(max))).await;
                assert!(a.status.is_success(), "{path} at the limit: {}", a.raw);
                let a = api.post(path, body("n".repeat(max + 1))).await;
                assert_problem(&a, 400);
                assert!(a.body["errors"]["name"].is_array(), "{path}: {}", a.raw);
            }
            None => {
                let a = api.post(path, body("n".repeat(10 * MAX_NAME_CHARS))).await;
                assert!(a.status.is_success(), "{path}: {}", a.raw);
            }
        }
    }
}

/// The contract-cut mode (`EmulatorConfig::contract_cut`) answers only what every response
/// model of a route promises: `GET /datapoint/{id}` is generated twice (with `segments`, and
/// with `asset`), so neither is in the answer, and an optional `null` is left out.
#[tokio::test]
async fn contract_cut_answers_only_what_every_model_of_a_route_promises() {
    let dir = tempfile::tempdir().unwrap();
    let start = |cut: bool, sub: &str| {
        rapidata::emulator::start(rapidata::emulator::EmulatorConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join(sub),
            client_id: ID.into(),
            client_secret: SECRET.into(),
            contract_cut: cut,
            ..Default::default()
        })
    };
    for cut in [false, true] {
        let emu = start(cut, if cut { "cut" } else { "whole" }).await.unwrap();
        let api = Api::connect(&emu).await;
        let ds = api.create_dataset("cut").await;
        let a = api
            .post(
                &format!("/dataset/{ds}/datapoint"),
                json!({"segments": [{"key": "asset", "kind": "Asset", "asset": {"_t": "TextAssetInput", "text": "t"}},
                       {"key": "answer_options", "kind": "OptionList", "options": [{"label": "a", "value": "a"}]}],
                       "sortIndex": null}),
            )
            .await;
        let id = a.body["datapointId"].as_str().expect(&a.raw).to_string();
        let got = api.get(&format!("/datapoint/{id}")).await.body;
        let keys: BTreeSet<&str> = got
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        if cut {
            assert_eq!(
                keys,
                BTreeSet::from(["createdAt", "datasetId", "id", "state"]),
                "{got}"
            );
        } else {
            assert!(
                keys.contains("segments") && keys.contains("sortIndex"),
                "{got}"
            );
        }
        // A listing keeps what its model declares.
        let page = api.get(&format!("/dataset/{ds}/datapoints")).await.body;
        assert_eq!(page["items"][0]["segments"][0]["key"], "asset", "{page}");
        emu.shutdown().await;
    }
}
