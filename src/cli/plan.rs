//! `rapidata plan`.
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {}

pub fn run(_args: PlanArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rapidata plan` is not implemented yet")
}
