//! The executor against a recording fake of the API: what it sends, in which order, and
//! what it does not send when a step fails — without HTTP.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::execute::{Executor, RoundOutcome};
use super::remote::Remote;
use super::{ApplyOptions, Cancel, Silent};
use crate::manifest::{self, Project, ResourceKind};
use crate::plan::observe::{Observation, Observed, ObservedDefinition};
use crate::plan::{diff, Plan, PlanOptions, RecordStore, Step};
use crate::remote::content_identity::ListedDatapoint;
use crate::remote::progress::CostEstimate;
use crate::remote::{
    wire_build, ApiError, ProblemDetails, RemoteAudience, RemoteJob, RemoteJobDefinition,
    RemoteOrder, RemoteRevision, UrlUpload,
};

type R<T> = Result<T, ApiError>;

/// Records every call as `"method arg"`; the methods named in `fail` answer with `status`.
#[derive(Clone, Default)]
struct Fake {
    calls: Arc<Mutex<Vec<String>>>,
    /// What `list_datapoint_contents` answers.
    contents: Arc<Mutex<Vec<ListedDatapoint>>>,
    /// What `find_jobs` answers.
    jobs: Arc<Mutex<Vec<RemoteJob>>>,
    fail: Arc<BTreeSet<&'static str>>,
    status: u16,
}

