//! The three plan formats, as snapshots (`tests/snapshots/`; regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test --test it plan_output::` and review the diff), and the
//! Markdown size limit on very large plans.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rapidata::manifest::*;
use rapidata::plan::{
    diff, remote_fingerprint, Observation, Observed, ObservedDefinition, PlanOptions,
};
use rapidata::remote::{
    wire_build, RemoteAudience, RemoteDatapoint, RemoteJob, RemoteJobDefinition, RemoteRevision,
};
use rapidata::report::style::Style;
use rapidata::report::{plan_markdown, plan_text};

pub(crate) fn heading() -> plan_markdown::Heading {
    plan_markdown::Heading {
        environment: "local".into(),
        endpoint: "the embedded emulator".into(),
        apply_command: "rapidata apply".into(),
        warning: None,
    }
}

#[test]
fn a_plan_in_ci_against_the_local_emulator_says_nothing_reaches_rapidata() {
    let w = plan_markdown::local_in_ci_warning(true, Some("true")).unwrap();
    assert!(w.contains("nothing reaches Rapidata") && w.contains("rapidata.ai"));
    assert!(plan_markdown::local_in_ci_warning(true, None).is_none());
    assert!(plan_markdown::local_in_ci_warning(false, Some("true")).is_none());
    let (project, plan) = mixed();
    let md = plan_markdown::render(
        &plan,
        &project,
        &plan_markdown::Heading {
            warning: Some(w.clone()),
            ..heading()
        },
    );
    assert!(md.contains("> [!WARNING]"), "{md}");
}

pub(crate) fn origin(file: &str, line: usize) -> Origin {
    Origin {
        file: std::path::Path::new(file).into(),
        line,
        column: 1,
    }
}

pub(crate) fn datapoint(i: usize, file: &str) -> Datapoint {
    Datapoint {
        key: format!("fp-{i:032x}"),
        explicit_key: false,
        fingerprint: format!("{i:064x}"),
        origin: origin(file, i + 1),
        assets: vec![Asset::File {
            path: PathBuf::from(format!("/project/images/{i}.png")),
            file_name: format!("{i}.png"),
            size: 1_000 + i as u64,
            content_hash: format!("{i:064x}"),
        }],
        context: None,
        context_asset: None,
        private_metadata: BTreeMap::new(),
        group: None,
        sentence: None,
    }
}

pub(crate) fn spec(n: usize, instruction: &str) -> LabelingSpec {
    LabelingSpec {
        validation_set: None,
        task: Task::Classify {
            instruction: instruction.into(),
            answer_options: vec!["cat".into(), "dog".into()],
        },
        referee: Referee::Naive {
            responses_per_datapoint: 3,
        },
        settings: BTreeMap::new(),
        failure_tolerance: 0.0,
        prune: true,
        datapoints: rapidata::manifest::Datapoints::from_vec(
            (0..n).map(|i| datapoint(i, "data/animals.jsonl")).collect(),
        ),
    }
}

pub(crate) fn definition(name: &str, s: LabelingSpec) -> Resource {
    Resource::JobDefinition(JobDefinition {
        name: name.into(),
        origin: origin("definitions.yaml", 3),
        spec: s,
        renamed_from: Vec::new(),
    })
}

