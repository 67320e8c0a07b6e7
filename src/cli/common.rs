//! What plan, apply and status share: loading manifests, connecting (to the real API or
//! the embedded emulator).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use super::settings::{Settings, Target};
use crate::emulator::{self, EmulatorConfig, EmulatorHandle};
use crate::manifest::{self, Project};
use crate::remote::{self, Client, ClientConfig, Credentials, Endpoints};

/// `--target` / `--exclude` names must each name a resource of the manifests: a typo
/// would otherwise plan nothing and report "No changes".
pub fn check_selection(
    project: &Project,
    targets: &[String],
    excludes: &[String],
) -> anyhow::Result<()> {
    let names: Vec<&str> = project.resources.iter().map(|r| r.name()).collect();
    let mut problems = Vec::new();
    for (flag, list) in [("--target", targets), ("--exclude", excludes)] {
        for n in list {
            if !names.contains(&n.as_str()) {
                let hint = match manifest::suggest::did_you_mean(n, &names) {
                    Some(s) => format!(" (did you mean `{s}`?)"),
                    None => String::new(),
                };
                problems.push(format!(
                    "{flag} `{n}` names no resource of the manifests{hint}"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!(
            "{}\nresource names are the `name:` of JobDefinition, Order, Job and Audience manifests",
            problems.join("\n")
        )
    }
}

/// Load and validate manifests; diagnostics are printed and turn into an error.
pub fn load_project(
    paths: &[PathBuf],
    allow_outside_root: bool,
    settings: &Settings,
) -> anyhow::Result<Project> {
    let opts = manifest::LoadOptions {
        allow_outside_root,
        ..settings.load_options(paths)
    };
    match manifest::load(paths, &opts) {
        Ok(p) => Ok(p),
        Err(diags) => {
            eprintln!("{diags}");
            bail!(
                "the manifests are not valid (see above); `rapidata validate` checks them offline"
            )
        }
    }
}

/// A connected client; keeps the embedded emulator alive for as long as it lives.
pub struct Connection {
    pub client: Client,
    /// What the plan records as its target (base URL).
    pub api: String,
    /// The API base URL actually used (the embedded emulator's loopback URL for `local`).
    pub endpoint: String,
    #[allow(dead_code)]
    pub emulator: Option<EmulatorHandle>,
}

impl Connection {
    /// Every manifest resource as the remote has it, with the project's record and its
    /// observation cache (what `status` and `results` read).
    pub async fn observe_project(
        &self,
        project: &Project,
    ) -> anyhow::Result<crate::plan::Observed> {
        let root = root_of(project);
        let record = crate::plan::RecordStore::open(&root, &self.api);
        let cache = crate::plan::observation_cache::ObservationCache::in_project(&root, &self.api);
        Ok(crate::plan::observe::observe(
            &self.client,
            project,
            &|_| true,
            &record.get(),
            cache.as_ref(),
        )
        .await?)
    }
}

/// Connect to the resolved target. `local` starts the emulator in-process on a loopback
/// port with its state in `<root>/.rapidata/local/`.
pub async fn connect(
    remote: &Target,
    root: &Path,
    max_concurrency: usize,
) -> anyhow::Result<Connection> {
    let (endpoints, credentials, emulator) = if remote.is_local() {
        // Never through a committed `.rapidata/local` symlink.
        let data_dir = manifest::files::state_dir(root, "local").map_err(anyhow::Error::msg)?;
        let config = EmulatorConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            data_dir: data_dir.clone(),
            ..EmulatorConfig::default()
        };
        let credentials = Credentials::ClientSecret {
            client_id: config.client_id.clone(),
            client_secret: remote::Secret::new(config.client_secret.clone()),
        };
        let handle = emulator::start(config)
            .await
            .context("starting the local emulator")?;
        if !remote.quiet {
            eprintln!(
                "Using the local emulator at {} (state in {}); nothing is sent to Rapidata.",
                handle.base_url(),
                data_dir.display()
            );
        }
        (
            Endpoints::single(&handle.base_url()),
            credentials,
            Some(handle),
        )
    } else {
        let endpoints = match &remote.endpoint {
            Some(url) => Endpoints::single(url),
            None => Endpoints::for_environment(&remote.environment),
        };
        for warning in endpoints
            .check(remote.allow_http)
            .map_err(anyhow::Error::msg)?
        {
            eprintln!("warning: {warning}");
        }
        let (credentials, _source) = remote::resolve_credentials(&endpoints)
            .context("no credentials; `rapidata auth status` says where they are looked for")?;
        (endpoints, credentials, None)
    };
    // What a saved plan records: the environment, not the embedded emulator's random port.
    let api = if emulator.is_some() {
        "local".to_string()
    } else {
        endpoints.api.clone()
    };
    let endpoint = endpoints.api.clone();
    let client = Client::new(ClientConfig {
        endpoints,
        credentials,
        request_timeout: Duration::from_secs(60),
        max_concurrency,
        retry: Default::default(),
    })
    .context("building the API client")?;
    Ok(Connection {
        client,
        api,
        endpoint,
        emulator,
    })
}

/// The project root for local state (`.rapidata/`).
pub fn root_of(project: &Project) -> PathBuf {
    if project.root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        project.root.clone()
    }
}

/// The async runtime of a command, chosen by measurement:
/// - [`Workload::Upload`] (apply): one thread. The client mostly waits on the network, and a
///   single-threaded runtime spends less CPU per request than a work-stealing one (0.37 vs
///   0.44 ms per datapoint in `cargo bench --bench apply`).
/// - [`Workload::Observe`] (plan, status): all cores. Decoding 100,000 listed datapoints is
///   CPU work that pages spread over threads (1.5 vs 2.1 s in `cargo bench --bench plan`).
pub fn runtime(workload: Workload) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = match workload {
        Workload::Upload => tokio::runtime::Builder::new_current_thread(),
        Workload::Observe => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Upload,
    Observe,
}
