//! `rapidata plan`: observe, diff, show.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::common::{connect, load_project, paths_or_cwd, root_of, runtime, style, Workload};
use super::{ColorChoice, Format, RemoteArgs};
use crate::plan::{make_plan, PlanOptions, RecordStore, SavedPlan};
use crate::report::{plan_markdown, plan_text};

/// Options shared by plan and apply that select what to plan.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectArgs {
    /// Remove remote datapoints that are no longer in the manifests (every resource).
    #[arg(long)]
    pub prune: bool,
    /// Only this resource (and what it depends on). Repeatable.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// Leave this resource out. Repeatable.
    #[arg(long = "exclude", value_name = "NAME")]
    pub excludes: Vec<String>,
    /// Allow local asset paths outside the manifest root.
    #[arg(long)]
    pub allow_outside_root: bool,
    /// Project name: marks the job definitions apply creates, so that `--prune` can find
    /// and delete those no longer in the manifests.
    #[arg(long, env = "RAPIDATA_PROJECT")]
    pub project: Option<String>,
}

impl SelectArgs {
    pub fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            prune: self.prune,
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
            project: self.project.clone(),
            failed: Default::default(),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Manifest files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan; `rapidata apply FILE` applies exactly it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let paths = paths_or_cwd(&args.paths);
    let project = load_project(&paths, args.select.allow_outside_root)?;
    let opts = args.select.plan_options();
    super::common::check_selection(&project, &opts.targets, &opts.excludes)?;
    let rt = runtime(Workload::Observe)?;
    let plan = rt.block_on(async {
        let conn = connect(&args.remote, &root_of(&project), 32).await?;
        let record = RecordStore::open(&root_of(&project), &conn.api);
        let plan = make_plan(&conn.client, &project, &opts, &conn.api, &record.get()).await?;
        anyhow::Ok(plan)
    })?;
    match args.format {
        Format::Human => print!("{}", plan_text::render(&plan, &project, &style(args.color))),
        Format::Markdown => print!("{}", plan_markdown::render(&plan, &project)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    if let Some(out) = &args.out {
        let saved = SavedPlan {
            rapidata_plan: 1,
            paths: paths.clone(),
            prune: opts.prune,
            targets: opts.targets.clone(),
            excludes: opts.excludes.clone(),
            project: opts.project.clone(),
            plan: plan.clone(),
        };
        std::fs::write(out, serde_json::to_vec_pretty(&saved)?)
            .with_context(|| format!("writing the plan to {}", out.display()))?;
        eprintln!(
            "Saved the plan to {}; `rapidata apply {}` applies exactly it.",
            out.display(),
            out.display()
        );
    }
    let blocked: Vec<String> = plan
        .blocked()
        .map(|r| {
            format!(
                "{} {}: {}",
                r.kind,
                r.name,
                r.reason.as_deref().unwrap_or("blocked")
            )
        })
        .collect();
    if !blocked.is_empty() {
        eprintln!(
            "error: {} change{} cannot be applied:\n  - {}",
            blocked.len(),
            if blocked.len() == 1 { "" } else { "s" },
            blocked.join("\n  - ")
        );
    }
    Ok(if args.detailed_exitcode && !blocked.is_empty() {
        ExitCode::from(1)
    } else if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
