//! `kind: ValidationSet` against the emulator: apply creates the set, adds its tasks (as
//! the SDK's rapid uploader sends them) and patches its dimensions; a second apply writes
//! nothing; a task added to the manifest is added by key, the others kept; a task that is
//! no longer in the manifest is kept (the API cannot remove one) and the plan says so.

use crate::harness;

use harness::*;
use rapidata::emulator::FaultPlan;
use rapidata::manifest::ResourceKind;
use rapidata::plan::{Action, Step};

fn yaml(extra: &str) -> String {
    format!(
        r#"apiVersion: rapidata.ai/v1
kind: ValidationSet
name: animal-checks
type: classify
instruction: What animal is this?
answerOptions: [cat, dog]
dimensions: [animals]
shouldAlert: false
tasks:
  - asset: images/img-00000.png
    truth: [cat]
  - asset: {{text: A dog barks.}}
    truth: [dog]
    explanation: Dogs bark.
{extra}"#
    )
}

fn write(dir: &std::path::Path, vs: &str) -> std::path::PathBuf {
    let root = write_project(
        dir,
        &ProjectSpec {
            images: 3,
            with_job: false,
            ..Default::default()
        },
    );
    std::fs::write(root.join("validation.yaml"), vs).unwrap();
    root
}

#[tokio::test]
async fn a_validation_set_is_created_with_its_tasks_and_tasks_are_added_by_key() {
    let env = env(FaultPlan::default()).await;
    let dir = env.dir.path();
    let project = load(&write(dir, &yaml("")));
    let p = plan(&env, &project, false).await;
    let vs = resource_of(&p, ResourceKind::ValidationSet);
    assert_eq!(
        vs.steps,
        vec![
            Step::CreateValidationSet,
            Step::UpdateValidationSet,
            Step::AddValidationTasks
        ]
    );
    assert_eq!(vs.examples.as_ref().unwrap().add.len(), 2);
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let found = env
        .client
        .find_validation_sets("animal-checks")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].dimensions, vec!["animals".to_string()]);
    assert_eq!(found[0].tasks.len(), 2);
    // `status` sees it (it said "not created yet (run apply)" for every validation set).
    let observed = rapidata::plan::observe::observe(
        &env.client,
        &project,
        &|_| true,
        &Default::default(),
        None,
    )
    .await
    .unwrap();
    let status = rapidata::status::collect(&env.client, &project, &observed)
        .await
        .unwrap();
    let row = status
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::ValidationSet)
        .unwrap();
    assert!(row.exists, "{status:?}");
    assert_eq!(row.id.as_deref(), Some(found[0].id.as_str()));
    assert!(!rapidata::status::render::human(&status).contains("not created yet"));
    assert!(found[0]
        .tasks
        .iter()
        .all(|t| t.key.as_deref().is_some_and(|k| k.starts_with("fp-"))));

    // A second apply writes nothing.
    let again = plan(&env, &project, false).await;
    assert!(!again.has_changes(), "{again:#?}");
    let out = apply(&env, &project, 3).await;
    assert!(out.writes.is_empty(), "{:?}", out.writes);

    // One task more: only it is added.
    let more = load(&write(
        dir,
        &yaml("  - asset: images/img-00001.png\n    truth: [dog]\n"),
    ));
    let p = plan(&env, &more, false).await;
    let vs = resource_of(&p, ResourceKind::ValidationSet);
    assert_eq!(vs.action, Action::UpdateData);
    assert_eq!(vs.steps, vec![Step::AddValidationTasks]);
    let tasks = vs.examples.as_ref().unwrap();
    assert_eq!((tasks.add.len(), tasks.unchanged), (1, 2));
    let out = apply(&env, &more, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let found = env
        .client
        .find_validation_sets("animal-checks")
        .await
        .unwrap();
    assert_eq!(found[0].tasks.len(), 3);
    assert!(!plan(&env, &more, false).await.has_changes());

    // Back to two: the third is kept (no endpoint removes a task), shown as a note.
    let p = plan(&env, &project, false).await;
    let vs = resource_of(&p, ResourceKind::ValidationSet);
    assert!(vs.steps.is_empty(), "{:?}", vs.steps);
    assert!(
        vs.notes.iter().any(|n| n.contains("no endpoint to remove")),
        "{:?}",
        vs.notes
    );

    // With prune: a new set with the two tasks replaces it; the old one is deleted.
    let pruned = load(&write(
        dir,
        &yaml("").replace("tasks:\n", "prune: true\ntasks:\n"),
    ));
    let p = plan(&env, &pruned, false).await;
    let vs = p
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::ValidationSet && r.origin.is_some())
        .unwrap();
    assert_eq!(vs.action, Action::Replace);
    assert_eq!(vs.examples.as_ref().unwrap().remove.len(), 1);
    assert_eq!(vs.examples.as_ref().unwrap().add.len(), 2);
    let old_id = found[0].id.clone();
    let out = apply(&env, &pruned, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let found = env
        .client
        .find_validation_sets("animal-checks")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_ne!(found[0].id, old_id);
    assert_eq!(found[0].tasks.len(), 2);
    assert_eq!(found[0].dimensions, vec!["animals".to_string()]);
    let gone = env.client.list_validation_tasks(&old_id).await;
    assert!(gone.is_err(), "the old set is deleted");
    assert!(!plan(&env, &pruned, false).await.has_changes());
}