/// A plan with one of everything: a new audience, a revised definition with datapoint
/// changes, a blocked job, a new order.
fn mixed() -> (Project, rapidata::plan::Plan) {
    let new_instruction =
        "Which animal is shown in the picture? Answer with the animal you see first.";
    let def_spec = spec(6, new_instruction);
    let project = Project {
        root: PathBuf::from("/project"),
        resources: vec![
            Resource::Audience(Audience {
                base: None,
                name: "german-speakers".into(),
                origin: origin("audience.yaml", 3),
                description: None,
                filters: vec![serde_json::json!({"_t": "LanguageFilter", "languages": ["de"]})],
                admission: None,
                recruit: true,
                prune: false,
                examples: Vec::new(),
                renamed_from: Vec::new(),
            }),
            definition("animals", def_spec.clone()),
            Resource::Order(Order {
                name: "cuter".into(),
                origin: origin("order.yaml", 3),
                spec: LabelingSpec {
                    validation_set: None,
                    task: Task::Compare {
                        instruction: "Which is cuter?".into(),
                    },
                    ..spec(2, "")
                },
                run: true,
                budget: None,
            }),
            Resource::Job(Job {
                name: "animals-global".into(),
                origin: origin("job.yaml", 3),
                definition: "animals".into(),
                audience: AudienceRef::Id("global".into()),
                revision: None,
                paused: false,
                run_after: None,
                on_replace: Default::default(),
                budget: None,
                renamed_from: Vec::new(),
            }),
        ],
    };
    let old_spec = spec(0, "Which animal is shown?");
    let task = &def_spec.task;
    let mut remote: Vec<RemoteDatapoint> = def_spec.datapoints.to_vec().unwrap()[..4]
        .iter()
        .enumerate()
        .map(|(i, d)| RemoteDatapoint {
            id: format!("dp{i}"),
            key: Some(d.key.clone()),
            fingerprint: Some(remote_fingerprint(task, d).into()),
            files: Vec::new(),
            adopted: false,
            answer_options: None,
        })
        .collect();
    remote.push(RemoteDatapoint {
        id: "dp9".into(),
        key: Some("fp-gone".into()),
        fingerprint: Some("x".into()),
        files: Vec::new(),
        adopted: false,
        answer_options: None,
    });
    remote.push(RemoteDatapoint {
        id: "dp10".into(),
        key: None,
        fingerprint: None,
        files: Vec::new(),
        adopted: false,
        answer_options: None,
    });
    let mut observed = Observed::default();
    observed.resources.insert(
        (ResourceKind::Audience, "german-speakers".into()),
        Observation::Audience(None::<RemoteAudience>),
    );
    observed.resources.insert(
        (ResourceKind::JobDefinition, "animals".into()),
        Observation::JobDefinition(Some(Box::new(ObservedDefinition {
            definition: RemoteJobDefinition {
                id: "def1".into(),
                name: "animals".into(),
                created_at: "2026-11-01T00:00:00Z".into(),
            },
            revision: RemoteRevision {
                definition_id: "def1".into(),
                number: 1,
                dataset_id: "ds1".into(),
                workflow: wire_build::workflow(&old_spec.task),
                referee: wire_build::referee(&Referee::Naive {
                    responses_per_datapoint: 5,
                }),
                feature_flags: vec![],
                carry_over: Default::default(),
            },
            datapoints: rapidata::plan::RemoteSet::from_list(&def_spec, remote),
            jobs: vec![],
            dataset_in_use: false,
            answer_options: None,
        }))),
    );
    observed.resources.insert(
        (ResourceKind::Order, "cuter".into()),
        Observation::Order(None),
    );
    observed.resources.insert(
        (ResourceKind::Job, "animals-global".into()),
        Observation::Job(vec![RemoteJob {
            id: "job1".into(),
            name: "animals-global".into(),
            definition_id: "def1".into(),
            audience_id: "someone-else".into(),
            revision_number: 1,
            state: "Running".into(),
            created_at: "2026-11-01T00:00:00Z".into(),
        }]),
    );
    let plan = diff(
        &project,
        &observed,
        &PlanOptions::default(),
        "http://127.0.0.1:8080",
    );
    (project, plan)
}

pub(crate) fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "snapshot {name} differs; if intended, rerun with UPDATE_SNAPSHOTS=1 and review"
    );
}

#[test]
fn human_snapshot() {
    let (project, plan) = mixed();
    snapshot(
        "plan.txt",
        &plan_text::render(&plan, &project, &Style::PLAIN),
    );
}

#[test]
fn markdown_snapshot() {
    let (project, plan) = mixed();
    snapshot(
        "plan.md",
        &plan_markdown::render(&plan, &project, &heading()),
    );
}

#[test]
fn json_snapshot() {
    let (_, plan) = mixed();
    let json = serde_json::to_string_pretty(&plan).unwrap();
    // The JSON is a documented interface: it round-trips.
    let back: rapidata::plan::Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    snapshot("plan.json", &json);
}

