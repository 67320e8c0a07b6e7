//! `rapidata status`: where each manifest resource lives on the remote, how far each job
//! and order is, and why one cannot finish. This is also how a user finds a definition or
//! order again after a failed run.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::common::{connect, load_project, root_of, runtime, Workload};
use super::{Exit, Format, Settings};
use crate::status::{self, render, wait};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Manifest files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Allow local asset paths outside the manifest root.
    #[arg(long)]
    pub allow_outside_root: bool,
    /// Follow until every job and order is done or cannot finish (a progress bar per job
    /// on a terminal); exits 1 when one cannot finish.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between reads with --wait (the SDK's 5 by default).
    #[arg(long, value_name = "SECONDS", default_value_t = wait::WAIT_INTERVAL.as_secs_f64())]
    pub interval: f64,
}

pub fn run(args: StatusArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let format = settings.format("status", &[Format::Human, Format::Json, Format::Markdown])?;
    let paths = settings.manifest_paths(&args.paths);
    settings.announce();
    let project = load_project(&paths, args.allow_outside_root, settings)?;
    let rt = runtime(Workload::Observe)?;
    let interval = Duration::from_secs_f64(args.interval.clamp(0.05, 3600.0));
    let report = rt.block_on(async {
        let conn = connect(&settings.target, &root_of(&project), 16).await?;
        let observed = conn.observe_project(&project).await?;
        let mut report = status::collect(&conn.client, &project, &observed).await?;
        if args.wait {
            let mut view: Box<dyn wait::WaitView> = if std::io::stderr().is_terminal() {
                Box::new(wait::Bars::new())
            } else {
                Box::new(wait::Lines::default())
            };
            wait::wait(&conn.client, &project, &mut report, interval, view.as_mut()).await?;
        }
        anyhow::Ok(report)
    })?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Markdown => print!("{}", render::markdown(&report)),
        Format::Human => print!("{}", render::human(&report)),
    }
    Ok(if args.wait && report.any_stuck() {
        Exit::Error
    } else {
        Exit::Success
    })
}
