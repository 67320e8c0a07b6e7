//! rapidata: Rapidata labeling work as code.
//!
//! The modules follow the data flow of a run: [`manifest`] reads the desired state,
//! [`remote`] talks to the API and observes the remote state, [`plan`] diffs the two,
//! [`apply`] executes a plan, and [`report`] renders plans, failures and diagnostics.
//! [`emulator`] is the local stand-in for the API (test double and offline feature);
//! [`contract`] is the vendored API contract and its validator, which the emulator and the
//! manifest checks share;
//! [`cli`] is the command-line surface, a thin layer over the library.

pub mod apply;
pub mod ci;
pub mod cli;
pub mod contract;
pub mod emulator;
pub mod import;
pub mod manifest;
pub mod plan;
pub mod remote;
pub mod report;
pub mod results;
pub mod status;