impl Fake {
    fn failing(methods: &[&'static str], status: u16) -> Fake {
        Fake {
            fail: Arc::new(methods.iter().copied().collect()),
            status,
            ..Fake::default()
        }
    }

    fn call<T>(&self, method: &'static str, arg: &str, ok: T) -> R<T> {
        self.calls.lock().unwrap().push(format!("{method} {arg}"));
        if self.fail.contains(method) {
            return Err(ApiError::Problem {
                status: self.status,
                problem: Box::new(ProblemDetails {
                    title: Some(format!("{method} refused")),
                    ..Default::default()
                }),
                trace_id: None,
                route: method.to_string(),
            });
        }
        Ok(ok)
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn methods(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| c.split(' ').next().unwrap_or_default().to_string())
            .collect()
    }
}

fn id(s: &str) -> String {
    format!("id-{s}")
}

#[rustfmt::skip]
impl Remote for Fake {
    async fn create_audience(&self, body: &Value) -> R<String> { self.call("create_audience", body["name"].as_str().unwrap_or(""), id("aud")) }
    async fn update_audience(&self, i: &str, _: &Value) -> R<()> { self.call("update_audience", i, ()) }
    async fn find_audiences(&self, n: &str) -> R<Vec<RemoteAudience>> { self.call("find_audiences", n, Vec::new()) }
    async fn delete_audience(&self, i: &str) -> R<()> { self.call("delete_audience", i, ()) }
    async fn create_filtered_audience(&self, b: &str, _: &Value) -> R<String> { self.call("create_filtered_audience", b, id("fau")) }
    async fn create_validation_set(&self, n: &str) -> R<String> { self.call("create_validation_set", n, id("vs")) }
    async fn find_validation_sets(&self, n: &str) -> R<Vec<crate::remote::validation_sets::RemoteValidationSet>> { self.call("find_validation_sets", n, Vec::new()) }
    async fn add_validation_task(&self, i: &str, _: &Value) -> R<()> { self.call("add_validation_task", i, ()) }
    async fn update_validation_set(&self, i: &str, _: &Value) -> R<()> { self.call("update_validation_set", i, ()) }
    async fn delete_validation_set(&self, i: &str) -> R<()> { self.call("delete_validation_set", i, ()) }
    async fn add_example(&self, a: &str, _: &Value) -> R<()> { self.call("add_example", a, ()) }
    async fn delete_example(&self, i: &str) -> R<()> { self.call("delete_example", i, ()) }
    async fn start_recruiting(&self, a: &str) -> R<()> { self.call("start_recruiting", a, ()) }
    async fn create_dataset(&self, b: &Value) -> R<String> { self.call("create_dataset", b["name"].as_str().unwrap_or_default(), id("ds-new")) }
    async fn create_dataset_group(&self, d: &str, _: &Value) -> R<()> { self.call("create_dataset_group", d, ()) }
    async fn create_datapoint(&self, d: &str, _: Vec<u8>) -> R<String> { self.call("create_datapoint", d, id("dp")) }
    async fn delete_datapoint(&self, i: &str) -> R<()> { self.call("delete_datapoint", i, ()) }
    async fn upload_file(&self, _: &Path, f: &str) -> R<String> { self.call("upload_file", f, f.to_string()) }
    async fn upload_urls(&self, u: &[String]) -> R<Vec<(String, UrlUpload)>> { self.call("upload_urls", &u.join(","), Vec::new()) }
    async fn create_job_definition(&self, b: &Value) -> R<String> { self.call("create_job_definition", b["datasetId"].as_str().unwrap_or(""), id("def")) }
    async fn find_job_definitions(&self, n: &str) -> R<Vec<RemoteJobDefinition>> { self.call("find_job_definitions", n, Vec::new()) }
    async fn rename_job_definition(&self, i: &str, n: &str) -> R<()> { self.call("rename_job_definition", &format!("{i} {n}"), ()) }
    async fn delete_job_definition(&self, i: &str) -> R<()> { self.call("delete_job_definition", i, ()) }
    async fn revision(&self, d: &str, n: u32) -> R<RemoteRevision> { self.call("revision", &format!("{d} {n}"), revision(1, "ds-1", "old")) }
    async fn create_revision(&self, d: &str, b: &Value) -> R<u32> {
        self.call("create_revision", &format!("{d} base={} latest={} ds={}", b["baseRevisionNumber"], b["requireLatest"], b["datasetId"].as_str().unwrap_or("")), 2)
    }
    async fn wait_definition_cost_estimate(&self, d: &str, _: Duration, _: Duration) -> R<Option<CostEstimate>> { self.call("wait_definition_cost_estimate", d, None) }
    async fn create_job(&self, b: &Value) -> R<String> { self.call("create_job", &format!("rev={}", b["revisionNumber"]), id("job-new")) }
    async fn find_jobs_named(&self, n: &str) -> R<Vec<RemoteJob>> { self.call("find_jobs_named", n, Vec::new()) }
    async fn pause_job(&self, i: &str) -> R<()> { self.call("pause_job", i, ()) }
    async fn resume_job(&self, i: &str) -> R<()> { self.call("resume_job", i, ()) }
    async fn delete_job(&self, i: &str) -> R<()> { self.call("delete_job", i, ()) }
    async fn create_order(&self, _: &Value) -> R<(String, Option<String>)> { self.call("create_order", "", (id("order"), Some(id("ds-order")))) }
    async fn find_orders(&self, n: &str) -> R<Vec<RemoteOrder>> { self.call("find_orders", n, Vec::new()) }
    async fn rename_order(&self, i: &str, n: &str) -> R<()> { self.call("rename_order", &format!("{i} {n}"), ()) }
    async fn submit_order(&self, i: &str) -> R<()> { self.call("submit_order", i, ()) }
    async fn pause_order(&self, i: &str) -> R<()> { self.call("pause_order", i, ()) }
    async fn resume_order(&self, i: &str) -> R<()> { self.call("resume_order", i, ()) }
    async fn delete_order(&self, i: &str) -> R<()> { self.call("delete_order", i, ()) }
    async fn find_jobs(&self, d: &str) -> R<Vec<RemoteJob>> { self.call("find_jobs", d, self.jobs.lock().unwrap().clone()) }
    async fn rename_job(&self, i: &str, n: &str) -> R<()> { self.call("rename_job", &format!("{i} {n}"), ()) }
    async fn rename_dataset(&self, i: &str, n: &str) -> R<()> { self.call("rename_dataset", &format!("{i} {n}"), ()) }
    async fn list_datapoint_contents(&self, d: &str) -> R<Vec<ListedDatapoint>> { self.call("list_datapoint_contents", d, self.contents.lock().unwrap().clone()) }
}

const DEF: &str = "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: classify\ninstruction: INSTRUCTION\nanswerOptions: [a, b]\ndatapoints:\n  - asset: {text: one}\n  - asset: {text: two}\n  - asset: {text: three}\n";
const JOB: &str =
    "apiVersion: rapidata.ai/v1\nkind: Job\nname: j\ndefinition: d\naudience: global\n";
const ORDER: &str = "apiVersion: rapidata.ai/v1\nkind: Order\nname: o\ntype: classify\ninstruction: Which?\nanswerOptions: [a, b]\nrun: true\ndatapoints:\n  - asset: {text: one}\n  - asset: {text: two}\n";

fn project(docs: &[&str]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), docs.join("---\n")).unwrap();
    let opts = manifest::LoadOptions {
        no_cache: true,
        ..Default::default()
    };
    let p = manifest::load(&[dir.path().to_path_buf()], &opts).unwrap();
    (dir, p)
}

