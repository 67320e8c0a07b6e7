//! The local Rapidata API emulator: the test double of every test and an offline feature
//! (`rapidata emulator`).
//!
//! One port serves the API host and the auth host (`/connect/token`, `/connect/userinfo`),
//! routing on the path only, so requests may carry `Host: api.<env>` or `auth.<env>`. State
//! lives in SQLite under `data_dir` and survives restarts. Request bodies are validated
//! against the vendored API contract, errors are problem+json with a trace id, and a
//! [`FaultPlan`] injects the failures a client must survive. See `docs/emulator.md`.

mod auth;
mod datapoints;
mod faults;
mod http;
mod query;
mod routes;
mod segments;
mod server;
mod simulation;
mod stats;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The contract lives in [`crate::contract`]; `emulator::schema` is kept as its old path.
pub use crate::contract as schema;
pub use faults::{AssetFailure, Burst429, FaultPlan, RouteFault};
pub use query::MAX_PAGE_SIZE;
pub use simulation::Simulation;
pub use stats::RequestStats;

use faults::FaultState;
use http::{ApiError, ApiResult};
use store::Store;

/// Documented default client id of a local emulator.
pub const DEFAULT_CLIENT_ID: &str = "rapidata-emulator";
/// Documented default client secret of a local emulator (not a secret: it guards nothing).
pub const DEFAULT_CLIENT_SECRET: &str = "rapidata-emulator-secret";

/// How to run an emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to bind; `127.0.0.1:0` picks a free port (tests).
    pub listen: SocketAddr,
    /// Where `emulator.sqlite3` lives; created if missing.
    pub data_dir: PathBuf,
    /// The one client the token endpoint accepts.
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of issued tokens (`expires_in`).
    pub token_ttl: Duration,
    pub faults: FaultPlan,
    /// Answer every success with only what the contract promises (`Contract::cut`: no
    /// field its response model lacks, on routes generated twice none either model lacks,
    /// no optional field that is null). A check that the client leans on nothing else.
    pub contract_cut: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from(".rapidata/emulator"),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            token_ttl: Duration::from_secs(3600),
            faults: FaultPlan::default(),
            contract_cut: false,
        }
    }
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_ttl", &self.token_ttl)
            .field("faults", &self.faults)
            .field("contract_cut", &self.contract_cut)
            .finish()
    }
}

/// Why an emulator could not start or a helper failed.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("emulator storage: {0}")]
    Storage(String),
    #[error("fault plan: {0}")]
    Faults(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Request(String),
}

impl From<ApiError> for EmulatorError {
    fn from(e: ApiError) -> Self {
        EmulatorError::Request(format!(
            "{} {}",
            e.title,
            e.detail.clone().unwrap_or_default()
        ))
    }
}

/// Everything a request handler can reach.
pub(crate) struct AppState {
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl: Duration,
    pub store: Store,
    pub faults: Mutex<FaultState>,
    pub stats: Mutex<BTreeMap<String, u64>>,
    /// blake3 of issued tokens → expiry (unix ms). Mirrors the `tokens` table.
    pub tokens: Mutex<HashMap<String, i64>>,
    /// Responses per unit of each run (derived, so only cached in memory).
    pub plans: simulation::PlanCache,
    /// `EmulatorConfig::contract_cut`.
    pub contract_cut: bool,
}

impl AppState {
    /// The current simulation settings.
    pub fn simulation(&self) -> Simulation {
        self.faults
            .lock()
            .map(|f| f.plan().simulation.clone())
            .unwrap_or_default()
    }
}

pub(crate) type Shared = Arc<AppState>;

/// Runs blocking storage work off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&AppState) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