/// One plan, three renderings (issue #21): every resource the JSON shows, its sampled
/// datapoints (what is new first), its removals, its relabel and its block are in the human
/// plan and in the markdown alike.
#[test]
fn human_markdown_and_json_render_the_same_facts() {
    let (project, plan) = mixed();
    let human = plan_text::render(&plan, &project, &Style::PLAIN);
    let md = plan_markdown::render(&plan, &project, &heading());
    let sources = plan_text::sources(&project, &plan);
    let mut facts = 0;
    for r in plan.resources.iter().filter(|r| r.is_shown()) {
        let mut want: Vec<String> = vec![r.name.clone()];
        if let Some(d) = &r.datapoints {
            let adds = if d.fresh.is_empty() { &d.add } else { &d.fresh };
            for k in adds.iter().take(plan_text::SAMPLES) {
                want.push(
                    sources
                        .get(&(r.name.clone(), k.clone()))
                        .map(|s| s.label.clone())
                        .unwrap_or_else(|| k.clone()),
                );
            }
            for x in d
                .deletions()
                .chain(&d.dropped_items)
                .take(plan_text::SAMPLES)
            {
                want.push(x.label.clone().unwrap_or_else(|| x.key.clone()));
            }
            want.push(plan_text::datapoint_counts(d));
        }
        if let Some(x) = &r.relabel {
            want.push(format!("labels {} datapoint(s) again", x.datapoints));
        }
        if r.action == rapidata::plan::Action::Blocked {
            want.push(r.reason.clone().unwrap_or_default());
        }
        for w in want {
            facts += 1;
            assert!(human.contains(&w), "the human plan lacks {w:?}:\n{human}");
            // The markdown escapes a few characters; compare on the escaped text too.
            let escaped = w.replace('<', "&lt;").replace('>', "&gt;");
            assert!(
                md.contains(&w) || md.contains(&escaped),
                "the markdown lacks {w:?}:\n{md}"
            );
        }
    }
    assert!(facts > 10, "the plan shows too little to compare: {facts}");
    // The summary line is the same one.
    let summary = plan_text::summary_line(&plan.summary());
    assert!(human.contains(&summary) && md.contains(&summary));
}

#[test]
fn the_mixed_plan_says_what_it_should() {
    let (_, plan) = mixed();
    let s = plan.summary();
    // The job's audience changed: a new job, and the old one paused once it runs.
    assert_eq!(
        (s.create, s.change, s.blocked, s.pause_resume),
        (3, 1, 0, 1)
    );
    let old = plan
        .resources
        .iter()
        .find(|r| r.remote_id.as_deref() == Some("job1"))
        .unwrap();
    assert_eq!(old.steps, vec![rapidata::plan::Step::Pause]);
    assert_eq!(
        old.requires.as_ref().map(|r| r.name.as_str()),
        Some("animals-global"),
        "paused only once its replacement is assigned"
    );
    assert_eq!(s.upload, 4, "2 new in the definition + 2 for the order");
    assert_eq!(
        s.remove, 1,
        "prune: the datapoint no longer in the manifest"
    );
}

#[test]
fn markdown_of_a_200k_datapoint_plan_stays_under_the_limit() {
    let project = Project {
        root: PathBuf::from("/p"),
        resources: vec![definition("big", spec(200_000, "Which animal?"))],
    };
    let plan = diff(
        &project,
        &Observed::default(),
        &PlanOptions::default(),
        "http://x",
    );
    assert_eq!(plan.summary().upload, 200_000);
    let md = plan_markdown::render(&plan, &project, &heading());
    assert!(md.len() < plan_markdown::LIMIT, "{} characters", md.len());
    assert!(md.contains("200,000 datapoints to upload"), "{md}");
}

#[test]
fn markdown_of_thousands_of_resources_is_cut_with_a_pointer_to_json() {
    let resources = (0..3_000)
        .map(|i| {
            definition(
                &format!("definition-{i:04}-with-a-long-name"),
                spec(3, "Which animal?"),
            )
        })
        .collect();
    let project = Project {
        root: PathBuf::from("/p"),
        resources,
    };
    let plan = diff(
        &project,
        &Observed::default(),
        &PlanOptions::default(),
        "http://x",
    );
    let md = plan_markdown::render(&plan, &project, &heading());
    assert!(md.len() < plan_markdown::LIMIT, "{} characters", md.len());
    assert!(
        md.contains("more changed resources are not shown"),
        "the cut is announced"
    );
    assert!(md.contains("--format json"), "and points to the JSON");
}