fn revision(n: u32, ds: &str, instruction: &str) -> RemoteRevision {
    let (_d, p) = project(&[&DEF.replace("INSTRUCTION", instruction)]);
    let manifest::Resource::JobDefinition(d) = &p.resources[0] else {
        unreachable!()
    };
    RemoteRevision {
        definition_id: "id-def".into(),
        number: n,
        dataset_id: ds.into(),
        workflow: wire_build::workflow_for(&d.spec),
        referee: wire_build::referee_for(&d.spec),
        feature_flags: Vec::new(),
        carry_over: Default::default(),
    }
}

async fn run(fake: &Fake, project: &Project, plan: &Plan) -> RoundOutcome {
    let skip = HashSet::new();
    let options = ApplyOptions {
        parallelism: 1,
        ..Default::default()
    };
    let record = RecordStore::in_memory("test");
    let executor = Executor {
        client: fake,
        project,
        options: &options,
        progress: &Silent,
        cancel: &Cancel::new(),
        skip: &skip,
        project_name: None,
        record: &record,
        round: super::gate::Round::Last,
    };
    executor.execute(plan).await
}

/// The first `n` datapoints of `spec` as rapidata uploaded them (`dp0`, `dp1`, …).
fn uploaded(spec: &manifest::LabelingSpec, n: usize) -> Vec<crate::remote::RemoteDatapoint> {
    spec.datapoints
        .iter()
        .enumerate()
        .take(n)
        .map(|(i, dp)| crate::remote::RemoteDatapoint {
            id: format!("dp{i}"),
            key: Some(dp.key().into_owned()),
            fingerprint: Some(
                crate::plan::remote_fingerprint_of(&spec.task, &dp.fingerprint()).into(),
            ),
            files: Vec::new(),
            adopted: false,
            answer_options: None,
        })
        .collect()
}

/// The definition (revision 1, dataset `ds-1`, instruction `old`) with its three datapoints
/// in, and job `j` running on revision 1.
fn running(p: &Project) -> Observed {
    let manifest::Resource::JobDefinition(d) = &p.resources[0] else {
        unreachable!()
    };
    let datapoints = uploaded(&d.spec, usize::MAX);
    let datapoints = crate::plan::RemoteSet::from_list(&d.spec, datapoints);
    let job = RemoteJob {
        id: "id-job-old".into(),
        name: "j".into(),
        definition_id: "id-def".into(),
        audience_id: "global".into(),
        revision_number: 1,
        state: "Running".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
    };
    let mut o = Observed::default();
    o.resources.insert(
        (ResourceKind::JobDefinition, "d".into()),
        Observation::JobDefinition(Some(Box::new(ObservedDefinition {
            definition: RemoteJobDefinition {
                id: "id-def".into(),
                name: "d".into(),
                created_at: "2026-01-01T00:00:00Z".into(),
            },
            revision: revision(1, "ds-1", "old"),
            datapoints,
            jobs: vec![job.clone()],
            dataset_in_use: true,
            answer_options: Some(crate::plan::ShownOptions::Carried(vec![
                "a".into(),
                "b".into(),
            ])),
        }))),
    );
    o.resources
        .insert((ResourceKind::Job, "j".into()), Observation::Job(vec![job]));
    o
}

fn position(calls: &[String], method: &str) -> Option<usize> {
    calls.iter().position(|c| c == method)
}

#[tokio::test]
async fn a_new_definition_is_created_after_its_datapoints_and_the_job_after_it() {
    let (_d, p) = project(&[&DEF.replace("INSTRUCTION", "old"), JOB]);
    let plan = diff(&p, &Observed::default(), &PlanOptions::default(), "test");
    let fake = Fake::default();
    let out = run(&fake, &p, &plan).await;
    assert_eq!(out.resource_errors, 0, "{:?}", out.notes);
    let m = fake.methods();
    let dataset = position(&m, "create_dataset").unwrap();
    let last_datapoint = m.iter().rposition(|c| c == "create_datapoint").unwrap();
    let definition = position(&m, "create_job_definition").unwrap();
    let job = position(&m, "create_job").unwrap();
    assert_eq!(m.iter().filter(|c| *c == "create_datapoint").count(), 3);
    assert!(
        dataset < last_datapoint && last_datapoint < definition && definition < job,
        "{m:?}"
    );
    // The definition is on the dataset just filled, the job on an explicit revision 1.
    let calls = fake.calls();
    assert!(
        calls.contains(&"create_job_definition id-ds-new".to_string()),
        "{calls:?}"
    );
    assert!(calls.contains(&"create_job rev=1".to_string()), "{calls:?}");
}