#[test]
fn a_truth_outside_the_answer_options_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("v.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: ValidationSet\nname: v\ntype: classify\ninstruction: Cat?\nanswerOptions: [cat, dog]\ntasks:\n  - asset: {text: meow}\n    truth: [cta]\n",
    )
    .unwrap();
    let err = rapidata::manifest::load(&[dir.path().to_path_buf()], &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("v.yaml:9:12"), "{err}");
    assert!(err.contains("is not one of the answer options"), "{err}");
    assert!(err.contains("use one of cat, dog"), "{err}");
}

fn sets_yaml() -> String {
    let one = |name: &str, truth: &str| {
        format!(
            "apiVersion: rapidata.ai/v1\nkind: ValidationSet\nname: {name}\ntype: classify\ninstruction: What animal is this?\nanswerOptions: [cat, dog]\ntasks:\n  - asset: {{text: A {truth} sleeps.}}\n    truth: [{truth}]\n"
        )
    };
    format!(
        "{}---\n{}---\napiVersion: rapidata.ai/v1\nkind: Job\nname: animals-global\ndefinition: animals\naudience: global\n",
        one("checks-a", "cat"),
        one("checks-b", "dog")
    )
}

fn with_set(dir: &std::path::Path, set: &str) -> std::path::PathBuf {
    let root = write(dir, &sets_yaml());
    let def = root.join("rapidata.yaml");
    let mut text = std::fs::read_to_string(&def).unwrap();
    text.push_str(&format!("validationSet: {set}\n"));
    std::fs::write(def, text).unwrap();
    root
}

#[tokio::test]
async fn a_definition_switching_validation_sets_gets_a_new_revision_and_its_job_follows() {
    let env = env(FaultPlan::default()).await;
    let dir = env.dir.path();
    let project = load(&with_set(dir, "checks-a"));
    let p = plan(&env, &project, false).await;
    let def = resource_of(&p, ResourceKind::JobDefinition);
    assert_eq!(
        def.steps,
        vec![
            Step::CreateDefinition,
            Step::NewRevision {
                base_revision: 1,
                literal_options: false
            }
        ]
    );
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let set_id = |name: &'static str| {
        let c = env.client.clone();
        async move { c.find_validation_sets(name).await.unwrap()[0].id.clone() }
    };
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    let rev = env.client.latest_revision(&defs[0].id).await.unwrap();
    assert_eq!(
        rev.carry_over.validation_set_id,
        serde_json::json!(set_id("checks-a").await)
    );
    let jobs = env.client.find_jobs_named("animals-global").await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].revision_number, rev.number);
    assert!(!plan(&env, &project, false).await.has_changes());

    // Switch to checks-b: a new revision, and the job follows (relabeling shown).
    let switched = load(&with_set(dir, "checks-b"));
    let p = plan(&env, &switched, false).await;
    let def = resource_of(&p, ResourceKind::JobDefinition);
    assert_eq!(def.action, Action::Update);
    assert!(
        def.changes.iter().any(|c| c.field == "validationSet"),
        "{:?}",
        def.changes
    );
    assert!(
        matches!(def.steps[..], [Step::NewRevision { .. }]),
        "{:?}",
        def.steps
    );
    let job = p
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::Job && r.origin.is_some())
        .unwrap();
    assert_eq!(job.action, Action::Create);
    assert_eq!(job.relabel.as_ref().map(|r| r.datapoints), Some(3));
    let out = apply(&env, &switched, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let rev2 = env.client.latest_revision(&defs[0].id).await.unwrap();
    assert_eq!(rev2.number, rev.number + 1);
    assert_eq!(
        rev2.carry_over.validation_set_id,
        serde_json::json!(set_id("checks-b").await)
    );
    let jobs = env.client.find_jobs_named("animals-global").await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs
        .iter()
        .any(|j| j.revision_number == rev2.number && j.state != "Paused"));
    assert!(jobs
        .iter()
        .any(|j| j.revision_number == rev.number && j.state == "Paused"));
    assert!(!plan(&env, &switched, false).await.has_changes());
}

