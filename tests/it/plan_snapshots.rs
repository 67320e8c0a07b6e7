//! The Markdown plan (the pull-request comment) of each kind of change people review, as
//! golden files in `tests/snapshots/markdown/` (issue #21): a create, datapoints added,
//! datapoints removed under a running job, a `renamedFrom` rename, a blocked change, a
//! prune, and an adoption into the project. The plans come from `plan::diff` over made-up
//! observations with fixed ids, so nothing needs normalising. Regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test --test it plan_snapshots::` and review the diff.

use rapidata::manifest::*;
use rapidata::plan::{
    diff, remote_fingerprint, Action, Observation, Observed, ObservedDefinition, ObservedOrder,
    Plan, PlanOptions, RemoteSet, Step,
};
use rapidata::remote::{
    wire_build, RemoteAudience, RemoteDatapoint, RemoteJob, RemoteJobDefinition, RemoteOrder,
    RemoteRevision,
};
use rapidata::report::plan_markdown;

use crate::plan_output::{definition, heading, origin, snapshot, spec};

const CREATED: &str = "2026-11-01T00:00:00Z";

/// The remote copies (as rapidata uploaded them: keyed, their files uploaded) of the
/// manifest datapoints `range`.
fn uploaded(s: &LabelingSpec, range: std::ops::Range<usize>) -> Vec<RemoteDatapoint> {
    s.datapoints.to_vec().unwrap()[range]
        .iter()
        .enumerate()
        .map(|(i, d)| RemoteDatapoint {
            id: format!("dp{i}"),
            key: Some(d.key.clone()),
            fingerprint: Some(remote_fingerprint(&s.task, d).into()),
            // Its image, as uploaded: a new dataset reuses it.
            files: vec![format!("uploaded-{i}.png")],
            adopted: false,
            answer_options: None,
        })
        .collect()
}

/// A datapoint rapidata uploaded that the manifests no longer have.
fn gone(id: &str) -> RemoteDatapoint {
    RemoteDatapoint {
        id: id.into(),
        key: Some(format!("fp-{id}-gone")),
        fingerprint: Some("x".into()),
        files: Vec::new(),
        adopted: false,
        answer_options: None,
    }
}

/// A definition found remotely as `remote_name` at revision 1, with the manifest's task
/// and referee (so only its datapoints can differ).
fn found_definition(
    remote_name: &str,
    s: &LabelingSpec,
    datapoints: Vec<RemoteDatapoint>,
    jobs: Vec<RemoteJob>,
) -> Observation {
    Observation::JobDefinition(Some(Box::new(ObservedDefinition {
        definition: RemoteJobDefinition {
            id: "def1".into(),
            name: remote_name.into(),
            created_at: CREATED.into(),
        },
        revision: RemoteRevision {
            definition_id: "def1".into(),
            number: 1,
            dataset_id: "ds1".into(),
            workflow: wire_build::workflow(&s.task),
            referee: wire_build::referee(&s.referee),
            feature_flags: vec![],
            carry_over: Default::default(),
        },
        datapoints: RemoteSet::from_list(s, datapoints),
        dataset_in_use: !jobs.is_empty(),
        jobs,
        answer_options: None,
    })))
}

fn running_job(id: &str, name: &str) -> RemoteJob {
    RemoteJob {
        id: id.into(),
        name: name.into(),
        definition_id: "def1".into(),
        audience_id: "global".into(),
        revision_number: 1,
        state: "Running".into(),
        created_at: CREATED.into(),
    }
}

fn job(name: &str, definition: &str, audience: AudienceRef) -> Resource {
    Resource::Job(Job {
        name: name.into(),
        origin: origin("jobs.yaml", 3),
        definition: definition.into(),
        audience,
        revision: None,
        paused: false,
        run_after: None,
        on_replace: Default::default(),
        budget: None,
        renamed_from: Vec::new(),
    })
}

fn audience(name: &str, description: Option<&str>) -> Resource {
    Resource::Audience(Audience {
        base: None,
        name: name.into(),
        origin: origin("audiences.yaml", 3),
        description: description.map(str::to_string),
        filters: vec![serde_json::json!({"_t": "LanguageFilter", "languages": ["de"]})],
        admission: None,
        recruit: false,
        prune: false,
        examples: Vec::new(),
        renamed_from: Vec::new(),
    })
}

fn remote_audience(id: &str, name: &str, description: Option<&str>) -> RemoteAudience {
    RemoteAudience {
        id: id.into(),
        name: name.into(),
        filters: vec![serde_json::json!({"_t": "LanguageFilter", "languages": ["de"]})],
        description: description.map(str::to_string),
        created_at: CREATED.into(),
        base_audience_id: None,
        status: "Created".into(),
        is_distilling: false,
        is_public: false,
        graduation_rule: serde_json::Value::Null,
        examples: Vec::new(),
        metrics: None,
    }
}

