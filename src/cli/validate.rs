//! `rapidata validate`: every offline check of the manifests, all errors at once.
use std::path::PathBuf;
use std::process::ExitCode;

use crate::manifest::{load_with_stats, LoadOptions};

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum, PartialEq, Eq)]
pub enum ValidateFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (read recursively). Default: the current directory.
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    pub format: ValidateFormat,
    /// Accept local files outside the manifest root (absolute paths, `..`, symlinks).
    #[arg(long)]
    pub allow_outside_root: bool,
    /// The manifest root that local files must stay inside. Default: the directory
    /// argument, or the Git repository enclosing a file argument.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Where file hashes are cached. Default: `<root>/.rapidata/cache/`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the file hash cache.
    #[arg(long)]
    pub no_cache: bool,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let opts = LoadOptions {
        allow_outside_root: args.allow_outside_root,
        cache_dir: args.cache_dir,
        root: args.root,
        no_cache: args.no_cache,
    };
    let (result, stats) = load_with_stats(&args.paths, &opts);
    match (args.format, result) {
        (ValidateFormat::Json, Ok(project)) => {
            let out = serde_json::json!({
                "valid": true,
                "errors": [],
                "manifests": stats.manifests,
                "resources": project.resources.len(),
                "datapoints": stats.datapoints,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        (ValidateFormat::Json, Err(diags)) => {
            let out = serde_json::json!({ "valid": false, "errors": diags.errors });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::from(1))
        }
        (ValidateFormat::Human, Ok(project)) => {
            println!(
                "ok: {} manifest file(s), {} resource(s), {} datapoint(s), {} local file(s) ({} from cache)",
                stats.manifests,
                project.resources.len(),
                stats.datapoints,
                stats.hash.files,
                stats.hash.cache_hits
            );
            Ok(ExitCode::SUCCESS)
        }
        (ValidateFormat::Human, Err(diags)) => {
            eprintln!("{diags}");
            Ok(ExitCode::from(1))
        }
    }
}
