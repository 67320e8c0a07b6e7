//! `rapidata auth`.
use std::process::ExitCode;

use crate::remote::{resolve_credentials, Client, ClientConfig, Credentials, Endpoints};

#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Say where credentials come from (exit 0 when found, 1 when not).
    Status {
        #[command(flatten)]
        remote: super::RemoteArgs,
        /// Also fetch a token, to prove the credentials are accepted.
        #[arg(long)]
        check: bool,
    },
}

pub fn run(cmd: AuthCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuthCommand::Status { remote, check } => status(&remote, check),
    }
}

fn endpoints(remote: &super::RemoteArgs) -> Endpoints {
    match &remote.endpoint {
        Some(base) => Endpoints::single(base),
        None => Endpoints::for_environment(&remote.environment),
    }
}

fn status(remote: &super::RemoteArgs, check: bool) -> anyhow::Result<ExitCode> {
    if remote.endpoint.is_none() && remote.environment == "local" {
        println!("environment `local` runs the embedded emulator: no credentials needed");
        return Ok(ExitCode::SUCCESS);
    }
    let endpoints = endpoints(remote);
    for warning in endpoints
        .check(remote.allow_http)
        .map_err(anyhow::Error::msg)?
    {
        eprintln!("warning: {warning}");
    }
    println!("auth endpoint: {}", endpoints.auth);
    let (credentials, source) = match resolve_credentials(&endpoints) {
        Ok(found) => found,
        Err(e) => {
            println!("credentials: not found");
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    println!("credentials: {source}");
    if let Credentials::ClientSecret { client_id, .. } = &credentials {
        println!("client id: {client_id}");
    }
    if !check {
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Client::new(ClientConfig::new(endpoints, credentials))?;
    match runtime.block_on(client.check_credentials()) {
        Ok(()) => {
            println!("token: ok");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("token: failed");
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