fn project(resources: Vec<Resource>) -> Project {
    Project {
        root: "/project".into(),
        resources,
    }
}

/// The plan, its Markdown compared with the golden file `markdown/<name>.md`.
fn markdown(name: &str, project: &Project, observed: &Observed, opts: &PlanOptions) -> Plan {
    let plan = diff(project, observed, opts, "local");
    snapshot(
        &format!("markdown/{name}.md"),
        &plan_markdown::render(&plan, project, &heading()),
    );
    plan
}

fn ops(plan: &Plan, name: &str) -> Vec<Step> {
    plan.resources
        .iter()
        .filter(|r| r.name == name && r.origin.is_some())
        .flat_map(|r| r.steps.clone())
        .collect()
}

#[test]
fn create() {
    let p = project(vec![
        audience("german-speakers", Some("Labelers who speak German")),
        definition("animals", spec(3, "Which animal is it?")),
        job(
            "animals-de",
            "animals",
            AudienceRef::Manifest("german-speakers".into()),
        ),
    ]);
    let mut observed = Observed::default();
    observed.resources.insert(
        (ResourceKind::Audience, "german-speakers".into()),
        Observation::Audience(None),
    );
    observed.resources.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        Observation::JobDefinition(None),
    );
    observed.resources.insert(
        (ResourceKind::Job, "animals-de".into()),
        Observation::Job(vec![]),
    );
    let plan = markdown("create", &p, &observed, &PlanOptions::default());
    let s = plan.summary();
    assert_eq!((s.create, s.change, s.upload), (3, 0, 3));
}

#[test]
fn add_datapoints() {
    let s = spec(5, "Which animal is it?");
    let p = project(vec![definition("animals", s.clone())]);
    let mut observed = Observed::default();
    observed.resources.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        found_definition("animals", &s, uploaded(&s, 0..3), vec![]),
    );
    let plan = markdown("add-datapoints", &p, &observed, &PlanOptions::default());
    assert_eq!(ops(&plan, "animals"), [Step::EditDataset]);
    assert_eq!(plan.summary().upload, 2);
}

#[test]
fn remove_datapoints_under_a_running_job() {
    let s = spec(3, "Which animal is it?");
    let p = project(vec![
        definition("animals", s.clone()),
        job(
            "animals-global",
            "animals",
            AudienceRef::Id("global".into()),
        ),
    ]);
    let mut remote = uploaded(&s, 0..3);
    remote.push(gone("dp7"));
    let mut observed = Observed::default();
    observed.resources.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        found_definition(
            "animals",
            &s,
            remote,
            vec![running_job("job1", "animals-global")],
        ),
    );
    observed.resources.insert(
        (ResourceKind::Job, "animals-global".into()),
        Observation::Job(vec![running_job("job1", "animals-global")]),
    );
    let plan = markdown(
        "remove-datapoints-under-a-running-job",
        &p,
        &observed,
        &PlanOptions::default(),
    );
    // The running job's dataset is never edited: a new one, a new revision, a new job.
    assert_eq!(
        ops(&plan, "animals"),
        [
            Step::NewDataset,
            Step::NewRevision {
                base_revision: 1,
                literal_options: false
            }
        ]
    );
    assert!(plan.resources.iter().any(|r| r.relabel.is_some()));
}

#[test]
fn rename() {
    let s = spec(3, "Which animal is it?");
    let mut renamed = definition("animals", s.clone());
    if let Resource::JobDefinition(d) = &mut renamed {
        d.renamed_from = vec!["pets".into()];
    }
    let p = project(vec![renamed]);
    let mut observed = Observed::default();
    observed.resources.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        found_definition("pets", &s, uploaded(&s, 0..3), vec![]),
    );
    observed.renamed.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        "pets".into(),
    );
    let plan = markdown("rename", &p, &observed, &PlanOptions::default());
    assert_eq!(
        ops(&plan, "animals"),
        [Step::Rename {
            from: "pets".into()
        }]
    );
    assert_eq!(plan.summary().upload, 0);
}

