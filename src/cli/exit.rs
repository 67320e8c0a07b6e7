//! The exit statuses of every command, in one place.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done; with `plan --detailed-exitcode`, also "no changes".
    Success = 0,
    /// An error, invalid manifests, blocked changes, or a refused confirmation.
    Error = 1,
    /// `plan --detailed-exitcode`: there are changes to apply.
    Changes = 2,
    /// Apply ran, but failures remain (the report says which).
    Failures = 3,
    /// Interrupted with Ctrl-C.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}
