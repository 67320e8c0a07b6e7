//! Behaviour of the emulator's API: auth, validation, datapoints, revisions, orders,
//! persistence across restarts.

use crate::emulator_support;

use std::time::Duration;

use emulator_support::*;
use rapidata::emulator::FaultPlan;
use serde_json::{json, Value};

#[tokio::test]
async fn token_is_issued_and_bad_clients_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let base = emu.base_url();

    let ok = token(&base, ID, SECRET).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let tok = body["access_token"].as_str().unwrap();
    assert!(tok.len() >= 32);

    let bad = token(&base, ID, "wrong").await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let http = reqwest::Client::new();
    let info: Value = http
        .get(format!("{base}/connect/userinfo"))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info["sub"].is_string() && info["email"].is_string() && info["role"].is_array());

    let api = Api::connect(&emu).await;
    let unauth = Api {
        token: "not-a-token".into(),
        ..api
    };
    assert_problem(&unauth.get("/jobs").await, 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_with(dir.path(), FaultPlan::default(), Duration::from_secs(1)).await;
    let api = Api::connect(&emu).await;
    assert_eq!(api.get("/jobs").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let a = api.get("/jobs").await;
    assert_problem(&a, 401);
    assert!(a.body["detail"].as_str().unwrap().contains("expired"));
    emu.shutdown().await;
}

#[tokio::test]
async fn validation_errors_are_problem_details_with_field_paths() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;

    let a = api.post("/dataset", json!({"schema": null})).await;
    assert_problem(&a, 400);
    assert!(a.body["errors"]["name"].is_array(), "{}", a.raw);

    let ds = api.create_dataset("v").await;
    let bad_t = json!({"segments": [{"key": "asset", "kind": "Asset", "asset": {"_t": "PictureInput", "name": "x"}}]});
    let a = api.post(&format!("/dataset/{ds}/datapoint"), bad_t).await;
    assert_problem(&a, 400);
    assert!(
        a.body["errors"]["segments[0].asset._t"].is_array(),
        "{}",
        a.raw
    );

    let wrong_type = json!({"segments": [], "sortIndex": "first"});
    let a = api
        .post(&format!("/dataset/{ds}/datapoint"), wrong_type)
        .await;
    assert!(a.body["errors"]["sortIndex"].is_array(), "{}", a.raw);

    // The dataset schema: required segment missing, unknown key.
    let a = api.post(&format!("/dataset/{ds}/datapoint"), json!({"segments": [{"key": "answer_options", "kind": "OptionList", "options": [{"label": "a", "value": "a"}]}]})).await;
    assert_problem(&a, 400);
    assert!(a.raw.contains("'asset' is missing"), "{}", a.raw);

    // A file name the emulator never issued.
    let unknown = json!({"segments": [
        {"key": "asset", "kind": "Asset", "asset": {"_t": "ExistingAssetInput", "name": "deadbeef_cat.png"}},
        {"key": "answer_options", "kind": "OptionList", "options": [{"label": "a", "value": "a"}]}]});
    let a = api.post(&format!("/dataset/{ds}/datapoint"), unknown).await;
    assert_problem(&a, 400);
    assert!(
        a.body["errors"]["segments[0].asset.name"].is_array(),
        "{}",
        a.raw
    );

    let a = api.get("/dataset/000000000000000000000000").await;
    assert_problem(&a, 404);
    let a = api.post("/dataset", json!({"name": "x"})).await;
    assert!(a.trace_id.is_some_and(|t| t.len() == 32));
    emu.shutdown().await;
}

