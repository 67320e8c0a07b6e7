//! The integration tests, as one binary: the library is linked once instead of once per
//! file (as uv does in `crates/uv/tests/it/main.rs`), which builds much faster on 2 cores.
//! Run one file's tests with `cargo test --test it <file>::`.

mod emulator_support;
mod harness;
mod support;

mod apply_emulator;
mod apply_kill;
mod apply_report;
mod audiences;
mod ci_comment;
mod ci_files;
mod cli_project;
mod client_auth;
mod client_emulator;
mod client_failure_policy;
mod client_retry;
mod client_wire;
mod contract_client;
mod cost_status_results;
mod day_two;
mod emulator_api;
mod emulator_contract;
mod emulator_faults;
mod emulator_quality;
mod emulator_simulation;
mod every_type;
mod filtered_audiences;
mod import;
mod manifest_errors;
mod manifest_examples;
mod manifest_fuzz;
mod manifest_identity;
mod manifest_schema;
mod manifest_security;
mod plan_cache;
mod plan_emulator;
mod plan_output;
mod plan_snapshots;
mod results_rows;
mod show;
mod spend;
mod validation_sets;