#[tokio::test]
async fn a_new_instruction_saves_a_revision_then_replaces_the_job_then_pauses_the_old_one() {
    let (_d, p) = project(&[&DEF.replace("INSTRUCTION", "new"), JOB]);
    let plan = diff(&p, &running(&p), &PlanOptions::default(), "test");
    let fake = Fake::default();
    let out = run(&fake, &p, &plan).await;
    assert_eq!(out.resource_errors, 0, "{:?}", out.notes);
    let calls = fake.calls();
    let writes: Vec<&String> = calls
        .iter()
        .filter(|c| !c.starts_with("find_") && !c.starts_with("revision "))
        .collect();
    assert_eq!(
        writes,
        [
            "create_revision id-def base=1 latest=true ds=ds-1",
            "create_job rev=2",
            "pause_job id-job-old",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .iter()
        .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_old_job_keeps_running_when_its_replacement_cannot_be_assigned() {
    let (_d, p) = project(&[&DEF.replace("INSTRUCTION", "new"), JOB]);
    let plan = diff(&p, &running(&p), &PlanOptions::default(), "test");
    let fake = Fake::failing(&["create_job"], 400);
    let out = run(&fake, &p, &plan).await;
    assert!(
        !fake.methods().contains(&"pause_job".to_string()),
        "{:?}",
        fake.calls()
    );
    let notes: Vec<&String> = out.notes.values().flatten().collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("waits until Job j is complete")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_revision_conflict_halts_the_definition_and_assigns_nothing() {
    let (_d, p) = project(&[&DEF.replace("INSTRUCTION", "new"), JOB]);
    let plan = diff(&p, &running(&p), &PlanOptions::default(), "test");
    let fake = Fake::failing(&["create_revision"], 409);
    let out = run(&fake, &p, &plan).await;
    assert!(out
        .halted
        .contains(&(ResourceKind::JobDefinition, "d".to_string())));
    let m = fake.methods();
    assert!(
        !m.contains(&"create_job".to_string()) && !m.contains(&"pause_job".to_string()),
        "{m:?}"
    );
}

#[tokio::test]
async fn new_datapoints_for_a_running_job_never_touch_its_dataset() {
    let (_d, old) = project(&[&DEF.replace("INSTRUCTION", "old"), JOB]);
    let more = DEF.replace("INSTRUCTION", "old") + "  - asset: {text: four}\n";
    let (_d2, p) = project(&[&more, JOB]);
    let plan = diff(&p, &running(&old), &PlanOptions::default(), "test");
    let fake = Fake::default();
    let out = run(&fake, &p, &plan).await;
    assert_eq!(out.resource_errors, 0, "{:?}", out.notes);
    let calls = fake.calls();
    assert!(
        calls
            .iter()
            .all(|c| !c.contains("ds-1") || c.starts_with("revision")),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|c| c.starts_with("delete_datapoint")));
    // All four go to the new dataset, new content first; then the revision points at it.
    let to_new = calls
        .iter()
        .filter(|c| *c == "create_datapoint id-ds-new")
        .count();
    assert_eq!(to_new, 4, "{calls:?}");
    assert!(
        calls.contains(&"create_revision id-def base=1 latest=true ds=id-ds-new".to_string()),
        "{calls:?}"
    );
}

#[tokio::test]
async fn an_order_is_not_submitted_while_datapoints_fail_transiently() {
    let (_d, p) = project(&[ORDER]);
    let plan = diff(&p, &Observed::default(), &PlanOptions::default(), "test");
    let fake = Fake::failing(&["create_datapoint"], 503);
    let out = run(&fake, &p, &plan).await;
    let m = fake.methods();
    assert!(m.contains(&"create_order".to_string()));
    assert!(!m.contains(&"submit_order".to_string()), "{m:?}");
    // One retry budget: each create is sent once per round (the transport alone retries
    // a request whose answer proves it was not processed); the next round, after a fresh
    // observation, sends what is still missing.
    assert_eq!(m.iter().filter(|c| *c == "create_datapoint").count(), 2);
    let notes: Vec<&String> = out.notes.values().flatten().collect();
    assert!(
        notes.iter().any(|n| n.contains("not submitted yet")),
        "{notes:?}"
    );
}

// ---- spend: labeling starts only as the plan showed (issue #19) ----

const TOLERANT: &str = "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: classify\ninstruction: INSTRUCTION\nanswerOptions: [a, b]\nfailureTolerance: 1.0\ndatapoints:\n  - asset: {text: one}\n  - asset: {text: two}\n  - asset: {text: three}\n";

async fn run_round(
    fake: &Fake,
    project: &Project,
    plan: &Plan,
    round: super::gate::Round,
    record: &RecordStore,
) -> RoundOutcome {
    let skip = HashSet::new();
    let options = ApplyOptions {
        parallelism: 1,
        ..Default::default()
    };
    let executor = Executor {
        client: fake,
        project,
        options: &options,
        progress: &Silent,
        cancel: &Cancel::new(),
        skip: &skip,
        project_name: None,
        record,
        round,
    };
    executor.execute(plan).await
}

/// `running`, with only the first `present` datapoints in the job's dataset.
fn running_with(p: &Project, present: usize) -> Observed {
    let mut o = running(p);
    let manifest::Resource::JobDefinition(d) = &p.resources[0] else {
        unreachable!()
    };
    if let Some(Observation::JobDefinition(Some(def))) = o
        .resources
        .get_mut(&(ResourceKind::JobDefinition, "d".into()))
    {
        def.datapoints = crate::plan::RemoteSet::from_list(&d.spec, uploaded(&d.spec, present));
    }
    o
}

/// The observation of `old`'s datapoints as a plan of `new` reads them (the remote set is
/// matched against the manifest it is diffed with).
fn seen_by(observed: &Observed, old: &Project, new: &Project) -> Observed {
    let mut o = observed.clone();
    let (manifest::Resource::JobDefinition(od), manifest::Resource::JobDefinition(nd)) =
        (&old.resources[0], &new.resources[0])
    else {
        unreachable!()
    };
    let list = uploaded(&od.spec, usize::MAX);
    if let Some(Observation::JobDefinition(Some(def))) = o
        .resources
        .get_mut(&(ResourceKind::JobDefinition, "d".into()))
    {
        def.datapoints = crate::plan::RemoteSet::from_list(&nd.spec, list);
    }
    o
}

#[tokio::test]
async fn a_job_is_assigned_only_after_the_retry_rounds_of_its_datapoints() {
    let (_d, p) = project(&[&TOLERANT.replace("INSTRUCTION", "old"), JOB]);
    let plan = diff(&p, &Observed::default(), &PlanOptions::default(), "test");
    let record = RecordStore::in_memory("test");
    // Datapoints fail transiently: while rounds follow, the job waits for their retries
    // into the same dataset, although 100% is within the tolerance.
    let fake = Fake::failing(&["create_datapoint"], 503);
    let out = run_round(&fake, &p, &plan, super::gate::Round::More, &record).await;
    let m = fake.methods();
    assert!(m.contains(&"create_job_definition".to_string()), "{m:?}");
    assert!(!m.contains(&"create_job".to_string()), "{m:?}");
    let notes: Vec<&String> = out.notes.values().flatten().collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("not assigned yet") && n.contains("same dataset first")),
        "{notes:?}"
    );
    // The last round judges the tolerance on what is in the dataset, and records what the
    // job was assigned without.
    let fake = Fake::failing(&["create_datapoint"], 503);
    run_round(&fake, &p, &plan, super::gate::Round::Last, &record).await;
    assert!(fake.methods().contains(&"create_job".to_string()));
    let without = record.get().started_without;
    assert_eq!(
        without.get("id-ds-new").map(|k| k.len()),
        Some(3),
        "{without:?}"
    );
}

#[tokio::test]
async fn datapoints_a_job_started_without_never_make_a_new_dataset_by_themselves() {
    let (_d, p) = project(&[&TOLERANT.replace("INSTRUCTION", "old"), JOB]);
    let mut observed = running_with(&p, 2);
    let manifest::Resource::JobDefinition(d) = &p.resources[0] else {
        unreachable!()
    };
    let missing = d.spec.datapoints.iter().nth(2).unwrap().key().into_owned();
    observed
        .started_without
        .insert("ds-1".into(), [missing.clone()].into_iter().collect());
    let plan = diff(&p, &observed, &PlanOptions::default(), "test");
    let def = &plan.resources[0];
    assert!(def.steps.is_empty(), "{:?}", def.steps);
    let dp = def.datapoints.as_ref().unwrap();
    assert!(dp.add.is_empty());
    assert_eq!(dp.failed_earlier, vec![missing.clone()]);
    assert!(
        def.notes.iter().any(|n| n.contains("--relabel d")),
        "{:?}",
        def.notes
    );
    assert!(!plan.has_changes());
    // Without the record, the same datapoint is new data: a new dataset, revision and
    // job, shown as labeling the two present datapoints again.
    let plan = diff(&p, &running_with(&p, 2), &PlanOptions::default(), "test");
    assert!(plan.resources[0].steps.contains(&Step::NewDataset));
    let job = plan
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::Job && r.origin.is_some())
        .unwrap();
    let relabel = job.relabel.as_ref().expect("a relabel is shown");
    assert_eq!(
        (relabel.datapoints, relabel.replaces.as_str()),
        (2, "id-job-old")
    );
    assert_eq!(relabel.responses, 2 * 10);
    // `--relabel d` asks for it explicitly.
    let opts = PlanOptions {
        relabel: vec!["d".into()],
        ..Default::default()
    };
    let plan = diff(&p, &observed, &opts, "test");
    assert!(plan.resources[0].steps.contains(&Step::NewDataset));
    assert_eq!(plan.resources[0].datapoints.as_ref().unwrap().add.len(), 3);
}

