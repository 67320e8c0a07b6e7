//! Audiences as code against the emulator: apply creates the audience, adds its
//! qualification examples and then starts recruiting (once); a second apply writes nothing;
//! changing one example's truth replaces that example only; a job on the audience gets
//! responses once labelers graduate. Also the plan-time checks on the audiences jobs name.

use crate::harness;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::*;
use rapidata::emulator::FaultPlan;
use rapidata::manifest::{Project, Resource, ResourceKind};
use rapidata::plan::{Action, Plan, Step};
use rapidata::remote::examples::example_body;
use serde_json::json;

fn audience_yaml(cat_truth: &str, prune: bool, recruit: bool) -> String {
    format!(
        r#"apiVersion: rapidata.ai/v1
kind: Audience
name: cat-experts
prune: {prune}
recruit: {recruit}
admission: {{targetAccuracy: 0.8, minTasks: 3, maxTasks: 12}}
filters:
  - {{_t: LanguageFilter, languages: [EN]}}
examples:
  - type: classify
    instruction: Is this a cat?
    answerOptions: [yes, no]
    asset: images/img-00000.png
    truth: [{cat_truth}]
  - type: classify
    instruction: Is this a cat?
    answerOptions: [yes, no]
    asset: images/img-00001.png
    truth: [no]
    explanation: It barks.
  - type: compare
    instruction: Which text is about cats?
    assets: [{{text: Cats purr.}}, {{text: Dogs bark.}}]
    truth: Cats purr.
  - type: locate
    instruction: Tap the cat
    asset: images/img-00002.png
    truth: [{{xMin: 0.1, yMin: 0.2, xMax: 0.5, yMax: 0.6}}]
    context: Look closely.
---
apiVersion: rapidata.ai/v1
kind: Job
name: cats-on-experts
definition: animals
audience: cat-experts
"#
    )
}

/// The harness project (a definition over 3 images) plus `audience.yaml`.
fn write(dir: &Path, audience: &str) -> PathBuf {
    let root = write_project(
        dir,
        &ProjectSpec {
            images: 3,
            with_job: false,
            ..Default::default()
        },
    );
    std::fs::write(root.join("audience.yaml"), audience).unwrap();
    root
}

fn audience_plan(p: &Plan) -> &rapidata::plan::ResourcePlan {
    p.resources
        .iter()
        .find(|r| r.kind == ResourceKind::Audience && r.origin.is_some())
        .expect("the audience is planned")
}

fn manifest_keys(project: &Project) -> BTreeSet<String> {
    project
        .resources
        .iter()
        .find_map(|r| match r {
            Resource::Audience(a) => Some(a.examples.iter().map(|e| e.key.clone()).collect()),
            _ => None,
        })
        .unwrap()
}

