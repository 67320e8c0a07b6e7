//! `rapidata import`: list the job definitions, audiences and jobs made without rapidata
//! (the Python SDK, the web app), or write them as manifests with `--out DIR`.

use std::path::{Path, PathBuf};

use super::common::{connect, runtime, Workload};
use super::{Exit, Format, Settings};
use crate::import::{self, Filter, WriteOptions};
use crate::manifest::ResourceKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    JobDefinition,
    Audience,
    Job,
}

impl From<ImportKind> for ResourceKind {
    fn from(k: ImportKind) -> Self {
        match k {
            ImportKind::JobDefinition => ResourceKind::JobDefinition,
            ImportKind::Audience => ResourceKind::Audience,
            ImportKind::Job => ResourceKind::Job,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Write one manifest per resource into DIR (inside the project root), with the
    /// datapoints and examples as JSON Lines next to them. Without it, only list.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only resources with this name: exact, or a glob such as `animals-*` (repeatable).
    #[arg(long = "name", value_name = "NAME|GLOB")]
    pub names: Vec<String>,
    /// Only the resource with this remote id (repeatable).
    #[arg(long = "id", value_name = "ID")]
    pub ids: Vec<String>,
    /// Only what rapidata created for this project (its marker on a definition's dataset
    /// name or an audience's description). Reads two more requests per job definition.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Only these kinds (repeatable). With --out, a job brings its definition and its
    /// audience along: a Job manifest needs them.
    #[arg(long = "kind", value_enum, value_name = "KIND")]
    pub kinds: Vec<ImportKind>,
    /// Replace files that exist already (without it, nothing is written when one does).
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// The project root: where `rapidata.toml` is, else the Git repository of the working
/// directory, else the working directory.
fn project_root(settings: &Settings) -> PathBuf {
    if let Some(found) = &settings.project {
        return found.root.clone();
    }
    let cwd = crate::manifest::paths::normalize(Path::new("."));
    cwd.ancestors()
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

pub fn run(args: ImportArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let format = settings.format("import", &[Format::Human, Format::Json])?;
    let filter = Filter {
        names: args.names,
        ids: args.ids,
        project: args.project,
        kinds: args.kinds.into_iter().map(Into::into).collect(),
    };
    let root = project_root(settings);
    settings.announce();
    let rt = runtime(Workload::Observe)?;
    let style = settings.style();
    match args.out {
        None => {
            let listing = rt.block_on(async {
                let conn = connect(&settings.target, &root, 16).await?;
                anyhow::Ok(import::list(&conn.client, &filter).await?)
            })?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&listing)?),
                _ => print!("{}", import::render::listing(&listing, &style)),
            }
            Ok(Exit::Success)
        }
        Some(out) => {
            let opts = WriteOptions {
                out,
                root,
                force: args.force,
            };
            let report = rt.block_on(async {
                let conn = connect(&settings.target, &opts.root, 16).await?;
                anyhow::Ok(import::import(&conn.client, &filter, &opts).await?)
            })?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                _ => print!(
                    "{}",
                    import::render::report(
                        &report,
                        &style,
                        settings.project_marker(&None).as_deref()
                    )
                ),
            }
            // What was not written is in the report (and says why); the files that were
            // are complete, so the run succeeded.
            Ok(Exit::Success)
        }
    }
}
