//! `rapidata apply`.
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {}

pub fn run(_args: ApplyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rapidata apply` is not implemented yet")
}
