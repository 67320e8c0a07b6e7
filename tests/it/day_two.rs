//! Day two against the emulator: after the first apply, each change plans exactly the
//! steps apply then takes (the executor's writes equal the plan's steps), no dataset a job
//! runs on is ever edited, the job ends on the manifests' revision, and a second plan says
//! "No changes". Concurrent first applies converge to one of everything.

use crate::harness;

use std::process::{Command, Stdio};

use harness::*;
use rapidata::emulator::FaultPlan;
use rapidata::manifest::ResourceKind;
use rapidata::plan::{Plan, RecordStore, Step};
use rapidata::remote::wire_build;

/// The steps of a plan as "Op Kind/name", in order — what the executor reports as writes.
fn steps(plan: &Plan) -> Vec<String> {
    plan.resources
        .iter()
        .flat_map(|r| {
            r.steps.iter().map(move |s| {
                let op = match s {
                    Step::NewRevision { .. } => "NewRevision".to_string(),
                    Step::MoveAside { .. } => "MoveAside".to_string(),
                    other => format!("{other:?}"),
                };
                format!("{op} {}/{}", r.kind, r.name)
            })
        })
        .collect()
}

fn steps_of(plan: &Plan, kind: ResourceKind, name: &str) -> Vec<Step> {
    plan.resources
        .iter()
        .filter(|r| r.kind == kind && r.name == name && r.origin.is_some())
        .flat_map(|r| r.steps.clone())
        .collect()
}

async fn converge(env: &Env, spec: &ProjectSpec<'_>) -> rapidata::manifest::Project {
    let project = load(&write_project(env.dir.path(), spec));
    let out = apply(env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    project
}

/// The writes the executor made, without the dataset creation it does inside a step.
fn executed(out: &rapidata::apply::ApplyOutcome) -> Vec<String> {
    out.writes
        .iter()
        .filter(|w| !w.starts_with("CreateDataset "))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_changed_instruction_reaches_the_running_job() {
    let env = env(FaultPlan::default()).await;
    converge(&env, &ProjectSpec::default()).await;
    let project = load(&write_project(
        env.dir.path(),
        &ProjectSpec {
            instruction: "Which animal do you see?",
            ..Default::default()
        },
    ));
    let p = plan(&env, &project, false).await;
    assert_eq!(
        steps(&p),
        vec![
            "NewRevision JobDefinition/animals",
            "CreateJob Job/animals-global",
            "Pause Job/animals-global",
        ]
    );
    let def = resource_of(&p, ResourceKind::JobDefinition);
    assert!(def.changes.iter().any(|c| c.field == "instruction"));
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    assert_eq!(
        executed(&out),
        steps(&p),
        "apply did exactly what plan showed"
    );

    let defs = env.client.find_job_definitions("animals").await.unwrap();
    let latest = env.client.latest_revision(&defs[0].id).await.unwrap();
    assert_eq!(latest.number, 2);
    let mut jobs = env.client.find_jobs(&defs[0].id).await.unwrap();
    jobs.sort_by_key(|j| j.revision_number);
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        (jobs[0].revision_number, jobs[0].state.as_str()),
        (1, "Paused")
    );
    assert_eq!(jobs[1].revision_number, 2);
    assert_ne!(jobs[1].state, "Paused");
    // An instruction is not data: the new revision keeps the dataset.
    let first = env.client.revision(&defs[0].id, 1).await.unwrap();
    assert_eq!(first.dataset_id, latest.dataset_id);
    assert!(!plan(&env, &project, false).await.has_changes());
}

#[tokio::test]
async fn new_datapoints_for_a_running_job_go_to_a_new_dataset_and_revision() {
    let env = env(FaultPlan::default()).await;
    converge(&env, &ProjectSpec::default()).await;
    let ds1 = dataset_of(&env.client, "animals").await;
    let project = load(&write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 22,
            ..Default::default()
        },
    ));
    let p = plan(&env, &project, false).await;
    assert_eq!(
        steps_of(&p, ResourceKind::JobDefinition, "animals"),
        vec![
            Step::NewDataset,
            Step::NewRevision {
                base_revision: 1,
                literal_options: false
            }
        ]
    );
    let d = p
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::JobDefinition)
        .and_then(|r| r.datapoints.clone())
        .unwrap();
    assert_eq!((d.carried_over, d.fresh.len(), d.add.len()), (20, 2, 22));
    assert_eq!(d.upload_assets, 2, "only new bytes go up");
    let uploads_before = env.emulator.stats().get("POST /asset/file");
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    assert_eq!(executed(&out), steps(&p));
    assert_eq!(
        env.emulator.stats().get("POST /asset/file") - uploads_before,
        2,
        "files already uploaded are reused by name"
    );
    // The running job's dataset was never edited.
    let old = key_counts(&env.client, &ds1).await;
    assert_eq!(old.len(), 20);
    let ds2 = dataset_of(&env.client, "animals").await;
    assert_ne!(ds1, ds2);
    let new = key_counts(&env.client, &ds2).await;
    assert_eq!(new.len(), 22);
    assert!(new.values().all(|&n| n == 1));
    assert!(!plan(&env, &project, false).await.has_changes());
}

