//! The command line. Each command is a thin wrapper over a library operation (as in cargo,
//! where `cargo build` calls `ops::compile`): parse arguments, call the library, render the
//! result, map it to an exit status. `anyhow` lives only here.
//!
//! The global options (`--format`, `--color`, `-q`/`-v`, the remote options) are taken by
//! every command and resolved once, with the project config, into [`settings::Settings`].

mod apply;
mod auth;
mod common;
pub mod config;
mod emulator;
mod exit;
mod generate;
mod import;
mod init;
mod plan;
mod results;
mod schema;
pub mod settings;
mod show;
mod status;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub use exit::Exit;
pub use settings::{ColorChoice, Format, GlobalArgs, RemoteArgs, Settings};

/// The version line: the crate version and the Git commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("RAPIDATA_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "rapidata",
    version = VERSION,
    about = "Rapidata labeling work as code: validate, plan and apply YAML manifests",
    after_help = "Settings come from flags, then RAPIDATA_* environment variables, then rapidata.toml \
                  (found by walking up to the Git repository root), then defaults. Every command that \
                  talks to Rapidata says on stderr which environment it targets."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a project here: rapidata.toml, an example manifest, .gitignore, a CI workflow.
    Init(init::InitArgs),
    /// Check manifests offline: syntax, fields, references, keys, local files.
    Validate(validate::ValidateArgs),
    /// Print the JSON Schema of the manifest format (draft-07).
    Schema(schema::SchemaArgs),
    /// Show what apply would change on the remote.
    Plan(plan::PlanArgs),
    /// Make the remote match the manifests.
    Apply(apply::ApplyArgs),
    /// Render a saved plan (`plan --out FILE`) in any format, offline: no credentials, no
    /// network.
    Show(show::ShowArgs),
    /// Show the remote state of each manifest resource, and how far each job is.
    Status(status::StatusArgs),
    /// Download the results of completed jobs and orders, joined to the manifests.
    Results(results::ResultsArgs),
    /// List the job definitions, audiences and jobs made without rapidata (the SDK, the
    /// web app), or write them as manifests (`--out DIR`).
    Import(import::ImportArgs),
    /// Run the local Rapidata API emulator.
    Emulator(emulator::EmulatorArgs),
    /// Credentials.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(generate::CompletionsArgs),
    /// Print the man page (roff) of rapidata and its commands.
    Man(generate::ManArgs),
}

impl Command {
    /// The manifest paths the command names (where the project config is looked for).
    fn paths(&self) -> &[PathBuf] {
        match self {
            Command::Validate(a) => &a.paths,
            Command::Plan(a) => &a.paths,
            Command::Apply(a) => &a.paths,
            Command::Status(a) => &a.paths,
            Command::Init(a) => std::slice::from_ref(&a.dir),
            Command::Import(a) => a.out.as_slice(),
            _ => &[],
        }
    }
}

pub fn main() -> ExitCode {
    // `rapidata plan --format json | head` ends quietly when the reader leaves, as other
    // Unix tools do, instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let sub = matches
        .subcommand()
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let result = Settings::resolve(&cli.global, &sub, cli.command.paths()).and_then(|settings| {
        match cli.command {
            Command::Init(a) => init::run(a, &settings),
            Command::Validate(a) => validate::run(a, &settings),
            Command::Schema(a) => schema::run(a, &settings),
            Command::Plan(a) => plan::run(a, &settings),
            Command::Apply(a) => apply::run(a, &settings),
            Command::Show(a) => show::run(a, &settings),
            Command::Status(a) => status::run(a, &settings),
            Command::Results(a) => results::run(a, &settings),
            Command::Import(a) => import::run(a, &settings),
            Command::Emulator(a) => emulator::run(a, &settings),
            Command::Auth(a) => auth::run(a, &settings),
            Command::Completions(a) => generate::completions(a, &settings),
            Command::Man(a) => generate::man(a, &settings),
        }
    });
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            // Errors can quote what a server or a file said: secrets are masked.
            let text = format!("{err:#}");
            eprintln!(
                "error: {}",
                crate::manifest::redact::Redactor::from_env().redact(&text)
            );
            Exit::Error.into()
        }
    }
}