#[test]
fn blocked() {
    let s = spec(3, "Which animal is it?");
    let p = project(vec![
        Resource::Order(Order {
            name: "cuter".into(),
            origin: origin("order.yaml", 3),
            spec: s.clone(),
            run: true,
            budget: None,
        }),
        definition("animals", s.clone()),
        job(
            "animals-team",
            "animals",
            AudienceRef::Id("aud-missing".into()),
        ),
    ]);
    let mut observed = Observed::default();
    observed.resources.insert(
        (ResourceKind::Order, "cuter".into()),
        Observation::Order(Some(ObservedOrder {
            order: RemoteOrder {
                id: "order1".into(),
                name: "cuter".into(),
                state: "Submitted".into(),
                dataset_id: Some("ds-order".into()),
                created_at: CREATED.into(),
            },
            datapoints: Some(RemoteSet::from_list(&s, uploaded(&s, 0..2))),
        })),
    );
    observed.resources.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        found_definition("animals", &s, uploaded(&s, 0..3), vec![]),
    );
    observed.resources.insert(
        (ResourceKind::Job, "animals-team".into()),
        Observation::Job(vec![]),
    );
    observed.remote_audiences.insert("aud-missing".into(), None);
    let plan = markdown("blocked", &p, &observed, &PlanOptions::default());
    let blocked: Vec<&str> = plan.blocked().map(|r| r.name.as_str()).collect();
    assert_eq!(blocked, ["cuter", "animals-team"]);
}

#[test]
fn prune() {
    let s = spec(3, "Which animal is it?");
    let p = project(vec![definition("animals", s.clone())]);
    let mut remote = uploaded(&s, 0..3);
    remote.push(gone("dp7"));
    let mut observed = Observed::default();
    observed.resources.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        found_definition("animals", &s, remote, vec![]),
    );
    observed.orphans = vec![RemoteJobDefinition {
        id: "def-old".into(),
        name: "old-animals".into(),
        created_at: CREATED.into(),
    }];
    observed.orphan_definition_jobs = vec![(
        "old-animals".into(),
        RemoteJob {
            definition_id: "def-old".into(),
            ..running_job("job-old", "old-animals-global")
        },
    )];
    observed.orphan_audiences = vec![remote_audience(
        "aud-old",
        "old-speakers",
        Some(&wire_build::audience_marker("team")),
    )];
    let opts = PlanOptions {
        prune: true,
        project: Some("team".into()),
        ..PlanOptions::default()
    };
    let plan = markdown("prune", &p, &observed, &opts);
    let deleted: Vec<&str> = plan
        .resources
        .iter()
        .filter(|r| r.action == Action::Delete)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        deleted,
        ["old-animals-global", "old-speakers", "old-animals"],
        "the job before its definition"
    );
    assert_eq!(plan.summary().remove, 1, "the datapoint no longer listed");
}

#[test]
fn adopt_into_project() {
    let s = spec(3, "Which animal is it?");
    let p = project(vec![
        audience("german-speakers", Some("Cat people")),
        definition("animals", s.clone()),
    ]);
    let mut observed = Observed::default();
    observed.resources.insert(
        (ResourceKind::Audience, "german-speakers".into()),
        Observation::Audience(Some(remote_audience(
            "aud1",
            "german-speakers",
            Some("Cat people"),
        ))),
    );
    observed.resources.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        found_definition("animals", &s, uploaded(&s, 0..3), vec![]),
    );
    observed
        .dataset_names
        .insert("animals".into(), "animals_dataset".into());
    let opts = PlanOptions {
        project: Some("team".into()),
        ..PlanOptions::default()
    };
    let plan = markdown("adopt-into-project", &p, &observed, &opts);
    let s = plan.summary();
    assert_eq!((s.create, s.change, s.replace, s.adopt), (0, 0, 0, 2));
    assert_eq!(
        ops(&plan, "animals"),
        [Step::AdoptIntoProject {
            project: "team".into(),
            to: rapidata::plan::dataset_name("animals", Some("team")),
        }]
    );
    assert_eq!(
        ops(&plan, "german-speakers"),
        [Step::AdoptIntoProject {
            project: "team".into(),
            to: format!("Cat people\n\n{}", wire_build::audience_marker("team")),
        }]
    );
    // Once marked, the project's own: nothing to do, nothing said about adoption.
    let mut marked = observed.clone();
    marked.dataset_names.insert(
        "animals".into(),
        rapidata::plan::dataset_name("animals", Some("team")),
    );
    marked.resources.insert(
        (ResourceKind::Audience, "german-speakers".into()),
        Observation::Audience(Some(remote_audience(
            "aud1",
            "german-speakers",
            Some(&format!(
                "Cat people\n\n{}",
                wire_build::audience_marker("team")
            )),
        ))),
    );
    let after = diff(&p, &marked, &opts, "local");
    assert!(!after.has_changes(), "{after:#?}");
    assert!(after.resources.iter().all(|r| r.adopt.is_none()));
}
