//! `rapidata show PLANFILE`: a saved plan (`plan --out FILE`) rendered in any format,
//! without credentials or network — what `terraform show` does — so CI posts the comment
//! from the very artifact that apply will use.

use std::path::PathBuf;

use anyhow::Context;

use super::{Exit, Format, Settings};
use crate::manifest::Project;
use crate::plan::SavedPlan;
use crate::report::plan_markdown::{self, Heading};
use crate::report::plan_text;

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A plan saved with `rapidata plan --out FILE`.
    pub plan_file: PathBuf,
}

pub fn run(args: ShowArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let format = settings.format("show", &[Format::Human, Format::Json, Format::Markdown])?;
    let bytes = std::fs::read(&args.plan_file)
        .with_context(|| format!("reading {}", args.plan_file.display()))?;
    let saved: SavedPlan = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a plan saved by `rapidata plan --out FILE`",
            args.plan_file.display()
        )
    })?;
    // The manifests the plan was made from name its samples (file:line, the text); when
    // they cannot be read here (another checkout), the samples show their keys.
    let opts = crate::manifest::LoadOptions {
        no_cache: true,
        ..Default::default()
    };
    let project = crate::manifest::load(&saved.paths, &opts).unwrap_or_else(|_| Project {
        root: std::env::current_dir().unwrap_or_default(),
        resources: Vec::new(),
    });
    let plan = &saved.plan;
    match format {
        Format::Human => print!("{}", plan_text::render(plan, &project, &settings.style())),
        Format::Json => println!("{}", serde_json::to_string_pretty(plan)?),
        Format::Markdown => {
            let heading = Heading {
                environment: plan.api.clone(),
                endpoint: if plan.api.contains("://") {
                    crate::manifest::redact::mask_url_userinfo(&plan.api)
                } else {
                    format!("`{}`", plan.api)
                },
                apply_command: format!("rapidata apply {}", args.plan_file.display()),
                warning: None,
            };
            print!("{}", plan_markdown::render(plan, &project, &heading));
        }
    }
    Ok(Exit::Success)
}
