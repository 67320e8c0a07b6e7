//! `rapidata results`: pull the results of completed jobs and orders into the repository.

use std::path::PathBuf;
use std::process::ExitCode;

use super::common::{connect, load_project, paths_or_cwd, root_of, runtime, Workload};
use super::{Format, RemoteArgs};
use crate::plan::observe;
use crate::results::{self, Pulled};

#[derive(Debug, clap::Args)]
pub struct ResultsArgs {
    /// Manifest files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Directory for `<name>.json` (the results as Rapidata returns them) and
    /// `<name>.jsonl` (one row per datapoint, with its manifest key and source).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Results of jobs still running (not available: see the message).
    #[arg(long)]
    pub preliminary: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Allow local asset paths outside the manifest root.
    #[arg(long)]
    pub allow_outside_root: bool,
}

pub fn run(args: ResultsArgs) -> anyhow::Result<ExitCode> {
    if args.preliminary {
        eprintln!("error: {}", results::PRELIMINARY_UNAVAILABLE);
        return Ok(ExitCode::from(2));
    }
    let paths = paths_or_cwd(&args.paths);
    let project = load_project(&paths, args.allow_outside_root)?;
    let rt = runtime(Workload::Observe)?;
    let report = rt.block_on(async {
        let conn = connect(&args.remote, &root_of(&project), 16).await?;
        let record = crate::plan::RecordStore::open(&root_of(&project), &conn.api);
        let observed = observe(&conn.client, &project, &|_| true, &record.get()).await?;
        anyhow::Ok(results::pull(&conn.client, &project, &observed, &args.out).await?)
    })?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Human | Format::Markdown => print!("{}", results::render(&report)),
    }
    let failed = report
        .items
        .iter()
        .any(|i| matches!(i.pulled, Pulled::Failed { .. }));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