#[tokio::test]
async fn without_a_job_new_datapoints_go_into_the_same_dataset() {
    let env = env(FaultPlan::default()).await;
    let spec = ProjectSpec {
        with_job: false,
        ..Default::default()
    };
    converge(&env, &spec).await;
    let ds1 = dataset_of(&env.client, "animals").await;
    let project = load(&write_project(
        env.dir.path(),
        &ProjectSpec { images: 23, ..spec },
    ));
    let p = plan(&env, &project, false).await;
    assert_eq!(steps(&p), vec!["EditDataset JobDefinition/animals"]);
    let out = apply(&env, &project, 3).await;
    assert!(out.converged(), "{:?}", out.report);
    assert_eq!(dataset_of(&env.client, "animals").await, ds1);
    assert_eq!(key_counts(&env.client, &ds1).await.len(), 23);
}

#[tokio::test]
async fn a_revision_saved_since_the_plan_stops_that_definition() {
    let env = env(FaultPlan::default()).await;
    let spec = ProjectSpec {
        with_job: false,
        ..Default::default()
    };
    let project = converge(&env, &spec).await;
    let changed = load(&write_project(
        env.dir.path(),
        &ProjectSpec {
            instruction: "Mine",
            ..spec
        },
    ));
    let p = plan(&env, &changed, false).await;
    // Someone saves revision 2 in between (the SDK's `save()`).
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    let rev = env.client.latest_revision(&defs[0].id).await.unwrap();
    let rapidata::manifest::Resource::JobDefinition(d) = &project.resources[0] else {
        panic!("a definition first")
    };
    let theirs = wire_build::revision_body(&d.spec, &rev.dataset_id, 1);
    env.client
        .create_revision(&defs[0].id, &theirs)
        .await
        .unwrap();
    let out = rapidata::apply::apply(
        &env.client,
        &changed,
        &Default::default(),
        &rapidata::apply::ApplyOptions {
            max_rounds: 3,
            ..Default::default()
        },
        p,
        &RecordStore::in_memory("test"),
        &rapidata::apply::Silent,
        &rapidata::apply::Cancel::new(),
    )
    .await
    .unwrap();
    assert!(!out.converged());
    assert_eq!(
        out.halted,
        vec![(ResourceKind::JobDefinition, "animals".to_string())]
    );
    let latest = env.client.latest_revision(&defs[0].id).await.unwrap();
    assert_eq!(
        latest.number, 2,
        "nothing was saved over the concurrent edit"
    );
    let notes = &out
        .report
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::JobDefinition)
        .unwrap()
        .notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("changed remotely since the plan")),
        "{notes:?}"
    );
}

// Multi-threaded: the emulator must keep answering while this thread waits on the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_revision_that_does_not_exist_is_blocked_and_fails_ci() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(env.dir.path(), &ProjectSpec::default());
    let manifest = root.join("rapidata.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}revision: 7\n")).unwrap();
    // With or without --detailed-exitcode, as Terraform's plan exits 1 on any error.
    for extra in [&["--detailed-exitcode"][..], &[]] {
        let status = Command::new(env!("CARGO_BIN_EXE_rapidata"))
            .arg("plan")
            .arg(&root)
            .args(["--endpoint", &env.emulator.base_url()])
            .args(extra)
            .env("RAPIDATA_CLIENT_ID", &env.client_id)
            .env("RAPIDATA_CLIENT_SECRET", &env.client_secret)
            .env_remove("RAPIDATA_TOKEN_FILE")
            .env("HOME", env.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(
            status.code(),
            Some(1),
            "a change that cannot be applied is an error ({extra:?})"
        );
    }
}

