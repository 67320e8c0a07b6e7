//! wire_build produces what SDK 3.27.1 sends (third_party/api/wire-examples.jsonl).

use crate::support;

use rapidata::manifest::model::*;
use rapidata::remote::wire_build as wb;
use rapidata::remote::{FINGERPRINT_METADATA, KEY_METADATA};
use serde_json::{json, Value};
use support::fixtures::*;

fn examples() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/third_party/api/wire-examples.jsonl"
    ))
    .unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The request body of the first example matching flow, method and path suffix, and
/// (optionally) containing `needle` in its JSON.
fn example(flow: &str, method: &str, path_end: &str, needle: &str) -> Value {
    examples()
        .into_iter()
        .find(|e| {
            e["flow"] == flow
                && e["method"] == method
                && e["path"].as_str().unwrap().ends_with(path_end)
                && e["body"].to_string().contains(needle)
        })
        .unwrap_or_else(|| panic!("no example {flow} {method} {path_end} {needle}"))["body"]
        .clone()
}

fn classify(instruction: &str, options: &[&str]) -> Task {
    Task::Classify {
        instruction: instruction.into(),
        answer_options: options.iter().map(|s| s.to_string()).collect(),
    }
}

fn spec_with(task: Task, referee: Referee) -> LabelingSpec {
    LabelingSpec {
        validation_set: None,
        task,
        referee,
        settings: Default::default(),
        failure_tolerance: 0.0,
        prune: false,
        datapoints: Default::default(),
    }
}

/// The SDK body plus what we add on purpose: key/fingerprint metadata, and `sortIndex`
/// null (it is not a stable identity).
fn with_our_additions(mut sdk: Value, key: &str, fp: &str) -> Value {
    sdk["sortIndex"] = Value::Null;
    sdk["segments"][0]["asset"]["metadata"] = json!({
        KEY_METADATA: {"_t": "TextMetadataInput", "text": key, "visibilities": ["Customers"]},
        FINGERPRINT_METADATA: {"_t": "TextMetadataInput", "text": fp, "visibilities": ["Customers"]},
    });
    sdk
}

#[test]
fn classify_file_datapoint_matches_sdk() {
    let sdk = example(
        "flow1-images-with-missing-file",
        "POST",
        "/datapoint",
        "cat1.png",
    );
    let task = classify("Is this a cat?", &["yes", "no"]);
    let mut d = dp("cat-1", vec![file_asset("cat1.png")]);
    d.private_metadata.insert("k".into(), "1".into());
    let name = "192c49af22fb43a18bb036be80a0b355_cat1.png".to_string();
    let body = wb::datapoint_body(&task, &d, &|_| Some(name.clone())).unwrap();
    assert_eq!(body, with_our_additions(sdk, "cat-1", "fp-cat-1"));
}

#[test]
fn text_datapoint_with_context_matches_sdk() {
    let sdk = example(
        "flow3-text-datapoints-with-context",
        "POST",
        "/datapoint",
        "I love it",
    );
    let task = classify("Is the sentence positive?", &["positive", "negative"]);
    let mut d = dp("t1", vec![Asset::Text("I love it".into())]);
    d.context = Some("ctx a".into());
    let body = wb::datapoint_body(&task, &d, &|_| None).unwrap();
    assert_eq!(body, with_our_additions(sdk, "t1", "fp-t1"));
}

/// The bytes apply sends are the body the SDK-pinned tests above check, field order
/// included, with the fingerprint apply gives the datapoint.
#[test]
fn the_bytes_apply_sends_are_the_pinned_datapoint_body() {
    let task = classify("Is this a cat?", &["yes", "no"]);
    let mut d = dp("cat-1", vec![file_asset("cat1.png")]);
    d.private_metadata.insert("k".into(), "1".into());
    d.context = Some("ctx".into());
    let up = |_: &Asset| Some("remote_cat1.png".to_string());
    let bytes = wb::datapoint_body_json(&task, &d, "f00d", &up).unwrap();
    d.fingerprint = "f00d".into();
    let value = wb::datapoint_body(&task, &d, &up).unwrap();
    assert_eq!(bytes, serde_json::to_vec(&value).unwrap());
    assert_eq!(wb::datapoint_body_json(&task, &d, "f00d", &|_| None), None);
}

#[test]
fn datapoint_with_a_missing_upload_is_not_built() {
    let task = classify("q", &["a", "b"]);
    let d = dp("x", vec![file_asset("x.png")]);
    assert_eq!(wb::datapoint_body(&task, &d, &|_| None), None);
    let mut with_ctx = dp("y", vec![Asset::Text("t".into())]);
    with_ctx.context_asset = Some(file_asset("ctx.png"));
    assert_eq!(wb::datapoint_body(&task, &with_ctx, &|_| None), None);
}