#[tokio::test]
async fn a_new_dataset_for_a_running_job_carries_over_what_the_manifests_no_longer_list() {
    let (_d, old) = project(&[&DEF.replace("INSTRUCTION", "old"), JOB]);
    // "three" removed, "four" added, no prune.
    let edited = DEF
        .replace("INSTRUCTION", "old")
        .replace("  - asset: {text: three}\n", "  - asset: {text: four}\n");
    let (_d2, p) = project(&[&edited, JOB]);
    let observed = seen_by(&running(&old), &old, &p);
    let plan = diff(&p, &observed, &PlanOptions::default(), "test");
    let dp = plan.resources[0].datapoints.as_ref().unwrap();
    assert_eq!(dp.keep.len(), 1);
    assert_eq!(dp.keep_from.as_deref(), Some("ds-1"));
    assert_eq!((dp.carried_over, dp.dropped), (3, 0));
    let gone = dp.keep[0].clone();
    let fake = Fake::default();
    fake.contents.lock().unwrap().push(ListedDatapoint {
        id: gone.id.clone(),
        asset: Some(crate::remote::content_identity::ListedAsset::Text(
            "three".into(),
        )),
        key: Some(gone.key.clone()),
        ..Default::default()
    });
    let out = run(&fake, &p, &plan).await;
    assert_eq!(out.resource_errors, 0, "{:?}", out.notes);
    let calls = fake.calls();
    let to_new = calls
        .iter()
        .filter(|c| *c == "create_datapoint id-ds-new")
        .count();
    // one, two, four, and the carried-over three; nothing deleted anywhere.
    assert_eq!(to_new, 4, "{calls:?}");
    assert!(calls.contains(&"list_datapoint_contents ds-1".to_string()));
    assert!(!calls.iter().any(|c| c.starts_with("delete_datapoint")));
    // With prune it is dropped instead, and named.
    let opts = PlanOptions {
        prune: true,
        ..Default::default()
    };
    let plan = diff(&p, &observed, &opts, "test");
    let dp = plan.resources[0].datapoints.as_ref().unwrap();
    assert!(dp.keep.is_empty());
    assert_eq!(dp.dropped, 1);
    assert_eq!(dp.dropped_items[0].key, gone.key);
}