/// Issue 11: two applies at once on a fresh remote (CI pipelines running concurrently by
/// accident), 20 times: each ends with one of everything and no duplicate datapoint, and
/// the next plan, from either checkout, has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_applies_converge_to_one_of_everything() {
    let docs = [
        audience_yaml("fans", "de"),
        definition_yaml("animals", "classify"),
        job_yaml("j", "animals", "fans", ""),
        "apiVersion: rapidata.ai/v1\nkind: Order\nname: o\ntype: classify\ninstruction: Cat?\nanswerOptions: [yes, no]\nrun: true\ndatapointSources:\n  - files: \"images/*.png\"\n".to_string(),
    ];
    let mut raced = 0;
    for pair in 0..20 {
        let env = env(FaultPlan::default()).await;
        // Two checkouts of one repository (each with its own .rapidata/).
        let checkout = |name: &str| {
            let root = write_project(
                &env.dir.path().join(name),
                &ProjectSpec {
                    images: 5,
                    with_job: false,
                    ..Default::default()
                },
            );
            std::fs::write(root.join("rapidata.yaml"), docs.join("---\n")).unwrap();
            root
        };
        let (a, b) = (checkout("a"), checkout("b"));
        let mut ca = apply_cmd(&env, &a, &[]).spawn().unwrap();
        let mut cb = apply_cmd(&env, &b, &[]).spawn().unwrap();
        tokio::task::spawn_blocking(move || (ca.wait().unwrap(), cb.wait().unwrap()))
            .await
            .unwrap();
        let defs = env.client.find_job_definitions("animals").await.unwrap();
        assert_eq!(defs.len(), 1, "pair {pair}: one definition");
        assert_eq!(
            env.client.find_audiences("fans").await.unwrap().len(),
            1,
            "pair {pair}"
        );
        assert_eq!(
            env.client.find_orders("o").await.unwrap().len(),
            1,
            "pair {pair}"
        );
        assert_eq!(jobs_named(&env, "j").await.len(), 1, "pair {pair}: one job");
        let ds = dataset_of(&env.client, "animals").await;
        let counts = key_counts(&env.client, &ds).await;
        assert_eq!(counts.len(), 5, "pair {pair}");
        assert!(counts.values().all(|&n| n == 1), "pair {pair}: {counts:?}");
        for root in [&a, &b] {
            let p = plan(&env, &load(root), false).await;
            assert!(!p.has_changes(), "pair {pair}: {:?}", steps(&p));
        }
        let stats = env.emulator.stats();
        raced += [
            "DELETE /audience/{audienceId}",
            "DELETE /job/definition/{definitionId}",
            "DELETE /job/{jobId}",
            "DELETE /order/{orderId}",
        ]
        .iter()
        .map(|r| stats.get(r))
        .sum::<u64>();
    }
    eprintln!("duplicates made by the races and removed by their losers: {raced}");
    assert!(raced > 0, "the pairs must actually race");
}

const DEF: &str = "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: {name}\ntype: {type}\ninstruction: What animal is this?\nanswerOptions: [cat, dog]\nreferee:\n  responsesPerDatapoint: 3\ndatapointSources:\n  - files: \"images/*.png\"\n";

fn definition_yaml(name: &str, ty: &str) -> String {
    let mut d = DEF.replace("{name}", name).replace("{type}", ty);
    if ty != "classify" {
        d = d.replace("answerOptions: [cat, dog]\n", "");
    }
    d
}

fn job_yaml(name: &str, definition: &str, audience: &str, extra: &str) -> String {
    format!(
        "apiVersion: rapidata.ai/v1\nkind: Job\nname: {name}\ndefinition: {definition}\naudience: {audience}\n{extra}"
    )
}

fn audience_yaml(name: &str, languages: &str) -> String {
    format!(
        "apiVersion: rapidata.ai/v1\nkind: Audience\nname: {name}\nfilters:\n  - _t: LanguageFilter\n    languages: [{languages}]\n"
    )
}

/// A project of 20 images whose manifest is `docs` (YAML documents).
fn project_of(env: &Env, docs: &[String]) -> rapidata::manifest::Project {
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            with_job: false,
            ..Default::default()
        },
    );
    std::fs::write(root.join("rapidata.yaml"), docs.join("---\n")).unwrap();
    load(&root)
}

/// Plan, apply, and check: the executor's writes are the plan's steps, it converged, and a
/// second plan has nothing to do.
async fn apply_exactly(env: &Env, project: &rapidata::manifest::Project) -> Plan {
    let p = plan(env, project, false).await;
    let out = apply(env, project, 3).await;
    if !out.converged() {
        // What the next round would still do, for the failure message.
        let again = plan(env, project, false).await;
        eprintln!(
            "planned {:?}, executed {:?}, still to do {:?}",
            steps(&p),
            executed(&out),
            steps(&again)
        );
    }
    assert!(out.converged(), "{:?}", out.report);
    assert_eq!(
        executed(&out),
        steps(&p),
        "apply did exactly what plan showed"
    );
    let again = plan(env, project, false).await;
    assert!(!again.has_changes(), "{:?}", steps(&again));
    p
}

async fn jobs_named(env: &Env, name: &str) -> Vec<rapidata::remote::RemoteJob> {
    let mut jobs = rapidata::plan::observe::observe_jobs(&env.client, name)
        .await
        .unwrap();
    jobs.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    jobs
}

#[tokio::test]
async fn renaming_a_definition_moves_its_job_and_pauses_the_old_one() {
    let env = env(FaultPlan::default()).await;
    let before = project_of(
        &env,
        &[
            definition_yaml("animals", "classify"),
            job_yaml("j", "animals", "global", ""),
        ],
    );
    apply_exactly(&env, &before).await;
    let after = project_of(
        &env,
        &[
            definition_yaml("animals-v2", "classify"),
            job_yaml("j", "animals-v2", "global", ""),
        ],
    );
    let p = apply_exactly(&env, &after).await;
    assert_eq!(
        steps(&p),
        vec![
            "CreateDefinition JobDefinition/animals-v2",
            "CreateJob Job/j",
            "Pause Job/j"
        ]
    );
    let jobs = jobs_named(&env, "j").await;
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        jobs[0].state, "Paused",
        "the old job does not run (and pay) twice"
    );
    let v2 = env.client.find_job_definitions("animals-v2").await.unwrap();
    assert_eq!(jobs[1].definition_id, v2[0].id);
}