#[test]
fn dataset_body_matches_sdk() {
    let sdk = example(
        "flow1-images-with-missing-file",
        "POST",
        "/dataset",
        "probe-images_dataset",
    );
    assert_eq!(
        wb::dataset_body("probe-images_dataset", &classify("q", &["a"])),
        sdk
    );
    let words = wb::dataset_schema(&Task::SelectWords {
        instruction: "q".into(),
    });
    assert_eq!(words.len(), 4);
    assert_eq!(
        words[3],
        json!({"key": "transcription", "kind": "Text", "label": "Transcription", "required": true})
    );
    assert_eq!(
        wb::dataset_schema(&Task::Locate {
            instruction: "q".into()
        })
        .len(),
        3
    );
}

#[test]
fn job_definition_bodies_match_sdk() {
    let sdk = example(
        "flow1b-retry-after-creating-missing-file",
        "POST",
        "/job/definition",
        "probe-images",
    );
    let s = spec_with(
        classify("Is this a cat?", &["yes", "no"]),
        Referee::Naive {
            responses_per_datapoint: 5,
        },
    );
    assert_eq!(
        wb::job_definition_body("probe-images", &s, "d9c3739012d745259b9bb24d"),
        sdk
    );

    let sdk = example(
        "flow3-text-datapoints-with-context",
        "POST",
        "/job/definition",
        "probe-text",
    );
    let s = spec_with(
        classify("Is the sentence positive?", &["positive", "negative"]),
        Referee::Quorum {
            threshold: 3,
            max_votes: 7,
        },
    );
    assert_eq!(
        wb::job_definition_body("probe-text", &s, "9abaca7d1cd04b06a5a889e6"),
        sdk
    );
}

#[test]
fn revision_body_matches_sdk_save() {
    let sdk = example("flow6-edit-and-save-revision", "POST", "/revision", "(v2)");
    let s = spec_with(
        classify("Is the sentence positive? (v2)", &["positive", "negative"]),
        Referee::Quorum {
            threshold: 3,
            max_votes: 9,
        },
    );
    assert_eq!(wb::revision_body(&s, "9abaca7d1cd04b06a5a889e6", 1), sdk);
}

#[test]
fn audience_and_job_bodies_match_sdk() {
    let sdk = example(
        "flow7-create-audience-assign-job",
        "POST",
        "/audience",
        "probe-audience",
    );
    let mut a = audience(vec![], None);
    a.name = "probe-audience".into();
    assert_eq!(wb::audience_body(&a), sdk);

    let mut sdk = example(
        "flow7-create-audience-assign-job",
        "POST",
        "/job",
        "revisionNumber",
    );
    let body = wb::job_body(
        "503353b3f5954f06a528c36e",
        "3895ed9d0fd84a5297f306ad",
        Some(3),
        "my-job",
    );
    // We add the manifest name so the job can be found again; the rest is the SDK's.
    sdk["name"] = json!("my-job");
    assert_eq!(body, sdk);
    assert_eq!(
        wb::job_body("d", "a", None, "n")["revisionNumber"],
        Value::Null
    );
}

#[test]
fn rapid_specs_follow_the_sdk_workflows() {
    let w = |t: Task| wb::workflow(&t);
    let i = || "Find it".to_string();
    assert_eq!(
        w(Task::Compare { instruction: i() }),
        json!({"_t": "SimpleWorkflow", "rapid": {"_t": "Compare", "asset": {"segment": "asset"}, "criteria": {"literal": "Find it"}, "indexIdentifiers": null}})
    );
    assert_eq!(
        w(Task::FreeText { instruction: i() })["rapid"]["question"],
        json!({"literal": "Find it"})
    );
    assert_eq!(
        w(Task::Locate { instruction: i() })["rapid"]["_t"],
        "Locate"
    );
    assert_eq!(w(Task::Draw { instruction: i() })["rapid"]["_t"], "Line");
    assert_eq!(
        w(Task::Timestamp { instruction: i() })["rapid"]["_t"],
        "Scrub"
    );
    assert_eq!(
        w(Task::SelectWords { instruction: i() })["rapid"],
        json!({"_t": "Transcription", "asset": {"segment": "asset"}, "title": {"literal": "Find it"}, "transcription": {"segment": "transcription"}})
    );
}

