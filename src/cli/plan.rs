//! `rapidata plan`: observe, diff, show.

use std::path::PathBuf;

use anyhow::Context;

use super::common::{connect, load_project, root_of, runtime, Workload};
use super::{Exit, Format, Settings};
use crate::ci::comment::{self, Destination, Platform, Posted};
use crate::plan::observation_cache::ObservationCache;
use crate::plan::{make_plan, PlanOptions, RecordStore, SavedPlan};
use crate::report::plan_markdown::{self, Heading};
use crate::report::plan_text;
use std::sync::Arc;

/// Options shared by plan and apply that select what to plan.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectArgs {
    /// Delete what the manifests no longer have: remote datapoints (of every resource) and
    /// qualification examples; with a project marker (`--project`) also whole job
    /// definitions the project made (their jobs first, so none keeps running) and the
    /// audiences it marked; and jobs of managed definitions that no Job manifest names.
    /// `--target`/`--exclude` narrow it, also for what exists only remotely. The plan
    /// lists every deletion.
    #[arg(long)]
    pub prune: bool,
    /// Put the datapoints of this JobDefinition that failed to upload earlier into a new
    /// dataset, revision and job, although a job already runs without them: the new job
    /// labels every datapoint again (the plan shows it, with its cost). Repeatable.
    #[arg(long = "relabel", value_name = "NAME")]
    pub relabel: Vec<String>,
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
    /// and delete whole job definitions no manifest names any more (without it, `--prune`
    /// removes datapoints only). Default: `project` in rapidata.toml.
    #[arg(long, env = "RAPIDATA_PROJECT")]
    pub project: Option<String>,
}

impl SelectArgs {
    pub fn plan_options(&self, settings: &Settings) -> PlanOptions {
        PlanOptions {
            prune: self.prune,
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
            project: settings.project_marker(&self.project),
            failed: Default::default(),
            relabel: self.relabel.clone(),
            cache: None,
            decide_only: false,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Manifest files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan; `rapidata apply FILE` applies exactly it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also post the plan (Markdown) to the pull request (github: GITHUB_TOKEN,
    /// GITHUB_REPOSITORY, the PR from GITHUB_REF) or merge request (gitlab: GITLAB_TOKEN,
    /// CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID), editing the comment of an
    /// earlier run in place. The GitHub step summary is written whenever
    /// GITHUB_STEP_SUMMARY is set.
    #[arg(long, value_enum, value_name = "PLATFORM")]
    pub comment: Option<Platform>,
}

pub fn run(args: PlanArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let format = settings.format("plan", &[Format::Human, Format::Json, Format::Markdown])?;
    let paths = settings.manifest_paths(&args.paths);
    settings.announce();
    let project = load_project(&paths, args.select.allow_outside_root, settings)?;
    let opts = args.select.plan_options(settings);
    super::common::check_selection(&project, &opts.targets, &opts.excludes)?;
    // Checked before observing anything: a CI misconfiguration fails fast.
    let destination = match args.comment {
        Some(p) => Some(Destination::from_env(p, &|k| std::env::var(k).ok())?),
        None => None,
    };
    let summary_file = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty());
    let rt = runtime(Workload::Observe)?;
    let (plan, heading) = rt.block_on(async {
        let conn = connect(&settings.target, &root_of(&project), 64).await?;
        let record = RecordStore::open(&root_of(&project), &conn.api);
        let opts = PlanOptions {
            cache: ObservationCache::in_project(&root_of(&project), &conn.api).map(Arc::new),
            ..opts.clone()
        };
        let plan = make_plan(&conn.client, &project, &opts, &conn.api, &record.get()).await?;
        let heading = Heading {
            environment: settings.target.environment.clone(),
            endpoint: if settings.target.is_local() {
                "the embedded emulator".to_string()
            } else {
                crate::manifest::redact::mask_url_userinfo(&conn.endpoint)
            },
            apply_command: apply_command(&args, &opts),
            warning: plan_markdown::local_in_ci_warning(
                settings.target.is_local(),
                std::env::var("CI").ok().as_deref(),
            ),
        };
        if let Some(w) = &heading.warning {
            eprintln!("warning: {w}");
        }
        anyhow::Ok((plan, heading))
    })?;
    let markdown = (format == Format::Markdown || destination.is_some() || summary_file.is_some())
        .then(|| plan_markdown::render(&plan, &project, &heading));
    match format {
        Format::Human => print!("{}", plan_text::render(&plan, &project, &settings.style())),
        Format::Markdown => print!("{}", markdown.as_deref().unwrap_or_default()),
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
            relabel: opts.relabel.clone(),
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
    if let (Some(md), Some(path)) = (&markdown, &summary_file) {
        let note = "The step summary is cut here (GitHub allows 1 MiB); the full plan: `rapidata plan --format json`.";
        crate::ci::summary::append(std::path::Path::new(path), md, note)
            .with_context(|| "writing the GitHub step summary (GITHUB_STEP_SUMMARY)")?;
    }
    if let (Some(md), Some(dest)) = (&markdown, &destination) {
        let key = opts.project.as_deref().unwrap_or("default");
        let posted = rt.block_on(comment::upsert(dest, key, md))?;
        let (verb, id, truncated) = match posted {
            Posted::Created { id, truncated } => ("Posted", id, truncated),
            Posted::Updated { id, truncated } => ("Updated", id, truncated),
        };
        if !settings.quiet {
            eprintln!(
                "{verb} the plan comment {id} on {} {}#{}{}",
                dest.platform.name(),
                dest.repo,
                dest.number,
                if truncated {
                    " (cut to the platform's size limit)"
                } else {
                    ""
                }
            );
        }
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
    // Terraform's plan exits 1 on any error, with or without `-detailed-exitcode`.
    Ok(if !blocked.is_empty() {
        Exit::Error
    } else if args.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

/// The command that applies what this plan shows, for the Markdown's "how to apply".
fn apply_command(args: &PlanArgs, opts: &PlanOptions) -> String {
    let mut cmd = String::from("rapidata apply");
    for p in &args.paths {
        cmd.push(' ');
        cmd.push_str(&p.display().to_string());
    }
    if opts.prune {
        cmd.push_str(" --prune");
    }
    for t in &opts.targets {
        cmd.push_str(&format!(" --target {t}"));
    }
    for e in &opts.excludes {
        cmd.push_str(&format!(" --exclude {e}"));
    }
    for r in &opts.relabel {
        cmd.push_str(&format!(" --relabel {r}"));
    }
    cmd
}