#[tokio::test]
async fn a_type_change_replaces_the_definition_before_anything_is_removed() {
    let env = env(FaultPlan::default()).await;
    let before = project_of(
        &env,
        &[
            definition_yaml("animals", "classify"),
            job_yaml("j", "animals", "global", ""),
        ],
    );
    apply_exactly(&env, &before).await;
    let old = env.client.find_job_definitions("animals").await.unwrap()[0]
        .id
        .clone();
    let after = project_of(
        &env,
        &[
            definition_yaml("animals", "freeText"),
            job_yaml("j", "animals", "global", ""),
        ],
    );
    let p = apply_exactly(&env, &after).await;
    assert_eq!(
        steps(&p),
        vec![
            "MoveAside JobDefinition/animals",
            "CreateDefinition JobDefinition/animals",
            "CreateJob Job/j",
            "Pause Job/j",
        ]
    );
    let now = env.client.find_job_definitions("animals").await.unwrap();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].id, old);
    let jobs = jobs_named(&env, "j").await;
    assert_eq!((jobs.len(), jobs[0].state.as_str()), (2, "Paused"));
    assert_eq!(jobs[1].definition_id, now[0].id);
}

#[tokio::test]
async fn a_type_change_with_on_replace_delete_removes_the_old_job_and_definition() {
    let env = env(FaultPlan::default()).await;
    let job = job_yaml("j", "animals", "global", "onReplace: delete\n");
    let before = project_of(&env, &[definition_yaml("animals", "classify"), job.clone()]);
    apply_exactly(&env, &before).await;
    let old = env.client.find_job_definitions("animals").await.unwrap()[0]
        .id
        .clone();
    let after = project_of(&env, &[definition_yaml("animals", "freeText"), job]);
    let p = apply_exactly(&env, &after).await;
    assert_eq!(
        steps(&p).last().map(String::as_str),
        Some(
            format!(
                "Delete JobDefinition/{}",
                rapidata::plan::diff::aside_name("animals", &old)
            )
            .as_str()
        ),
        "the old definition goes last, once its replacement and job are in place"
    );
    assert_eq!(jobs_named(&env, "j").await.len(), 1);
}

#[tokio::test]
async fn moving_a_job_to_another_audience_assigns_a_new_job() {
    let env = env(FaultPlan::default()).await;
    let def = definition_yaml("animals", "classify");
    let before = project_of(&env, &[def.clone(), job_yaml("j", "animals", "global", "")]);
    apply_exactly(&env, &before).await;
    let after = project_of(
        &env,
        &[
            audience_yaml("fans", "de"),
            def,
            job_yaml("j", "animals", "fans", ""),
        ],
    );
    let p = apply_exactly(&env, &after).await;
    assert_eq!(
        steps(&p),
        vec![
            "CreateAudience Audience/fans",
            "CreateJob Job/j",
            "Pause Job/j"
        ]
    );
    let fans = env.client.find_audiences("fans").await.unwrap();
    let jobs = jobs_named(&env, "j").await;
    assert_eq!(jobs[1].audience_id, fans[0].id);
    assert_eq!(jobs[0].state, "Paused");
}

#[tokio::test]
async fn audience_filters_change_in_place() {
    let env = env(FaultPlan::default()).await;
    let def = definition_yaml("animals", "classify");
    let job = job_yaml("j", "animals", "fans", "");
    apply_exactly(
        &env,
        &project_of(
            &env,
            &[audience_yaml("fans", "de"), def.clone(), job.clone()],
        ),
    )
    .await;
    let p = apply_exactly(
        &env,
        &project_of(&env, &[audience_yaml("fans", "de, fr"), def, job]),
    )
    .await;
    assert_eq!(steps(&p), vec!["UpdateAudience Audience/fans"]);
    let fans = env.client.find_audiences("fans").await.unwrap();
    assert_eq!(fans.len(), 1);
    assert_eq!(
        fans[0].filters[0]["languages"],
        serde_json::json!(["de", "fr"])
    );
    assert_eq!(jobs_named(&env, "j").await.len(), 1, "the job stays");
}

#[tokio::test]
async fn paused_pauses_and_resumes_the_job() {
    let env = env(FaultPlan::default()).await;
    let def = definition_yaml("animals", "classify");
    apply_exactly(
        &env,
        &project_of(&env, &[def.clone(), job_yaml("j", "animals", "global", "")]),
    )
    .await;
    let p = apply_exactly(
        &env,
        &project_of(
            &env,
            &[
                def.clone(),
                job_yaml("j", "animals", "global", "paused: true\n"),
            ],
        ),
    )
    .await;
    assert_eq!(steps(&p), vec!["Pause Job/j"]);
    assert_eq!(jobs_named(&env, "j").await[0].state, "Paused");
    let p = apply_exactly(
        &env,
        &project_of(
            &env,
            &[def, job_yaml("j", "animals", "global", "paused: false\n")],
        ),
    )
    .await;
    assert_eq!(steps(&p), vec!["Resume Job/j"]);
    assert_ne!(jobs_named(&env, "j").await[0].state, "Paused");
}

