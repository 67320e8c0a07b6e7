//! The command line. Each command is a thin wrapper over a library operation (as in cargo,
//! where `cargo build` calls `ops::compile`): parse arguments, call the library, render the
//! result, map it to an exit code. `anyhow` lives only here.

mod apply;
mod auth;
mod common;
mod emulator;
mod plan;
mod results;
mod schema;
mod status;
mod validate;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "rapidata",
    version,
    about = "Rapidata labeling work as code: validate, plan and apply YAML manifests"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline: syntax, fields, references, keys, local files.
    Validate(validate::ValidateArgs),
    /// Print the JSON Schema of the manifest format (draft-07).
    Schema(schema::SchemaArgs),
    /// Show what apply would change on the remote.
    Plan(plan::PlanArgs),
    /// Make the remote match the manifests.
    Apply(apply::ApplyArgs),
    /// Show the remote state of each manifest resource, and how far each job is.
    Status(status::StatusArgs),
    /// Download the results of completed jobs and orders, joined to the manifests.
    Results(results::ResultsArgs),
    /// Run the local Rapidata API emulator.
    Emulator(emulator::EmulatorArgs),
    /// Credentials.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
}

/// Where the API is. Shared by every command that talks to it.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// Rapidata environment: `https://api.{env}` and `https://auth.{env}`. `local` runs the
    /// embedded emulator with its state in `.rapidata/local/`.
    #[arg(long, env = "RAPIDATA_ENVIRONMENT", default_value = "rapidata.ai")]
    pub environment: String,
    /// Base URL serving both the API and the token endpoints (e.g. an emulator). Overrides
    /// --environment.
    #[arg(long, env = "RAPIDATA_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Accept a plain `http://` endpoint that is not loopback (credentials then cross the
    /// network unencrypted). Loopback `http://` (an emulator) needs no flag.
    #[arg(long, env = "RAPIDATA_ALLOW_HTTP")]
    pub allow_http: bool,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    #[default]
    Human,
    Json,
    Markdown,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Apply(a) => apply::run(a),
        Command::Status(a) => status::run(a),
        Command::Results(a) => results::run(a),
        Command::Emulator(a) => emulator::run(a),
        Command::Auth(a) => auth::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // Errors can quote what a server or a file said: secrets are masked.
            let text = format!("{err:#}");
            eprintln!(
                "error: {}",
                crate::manifest::redact::Redactor::from_env().redact(&text)
            );
            ExitCode::from(1)
        }
    }
}
