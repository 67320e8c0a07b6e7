//! The command line: each command a thin wrapper over a library operation.
use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