#[tokio::test]
async fn run_after_queues_a_job_behind_another() {
    let env = env(FaultPlan::default()).await;
    let project = project_of(
        &env,
        &[
            definition_yaml("animals", "classify"),
            definition_yaml("birds", "classify"),
            job_yaml("first", "animals", "global", ""),
            job_yaml("second", "birds", "global", "runAfter: first\n"),
        ],
    );
    apply_exactly(&env, &project).await;
    let second = &jobs_named(&env, "second").await[0];
    let first = &jobs_named(&env, "first").await[0];
    if first.state != "Completed" {
        assert_eq!(second.state, "Queued", "it waits for `first`");
    }
}

#[tokio::test]
async fn a_job_without_a_manifest_is_shown_and_deleted_only_with_prune() {
    let env = env(FaultPlan::default()).await;
    let def = definition_yaml("animals", "classify");
    apply_exactly(
        &env,
        &project_of(
            &env,
            &[def.clone(), job_yaml("old-name", "animals", "global", "")],
        ),
    )
    .await;
    let renamed = project_of(&env, &[def, job_yaml("new-name", "animals", "global", "")]);
    let p = plan(&env, &renamed, false).await;
    let orphan = p
        .resources
        .iter()
        .find(|r| r.name == "old-name")
        .expect("the job no manifest names is shown");
    assert!(orphan.steps.is_empty() && !orphan.notes.is_empty());
    let pruned = plan(&env, &renamed, true).await;
    assert!(steps(&pruned).contains(&"Delete Job/old-name".to_string()));
}

/// Random sequences of manifest edits, each followed by plan + apply: always converged,
/// the writes are the plan's steps, and the running job ends on the latest revision with
/// exactly the desired datapoints.
#[tokio::test]
async fn random_edit_sequences_always_converge_with_plan_equal_to_writes() {
    for seed in [1u64, 2, 3] {
        let env = env(FaultPlan::default()).await;
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut instruction = 0u32;
        let mut images = 6usize;
        let mut paused = false;
        let mut custom_audience = false;
        let mut languages = "de";
        for step in 0..6 {
            match rng.u8(0..5) {
                0 => instruction += 1,
                1 => images = rng.usize(3..9),
                2 => paused = !paused,
                3 => custom_audience = !custom_audience,
                _ => languages = if languages == "de" { "fr" } else { "de" },
            }
            let root = write_project(
                env.dir.path(),
                &ProjectSpec {
                    images,
                    with_job: false,
                    ..Default::default()
                },
            );
            // Only the images the manifest lists remain.
            for entry in std::fs::read_dir(root.join("images")).unwrap() {
                let path = entry.unwrap().path();
                let n: usize = path.file_stem().unwrap().to_str().unwrap()[4..]
                    .parse()
                    .unwrap();
                if n >= images {
                    std::fs::remove_file(path).unwrap();
                }
            }
            let mut def = definition_yaml("animals", "classify").replace(
                "What animal is this?",
                &format!("What animal is this? (v{instruction})"),
            );
            def.push_str("prune: true\n");
            let audience = if custom_audience { "fans" } else { "global" };
            let extra = if paused { "paused: true\n" } else { "" };
            let docs = [
                audience_yaml("fans", languages),
                def,
                job_yaml("j", "animals", audience, extra),
            ];
            std::fs::write(root.join("rapidata.yaml"), docs.join("---\n")).unwrap();
            let project = load(&root);
            let p = plan(&env, &project, false).await;
            let out = apply(&env, &project, 3).await;
            let ctx = format!("seed {seed} step {step}: {:?}", steps(&p));
            assert!(out.converged(), "{ctx}: {:?}", out.report);
            assert_eq!(executed(&out), steps(&p), "{ctx}");
            assert!(!plan(&env, &project, false).await.has_changes(), "{ctx}");
            // The running job runs the latest revision, on exactly the desired datapoints.
            let defs = env.client.find_job_definitions("animals").await.unwrap();
            let latest = env.client.latest_revision(&defs[0].id).await.unwrap();
            let audience_id = if custom_audience {
                env.client.find_audiences("fans").await.unwrap()[0]
                    .id
                    .clone()
            } else {
                "global".to_string()
            };
            let current: Vec<_> = jobs_named(&env, "j")
                .await
                .into_iter()
                .filter(|j| j.revision_number == latest.number && j.audience_id == audience_id)
                .collect();
            assert_eq!(current.len(), 1, "{ctx}");
            for other in jobs_named(&env, "j").await {
                if other.id != current[0].id {
                    assert!(
                        matches!(other.state.as_str(), "Paused" | "Completed"),
                        "{ctx}: a replaced job still runs: {other:?}"
                    );
                }
            }
            assert_eq!(current[0].state == "Paused", paused, "{ctx}");
            let counts = key_counts(&env.client, &latest.dataset_id).await;
            assert_eq!(counts.len(), images, "{ctx}");
            assert!(counts.values().all(|&n| n == 1), "{ctx}");
        }
    }
}

