//! The exit statuses of every command, in one place.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done; with `plan --detailed-exitcode`, also "no changes".
    Success,
    /// 1: an error, invalid manifests, blocked changes, or a refused confirmation.
    Error,
    /// 2: `plan --detailed-exitcode`: there are changes to apply.
    Changes,
    /// 2: what was asked for is not available (like clap's usage errors).
    Unavailable,
    /// 3: apply ran, but failures remain (the report says which).
    Failures,
    /// Stopped by a signal: 128 + its number (130 Ctrl-C, 143 SIGTERM), as shells report it.
    Interrupted(u8),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Error => 1,
            Exit::Changes | Exit::Unavailable => 2,
            Exit::Failures => 3,
            Exit::Interrupted(code) => code,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}