/// A running emulator.
pub struct EmulatorHandle {
    addr: SocketAddr,
    state: Shared,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Opens the state in `config.data_dir`, binds `config.listen` and serves on the current
/// tokio runtime. Returns once the socket is bound, so `base_url()` is usable immediately.
pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    config.faults.validate()?;
    auth::check_token_ttl("--token-ttl", config.token_ttl.as_secs())
        .map_err(EmulatorError::Config)?;
    let data_dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&data_dir))
        .await
        .map_err(|e| EmulatorError::Storage(format!("open failed: {e}")))??;
    let tokens = store
        .read(store::tokens_all)
        .map_err(EmulatorError::from)?
        .into_iter()
        .collect();
    let state = Arc::new(AppState {
        client_id: config.client_id,
        client_secret: config.client_secret,
        token_ttl: config.token_ttl,
        store,
        faults: Mutex::new(FaultState::new(config.faults)),
        stats: Mutex::new(BTreeMap::new()),
        tokens: Mutex::new(tokens),
        plans: Default::default(),
        contract_cut: config.contract_cut,
    });
    let st = state.clone();
    tokio::task::spawn_blocking(move || routes::seed(&st))
        .await
        .map_err(|e| EmulatorError::Storage(format!("seed failed: {e}")))??;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let (tx, rx) = watch::channel(false);
    let router = routes::router(state.clone());
    let task = tokio::spawn(server::serve(listener, router, rx));
    Ok(EmulatorHandle {
        addr,
        state,
        shutdown: tx,
        task,
    })
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`: serves both the API and the token endpoint.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests served so far, per route template (e.g. `"POST /dataset/{datasetId}/datapoint"`).
    pub fn stats(&self) -> RequestStats {
        RequestStats::from_map(
            self.state
                .stats
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
        )
    }

    pub fn reset_stats(&self) {
        if let Ok(mut m) = self.state.stats.lock() {
            m.clear();
        }
    }

    /// Replaces the fault plan and restarts its decision sequence from the plan's seed.
    /// The plan is applied as given (check it with [`FaultPlan::validate`] first): a route glob
    /// that does not parse matches nothing, a rate above 1 means always.
    pub fn set_faults(&self, plan: FaultPlan) {
        if let Ok(mut f) = self.state.faults.lock() {
            *f = FaultState::new(plan);
        }
    }

    /// Replaces the simulation settings (rates, seed, prices, recruiting) for runs created
    /// from now on, keeping the fault plan's decision sequence. Rejects invalid settings.
    pub fn set_simulation(&self, simulation: Simulation) -> Result<(), EmulatorError> {
        simulation.validate().map_err(EmulatorError::Faults)?;
        if let Ok(mut f) = self.state.faults.lock() {
            f.set_simulation(simulation);
        }
        Ok(())
    }

    /// The current simulation settings.
    pub fn simulation(&self) -> Simulation {
        self.state.simulation()
    }

    /// Inserts `count` copies of one datapoint straight into the database in one transaction,
    /// bypassing HTTP: seeding for benchmarks and large-listing tests. `segments` are
    /// `DatasetSegmentInput`s checked against the dataset's schema like a `POST` would.
    pub async fn bulk_insert_datapoints(
        &self,
        dataset_id: &str,
        segments: Value,
        count: u64,
    ) -> Result<(), EmulatorError> {
        let dataset_id = dataset_id.to_string();
        blocking(&self.state, move |s| {
            routes::bulk_insert(s, &dataset_id, &segments, count)
        })
        .await?;
        Ok(())
    }

    /// How many datapoints were ever created (every row of every dataset, deleted or
    /// not): what the fault benchmark holds against what the manifests want.
    pub async fn datapoints_created(&self) -> Result<u64, EmulatorError> {
        let n = blocking(&self.state, |s| {
            s.store.read(|c| {
                Ok(
                    c.query_row("SELECT COALESCE(MAX(seq), 0) FROM datapoints", [], |r| {
                        r.get::<_, i64>(0)
                    })?,
                )
            })
        })
        .await?;
        Ok(n.max(0) as u64)
    }

    /// Stops accepting, drops open connections and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