async fn remote_keys(env: &Env) -> Vec<(String, String)> {
    let found = env.client.find_audiences("cat-experts").await.unwrap();
    assert_eq!(found.len(), 1);
    let mut v: Vec<(String, String)> = env
        .client
        .list_examples(&found[0].id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.key.unwrap_or_default(), e.id))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn apply_adds_the_examples_then_starts_recruiting_and_the_job_gets_responses() {
    let env = env(FaultPlan::default()).await;
    let project = load(&write(env.dir.path(), &audience_yaml("yes", false, true)));
    let p = plan(&env, &project, false).await;
    assert_eq!(
        audience_plan(&p).steps,
        vec![
            Step::CreateAudience,
            Step::AddExamples,
            Step::StartRecruiting
        ]
    );
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let audience_writes: Vec<&String> = out
        .writes
        .iter()
        .filter(|w| w.ends_with("Audience/cat-experts"))
        .collect();
    assert_eq!(
        audience_writes,
        vec![
            "CreateAudience Audience/cat-experts",
            "AddExamples Audience/cat-experts",
            "StartRecruiting Audience/cat-experts"
        ]
    );
    // Exactly the manifest's examples are remote, each once.
    let remote: Vec<String> = remote_keys(&env).await.into_iter().map(|k| k.0).collect();
    assert_eq!(
        remote.iter().cloned().collect::<BTreeSet<_>>(),
        manifest_keys(&project)
    );
    assert_eq!(remote.len(), 4);
    // The filter went out normalised, the admission bar as the graduation rule.
    let a = &env.client.find_audiences("cat-experts").await.unwrap()[0];
    assert_eq!(
        a.filters,
        vec![json!({"_t": "LanguageFilter", "languages": ["en"]})]
    );
    assert_eq!(
        a.graduation_rule,
        json!({"_t": "TaskAccuracy", "targetAccuracy": 0.8, "minTasks": 3, "maxTasks": 12})
    );
    assert!(a.recruiting_started());

    // A second apply writes nothing: no step, and no write request reaches the API.
    let writes_before = env.emulator.stats().writes();
    let again = apply(&env, &project, 3).await;
    assert!(again.converged());
    assert!(again.writes.is_empty(), "{:?}", again.writes);
    assert_eq!(env.emulator.stats().writes(), writes_before);

    // Labelers graduate; then the job on the audience collects its responses.
    let job = env.client.find_jobs_named("cats-on-experts").await.unwrap();
    assert_eq!(job.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut graduated = 0;
    let mut state = String::new();
    while Instant::now() < deadline {
        graduated = env
            .client
            .recruiting_metrics(&a.id)
            .await
            .unwrap()
            .map_or(0, |m| m.graduated);
        state = env.client.get_job(&job[0].id).await.unwrap().state;
        if graduated > 0 && state == "Completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(graduated > 0, "no labeler graduated");
    assert_eq!(state, "Completed", "the job got its responses");
}

#[tokio::test]
async fn changing_one_truth_replaces_that_example_only() {
    let env = env(FaultPlan::default()).await;
    let project = load(&write(env.dir.path(), &audience_yaml("yes", true, true)));
    assert!(apply(&env, &project, 3).await.converged());
    let before = remote_keys(&env).await;

    let changed = load(&write(env.dir.path(), &audience_yaml("no", true, true)));
    let p = plan(&env, &changed, false).await;
    let ap = audience_plan(&p);
    assert_eq!(ap.steps, vec![Step::AddExamples, Step::RemoveExamples]);
    let ex = ap.examples.as_ref().unwrap();
    assert_eq!((ex.add.len(), ex.remove.len(), ex.unchanged), (1, 1, 3));
    let old_keys = manifest_keys(&project);
    let new_keys = manifest_keys(&changed);
    let gone: Vec<&String> = old_keys.difference(&new_keys).collect();
    assert_eq!(ex.remove[0].key, *gone[0]);

    let out = apply(&env, &changed, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    assert_eq!(
        out.writes,
        vec![
            "AddExamples Audience/cat-experts",
            "RemoveExamples Audience/cat-experts"
        ]
    );
    let after = remote_keys(&env).await;
    assert_eq!(
        after.iter().map(|k| k.0.clone()).collect::<BTreeSet<_>>(),
        new_keys
    );
    // The three unchanged examples are the same remote objects as before.
    let kept: Vec<&(String, String)> = before.iter().filter(|k| new_keys.contains(&k.0)).collect();
    assert_eq!(kept.len(), 3);
    for k in kept {
        assert!(after.contains(k), "{k:?} was replaced");
    }
}

#[tokio::test]
async fn without_prune_a_changed_example_is_added_and_the_old_one_kept() {
    let env = env(FaultPlan::default()).await;
    let project = load(&write(env.dir.path(), &audience_yaml("yes", false, true)));
    assert!(apply(&env, &project, 3).await.converged());
    let changed = load(&write(env.dir.path(), &audience_yaml("no", false, true)));
    let p = plan(&env, &changed, false).await;
    let ap = audience_plan(&p);
    assert_eq!(ap.steps, vec![Step::AddExamples]);
    assert_eq!(ap.examples.as_ref().unwrap().orphaned, 1);
    assert!(
        ap.notes.iter().any(|n| n.contains("prune")),
        "{:?}",
        ap.notes
    );
    // `--prune` removes it.
    let pruned = plan(&env, &changed, true).await;
    assert_eq!(
        audience_plan(&pruned).steps,
        vec![Step::AddExamples, Step::RemoveExamples]
    );
}

#[tokio::test]
async fn recruit_false_adds_examples_but_does_not_recruit_and_the_job_is_warned() {
    let env = env(FaultPlan::default()).await;
    let project = load(&write(env.dir.path(), &audience_yaml("yes", false, false)));
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    assert!(!out.writes.iter().any(|w| w.starts_with("StartRecruiting")));
    let a = &env.client.find_audiences("cat-experts").await.unwrap()[0];
    assert!(!a.recruiting_started());
    let p = plan(&env, &project, false).await;
    assert!(!p.has_changes());
    let job = resource_of(&p, ResourceKind::Job);
    assert!(
        job.notes
            .iter()
            .any(|n| n.contains("cannot produce responses")
                && n.contains("recruiting has not started")),
        "{:?}",
        job.notes
    );
}

#[tokio::test]
async fn a_job_on_an_audience_that_does_not_exist_is_blocked_with_a_suggestion() {
    let env = env(FaultPlan::default()).await;
    let yaml =
        audience_yaml("yes", false, true).replace("audience: cat-experts", "audience: cat-expert");
    let project = load(&write(env.dir.path(), &yaml));
    let p = plan(&env, &project, false).await;
    let job = resource_of(&p, ResourceKind::Job);
    assert_eq!(job.action, Action::Blocked);
    assert!(job.steps.is_empty());
    let reason = job.reason.as_deref().unwrap();
    assert!(reason.contains("`cat-expert`"), "{reason}");
    assert!(
        reason.contains("did you mean the Audience manifest `cat-experts`?"),
        "{reason}"
    );
    // A bare remote audience named by id exists, but cannot produce responses: a warning.
    let bare = env
        .client
        .create_audience(&json!({"name": "bare", "filters": []}))
        .await
        .unwrap();
    let by_id = load(&write(
        env.dir.path(),
        &audience_yaml("yes", false, true)
            .replace("audience: cat-experts", &format!("audience: {bare}")),
    ));
    let p = plan(&env, &by_id, false).await;
    let job = resource_of(&p, ResourceKind::Job);
    assert_eq!(job.action, Action::Create);
    assert!(
        job.notes
            .iter()
            .any(|n| n.contains("`bare` cannot produce responses") && n.contains("never started")),
        "{:?}",
        job.notes
    );
    // `global` (the public audience) is never blocked.
    let global = load(&write(
        env.dir.path(),
        &audience_yaml("yes", false, true).replace("audience: cat-experts", "audience: global"),
    ));
    let p = plan(&env, &global, false).await;
    assert!(p.blocked().next().is_none());
}

#[test]
fn example_bodies_are_what_the_sdk_sends() {
    let dir = tempfile::tempdir().unwrap();
    let project = load(&write(dir.path(), &audience_yaml("yes", false, true)));
    let a = project
        .resources
        .iter()
        .find_map(|r| match r {
            Resource::Audience(a) => Some(a),
            _ => None,
        })
        .unwrap();
    let uploaded = |x: &rapidata::manifest::Asset| match x {
        rapidata::manifest::Asset::File { file_name, .. } => Some(format!("up-{file_name}")),
        _ => None,
    };
    let meta = |e: &rapidata::manifest::Example| {
        json!({
            "rapidata-key": {"_t": "TextMetadataInput", "text": e.key, "visibilities": ["Customers"]},
            "rapidata-fingerprint": {"_t": "TextMetadataInput", "text": e.fingerprint, "visibilities": ["Customers"]},
        })
    };
    // add_classification_example(instruction, answer_options, datapoint, truth)
    let e = &a.examples[0];
    assert_eq!(
        example_body(e, &uploaded).unwrap(),
        json!({
            "asset": {"_t": "ExistingAssetInput", "name": "up-img-00000.png", "metadata": meta(e)},
            "payload": {"_t": "ClassifyExamplePayload",
                        "categories": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}],
                        "title": "Is this a cat?"},
            "truth": {"_t": "ClassifyExampleTruth", "correctCategories": ["yes"]},
            "randomCorrectProbability": 0.5,
            "explanation": null,
            "context": null,
            "featureFlags": null,
        })
    );
    // add_compare_example(data_type="text"): the winner is the text itself.
    let e = &a.examples[2];
    let body = example_body(e, &uploaded).unwrap();
    assert_eq!(
        body["asset"],
        json!({"_t": "MultiAssetInput", "assets": [
            {"_t": "TextAssetInput", "text": "Cats purr."},
            {"_t": "TextAssetInput", "text": "Dogs bark."}], "metadata": meta(e)})
    );
    assert_eq!(
        body["truth"],
        json!({"_t": "CompareExampleTruth", "winnerId": "Cats purr."})
    );
    assert_eq!(body["randomCorrectProbability"], json!(0.5));
    // add_locate_example: boxes in percent, coverage as the random-correct probability.
    let e = &a.examples[3];
    let body = example_body(e, &uploaded).unwrap();
    assert_eq!(
        body["payload"],
        json!({"_t": "LocateExamplePayload", "target": "Tap the cat"})
    );
    assert_eq!(
        body["truth"],
        json!({"_t": "LocateExampleTruth",
               "boundingBoxes": [{"xMin": 10.0, "yMin": 20.0, "xMax": 50.0, "yMax": 60.0}],
               "requiredPrecision": null, "requiredCompleteness": null})
    );
    let p = body["randomCorrectProbability"].as_f64().unwrap();
    assert!((p - 0.16).abs() < 1e-9, "{p}");
    assert_eq!(body["context"], json!("Look closely."));
}

#[tokio::test]
async fn a_failed_example_is_recorded_at_its_line_and_recruiting_waits() {
    let env = env(FaultPlan {
        asset_failures: vec![rapidata::emulator::AssetFailure {
            pattern: "FAILME*".into(),
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    let root = write(env.dir.path(), &audience_yaml("yes", false, true));
    std::fs::write(root.join("images/FAILME-cat.png"), png(99)).unwrap();
    let yaml = audience_yaml("yes", false, true).replace(
        "    asset: images/img-00001.png",
        "    asset: images/FAILME-cat.png",
    );
    std::fs::write(root.join("audience.yaml"), &yaml).unwrap();
    let project = load(&root);
    let out = apply(&env, &project, 2).await;
    assert!(!out.converged());
    let f: Vec<_> = out
        .report
        .failures
        .iter()
        .filter(|f| f.item.resource == "cat-experts" && f.item.key.is_some())
        .collect();
    assert_eq!(f.len(), 1, "{:?}", out.report.failures);
    // The resource-level record says why recruiting waits.
    assert!(out
        .report
        .failures
        .iter()
        .any(|f| f.item.resource == "cat-experts"
            && f.item.key.is_none()
            && f.error_message.contains("recruiting waits")));
    assert_eq!(f[0].error_type, "AssetUploadFailed");
    assert!(f[0].permanent);
    // The example's manifest line (the second example starts on line 15).
    assert_eq!(f[0].item.line, Some(15));
    assert!(f[0].item.file.as_ref().unwrap().ends_with("audience.yaml"));
    // The other examples are in, but recruiting did not start.
    assert_eq!(remote_keys(&env).await.len(), 3);
    assert!(!out.writes.iter().any(|w| w.starts_with("StartRecruiting")));
    let a = &env.client.find_audiences("cat-experts").await.unwrap()[0];
    assert!(!a.recruiting_started());
}

#[tokio::test]
async fn an_asset_shared_by_examples_is_uploaded_once() {
    let env = env(FaultPlan::default()).await;
    let root = env.dir.path().join("shared");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("cat.png"), png(7)).unwrap();
    let mut yaml =
        String::from("apiVersion: rapidata.ai/v1\nkind: Audience\nname: shared\nexamples:\n");
    for (q, truth) in [
        ("Is this a cat?", "yes"),
        ("Is this a dog?", "no"),
        ("Is it an animal?", "yes"),
    ] {
        yaml.push_str(&format!(
            "  - type: classify\n    instruction: {q}\n    answerOptions: [\"yes\", \"no\"]\n    asset: cat.png\n    truth: [\"{truth}\"]\n    contextAsset: cat.png\n"
        ));
    }
    // Draw and select-words examples on the same image (the emulator checks their bodies
    // against the contract).
    yaml.push_str("  - type: draw\n    instruction: Trace the cat\n    asset: cat.png\n    truth: [{xMin: 0.1, yMin: 0.1, xMax: 0.9, yMax: 0.9}]\n");
    yaml.push_str("  - type: selectWords\n    instruction: Select the animal\n    asset: cat.png\n    sentence: a cat sleeps here\n    truth: [1]\n");
    std::fs::write(root.join("audience.yaml"), yaml).unwrap();
    let project = load(&root);
    let out = apply(&env, &project, 2).await;
    assert!(out.converged(), "{:?}", out.report);
    let stats = env.emulator.stats();
    assert_eq!(stats.get("POST /asset/file"), 1, "{:?}", stats.routes());
    assert_eq!(stats.get("POST /audience/{audienceId}/example"), 5);
    assert_eq!(stats.get("POST /audience/{audienceId}/recruit"), 1);
}

#[tokio::test]
async fn admission_and_filters_update_in_place() {
    let env = env(FaultPlan::default()).await;
    let project = load(&write(env.dir.path(), &audience_yaml("yes", false, true)));
    assert!(apply(&env, &project, 3).await.converged());
    let changed = audience_yaml("yes", false, true)
        .replace("minTasks: 3, maxTasks: 12", "minTasks: 5")
        .replace("languages: [EN]", "languages: [en, de]");
    let project = load(&write(env.dir.path(), &changed));
    let p = plan(&env, &project, false).await;
    let ap = audience_plan(&p);
    assert_eq!(ap.steps, vec![Step::UpdateAudience]);
    let fields: Vec<&str> = ap.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec!["filters", "admission"]);
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    assert_eq!(out.writes, vec!["UpdateAudience Audience/cat-experts"]);
    let a = &env.client.find_audiences("cat-experts").await.unwrap()[0];
    assert_eq!(
        a.graduation_rule,
        json!({"_t": "TaskAccuracy", "targetAccuracy": 0.8, "minTasks": 5, "maxTasks": null})
    );
    assert_eq!(
        a.filters,
        vec![json!({"_t": "LanguageFilter", "languages": ["en", "de"]})]
    );
    assert!(!plan(&env, &project, false).await.has_changes());
}
