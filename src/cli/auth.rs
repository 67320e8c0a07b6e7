//! `rapidata auth`.
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Say where credentials come from (exit 0 when found, 1 when not).
    Status,
}

pub fn run(_cmd: AuthCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rapidata auth status` is not implemented yet")
}
