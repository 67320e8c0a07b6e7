//! `rapidata emulator`.
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {}

pub fn run(_args: EmulatorArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rapidata emulator` is not implemented yet")
}
