//! `rapidata emulator`: serve the local API emulator until Ctrl-C.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use super::{Exit, Format, Settings};
use crate::emulator::{self, EmulatorConfig, FaultPlan, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on (API and auth endpoints share it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the emulator's state (SQLite); kept across restarts.
    #[arg(long, default_value = ".rapidata/emulator")]
    pub data_dir: PathBuf,
    /// Fault plan (YAML, or JSON when the name ends in .json); see docs/emulator.md.
    #[arg(long)]
    pub faults: Option<PathBuf>,
    /// The client id the token endpoint accepts.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// The client secret the token endpoint accepts.
    #[arg(long, env = "RAPIDATA_EMULATOR_CLIENT_SECRET", default_value = DEFAULT_CLIENT_SECRET, hide_default_value = true, hide_env_values = true)]
    pub client_secret: String,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_ttl: u64,
    /// Answer with only what the API contract promises: no field its response models
    /// lack, no optional field that is null (for checking a client against it).
    #[arg(long)]
    pub contract_cut: bool,
}

pub fn run(args: EmulatorArgs, settings: &Settings) -> anyhow::Result<Exit> {
    settings.format("emulator", &[Format::Human])?;
    let faults = match &args.faults {
        Some(path) => FaultPlan::from_file(path)?,
        None => FaultPlan::default(),
    };
    let config = EmulatorConfig {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        token_ttl: Duration::from_secs(args.token_ttl),
        faults,
        contract_cut: args.contract_cut,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let handle = emulator::start(config).await?;
        println!("Rapidata API emulator listening on {}", handle.base_url());
        println!("  data: {}", args.data_dir.display());
        println!("  client id: {}", args.client_id);
        if args.client_secret == DEFAULT_CLIENT_SECRET {
            println!("  client secret: {DEFAULT_CLIENT_SECRET} (the documented default)");
        } else {
            println!("  client secret: the one given with --client-secret");
        }
        if let Some(f) = &args.faults {
            println!("  faults: {}", f.display());
        }
        println!(
            "  use it with: --endpoint {}   (Ctrl-C stops)",
            handle.base_url()
        );
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
        println!("stopping");
        handle.shutdown().await;
        anyhow::Ok(Exit::Success)
    })
}
