//! Filtered audiences (`base:`) against the emulator: apply makes one with
//! `POST /audience/{base}/filter` (several filters as one `AndFilter`) under the manifest's
//! name; a second apply writes nothing; a filter change makes a new filtered audience, the
//! job on it moves (a new job, the old one paused), and the plan shows what it relabels.
//! Examples or recruiting on a filtered audience are validate errors with their line.

use crate::harness;

use harness::*;
use rapidata::emulator::FaultPlan;
use rapidata::manifest::ResourceKind;
use rapidata::plan::{Action, Plan, Step};

fn yaml(countries: &str) -> String {
    format!(
        r#"apiVersion: rapidata.ai/v1
kind: Job
name: animals-on-de
definition: animals
audience: global-de
---
apiVersion: rapidata.ai/v1
kind: Audience
name: global-de
base: global
filters:
  - {{_t: CountryFilter, countries: [{countries}]}}
  - {{_t: LanguageFilter, languages: [de]}}
"#
    )
}

fn write(dir: &std::path::Path, audience: &str) -> std::path::PathBuf {
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

fn entry(p: &Plan, kind: ResourceKind, manifest: bool) -> Vec<&rapidata::plan::ResourcePlan> {
    p.resources
        .iter()
        .filter(|r| r.kind == kind && r.origin.is_some() == manifest)
        .collect()
}

#[tokio::test]
async fn a_filtered_audience_is_made_on_its_base_and_a_filter_change_moves_its_job() {
    let env = env(FaultPlan::default()).await;
    let dir = env.dir.path();
    let project = load(&write(dir, &yaml("DE, AT")));
    let p = plan(&env, &project, false).await;
    let a = entry(&p, ResourceKind::Audience, true)[0];
    assert_eq!(a.steps, vec![Step::CreateFilteredAudience]);
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    assert!(out
        .writes
        .contains(&"CreateFilteredAudience Audience/global-de".to_string()));

    // Found again by its name, filtered on `global` with the two filters as one AndFilter.
    let found = env.client.find_audiences("global-de").await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let first_id = found[0].id.clone();
    assert!(first_id.starts_with("fau_"), "{first_id}");
    let got = env.client.get_audience(&first_id).await.unwrap().unwrap();
    assert_eq!(got.base_audience_id.as_deref(), Some("global"));
    assert_eq!(got.filters.len(), 1);
    assert_eq!(got.filters[0]["_t"], "AndFilter");
    assert_eq!(
        got.filters[0]["filters"][0]["countries"],
        serde_json::json!(["DE", "AT"])
    );
    let jobs = env.client.find_jobs_named("animals-on-de").await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].audience_id, first_id);

    // A second apply writes nothing.
    let again = plan(&env, &project, false).await;
    assert!(!again.has_changes(), "{again:#?}");
    let out = apply(&env, &project, 3).await;
    assert!(out.writes.is_empty(), "{:?}", out.writes);

    // A filter change: a new filtered audience, the job follows (relabeling shown), the old
    // job paused and the old audience kept (renamed) because the paused job keeps results.
    let changed = load(&write(dir, &yaml("DE")));
    let p = plan(&env, &changed, false).await;
    let a = entry(&p, ResourceKind::Audience, true)[0];
    assert_eq!(a.action, Action::Replace);
    assert!(
        matches!(
            a.steps[..],
            [Step::MoveAside { .. }, Step::CreateFilteredAudience]
        ),
        "{:?}",
        a.steps
    );
    assert!(a.changes.iter().any(|c| c.field == "filters"));
    let job = entry(&p, ResourceKind::Job, true)[0];
    assert_eq!(job.action, Action::Create);
    let relabel = job.relabel.as_ref().expect("the new job relabels");
    assert_eq!(relabel.datapoints, 3);
    assert_eq!(relabel.replaces, jobs[0].id);
    assert!(relabel.because.contains("audience"), "{}", relabel.because);
    let old_job = entry(&p, ResourceKind::Job, false)[0];
    assert_eq!(old_job.steps, vec![Step::Pause]);
    let old_audience = entry(&p, ResourceKind::Audience, false)[0];
    assert!(old_audience.steps.is_empty(), "kept: {old_audience:?}");

    let out = apply(&env, &changed, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    let found = env.client.find_audiences("global-de").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_ne!(found[0].id, first_id);
    let got = env
        .client
        .get_audience(&found[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.filters[0]["_t"], "AndFilter");
    assert_eq!(
        got.filters[0]["filters"][0]["countries"],
        serde_json::json!(["DE"])
    );
    let jobs = env.client.find_jobs_named("animals-on-de").await.unwrap();
    assert_eq!(jobs.len(), 2);
    let new_job = jobs
        .iter()
        .find(|j| j.audience_id == found[0].id)
        .expect("a job on the new one");
    assert_ne!(new_job.state, "Paused");
    let old = jobs
        .iter()
        .find(|j| j.audience_id == first_id)
        .expect("the old job stays");
    assert_eq!(old.state, "Paused");
    let again = plan(&env, &changed, false).await;
    assert!(!again.has_changes(), "{again:#?}");
}

#[test]
fn examples_admission_and_recruiting_on_a_filtered_audience_are_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: Audience\nname: de\nbase: global\nrecruit: true\nadmission: {targetAccuracy: 0.8, minTasks: 3}\nexamples:\n  - type: classify\n    instruction: Cat?\n    answerOptions: [yes, no]\n    asset: {text: a cat}\n    truth: [yes]\n",
    )
    .unwrap();
    let err = rapidata::manifest::load(&[dir.path().to_path_buf()], &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("a.yaml:5:10"), "recruit: {err}");
    assert!(err.contains("a.yaml:6:12"), "admission: {err}");
    assert!(err.contains("a.yaml:8:5"), "examples: {err}");
    assert!(err.contains("has no recruiting of its own"), "{err}");
    assert!(err.contains("needs `filters`"), "{err}");
}