#[tokio::test]
async fn datapoints_round_trip_with_metadata_paging_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let ds = api.create_dataset("dp").await;

    let upload = api.upload("cat.png", vec![1, 2, 3, 4]).await;
    assert_eq!(upload.status, 200, "{}", upload.raw);
    let file_name = upload.body["fileName"].as_str().unwrap().to_string();
    assert!(file_name.ends_with("_cat.png"));
    assert_eq!(upload.body["originalSizeBytes"], 4);

    let file_dp = json!({"segments": [
        {"key": "asset", "kind": "Asset", "asset": {"_t": "ExistingAssetInput", "name": file_name,
            "metadata": {"rapidata-key": {"_t": "TextMetadataInput", "text": "k-file", "visibilities": ["Customers"]}}}},
        {"key": "context", "kind": "Text", "text": "some context"},
        {"key": "answer_options", "kind": "OptionList", "options": [{"label": "a", "value": "a"}]}],
        "sortIndex": 0, "group": null, "privateMetadata": {"k": "1"}});
    let a = api.post(&format!("/dataset/{ds}/datapoint"), file_dp).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let file_id = a.body["datapointId"].as_str().unwrap().to_string();

    let mut ids = vec![file_id.clone()];
    for i in 0..24 {
        let a = api
            .post(
                &format!("/dataset/{ds}/datapoint"),
                text_datapoint(&format!("text {i}"), &format!("k-{i}"), i),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.raw);
        ids.push(a.body["datapointId"].as_str().unwrap().to_string());
    }

    // One datapoint, full view.
    let one = api.get(&format!("/datapoint/{file_id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["datasetId"], ds.as_str());
    assert_eq!(one.body["state"], "Ready");
    let asset = &one.body["segments"][0]["asset"];
    assert_eq!(asset["_t"], "FileAsset");
    assert_eq!(asset["fileName"], file_name.as_str());
    assert_eq!(
        asset["metadata"]["rapidata-key"],
        json!({"_t": "TextMetadata", "text": "k-file"})
    );
    assert_eq!(
        asset["metadata"]["originalFilename"]["originalFilename"],
        "cat.png"
    );
    assert_eq!(one.body["segments"][1]["originalText"], "some context");

    // Pages in creation order, totals, every key readable from the listing.
    let mut seen = Vec::new();
    let mut keys = Vec::new();
    for page in 1..=3 {
        let a = api
            .get(&format!(
                "/dataset/{ds}/datapoints?page={page}&page_size=10"
            ))
            .await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body["total"], 25);
        assert_eq!(a.body["totalPages"], 3);
        assert_eq!(a.body["pageSize"], 10);
        for item in a.body["items"].as_array().unwrap() {
            assert_eq!(
                item.as_object().unwrap().len(),
                3,
                "list items have only id, datasetId, segments"
            );
            seen.push(item["id"].as_str().unwrap().to_string());
            keys.push(
                item["segments"][0]["asset"]["metadata"]["rapidata-key"]["text"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(keys[0], "k-file");
    assert_eq!(keys[24], "k-23");

    // Descending order and id filters.
    let a = api
        .get(&format!(
            "/dataset/{ds}/datapoints?page=1&page_size=2&sort=-created_at"
        ))
        .await;
    assert_eq!(a.body["items"][0]["id"], ids[24].as_str());
    let a = api
        .get(&format!(
            "/dataset/{ds}/datapoints?id%5Bin%5D={}&id%5Bin%5D={}",
            ids[3], ids[7]
        ))
        .await;
    assert_eq!(a.body["total"], 2);

    // Delete, then the datapoint is gone and the total drops.
    let d = api.delete(&format!("/datapoint/{}", ids[5])).await;
    assert_eq!(d.status, 204);
    assert!(d.raw.is_empty());
    assert_problem(&api.get(&format!("/datapoint/{}", ids[5])).await, 404);
    assert_problem(&api.delete(&format!("/datapoint/{}", ids[5])).await, 404);
    let a = api
        .get(&format!("/dataset/{ds}/datapoints?page=1&page_size=100"))
        .await;
    assert_eq!(a.body["total"], 24);
    assert!(!a.raw.contains(&ids[5]));
    let p = api.get(&format!("/dataset/{ds}/progress")).await;
    assert_eq!(p.body["total"], 24);
    emu.shutdown().await;
}

#[tokio::test]
async fn revisions_inherit_and_conflict_on_stale_base() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let ds = api.create_dataset("rev").await;
    let ds2 = api.create_dataset("rev2").await;
    let a = api
        .post(
            "/job/definition",
            json!({"definitionName": "def", "workflow": workflow("v1"),
        "referee": {"_t": "NaiveReferee", "totalVotes": 3}, "datasetId": ds}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let def = a.body["definitionId"].as_str().unwrap().to_string();

    let r1 = api.get(&format!("/job/definition/{def}/revision")).await;
    assert_eq!(r1.body["revisionNumber"], 1);
    assert_eq!(r1.body["workflow"]["rapid"]["title"]["literal"], "v1");

    // Revision 2: new workflow, referee inherited.
    let a = api
        .post(
            &format!("/job/definition/{def}/revision"),
            json!({"workflow": workflow("v2"), "referee": null,
        "datasetId": null, "baseRevisionNumber": 1, "requireLatest": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["revisionNumber"], 2);
    let r2 = api.get(&format!("/job/definition/{def}/revision/2")).await;
    assert_eq!(r2.body["workflow"]["rapid"]["title"]["literal"], "v2");
    assert_eq!(r2.body["referee"]["totalVotes"], 3);
    assert_eq!(r2.body["datasetId"], ds.as_str());
    assert_eq!(r2.body["baseRevisionNumber"], 1);

    // Revision 3 moves to a new dataset.
    let a = api
        .post(
            &format!("/job/definition/{def}/revision"),
            json!({"datasetId": ds2}),
        )
        .await;
    assert_eq!(a.body["revisionNumber"], 3);
    assert_eq!(
        api.get(&format!("/job/definition/{def}/revision"))
            .await
            .body["datasetId"],
        ds2.as_str()
    );

    // A stale base with requireLatest conflicts and names the latest revision.
    let a = api
        .post(
            &format!("/job/definition/{def}/revision"),
            json!({"baseRevisionNumber": 1, "requireLatest": true}),
        )
        .await;
    assert_problem(&a, 409);
    assert_eq!(a.body["latestRevisionNumber"], 3);

    let list = api
        .get(&format!(
            "/job/definition/{def}/revisions?page=1&page_size=100&sort=revision_number"
        ))
        .await;
    let numbers: Vec<u64> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revisionNumber"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3]);

    // Name filters, rename, delete.
    let found = api
        .get("/job/definitions?page=1&page_size=10&sort=-created_at&name%5Bcontains%5D=DE")
        .await;
    assert_eq!(found.body["total"], 1);
    assert_eq!(
        api.get("/job/definitions?name%5Beq%5D=de").await.body["total"],
        0
    );
    assert_eq!(
        api.patch(
            &format!("/job/definition/{def}"),
            json!({"name": "renamed"})
        )
        .await
        .status,
        204
    );
    assert_eq!(
        api.get(&format!("/job/definition/{def}")).await.body["name"],
        "renamed"
    );
    assert_eq!(
        api.delete(&format!("/job/definition/{def}")).await.status,
        204
    );
    assert_problem(&api.get(&format!("/job/definition/{def}")).await, 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn jobs_audiences_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let global = api.get("/audience/global").await;
    assert_eq!(global.status, 200);
    assert_eq!(global.body["isPublic"], true);

    let ds = api.create_dataset("j").await;
    let def = api
        .post(
            "/job/definition",
            json!({"definitionName": "jd", "workflow": workflow("q"),
        "referee": {"_t": "NaiveReferee", "totalVotes": 3}, "datasetId": ds}),
        )
        .await
        .body["definitionId"]
        .clone();
    let aud = api
        .post("/audience", json!({"name": "my audience", "filters": []}))
        .await
        .body["audienceId"]
        .clone();
    let a = api.post("/job", json!({"jobDefinitionId": def, "audienceId": aud, "revisionNumber": null, "precedingJobId": null})).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let job = a.body["jobId"].as_str().unwrap().to_string();
    let j = api.get(&format!("/job/{job}")).await;
    assert_eq!(
        (
            j.body["definitionId"].clone(),
            j.body["audienceId"].clone(),
            j.body["state"].clone()
        ),
        (def.clone(), aud.clone(), json!("Running"))
    );
    let jobs = api
        .get(&format!(
            "/jobs?job_definition_id%5Beq%5D={}",
            def.as_str().unwrap()
        ))
        .await;
    assert_eq!(jobs.body["total"], 1);
    assert_eq!(
        api.get("/audiences?name%5Bcontains%5D=my").await.body["total"],
        1
    );
    assert_problem(
        &api.post(
            "/job",
            json!({"jobDefinitionId": def, "audienceId": "nope"}),
        )
        .await,
        400,
    );

    let o = api.post("/order", json!({"orderName": "ord", "workflow": workflow("q"), "referee": {"_t": "NaiveReferee", "totalVotes": 3}})).await;
    assert_eq!(o.status, 200, "{}", o.raw);
    let order = o.body["orderId"].as_str().unwrap().to_string();
    let order_ds = o.body["datasetId"].as_str().unwrap().to_string();
    assert_eq!(api.get(&format!("/dataset/{order_ds}")).await.status, 200);
    assert_eq!(
        api.get(&format!("/order/{order}")).await.body["state"],
        "Created"
    );
    assert_eq!(
        api.post(
            &format!("/order/{order}/submit"),
            json!({"ignoreFailedDatapoints": null})
        )
        .await
        .status,
        204
    );
    let got = api.get(&format!("/order/{order}")).await;
    // The order's dataset is known only from the create response (contract fact 16).
    assert_eq!(
        (got.body["state"].clone(), got.body.get("datasetId")),
        (json!("Submitted"), None)
    );
    assert_eq!(
        api.get("/orders?order_name%5Beq%5D=ord").await.body["total"],
        1
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn state_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let ds = api.create_dataset("persist").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            api.post(
                &format!("/dataset/{ds}/datapoint"),
                text_datapoint("t", &format!("k{i}"), i),
            )
            .await
            .body["datapointId"]
                .clone(),
        );
    }
    let def = api
        .post(
            "/job/definition",
            json!({"definitionName": "p", "workflow": workflow("q"),
        "referee": {"_t": "NaiveReferee", "totalVotes": 3}, "datasetId": ds}),
        )
        .await
        .body["definitionId"]
        .clone();
    emu.shutdown().await;

    let emu = start(dir.path()).await;
    let old_token = Api {
        base: emu.base_url(),
        token: api.token.clone(),
        http: reqwest::Client::new(),
    };
    let a = old_token
        .get(&format!("/dataset/{ds}/datapoints?page=1&page_size=10"))
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["total"], 5);
    let listed: Vec<Value> = a.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(
        old_token
            .get(&format!("/job/definition/{}", def.as_str().unwrap()))
            .await
            .status,
        200
    );
    // New datapoints get fresh ids after the restart.
    let new_id = old_token
        .post(
            &format!("/dataset/{ds}/datapoint"),
            text_datapoint("t", "k5", 5),
        )
        .await
        .body["datapointId"]
        .clone();
    assert!(!ids.contains(&new_id));
    emu.shutdown().await;
}

#[tokio::test]
async fn bulk_seeded_datapoints_page_through_completely() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path()).await;
    let api = Api::connect(&emu).await;
    let ds = api.create_dataset("bulk").await;
    let segs = text_datapoint("bulk", "k", 0)["segments"].clone();
    emu.bulk_insert_datapoints(&ds, segs, 2500).await.unwrap();
    assert!(emu
        .bulk_insert_datapoints("missing", json!([]), 1)
        .await
        .is_err());
    let mut n = 0;
    let mut last = String::new();
    for page in 1..=3 {
        let a = api
            .get(&format!(
                "/dataset/{ds}/datapoints?page={page}&page_size=5000"
            ))
            .await;
        assert_eq!(
            a.body["pageSize"], 1000,
            "page size is clamped to the maximum"
        );
        assert_eq!(a.body["total"], 2500);
        for item in a.body["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_string();
            assert!(id > last, "ids come in creation order");
            last = id;
            n += 1;
        }
    }
    assert_eq!(n, 2500);
    emu.shutdown().await;
}
