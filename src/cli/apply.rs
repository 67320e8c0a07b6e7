//! `rapidata apply`: plan, confirm, converge, report.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use super::common::{connect, load_project, root_of, runtime, Workload};
use super::plan::SelectArgs;
use super::{Exit, Format, Settings};
use crate::apply::{self, ApplyOptions, ApplyProgress, Cancel, Silent};
use crate::plan::{make_plan, staleness, PlanOptions, RecordStore, SavedPlan};
use crate::report::progress::{Bars, Lines};
use crate::report::{apply_text, plan_text};

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
    /// Also write the JSON report here (it always goes under `.rapidata/reports/`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
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
        let record = RecordStore::open(&root, &conn.api);
        let plan = make_plan(&conn.client, &project, &opts, &conn.api, &record.get()).await?;
        if let Some(s) = &saved {
            let why = staleness(&s.plan, &plan);
            if !why.is_empty() {
                bail!(
                    "the saved plan is stale and was not applied:\n  - {}\nRun `rapidata plan --out FILE` again and review the new plan.",
                    why.join("\n  - ")
                );
            }
        }
        if !quiet || !plan.has_changes() {
            eprint!("{}", plan_text::render(&plan, &project, &style));
        }
        let blocked = plan.blocked().count();
        if blocked > 0 {
            eprintln!("error: {blocked} change(s) cannot be applied (see above); the rest is applied, and apply exits 1.");
        }
        if !plan.has_changes() {
            return Ok(if blocked > 0 { Exit::Error } else { Exit::Success });
        }
        if !args.auto_approve && saved.is_none() && !confirm()? {
            eprintln!("Apply cancelled; nothing was changed.");
            return Ok(Exit::Error);
        }
        let cancel = Cancel::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nStopping: no new uploads start; waiting for those in flight. A re-run continues from here.");
                on_signal.cancel();
            }
        });
        let progress: Box<dyn ApplyProgress> = if quiet {
            Box::new(Silent)
        } else if std::io::stderr().is_terminal() {
            Box::new(Bars::new())
        } else {
            Box::new(Lines::new(Duration::from_secs(5)))
        };
        let options = ApplyOptions { parallelism, max_rounds, ..Default::default() };
        let outcome = apply::apply(&conn.client, &project, &opts, &options, plan, &record, progress.as_ref(), &cancel).await?;
        let report = &outcome.report;
        let stamp = report.started_at.format("%Y%m%dT%H%M%SZ");
        let default_path = reports.join(format!("apply-{stamp}.json"));
        report.write(&default_path).with_context(|| format!("writing the report to {}", default_path.display()))?;
        if let Some(p) = &args.report {
            report.write(p).with_context(|| format!("writing the report to {}", p.display()))?;
        }
        eprint!("{}", apply_text::render(report, &style));
        eprintln!("Report: {}", args.report.as_deref().unwrap_or(&default_path).display());
        if format == Format::Json {
            println!("{}", serde_json::to_string_pretty(report)?);
        }
        Ok(if report.interrupted {
            Exit::Interrupted
        } else if blocked > 0 || !outcome.halted.is_empty() {
            Exit::Error
        } else if report.converged {
            Exit::Success
        } else {
            Exit::Failures
        })
    })
}

fn confirm() -> anyhow::Result<bool> {
    eprint!("\nApply these changes? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
