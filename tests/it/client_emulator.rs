//! End to end: the client against the real emulator, through every operation apply uses.

use crate::support;

use std::net::SocketAddr;

use rapidata::emulator::{self, EmulatorConfig};
use rapidata::manifest::model::*;
use rapidata::remote::wire_build as wb;
use rapidata::remote::*;
use serde_json::json;
use support::fixtures::*;

#[tokio::test]
async fn every_operation_round_trips_through_the_emulator() {
    every_operation(false).await;
}

/// The client's reads, checked as `contract_client` checks its writes: every operation
/// again against answers cut to what the contract promises (no field a response model
/// lacks, none the other model of a route generated twice lacks, no optional `null`).
#[tokio::test]
async fn every_operation_reads_only_what_the_contract_promises() {
    every_operation(true).await;
}

async fn every_operation(contract_cut: bool) {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator::start(EmulatorConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().to_path_buf(),
        contract_cut,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let mut cfg = support::config(&emu.base_url());
    cfg.credentials = Credentials::ClientSecret {
        client_id: emulator::DEFAULT_CLIENT_ID.into(),
        client_secret: Secret::new(emulator::DEFAULT_CLIENT_SECRET),
    };
    let client = Client::new(cfg).unwrap();
    client.check_credentials().await.unwrap();

    let task = Task::Classify {
        instruction: "Cat?".into(),
        answer_options: vec!["yes".into(), "no".into()],
    };
    let ds = client
        .create_dataset(&wb::dataset_body("e2e_dataset", &task))
        .await
        .unwrap();

    // A file asset and a text asset.
    let img = dir.path().join("cat.png");
    std::fs::write(&img, b"\x89PNG\r\n\x1a\nfake").unwrap();
    let file_name = client.upload_file(&img, "cat.png").await.unwrap();
    let mut d1 = dp(
        "cat",
        vec![Asset::File {
            path: img.clone(),
            file_name: "cat.png".into(),
            size: 12,
            content_hash: "h".into(),
        }],
    );
    d1.context = Some("ctx".into());
    let d2 = dp("txt", vec![Asset::Text("hello".into())]);
    let up = |_: &Asset| Some(file_name.clone());
    let id1 = client
        .create_datapoint(&ds, &wb::datapoint_body(&task, &d1, &up).unwrap())
        .await
        .unwrap();
    let id2 = client
        .create_datapoint(&ds, &wb::datapoint_body(&task, &d2, &up).unwrap())
        .await
        .unwrap();

    let mut listed = client.list_datapoints(&ds).await.unwrap();
    listed.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(
        listed[0].files.len(),
        1,
        "the uploaded file is known for reuse"
    );
    assert_eq!(
        listed,
        vec![
            RemoteDatapoint {
                id: id1.clone(),
                key: Some("cat".into()),
                fingerprint: Some("fp-cat".into()),
                files: listed[0].files.clone(),
                adopted: false,
                answer_options: Some(["yes".to_string(), "no".to_string()].into()),
            },
            RemoteDatapoint {
                id: id2.clone(),
                key: Some("txt".into()),
                fingerprint: Some("fp-txt".into()),
                files: Vec::new(),
                adopted: false,
                answer_options: Some(["yes".to_string(), "no".to_string()].into()),
            },
        ]
    );
    client.delete_datapoint(&id2).await.unwrap();
    client.delete_datapoint(&id2).await.unwrap(); // already gone: still Ok
    assert_eq!(client.list_datapoints(&ds).await.unwrap().len(), 1);
    let progress = client.dataset_progress(&ds).await.unwrap();
    assert_eq!(progress.total, 1);

    // Definition, revision.
    let spec = LabelingSpec {
        validation_set: None,
        task: task.clone(),
        referee: Referee::Quorum {
            threshold: 2,
            max_votes: 5,
        },
        settings: Default::default(),
        failure_tolerance: 0.0,
        prune: false,
        datapoints: rapidata::manifest::Datapoints::from_vec(vec![d1.clone()]),
    };
    let def = client
        .create_job_definition(&wb::job_definition_body("e2e-def", &spec, &ds))
        .await
        .unwrap();
    let found = client.find_job_definitions("e2e-def").await.unwrap();
    assert_eq!(
        found.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![def.clone()]
    );
    assert!(
        client.find_job_definitions("e2e").await.unwrap().is_empty(),
        "exact names only"
    );
    let rev = client.latest_revision(&def).await.unwrap();
    assert_eq!((rev.number, rev.dataset_id.as_str()), (1, ds.as_str()));
    assert_eq!(
        rev.referee,
        json!({"_t": "QuorumReferee", "maxVotes": 5, "threshold": 2})
    );
    let mut spec2 = spec.clone();
    spec2.settings.insert("no_shuffle".into(), "true".into());
    let n = client
        .create_revision(&def, &wb::revision_body(&spec2, &ds, rev.number))
        .await
        .unwrap();
    assert_eq!(n, 2);
    let rev2 = client.latest_revision(&def).await.unwrap();
    assert_eq!(rev2.number, 2);
    assert_eq!(
        rev2.feature_flags,
        vec![("no_shuffle".to_string(), "true".to_string())]
    );

    // Audience, job.
    let aud = client
        .create_audience(&wb::audience_body(&audience(vec![], Some("desc"))))
        .await
        .unwrap();
    assert_eq!(
        client.find_audiences("my-audience").await.unwrap()[0].id,
        aud
    );
    let job = client
        .create_job(&wb::job_body(&def, &aud, Some(1), "e2e-job"))
        .await
        .unwrap();
    let got = client.get_job(&job).await.unwrap();
    assert_eq!(
        (
            got.definition_id.as_str(),
            got.audience_id.as_str(),
            got.revision_number
        ),
        (def.as_str(), aud.as_str(), 1)
    );
    let jobs = client.find_jobs(&def).await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        vec![job]
    );

    // Order.
    let (order, order_ds) = client
        .create_order(&wb::order_body("e2e-order", &spec))
        .await
        .unwrap();
    let order_ds = order_ds.expect("emulator returns the order's dataset");
    client
        .create_datapoint(&order_ds, &wb::datapoint_body(&task, &d1, &up).unwrap())
        .await
        .unwrap();
    let o = client.get_order(&order).await.unwrap();
    assert_eq!(o.name, "e2e-order");
    // `GET /order/{id}` has no `datasetId` (fact 16): only the create response says.
    assert_eq!(o.dataset_id, None);
    client.submit_order(&order).await.unwrap();
    let orders = client.find_orders("e2e-order").await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_ne!(orders[0].state, "Created", "submitted");

    // URL batch.
    let urls = vec!["https://example.com/a.jpg".to_string()];
    let res = client.upload_urls(&urls).await.unwrap();
    assert!(matches!(&res[0].1, UrlUpload::Completed { .. }), "{res:?}");

    client.delete_job_definition(&def).await.unwrap();
    assert!(client
        .find_job_definitions("e2e-def")
        .await
        .unwrap()
        .is_empty());
    let stats = client.stats();
    assert_eq!(stats.retries, 0);
    assert_eq!(stats.token_fetches, 1);
    emu.shutdown().await;
}
