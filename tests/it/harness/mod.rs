//! Shared setup of the end-to-end tests: an emulator on a loopback port with its state in
//! a temp dir, a client for it, and small generated projects (manifests + images).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rapidata::apply::{self, ApplyOptions, ApplyOutcome, Cancel, Silent};
use rapidata::emulator::{self, EmulatorConfig, EmulatorHandle, FaultPlan};
use rapidata::manifest::{self, Project};
use rapidata::plan::{make_plan, Plan, PlanOptions, RecordStore};
use rapidata::remote::{Client, ClientConfig, Credentials, Endpoints, RetryPolicy};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub emulator: EmulatorHandle,
    pub client: Client,
    pub client_id: String,
    pub client_secret: String,
}

pub async fn env(faults: FaultPlan) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir: dir.path().join("emulator"),
        faults,
        // `.ci/run` runs the day-two tests once more against responses cut to the contract.
        contract_cut: std::env::var_os("RAPIDATA_TEST_CONTRACT_CUT").is_some(),
        ..EmulatorConfig::default()
    };
    let client_id = config.client_id.clone();
    let client_secret = config.client_secret.clone();
    let emulator = emulator::start(config).await.unwrap();
    let client = client_for(&emulator.base_url(), &client_id, &client_secret);
    Env {
        dir,
        emulator,
        client,
        client_id,
        client_secret,
    }
}

pub fn client_for(base: &str, id: &str, secret: &str) -> Client {
    Client::new(ClientConfig {
        endpoints: Endpoints::single(base),
        credentials: Credentials::ClientSecret {
            client_id: id.into(),
            client_secret: rapidata::remote::Secret::new(secret),
        },
        request_timeout: Duration::from_secs(10),
        max_concurrency: 32,
        retry: RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(500),
        },
    })
    .unwrap()
}

/// A tiny valid-looking PNG (signature + unique payload); `seed` makes the bytes distinct.
pub fn png(seed: u64) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    b.extend_from_slice(format!("rapidata-test-{seed}").as_bytes());
    b
}

pub struct ProjectSpec<'a> {
    pub name: &'a str,
    pub images: usize,
    /// Image indexes whose file name starts with FAILME (the emulator's fault pattern).
    pub failing: &'a [usize],
    pub tolerance: f64,
    pub instruction: &'a str,
    pub with_job: bool,
    pub prune: bool,
}

impl Default for ProjectSpec<'_> {
    fn default() -> Self {
        ProjectSpec {
            name: "animals",
            images: 20,
            failing: &[],
            tolerance: 0.0,
            instruction: "What animal is this?",
            with_job: true,
            prune: false,
        }
    }
}

/// Write a project (images + one manifest file) into `dir`; returns the manifest dir.
pub fn write_project(dir: &Path, spec: &ProjectSpec) -> PathBuf {
    let root = dir.join("project");
    let images = root.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..spec.images {
        let name = if spec.failing.contains(&i) {
            format!("FAILME-{i:05}.png")
        } else {
            format!("img-{i:05}.png")
        };
        std::fs::write(images.join(name), png(i as u64)).unwrap();
    }
    let mut yaml = format!(
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: {}\ntype: classify\ninstruction: {:?}\nanswerOptions: [cat, dog]\nreferee:\n  responsesPerDatapoint: 3\nfailureTolerance: {}\nprune: {}\ndatapointSources:\n  - files: \"images/*.png\"\n",
        spec.name, spec.instruction, spec.tolerance, spec.prune
    );
    if spec.with_job {
        yaml.push_str(&format!(
            "---\napiVersion: rapidata.ai/v1\nkind: Job\nname: {}-global\ndefinition: {}\naudience: global\n",
            spec.name, spec.name
        ));
    }
    std::fs::write(root.join("rapidata.yaml"), yaml).unwrap();
    root
}

pub fn load(root: &Path) -> Project {
    match manifest::load(&[root.to_path_buf()], &manifest::LoadOptions::default()) {
        Ok(p) => p,
        Err(d) => panic!("manifests invalid:\n{d}"),
    }
}

pub async fn plan(env: &Env, project: &Project, prune: bool) -> Plan {
    let opts = PlanOptions {
        prune,
        ..Default::default()
    };
    let record = RecordStore::open(&project.root, "test");
    make_plan(&env.client, project, &opts, "test", &record.get())
        .await
        .unwrap()
}

/// The plan's resource of `kind` (the first, when there are several).
pub fn resource_of(plan: &Plan, kind: manifest::ResourceKind) -> &rapidata::plan::ResourcePlan {
    plan.resources
        .iter()
        .find(|r| r.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in the plan"))
}

pub async fn apply(env: &Env, project: &Project, max_rounds: u32) -> ApplyOutcome {
    let first = plan(env, project, false).await;
    let opts = ApplyOptions {
        parallelism: 16,
        max_rounds,
        round_backoff: Duration::from_millis(50),
        ..Default::default()
    };
    apply::apply(
        &env.client,
        project,
        &PlanOptions::default(),
        &opts,
        first,
        &RecordStore::open(&project.root, "test"),
        &Silent,
        &Cancel::new(),
    )
    .await
    .unwrap()
}

/// How often each key occurs in a dataset (unmanaged datapoints under "").
pub async fn key_counts(client: &Client, dataset_id: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for d in client.list_datapoints(dataset_id).await.unwrap() {
        *m.entry(d.key.unwrap_or_default()).or_insert(0) += 1;
    }
    m
}

/// The dataset of a definition, by name.
pub async fn dataset_of(client: &Client, name: &str) -> String {
    let defs = client.find_job_definitions(name).await.unwrap();
    assert_eq!(defs.len(), 1, "exactly one definition named {name}");
    client
        .latest_revision(&defs[0].id)
        .await
        .unwrap()
        .dataset_id
}

/// `rapidata apply ROOT` against the test emulator, unattended and quiet, with `extra`
/// arguments (e.g. `--parallelism 8`).
pub fn apply_cmd(env: &Env, root: &Path, extra: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_rapidata"));
    c.arg("apply")
        .arg(root)
        .args([
            "--endpoint",
            &env.emulator.base_url(),
            "--auto-approve",
            "--quiet",
        ])
        .args(extra)
        .env("RAPIDATA_CLIENT_ID", &env.client_id)
        .env("RAPIDATA_CLIENT_SECRET", &env.client_secret)
        .env_remove("RAPIDATA_TOKEN_FILE")
        .env("HOME", env.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

/// The dataset an apply is filling for definition `name`, as recorded in
/// `.rapidata/recorded.json` under `root` (the definition exists only once it is full).
pub fn pending_dataset(root: &Path, name: &str) -> Option<String> {
    let bytes = std::fs::read(root.join(".rapidata/recorded.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.as_object()?.values().find_map(|r| {
        r["pendingDatasets"][format!("JobDefinition/{name}")]["datasetId"]
            .as_str()
            .map(str::to_string)
    })
}
