//! `plan` against the emulator: what it finds, how it counts.

use crate::harness;

use harness::*;
use rapidata::emulator::FaultPlan;
use rapidata::manifest::{Resource, ResourceKind};
use rapidata::plan::{staleness, Action};
use rapidata::remote::KEY_METADATA;
use serde_json::json;

#[tokio::test]
async fn empty_remote_plans_everything_to_create() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(env.dir.path(), &ProjectSpec::default());
    let project = load(&root);
    let plan = plan(&env, &project, false).await;
    let def = resource_of(&plan, ResourceKind::JobDefinition);
    assert_eq!(def.action, Action::Create);
    let dps = def.datapoints.as_ref().unwrap();
    assert_eq!(dps.add.len(), 20);
    assert_eq!(dps.upload_assets, 20);
    let job = resource_of(&plan, ResourceKind::Job);
    assert_eq!(job.action, Action::Create);
    let s = plan.summary();
    assert_eq!((s.create, s.change, s.upload), (2, 0, 20));
    // Planning never writes.
    assert_eq!(env.emulator.stats().writes(), 0);
}

#[tokio::test]
async fn seeded_remote_gives_exact_counts() {
    let env = env(FaultPlan::default()).await;
    // No job runs on the definition, so its dataset is edited in place (fact 18).
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            with_job: false,
            ..Default::default()
        },
    );
    let project = load(&root);
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let ds = dataset_of(&env.client, "animals").await;
    let remote = env.client.list_datapoints(&ds).await.unwrap();
    assert_eq!(remote.len(), 20);

    let Resource::JobDefinition(def) = &project
        .resources
        .iter()
        .find(|r| r.kind() == ResourceKind::JobDefinition)
        .unwrap()
    else {
        unreachable!()
    };
    let task = &def.spec.task;
    // Missing: delete two.
    env.client.delete_datapoint(&remote[0].id).await.unwrap();
    env.client.delete_datapoint(&remote[1].id).await.unwrap();
    // Duplicate: the same content once more.
    let all = def.spec.datapoints.to_vec().unwrap();
    let dp = all
        .iter()
        .find(|d| Some(&d.key) == remote[2].key.as_ref())
        .unwrap();
    let mut same = dp.clone();
    same.fingerprint = rapidata::plan::remote_fingerprint(task, dp);
    // Seed through raw bodies: a text asset stands in for the image.
    let seeded = |key: &str, fp: &str| {
        json!({"segments": [
            {"key": "asset", "kind": "Asset", "asset": {"_t": "TextAssetInput", "text": format!("seed {key}"),
              "metadata": {KEY_METADATA: {"_t": "TextMetadataInput", "text": key, "visibilities": ["Customers"]},
                           rapidata::remote::FINGERPRINT_METADATA: {"_t": "TextMetadataInput", "text": fp, "visibilities": ["Customers"]}}}},
            {"key": "answer_options", "kind": "OptionList", "options": [{"label": "cat", "value": "cat"}, {"label": "dog", "value": "dog"}]}
        ], "sortIndex": null, "group": null, "privateMetadata": null})
    };
    env.client
        .create_datapoint(&ds, &seeded(&same.key, &same.fingerprint))
        .await
        .unwrap();
    // Extra: a managed key the manifest does not have.
    env.client
        .create_datapoint(&ds, &seeded("gone-from-manifest", "f-extra"))
        .await
        .unwrap();
    // Changed: a manifest key with other content.
    let changed_key = remote[3].key.clone().unwrap();
    let changed_id = remote[3].id.clone();
    env.client.delete_datapoint(&changed_id).await.unwrap();
    env.client
        .create_datapoint(&ds, &seeded(&changed_key, "f-other-content"))
        .await
        .unwrap();
    // Unmanaged: no key at all.
    env.client
        .create_datapoint(&ds, &json!({"segments": [
            {"key": "asset", "kind": "Asset", "asset": {"_t": "TextAssetInput", "text": "made elsewhere"}},
            {"key": "answer_options", "kind": "OptionList", "options": [{"label": "cat", "value": "cat"}, {"label": "dog", "value": "dog"}]}
        ]}))
        .await
        .unwrap();

    let p = plan(&env, &project, false).await;
    let def_plan = resource_of(&p, ResourceKind::JobDefinition);
    assert_eq!(def_plan.action, Action::UpdateData);
    let d = def_plan.datapoints.as_ref().unwrap();
    assert_eq!(d.add.len(), 3, "two deleted + one changed");
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.duplicates.len(), 1);
    assert_eq!(d.unmanaged, 1);
    assert_eq!(d.orphaned, 1);
    assert!(d.remove.is_empty());
    assert_eq!(d.unchanged, 17);

    let pruned = plan(&env, &project, true).await;
    let d = pruned
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::JobDefinition)
        .unwrap()
        .datapoints
        .clone()
        .unwrap();
    assert_eq!(d.remove.len(), 1);
    assert_eq!(d.remove[0].key, "gone-from-manifest");
    assert_eq!(d.unmanaged, 1, "unmanaged datapoints are never removed");

    // Apply with prune converges to exactly the manifest (+ the unmanaged one).
    let opts = rapidata::plan::PlanOptions {
        prune: true,
        ..Default::default()
    };
    let ao = rapidata::apply::ApplyOptions {
        parallelism: 8,
        max_rounds: 3,
        round_backoff: std::time::Duration::from_millis(10),
        ..Default::default()
    };
    let out = rapidata::apply::apply(
        &env.client,
        &project,
        &opts,
        &ao,
        pruned,
        &rapidata::plan::RecordStore::in_memory("x"),
        &rapidata::apply::Silent,
        &rapidata::apply::Cancel::new(),
    )
    .await
    .unwrap();
    assert!(out.converged(), "{:?}", out.report);
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 21);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[tokio::test]
async fn changed_instruction_is_an_update_with_its_diff() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(env.dir.path(), &ProjectSpec::default());
    assert!(apply(&env, &load(&root), 3).await.converged());
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            instruction: "Which animal do you see?",
            ..Default::default()
        },
    );
    let project = load(&root);
    let p = plan(&env, &project, false).await;
    let def = resource_of(&p, ResourceKind::JobDefinition);
    assert_eq!(def.action, Action::Update);
    assert_eq!(def.revision, Some(1));
    let c = def
        .changes
        .iter()
        .find(|c| c.field == "instruction")
        .expect("instruction change");
    assert_eq!(c.before.as_deref(), Some("What animal is this?"));
    assert_eq!(c.after.as_deref(), Some("Which animal do you see?"));
    assert!(
        !def.datapoints.as_ref().unwrap().has_changes(),
        "the datapoints stay"
    );
    let out = apply(&env, &project, 3).await;
    assert!(out.converged());
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    assert_eq!(
        env.client
            .latest_revision(&defs[0].id)
            .await
            .unwrap()
            .number,
        2
    );
}