#[test]
fn ranking_sizes_pair_maker_and_votes_like_the_sdk() {
    let task = Task::Ranking {
        instruction: "Best?".into(),
        comparison_budget_per_ranking: 30,
        responses_per_comparison: 2,
    };
    let mut s = spec_with(task.clone(), Referee::default());
    // Two groups: 4 and 2 items → full permutation, 6 pairs → 30/6 = 5 comparisons per pair.
    for (n, g) in ["a", "a", "a", "a", "b", "b"].iter().enumerate() {
        let mut d = dp(&format!("r{n}"), vec![Asset::Text(format!("item {n}"))]);
        d.group = Some(g.to_string());
        push(&mut s, d);
    }
    let body = wb::job_definition_body("rank", &s, "ds");
    assert_eq!(
        body["workflow"]["pairMakerConfig"],
        json!({"_t": "FullPermutationPairMaker"})
    );
    assert_eq!(
        body["workflow"]["rankingConfig"],
        json!({"_t": "BradleyTerryRankingConfig", "startingScore": 1200})
    );
    assert_eq!(
        body["referee"],
        json!({"_t": "NaiveReferee", "totalVotes": 10})
    );
    // 11 items in one group → online pair maker with the whole budget.
    for n in 0..11 {
        let mut d = dp(&format!("big{n}"), vec![Asset::Text(format!("x{n}"))]);
        d.group = Some("c".into());
        push(&mut s, d);
    }
    let body = wb::job_definition_body("rank", &s, "ds");
    assert_eq!(
        body["workflow"]["pairMakerConfig"],
        json!({"_t": "OnlinePairMaker", "totalComparisonBudget": 30, "randomMatchesRatio": 0.5})
    );
    assert_eq!(body["referee"]["totalVotes"], 2);
    // Grouped datapoints carry no context; the group does.
    let mut d = dp("g", vec![Asset::Text("t".into())]);
    d.group = Some("c".into());
    d.context = Some("shared".into());
    let dpb = wb::datapoint_body(&task, &d, &|_| None).unwrap();
    assert_eq!(dpb["segments"].as_array().unwrap().len(), 1);
    assert_eq!(dpb["group"], "c");
    let gb = wb::group_body("c", &d, &|_| None).unwrap();
    assert_eq!(
        gb,
        json!({"group": "c", "segments": [{"key": "context", "kind": "Text", "text": "shared"}]})
    );
}

#[test]
fn compare_datapoints_are_multi_assets_with_metadata_on_top() {
    let task = Task::Compare {
        instruction: "Better?".into(),
    };
    let d = dp(
        "c1",
        vec![file_asset("a.png"), Asset::Url("https://x/b.jpg".into())],
    );
    let body = wb::datapoint_body(&task, &d, &uploaded).unwrap();
    let asset = &body["segments"][0]["asset"];
    assert_eq!(asset["_t"], "MultiAssetInput");
    assert_eq!(
        asset["assets"][0],
        json!({"_t": "ExistingAssetInput", "name": "up_a.png"})
    );
    assert_eq!(asset["assets"][1]["_t"], "ExistingAssetInput");
    assert_eq!(asset["metadata"][KEY_METADATA]["text"], "c1");
    assert_eq!(asset["metadata"][FINGERPRINT_METADATA]["text"], "fp-c1");
}

#[test]
fn referees_and_feature_flags() {
    assert_eq!(
        wb::referee(&Referee::Naive {
            responses_per_datapoint: 4
        }),
        json!({"_t": "NaiveReferee", "totalVotes": 4})
    );
    assert_eq!(
        wb::referee(&Referee::EarlyStopping {
            confidence_threshold: 0.99,
            max_votes: 8
        }),
        json!({"_t": "EarlyStoppingReferee", "threshold": 0.99, "maxVotes": 8})
    );
    let flags = wb::feature_flags(
        &[
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]
        .into_iter()
        .collect(),
    );
    assert_eq!(
        flags,
        vec![
            json!({"key": "a", "value": "1"}),
            json!({"key": "b", "value": "2"})
        ]
    );
    let mut s = spec_with(classify("q", &["a", "b"]), Referee::default());
    assert!(wb::job_definition_body("n", &s, "d")
        .get("rapidFeatureFlags")
        .is_none());
    s.settings.insert("no_shuffle".into(), "true".into());
    assert_eq!(
        wb::job_definition_body("n", &s, "d")["rapidFeatureFlags"],
        json!([{"key": "no_shuffle", "value": "true"}])
    );
    assert_eq!(
        wb::revision_body(&s, "d", 2)["rapidFeatureFlags"],
        json!([{"key": "no_shuffle", "value": "true"}])
    );
}

/// Appends a datapoint to a spec (the datapoint set is immutable once built).
fn push(s: &mut rapidata::manifest::LabelingSpec, d: rapidata::manifest::Datapoint) {
    let mut all = s.datapoints.to_vec().unwrap();
    all.push(d);
    s.datapoints = rapidata::manifest::Datapoints::from_vec(all);
}
