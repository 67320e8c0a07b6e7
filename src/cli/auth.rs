//! `rapidata auth`.
use super::settings::Target;
use super::{Exit, Format, Settings};
use crate::remote::{resolve_credentials, Client, ClientConfig, Credentials, Endpoints};

#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Say where credentials come from (exit 0 when found, 1 when not).
    Status {
        /// Also fetch a token, to prove the credentials are accepted.
        #[arg(long)]
        check: bool,
    },
}

pub fn run(cmd: AuthCommand, settings: &Settings) -> anyhow::Result<Exit> {
    settings.format("auth status", &[Format::Human])?;
    settings.announce();
    match cmd {
        AuthCommand::Status { check } => status(&settings.target, check),
    }
}

fn endpoints(remote: &Target) -> Endpoints {
    match &remote.endpoint {
        Some(base) => Endpoints::single(base),
        None => Endpoints::for_environment(&remote.environment),
    }
}

fn status(remote: &Target, check: bool) -> anyhow::Result<Exit> {
    if remote.is_local() {
        println!("environment `local` runs the embedded emulator: no credentials needed");
        return Ok(Exit::Success);
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
            return Ok(Exit::Error);
        }
    };
    println!("credentials: {source}");
    if let Credentials::ClientSecret { client_id, .. } = &credentials {
        println!("client id: {client_id}");
    }
    if !check {
        return Ok(Exit::Success);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Client::new(ClientConfig::new(endpoints, credentials))?;
    match runtime.block_on(client.check_credentials()) {
        Ok(()) => {
            println!("token: ok");
            Ok(Exit::Success)
        }
        Err(e) => {
            println!("token: failed");
            eprintln!("error: {e}");
            Ok(Exit::Error)
        }
    }
}