/// `plan --out` with `--environment local` records the environment, not the embedded
/// emulator's random port, so `apply FILE` applies it; once the remote moves, it refuses.
#[test]
fn a_saved_local_plan_applies_and_a_stale_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = write_project(
        dir.path(),
        &ProjectSpec {
            images: 3,
            ..Default::default()
        },
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rapidata"))
            .args(args)
            .current_dir(&root)
            .env("HOME", dir.path())
            .env_remove("RAPIDATA_TOKEN_FILE")
            .output()
            .unwrap()
    };
    let saved = run(&["plan", ".", "--environment", "local", "--out", "plan.json"]);
    assert!(
        saved.status.success(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let text = std::fs::read_to_string(root.join("plan.json")).unwrap();
    assert!(text.contains("\"api\": \"local\""), "{text}");
    let applied = run(&["apply", "plan.json", "--environment", "local"]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let stale = run(&["apply", "plan.json", "--environment", "local"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("stale"),
        "{}",
        String::from_utf8_lossy(&stale.stderr)
    );
}

/// Issue 11: an Order with `run: true` is submitted only once its datapoints converged:
/// creates whose answer was lost are not counted as done, the next observation decides,
/// and only then is the order submitted — so none is locked out.
#[tokio::test]
async fn an_order_is_submitted_only_after_its_datapoints_converged() {
    let env = env(rapidata::emulator::FaultPlan {
        routes: vec![rapidata::emulator::RouteFault {
            route: "POST /dataset/{datasetId}/datapoint".into(),
            lost_response_rate: 0.3,
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    let order = "apiVersion: rapidata.ai/v1\nkind: Order\nname: o\ntype: classify\ninstruction: Cat?\nanswerOptions: [yes, no]\nrun: true\ndatapointSources:\n  - files: \"images/*.png\"\n".to_string();
    let project = project_of(&env, &[order]);
    let out = apply(&env, &project, 4).await;
    assert!(out.converged(), "{:?}", out.report);
    let submits: Vec<_> = out
        .writes
        .iter()
        .filter(|w| w.starts_with("SubmitOrder"))
        .collect();
    assert_eq!(submits.len(), 1);
    assert_eq!(
        out.writes.last().map(String::as_str),
        Some("SubmitOrder Order/o"),
        "nothing after the submission: {:?}",
        out.writes
    );
    assert!(
        out.report.rounds >= 2,
        "the lost answers were observed before submitting"
    );
    let recorded: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.root.join(".rapidata/recorded.json")).unwrap(),
    )
    .unwrap();
    let ds = recorded["test"]["orderDatasets"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|v| v.as_str())
        .unwrap()
        .to_string();
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 20);
    assert!(counts.values().all(|&n| n == 1));
    let o = &env.client.find_orders("o").await.unwrap()[0];
    assert_ne!(o.state, "Created");
}

#[tokio::test]
async fn changed_answer_options_save_one_revision_and_write_no_datapoint() {
    let env = env(FaultPlan::default()).await;
    let job = job_yaml("j", "animals", "global", "");
    apply_exactly(
        &env,
        &project_of(&env, &[definition_yaml("animals", "classify"), job.clone()]),
    )
    .await;
    let ds1 = dataset_of(&env.client, "animals").await;
    let def = definition_yaml("animals", "classify").replace("[cat, dog]", "[cat, dog, bird]");
    let project = project_of(&env, &[def, job.clone()]);
    let p = plan(&env, &project, false).await;
    let d = resource_of(&p, ResourceKind::JobDefinition);
    let options = d
        .changes
        .iter()
        .find(|c| c.field == "answerOptions")
        .expect("~ answerOptions");
    assert_eq!(
        (options.before.as_deref(), options.after.as_deref()),
        (Some("cat, dog"), Some("cat, dog, bird"))
    );
    // The SDK's `answer_options = ...` + `save()`: a revision, no dataset, no datapoint.
    assert_eq!(
        d.steps,
        vec![Step::NewRevision {
            base_revision: 1,
            literal_options: true
        }]
    );
    let dp = d.datapoints.as_ref().unwrap();
    assert!(!dp.has_changes(), "{dp:?}");
    let before = env.emulator.stats();
    apply_exactly(&env, &project).await;
    let after = env.emulator.stats();
    for route in [
        "POST /dataset",
        "POST /dataset/{datasetId}/datapoint",
        "DELETE /datapoint/{datapointId}",
        "POST /asset/file",
    ] {
        assert_eq!(after.get(route), before.get(route), "{route}");
    }
    assert_eq!(
        after.get("POST /job/definition/{definitionId}/revision")
            - before.get("POST /job/definition/{definitionId}/revision"),
        1,
        "one revision"
    );
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    let rev = env.client.latest_revision(&defs[0].id).await.unwrap();
    assert_eq!((rev.number, rev.dataset_id.as_str()), (2, ds1.as_str()));
    assert_eq!(
        rev.workflow["rapid"]["categories"]["literal"],
        serde_json::json!([
            {"label": "cat", "value": "cat"},
            {"label": "dog", "value": "dog"},
            {"label": "bird", "value": "bird"}
        ])
    );
    // The job is on revision 2 (a new job, shown with its cost; the old one paused).
    let jobs = jobs_named(&env, "j").await;
    assert_eq!(
        (jobs.len(), jobs[0].state.as_str(), jobs[1].revision_number),
        (2, "Paused", 2)
    );
    // Back to the options the datapoints carry: still a revision that binds them (it
    // stays bound), again without touching a datapoint.
    let project = project_of(&env, &[definition_yaml("animals", "classify"), job]);
    let p = plan(&env, &project, false).await;
    let d = resource_of(&p, ResourceKind::JobDefinition);
    assert_eq!(
        d.steps,
        vec![Step::NewRevision {
            base_revision: 2,
            literal_options: true
        }]
    );
    let datapoint_writes = env
        .emulator
        .stats()
        .get("POST /dataset/{datasetId}/datapoint");
    apply_exactly(&env, &project).await;
    assert_eq!(
        env.emulator
            .stats()
            .get("POST /dataset/{datasetId}/datapoint"),
        datapoint_writes
    );
    assert_eq!(key_counts(&env.client, &ds1).await.len(), 20);
}

#[tokio::test]
async fn referee_and_settings_changes_save_a_complete_revision_that_keeps_what_manifests_do_not_manage(
) {
    let env = env(FaultPlan::default()).await;
    let def = definition_yaml("animals", "classify");
    let project = project_of(&env, std::slice::from_ref(&def));
    apply_exactly(&env, &project).await;
    // Someone pins a validation set on the definition (not managed by the manifests).
    let defs = env.client.find_job_definitions("animals").await.unwrap();
    let rev = env.client.latest_revision(&defs[0].id).await.unwrap();
    let rapidata::manifest::Resource::JobDefinition(d) = &project.resources[0] else {
        panic!()
    };
    // The emulator checks that a newly named validation set exists (contract v3).
    let base = env.emulator.base_url();
    let token: serde_json::Value =
        crate::emulator_support::token(&base, &env.client_id, &env.client_secret)
            .await
            .json()
            .await
            .unwrap();
    let api = crate::emulator_support::Api {
        base,
        token: token["access_token"].as_str().unwrap().to_string(),
        http: reqwest::Client::new(),
    };
    let pinned = api
        .post("/validation-set", serde_json::json!({"name": "pinned"}))
        .await
        .body["validationSetId"]
        .as_str()
        .unwrap()
        .to_string();
    let carry = rapidata::remote::RevisionCarryOver {
        validation_set_id: serde_json::json!(pinned),
        ..rev.carry_over.clone()
    };
    let body = wire_build::revision_body_full(&d.spec, &rev.dataset_id, rev.number, &carry, false);
    env.client
        .create_revision(&defs[0].id, &body)
        .await
        .unwrap();
    let changed = def.replace("responsesPerDatapoint: 3", "responsesPerDatapoint: 7")
        + "settings:\n  alert_on_fast_response: \"0.25\"\n";
    let p = apply_exactly(&env, &project_of(&env, &[changed])).await;
    let fields: Vec<_> = p.resources[0]
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(fields, vec!["referee", "settings"]);
    assert_eq!(steps(&p), vec!["NewRevision JobDefinition/animals"]);
    let latest = env.client.latest_revision(&defs[0].id).await.unwrap();
    assert_eq!(latest.number, 3);
    assert_eq!(
        latest.carry_over.validation_set_id,
        serde_json::json!(pinned)
    );
    assert_eq!(latest.dataset_id, rev.dataset_id);
}

async fn plan_and_apply_with(
    env: &Env,
    project: &rapidata::manifest::Project,
    opts: &rapidata::plan::PlanOptions,
) -> (Plan, rapidata::apply::ApplyOutcome) {
    let record = RecordStore::open(&project.root, "test");
    let p = rapidata::plan::make_plan(&env.client, project, opts, "test", &record.get())
        .await
        .unwrap();
    let out = rapidata::apply::apply(
        &env.client,
        project,
        opts,
        &rapidata::apply::ApplyOptions {
            round_backoff: std::time::Duration::from_millis(10),
            ..Default::default()
        },
        p.clone(),
        &record,
        &rapidata::apply::Silent,
        &rapidata::apply::Cancel::new(),
    )
    .await
    .unwrap();
    (p, out)
}

/// Every kind can go away: with `--project`, the audiences it made carry its marker, a
/// removed one is shown as kept drift, and `--prune` deletes it (after its jobs moved).
#[tokio::test]
async fn a_project_audience_removed_from_the_manifests_is_pruned() {
    let env = env(FaultPlan::default()).await;
    let def = definition_yaml("animals", "classify");
    let zoo = |prune| rapidata::plan::PlanOptions {
        project: Some("zoo".into()),
        prune,
        ..Default::default()
    };
    let before = project_of(
        &env,
        &[
            audience_yaml("fans", "de"),
            def.clone(),
            job_yaml("j", "animals", "fans", ""),
        ],
    );
    let (_, out) = plan_and_apply_with(&env, &before, &zoo(false)).await;
    assert!(out.converged(), "{:?}", out.report);
    let fans = &env.client.find_audiences("fans").await.unwrap()[0];
    assert!(fans
        .description
        .as_deref()
        .unwrap()
        .contains("rapidata-project=zoo"));
    // Another project's audience, with a marker of its own, is never touched.
    env.client
        .create_audience(&serde_json::json!({
            "name": "theirs",
            "filters": [],
            "description": rapidata::remote::wire_build::audience_marker("zoo2"),
        }))
        .await
        .unwrap();
    let after = project_of(&env, &[def, job_yaml("j", "animals", "global", "")]);
    let record = RecordStore::open(&after.root, "test");
    let kept = rapidata::plan::make_plan(&env.client, &after, &zoo(false), "test", &record.get())
        .await
        .unwrap();
    let entry = resource_of(&kept, ResourceKind::Audience);
    assert!(
        entry.steps.is_empty() && !entry.notes.is_empty(),
        "{entry:?}"
    );
    let (p, out) = plan_and_apply_with(&env, &after, &zoo(true)).await;
    assert!(out.converged(), "{:?}", out.report);
    assert_eq!(
        steps(&p),
        vec!["CreateJob Job/j", "Pause Job/j", "Delete Audience/fans"]
    );
    assert!(env.client.find_audiences("fans").await.unwrap().is_empty());
    assert_eq!(env.client.find_audiences("theirs").await.unwrap().len(), 1);
}

/// Issue 14: a sharded apply. `--phase prepare` makes the dataset, four `--shard K/4`
/// processes fill it concurrently (one of them killed and run again), and a final apply
/// creates the definition over the full dataset and assigns the job: no duplicate, nothing
/// missing, and the next plan is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_fill_one_dataset_without_duplicates() {
    let env = env(FaultPlan::default()).await;
    let root = env.dir.path().join("sharded");
    std::fs::create_dir_all(&root).unwrap();
    let rows: String = (0..4000)
        .map(|i| format!("{{\"asset\": {{\"text\": \"sentence {i}\"}}}}\n"))
        .collect();
    std::fs::write(root.join("rows.jsonl"), rows).unwrap();
    let def = "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: big\ntype: classify\ninstruction: Positive?\nanswerOptions: [yes, no]\ndatapointSources:\n  - jsonl: rows.jsonl\n";
    std::fs::write(
        root.join("rapidata.yaml"),
        [def.to_string(), job_yaml("big-job", "big", "global", "")].join("---\n"),
    )
    .unwrap();
    let status = |mut c: Command| async move {
        tokio::task::spawn_blocking(move || c.status().unwrap().code())
            .await
            .unwrap()
    };
    assert_eq!(
        status(apply_cmd(&env, &root, &["--phase", "prepare"])).await,
        Some(0)
    );
    let ds = pending_dataset(&root, "big").expect("prepare records the dataset");
    assert!(env
        .client
        .find_job_definitions("big")
        .await
        .unwrap()
        .is_empty());
    let mut shards: Vec<_> = (0..4)
        .map(|k| {
            apply_cmd(
                &env,
                &root,
                &["--shard", &format!("{k}/4"), "--parallelism", "4"],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let _ = shards[2].kill();
    let codes = tokio::task::spawn_blocking(move || {
        shards
            .iter_mut()
            .map(|c| c.wait().unwrap().code())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(
        (codes[0], codes[1], codes[3]),
        (Some(0), Some(0), Some(0)),
        "{codes:?}"
    );
    assert_eq!(
        status(apply_cmd(&env, &root, &["--shard", "2/4"])).await,
        Some(0)
    );
    let counts = key_counts(&env.client, &ds).await;
    assert_eq!(counts.len(), 4000);
    assert!(counts.values().all(|&n| n == 1));
    assert!(
        env.client
            .find_job_definitions("big")
            .await
            .unwrap()
            .is_empty(),
        "shards create no definition"
    );
    assert_eq!(
        status(apply_cmd(&env, &root, &["--phase", "finalize"])).await,
        Some(0)
    );
    assert_eq!(dataset_of(&env.client, "big").await, ds);
    assert_eq!(jobs_named(&env, "big-job").await.len(), 1);
    assert!(!plan(&env, &load(&root), false).await.has_changes());
}
