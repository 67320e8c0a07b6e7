//! `rapidata status`.
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

pub fn run(_args: StatusArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rapidata status` is not implemented yet")
}