#[tokio::test]
async fn a_rename_patches_the_names_and_uploads_nothing() {
    let (_d, old) = project(&[&DEF.replace("INSTRUCTION", "old"), JOB]);
    let renamed = DEF
        .replace("INSTRUCTION", "old")
        .replace("name: d\n", "name: d2\nrenamedFrom: d\n");
    let job = JOB.replace("definition: d\n", "definition: d2\n");
    let (_d2, p) = project(&[&renamed, &job]);
    let mut observed = running(&old);
    let def = observed
        .resources
        .remove(&(ResourceKind::JobDefinition, "d".into()))
        .unwrap();
    observed
        .resources
        .insert((ResourceKind::JobDefinition, "d2".into()), def);
    observed
        .renamed
        .insert((ResourceKind::JobDefinition, "d2".into()), "d".into());
    let plan = diff(&p, &observed, &PlanOptions::default(), "test");
    let d = &plan.resources[0];
    assert_eq!(d.steps, vec![Step::Rename { from: "d".into() }]);
    assert_eq!(d.changes[0].field, "name");
    let j = plan
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::Job)
        .unwrap();
    assert!(j.steps.is_empty(), "{:?}", j.steps);
    let fake = Fake::default();
    let out = run(&fake, &p, &plan).await;
    assert_eq!(out.resource_errors, 0, "{:?}", out.notes);
    assert_eq!(
        fake.calls(),
        vec![
            "rename_dataset ds-1 d2_dataset".to_string(),
            "rename_job_definition id-def d2".to_string()
        ]
    );
}