#[test]
fn a_validation_set_no_manifest_defines_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("d.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: classify\ninstruction: Cat?\nanswerOptions: [cat, dog]\nvalidationSet: checks\ndatapoints:\n  - asset: {text: meow}\n---\napiVersion: rapidata.ai/v1\nkind: ValidationSet\nname: checkz\ntype: classify\ninstruction: Cat?\nanswerOptions: [cat, dog]\ntasks:\n  - asset: {text: meow}\n    truth: [cat]\n",
    )
    .unwrap();
    let err = rapidata::manifest::load(&[dir.path().to_path_buf()], &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("d.yaml:7:16"), "{err}");
    assert!(err.contains("did you mean `checkz`?"), "{err}");
}

#[tokio::test]
async fn pruning_a_task_replaces_the_set_and_the_definition_naming_it_follows() {
    let env = env(FaultPlan::default()).await;
    let dir = env.dir.path();
    let project = load(&with_set(dir, "checks-a"));
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let old = env.client.find_validation_sets("checks-a").await.unwrap()[0].clone();
    // checks-a loses its task for another one, with prune.
    let root = with_set(dir, "checks-a");
    let text = std::fs::read_to_string(root.join("validation.yaml"))
        .unwrap()
        .replacen("name: checks-a\n", "name: checks-a\nprune: true\n", 1)
        .replacen("A cat sleeps.", "A cat purrs.", 1);
    std::fs::write(root.join("validation.yaml"), text).unwrap();
    let pruned = load(&root);
    let p = plan(&env, &pruned, false).await;
    let kind = |k: ResourceKind, manifest: bool| {
        p.resources
            .iter()
            .filter(|r| r.kind == k && r.origin.is_some() == manifest)
            .collect::<Vec<_>>()
    };
    let set = kind(ResourceKind::ValidationSet, true);
    let set = set.iter().find(|r| r.name == "checks-a").unwrap();
    assert_eq!(set.action, Action::Replace);
    let def = kind(ResourceKind::JobDefinition, true)[0];
    assert!(
        def.changes.iter().any(|c| c.field == "validationSet"),
        "{:?}",
        def.changes
    );
    let job = kind(ResourceKind::Job, true)[0];
    assert_eq!(job.relabel.as_ref().map(|r| r.datapoints), Some(3));
    let old_entry = kind(ResourceKind::ValidationSet, false)[0];
    assert_eq!(old_entry.steps, vec![Step::Delete]);

    let out = apply(&env, &pruned, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let new = env.client.find_validation_sets("checks-a").await.unwrap();
    assert_eq!(new.len(), 1);
    assert_ne!(new[0].id, old.id);
    assert_eq!(new[0].tasks.len(), 1);
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    let rev = env.client.latest_revision(&defs[0].id).await.unwrap();
    assert_eq!(
        rev.carry_over.validation_set_id,
        serde_json::json!(new[0].id)
    );
    assert!(env.client.list_validation_tasks(&old.id).await.is_err());
    assert!(!plan(&env, &pruned, false).await.has_changes());
}
