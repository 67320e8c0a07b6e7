//! `rapidata apply`: plan, confirm, converge, report.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use super::common::{connect, load_project, root_of, runtime, Workload};
use super::plan::SelectArgs;
use super::{Exit, Format, Settings};
use crate::apply::phase::Phase;
use crate::apply::{self, ApplyOptions, ApplyProgress, Cancel, Silent};
use crate::plan::{make_plan, staleness, PlanOptions, RecordStore, SavedPlan};
use crate::report::failures::ApplyReport;
use crate::report::progress::{Bars, Lines};
use crate::report::{apply_text, plan_text};

/// Exit code when interrupted with Ctrl-C (SIGTERM: 143).
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Manifest files or directories (default: the current directory), or one saved plan
    /// file from `rapidata plan --out`.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Apply without asking (for CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Datapoints uploaded at once. Default: `[apply] parallelism` in rapidata.toml, else 16.
    #[arg(long)]
    pub parallelism: Option<usize>,
    /// Observe-and-apply rounds before giving up on what is still missing. Default:
    /// `[apply] max-rounds` in rapidata.toml, else 3.
    #[arg(long)]
    pub max_rounds: Option<u32>,
    /// Also write the JSON report here (a new one always goes under `.rapidata/reports/`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Do not assign a job (or submit an order) whose estimated cost is above this, in the
    /// account's billing currency; a smaller `budget:` in its manifest still applies.
    #[arg(long, value_name = "AMOUNT", value_parser = parse_cost)]
    pub max_cost: Option<f64>,
    /// A phase of a sharded apply: `prepare` makes the datasets and orders the shards fill
    /// (then share `.rapidata/recorded.json` with them); `finalize` is a plain apply.
    /// See docs/sharding.md.
    #[arg(long, value_enum)]
    pub phase: Option<PhaseArg>,
    /// Upload only the datapoints whose key hashes to shard K of N, into the datasets
    /// `--phase prepare` recorded; e.g. `--shard $JOB_COMPLETION_INDEX/4`.
    #[arg(long, value_name = "K/N", value_parser = Phase::shard, conflicts_with = "phase")]
    pub shard: Option<Phase>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PhaseArg {
    Prepare,
    Finalize,
}

fn parse_cost(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not an amount; give a number such as 25 or 12.50"
        )),
    }
}