#[tokio::test]
async fn saved_plan_goes_stale_when_the_remote_moves() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(env.dir.path(), &ProjectSpec::default());
    let project = load(&root);
    assert!(apply(&env, &project, 3).await.converged());
    let saved = plan(&env, &project, false).await;
    assert!(
        staleness(&saved, &plan(&env, &project, false).await).is_empty(),
        "same state, same plan"
    );
    let ds = dataset_of(&env.client, "animals").await;
    let one = env.client.list_datapoints(&ds).await.unwrap().remove(0);
    env.client.delete_datapoint(&one.id).await.unwrap();
    let why = staleness(&saved, &plan(&env, &project, false).await);
    assert!(
        why.iter().any(|w| w.contains("remote state changed")),
        "{why:?}"
    );
}

fn definitions_yaml(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: {n}\ntype: freeText\ninstruction: Describe it\ndatapoints:\n  - asset: {{text: \"{n} one\"}}\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

#[tokio::test]
async fn a_definition_removed_from_the_manifests_is_deleted_only_with_prune() {
    let env = env(FaultPlan::default()).await;
    let root = env.dir.path().join("zoo");
    std::fs::create_dir_all(&root).unwrap();
    let file = root.join("defs.yaml");
    let opts = |prune: bool, project: Option<&str>| rapidata::plan::PlanOptions {
        prune,
        project: project.map(str::to_string),
        ..Default::default()
    };
    let converge = |project: rapidata::manifest::Project, o: rapidata::plan::PlanOptions| {
        let env = &env;
        async move {
            let first =
                rapidata::plan::make_plan(&env.client, &project, &o, "x", &Default::default())
                    .await
                    .unwrap();
            let ao = rapidata::apply::ApplyOptions {
                parallelism: 4,
                max_rounds: 2,
                round_backoff: std::time::Duration::from_millis(10),
                ..Default::default()
            };
            rapidata::apply::apply(
                &env.client,
                &project,
                &o,
                &ao,
                first,
                &rapidata::plan::RecordStore::in_memory("x"),
                &rapidata::apply::Silent,
                &rapidata::apply::Cancel::new(),
            )
            .await
            .unwrap()
        }
    };
    // Project `zoo` creates cats and birds; another project and a plain SDK-style
    // definition (no marker) create definitions of their own.
    std::fs::write(&file, definitions_yaml(&["cats", "birds"])).unwrap();
    assert!(converge(load(&root), opts(false, Some("zoo")))
        .await
        .converged());
    std::fs::write(&file, definitions_yaml(&["theirs"])).unwrap();
    assert!(converge(load(&root), opts(false, Some("other-project")))
        .await
        .converged());
    std::fs::write(&file, definitions_yaml(&["unmarked"])).unwrap();
    assert!(converge(load(&root), opts(false, None)).await.converged());

    // `birds` leaves the manifests of `zoo`.
    std::fs::write(&file, definitions_yaml(&["cats"])).unwrap();
    let project = load(&root);
    let without = rapidata::plan::make_plan(
        &env.client,
        &project,
        &opts(false, Some("zoo")),
        "x",
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(!without.has_changes(), "no prune: nothing to delete");
    let no_project = rapidata::plan::make_plan(
        &env.client,
        &project,
        &opts(true, None),
        "x",
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(
        !no_project.has_changes(),
        "no project: nothing is attributed to these manifests"
    );
    let with = rapidata::plan::make_plan(
        &env.client,
        &project,
        &opts(true, Some("zoo")),
        "x",
        &Default::default(),
    )
    .await
    .unwrap();
    let deletes: Vec<&str> = with
        .resources
        .iter()
        .filter(|r| r.action == Action::Delete)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(deletes, vec!["birds"]);
    assert_eq!(with.summary().delete, 1);

    assert!(converge(project, opts(true, Some("zoo"))).await.converged());
    assert!(env
        .client
        .find_job_definitions("birds")
        .await
        .unwrap()
        .is_empty());
    for kept in ["cats", "theirs", "unmarked"] {
        assert_eq!(
            env.client.find_job_definitions(kept).await.unwrap().len(),
            1,
            "{kept} stays"
        );
    }
}
