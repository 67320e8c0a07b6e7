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
    let vs = p
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::ValidationSet)
        .unwrap();
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
    let vs = p
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::ValidationSet)
        .unwrap();
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
    let p = plan(&env, &project, true).await;
    let vs = p
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::ValidationSet)
        .unwrap();
    assert!(vs.steps.is_empty(), "{:?}", vs.steps);
    assert!(
        vs.notes.iter().any(|n| n.contains("no endpoint to remove")),
        "{:?}",
        vs.notes
    );
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