fn read_saved(path: &Path) -> Option<SavedPlan> {
    if !path.is_file() {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice::<SavedPlan>(&bytes).ok()
}

pub fn run(args: ApplyArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let format = settings.format("apply", &[Format::Human, Format::Json])?;
    let quiet = settings.quiet;
    let configured = settings.project.as_ref().map(|f| &f.config.apply);
    let parallelism = args
        .parallelism
        .or(configured.and_then(|c| c.parallelism))
        .unwrap_or(apply::DEFAULT_PARALLELISM)
        .max(1);
    let max_rounds = args
        .max_rounds
        .or(configured.and_then(|c| c.max_rounds))
        .unwrap_or(3)
        .max(1);
    settings.announce();
    if let Some(w) = crate::report::plan_markdown::local_in_ci_warning(
        settings.target.is_local(),
        std::env::var("CI").ok().as_deref(),
    ) {
        eprintln!("warning: {w}");
    }
    let saved = match args.paths.as_slice() {
        [one] => read_saved(one),
        _ => None,
    };
    let (paths, opts, allow_outside) = match &saved {
        Some(s) => (
            s.paths.clone(),
            PlanOptions {
                prune: s.prune,
                targets: s.targets.clone(),
                excludes: s.excludes.clone(),
                project: s.project.clone(),
                failed: Default::default(),
                relabel: s.relabel.clone(),
                cache: None,
                decide_only: false,
            },
            args.select.allow_outside_root,
        ),
        None => (
            settings.manifest_paths(&args.paths),
            args.select.plan_options(settings),
            args.select.allow_outside_root,
        ),
    };
    let project = load_project(&paths, allow_outside, settings)?;
    super::common::check_selection(&project, &opts.targets, &opts.excludes)?;
    let style = settings.style();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.auto_approve && saved.is_none() && !interactive {
        bail!("apply needs confirmation, and there is no terminal to ask on; pass --auto-approve (as in CI), or apply a reviewed plan file from `rapidata plan --out FILE`");
    }
    let root = root_of(&project);
    // Never through a committed `.rapidata/reports` symlink; checked before any change.
    let reports =
        crate::manifest::files::state_dir(&root, "reports").map_err(anyhow::Error::msg)?;
    let rt = runtime(Workload::Upload)?;
    rt.block_on(async {
        let conn = connect(&settings.target, &root, parallelism).await?;
        let started_at = chrono::Utc::now();
        let sink = Reports { dir: reports, extra: args.report.as_deref() };
        let record = RecordStore::open(&root, &conn.api);
        let opts = PlanOptions {
            cache: crate::plan::observation_cache::ObservationCache::in_project(&root, &conn.api)
                .map(std::sync::Arc::new),
            ..opts.clone()
        };
        let plan = match make_plan(&conn.client, &project, &opts, &conn.api, &record.get()).await {
            Ok(plan) => plan,
            Err(e) => {
                // Nothing was observed or changed, but the run still leaves its report.
                let report = ApplyReport::not_started(&conn.api, started_at, format!("observing the remote failed: {e}"));
                if let Err(w) = sink.write(&report) {
                    eprintln!("warning: {w:#}");
                }
                return Err(e.into());
            }
        };
        if let Some(s) = &saved {
            let why = staleness(&s.plan, &plan);
            if !why.is_empty() {
                bail!(
                    "the saved plan is stale and was not applied:\n  - {}\nRun `rapidata plan --out FILE` again and review the new plan.",
                    why.join("\n  - ")
                );
            }
        }
        // A phase of a sharded apply shows (and does) only its own steps.
        let phase = match (args.shard, args.phase) {
            (Some(shard), _) => shard,
            (None, Some(PhaseArg::Prepare)) => Phase::Prepare,
            (None, Some(PhaseArg::Finalize) | None) => Phase::All,
        };
        let mut plan = plan;
        crate::apply::phase::restrict(&mut plan, phase);
        if !quiet || !plan.has_changes() {
            eprint!("{}", plan_text::render(&plan, &project, &style));
        }
        let blocked = plan.blocked().count();
        if blocked > 0 {
            eprintln!("error: {blocked} change(s) cannot be applied (see above); the rest is applied, and apply exits 1.");
        }
        if plan.has_changes() && !args.auto_approve && saved.is_none() && !confirm()? {
            eprintln!("Apply cancelled; nothing was changed.");
            return Ok(Exit::Error);
        }
        let cancel = Cancel::new();
        let signal = watch_signals(cancel.clone())?;
        let progress: Box<dyn ApplyProgress> = if quiet || !plan.has_changes() {
            Box::new(Silent)
        } else if std::io::stderr().is_terminal() {
            Box::new(Bars::new())
        } else {
            Box::new(Lines::new(Duration::from_secs(5)))
        };
        let mut options = ApplyOptions { parallelism, max_rounds, ..Default::default() };
        options.budget.max_cost = args.max_cost;
        options.phase = phase;
        // With nothing to change this runs no round and reports what the remote holds:
        // the report is written on every run, as the README says.
        let outcome = apply::apply(&conn.client, &project, &opts, &options, plan, &record, progress.as_ref(), &cancel).await?;
        let report = &outcome.report;
        let written = sink.write(report)?;
        if report.rounds > 0 || !report.converged {
            eprint!("{}", apply_text::render(report, &style));
        }
        eprintln!("Report: {}", written.display());
        if format == Format::Json {
            println!("{}", serde_json::to_string_pretty(report)?);
        }
        Ok(if report.interrupted {
            Exit::Interrupted(signal.exit_code())
        } else if blocked > 0 || !outcome.halted.is_empty() {
            Exit::Error
        } else if report.converged {
            Exit::Success
        } else {
            Exit::Failures
        })
    })
}

/// Where reports go: always a new file under `.rapidata/reports/`, plus `--report FILE`.
struct Reports<'a> {
    dir: PathBuf,
    extra: Option<&'a Path>,
}

impl Reports<'_> {
    /// Writes both; returns the path to show (`--report FILE` when given).
    fn write(&self, report: &ApplyReport) -> anyhow::Result<PathBuf> {
        let own = report
            .write_new(&self.dir)
            .with_context(|| format!("writing the report under {}", self.dir.display()))?;
        match self.extra {
            Some(p) => {
                report
                    .write(p)
                    .with_context(|| format!("writing the report to {}", p.display()))?;
                Ok(p.to_path_buf())
            }
            None => Ok(own),
        }
    }
}

/// Which signal stopped the run (0 while none has).
#[derive(Clone, Default)]
struct Signal(Arc<AtomicU8>);

impl Signal {
    /// 128 + the signal number, as shells report it; 130 (SIGINT) by default.
    fn exit_code(&self) -> u8 {
        match self.0.load(Ordering::SeqCst) {
            0 => EXIT_INTERRUPTED,
            n => 128 + n,
        }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM (CI cancelling a job, `kill`) stop the run the same way:
/// no new work starts, requests in flight finish, the remote is observed once more and the
/// report is written. A second signal ends the process at once.
fn watch_signals(cancel: Cancel) -> anyhow::Result<Signal> {
    let signal = Signal::default();
    let seen = signal.clone();
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::spawn(async move {
        loop {
            #[cfg(unix)]
            let number = tokio::select! {
                r = tokio::signal::ctrl_c() => { if r.is_err() { return; } 2 }
                r = term.recv() => { if r.is_none() { return; } 15 }
            };
            #[cfg(not(unix))]
            let number = {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                2
            };
            if cancel.is_cancelled() {
                eprintln!("\nStopped at once; the report of this run is not written. A re-run continues from here.");
                std::process::exit(i32::from(128 + number));
            }
            seen.0.store(number, Ordering::SeqCst);
            eprintln!("\nStopping: no new uploads start; waiting for those in flight, then writing the report (signal again to stop at once). A re-run continues from here.");
            cancel.cancel();
        }
    });
    Ok(signal)
}

fn confirm() -> anyhow::Result<bool> {
    eprint!("\nApply these changes? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
