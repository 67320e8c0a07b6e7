//! `rapidata validate`.
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {}

pub fn run(_args: ValidateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rapidata validate` is not implemented yet")
}