#[tokio::test]
async fn a_permanent_error_stops_the_resource_for_the_run_with_its_details() {
    let (_d, p) = project(&[&DEF.replace("INSTRUCTION", "old"), JOB]);
    let plan = diff(&p, &Observed::default(), &PlanOptions::default(), "test");
    let fake = Fake::failing(&["create_dataset"], 400);
    let out = run(&fake, &p, &plan).await;
    assert!(out
        .stopped
        .contains(&(ResourceKind::JobDefinition, "d".to_string(), None)));
    let f = &out.resource_failures[0];
    assert_eq!(f.http_status, Some(400));
    assert!(f.permanent);
    assert!(!fake.methods().contains(&"create_job".to_string()));
}

#[tokio::test]
async fn prune_deletes_a_definitions_jobs_before_the_definition() {
    let (_d, p) = project(&[
        JOB.replace("name: j", "name: other")
            .replace("definition: d", "definition: e")
            .as_str(),
        &DEF.replace("INSTRUCTION", "x")
            .replace("name: d\n", "name: e\n"),
    ]);
    let mut observed = Observed::default();
    observed.orphans.push(RemoteJobDefinition {
        id: "id-gone".into(),
        name: "gone".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
    });
    observed.orphan_definition_jobs.push((
        "gone".into(),
        RemoteJob {
            id: "id-gone-job".into(),
            name: "gone-job".into(),
            definition_id: "id-gone".into(),
            audience_id: "global".into(),
            revision_number: 1,
            state: "Running".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        },
    ));
    let opts = PlanOptions {
        prune: true,
        project: Some("p".into()),
        ..Default::default()
    };
    let plan = diff(&p, &observed, &opts, "test");
    let deletes: Vec<(ResourceKind, &str)> = plan
        .resources
        .iter()
        .filter(|r| r.steps == vec![Step::Delete])
        .map(|r| (r.kind, r.name.as_str()))
        .collect();
    assert_eq!(
        deletes,
        vec![
            (ResourceKind::Job, "gone-job"),
            (ResourceKind::JobDefinition, "gone")
        ]
    );
    // `--exclude gone` leaves both alone.
    let excluded = PlanOptions {
        excludes: vec!["gone".into()],
        ..opts.clone()
    };
    let plan = diff(&p, &observed, &excluded, "test");
    assert!(!plan.resources.iter().any(|r| r.steps == vec![Step::Delete]));
    // Without prune both are shown as kept.
    let plan = diff(
        &p,
        &observed,
        &PlanOptions {
            prune: false,
            ..opts
        },
        "test",
    );
    let kept: Vec<&str> = plan
        .resources
        .iter()
        .filter(|r| r.origin.is_none() && !r.notes.is_empty())
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(kept, vec!["gone-job", "gone"]);
}

