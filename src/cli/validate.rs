//! `rapidata validate`: every offline check of the manifests, all errors at once.
use std::path::PathBuf;

use super::{Exit, Format, Settings};
use crate::manifest::{load_with_stats, AudienceRef, LoadOptions, Project, Resource};
use crate::report::style::{plural, thousands};

/// Version of `validate --format json`: 2 renamed `source_line` to `sourceLine` and added
/// `formatVersion`.
const FORMAT_VERSION: u32 = 2;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (read recursively). Default: the current directory.
    pub paths: Vec<PathBuf>,
    /// Accept local files outside the manifest root (absolute paths, `..`, symlinks).
    #[arg(long)]
    pub allow_outside_root: bool,
    /// The manifest root that local files must stay inside. Default: the project root
    /// (where rapidata.toml is), else the directory argument, or the Git repository
    /// enclosing a file argument.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Where file hashes are cached. Default: `<root>/.rapidata/cache/`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the file hash cache.
    #[arg(long)]
    pub no_cache: bool,
}

pub fn run(args: ValidateArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let format = settings.format("validate", &[Format::Human, Format::Json])?;
    let paths = settings.manifest_paths(&args.paths);
    settings.announce();
    let defaults = settings.load_options(&paths);
    let opts = LoadOptions {
        allow_outside_root: args.allow_outside_root,
        cache_dir: args.cache_dir,
        root: args.root.or(defaults.root.clone()),
        no_cache: args.no_cache,
        ..defaults
    };
    let (result, stats) = load_with_stats(&paths, &opts);
    match (format, result) {
        (Format::Json, Ok(project)) => {
            let out = serde_json::json!({
                "formatVersion": FORMAT_VERSION,
                "valid": true,
                "errors": [],
                "notes": remote_names(&project),
                "manifests": stats.manifests,
                "resources": project.resources.len(),
                "datapoints": stats.datapoints,
                "localFiles": stats.hash.files,
                "cacheHits": stats.hash.cache_hits,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(Exit::Success)
        }
        (Format::Json, Err(diags)) => {
            let out = serde_json::json!({
                "formatVersion": FORMAT_VERSION,
                "valid": false,
                "errors": diags.errors,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(Exit::Error)
        }
        (_, Ok(project)) => {
            for n in remote_names(&project) {
                println!("note: {n}");
            }
            println!(
                "ok: {}, {}, {}, {} ({} from cache)",
                plural(stats.manifests as u64, "manifest file", "manifest files"),
                plural(project.resources.len() as u64, "resource", "resources"),
                plural(stats.datapoints as u64, "datapoint", "datapoints"),
                plural(stats.hash.files as u64, "local file", "local files"),
                thousands(stats.hash.cache_hits as u64)
            );
            Ok(Exit::Success)
        }
        (_, Err(diags)) => {
            eprintln!("{diags}");
            Ok(Exit::Error)
        }
    }
}

/// Names that validate cannot check offline because plan looks them up remotely: a Job's
/// audience that is no Audience manifest is taken as a remote audience id (a misspelt
/// manifest name would only show at plan time). Notes, not errors.
fn remote_names(project: &Project) -> Vec<String> {
    let audiences: Vec<&str> = project
        .resources
        .iter()
        .filter_map(|r| match r {
            Resource::Audience(a) => Some(a.name.as_str()),
            _ => None,
        })
        .collect();
    project
        .resources
        .iter()
        .filter_map(|r| match r {
            Resource::Job(j) => match &j.audience {
                AudienceRef::Id(id) if id != "global" => Some(format!(
                    "{}: Job `{}` names audience `{id}`, which is no Audience manifest: plan looks it up as a remote audience id{}",
                    j.origin,
                    j.name,
                    crate::manifest::suggest::did_you_mean(id, &audiences)
                        .map(|s| format!(" (did you mean the manifest `{s}`?)"))
                        .unwrap_or_default()
                )),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