#[tokio::test]
async fn a_definition_is_not_deleted_while_a_job_runs_on_it() {
    let (_d, p) = project(&[&DEF.replace("INSTRUCTION", "x")]);
    let mut observed = Observed::default();
    observed.orphans.push(RemoteJobDefinition {
        id: "id-gone".into(),
        name: "gone".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
    });
    let opts = PlanOptions {
        prune: true,
        project: Some("p".into()),
        ..Default::default()
    };
    let plan = diff(&p, &observed, &opts, "test");
    // A job appeared on it since the plan: the definition stays.
    let fake = Fake::default();
    fake.jobs.lock().unwrap().push(RemoteJob {
        id: "id-late".into(),
        name: "late".into(),
        definition_id: "id-gone".into(),
        audience_id: "global".into(),
        revision_number: 1,
        state: "Running".into(),
        created_at: "2026-01-02T00:00:00Z".into(),
    });
    let out = run(&fake, &p, &plan).await;
    assert!(!fake
        .methods()
        .contains(&"delete_job_definition".to_string()));
    let notes: Vec<&String> = out.notes.values().flatten().collect();
    assert!(
        notes.iter().any(|n| n.contains("still run on it")),
        "{notes:?}"
    );
    // None: deleted.
    let fake = Fake::default();
    run(&fake, &p, &plan).await;
    assert!(fake
        .calls()
        .contains(&"delete_job_definition id-gone".to_string()));
}

#[tokio::test]
async fn an_audience_rename_patches_it_in_place() {
    let aud = "apiVersion: rapidata.ai/v1\nkind: Audience\nname: NAME\nrecruit: false\nfilters:\n  - _t: LanguageFilter\n    languages: [de]\n";
    let (_d, p) = project(&[&aud.replace("NAME", "raters\nrenamedFrom: [old-raters, older]")]);
    let mut observed = Observed::default();
    let remote = RemoteAudience {
        id: "id-aud".into(),
        name: "old-raters".into(),
        description: None,
        filters: vec![serde_json::json!({"_t": "LanguageFilter", "languages": ["de"]})],
        created_at: "2026-01-01T00:00:00Z".into(),
        status: "Created".into(),
        is_distilling: false,
        is_public: false,
        graduation_rule: serde_json::Value::Null,
        examples: Vec::new(),
        metrics: None,
        base_audience_id: None,
    };
    observed.resources.insert(
        (ResourceKind::Audience, "raters".into()),
        Observation::Audience(Some(remote)),
    );
    observed.renamed.insert(
        (ResourceKind::Audience, "raters".into()),
        "old-raters".into(),
    );
    let plan = diff(&p, &observed, &PlanOptions::default(), "test");
    let a = &plan.resources[0];
    assert_eq!(
        a.steps[0],
        Step::Rename {
            from: "old-raters".into()
        }
    );
    assert_eq!(a.changes[0].before.as_deref(), Some("old-raters"));
    let fake = Fake::default();
    let out = run(&fake, &p, &plan).await;
    assert_eq!(out.resource_errors, 0, "{:?}", out.notes);
    let m = fake.methods();
    assert_eq!(
        m.first().map(String::as_str),
        Some("update_audience"),
        "{m:?}"
    );
    assert!(!m.iter().any(|c| c.starts_with("create_")), "{m:?}");
}

const BASE: &str = "apiVersion: rapidata.ai/v1\nkind: Audience\nname: base\nrecruit: false\n";
const FILTERED: &str = "apiVersion: rapidata.ai/v1\nkind: Audience\nname: base-de\nbase: base\nfilters:\n  - {_t: CountryFilter, countries: [DE]}\n";

#[tokio::test]
async fn a_filtered_audience_is_made_on_its_base_made_first_then_named() {
    let (_d, p) = project(&[FILTERED, BASE]);
    let plan = diff(&p, &Observed::default(), &PlanOptions::default(), "test");
    let fake = Fake::default();
    let out = run(&fake, &p, &plan).await;
    assert_eq!(out.resource_errors, 0, "{:?}", out.notes);
    let calls = fake.calls();
    let base = calls.iter().position(|c| c == "create_audience base");
    let filtered = calls
        .iter()
        .position(|c| c == "create_filtered_audience id-aud");
    let named = calls.iter().position(|c| c == "update_audience id-fau");
    assert!(
        base.is_some() && base < filtered && filtered < named,
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_filtered_audience_waits_while_its_base_cannot_be_made() {
    let (_d, p) = project(&[BASE, FILTERED]);
    let plan = diff(&p, &Observed::default(), &PlanOptions::default(), "test");
    let fake = Fake::failing(&["create_audience"], 503);
    let out = run(&fake, &p, &plan).await;
    assert!(out.resource_errors > 0);
    assert_eq!(position(&fake.methods(), "create_filtered_audience"), None);
}
