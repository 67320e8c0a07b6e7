//! The project config, `rapidata.toml` at the project root: which environment the project
//! targets, its project marker, where its manifests are, and defaults for apply.
//!
//! TOML rather than YAML: the file is a handful of hand-edited settings, and TOML has no
//! implicit typing (`environment: no` is not `false`, `1.10` is not `1.1`); it is what Cargo
//! and rustfmt users already write; and being another format than the manifests, it is never
//! mistaken for one by manifest discovery. Keys are kebab-case, like the command-line flags
//! they default (`--max-rounds` ↔ `max-rounds`).
//!
//! Found by walking up from the first manifest path (or the working directory) to the
//! enclosing Git repository's root: a config outside the repository (a stray one in `$HOME`)
//! is never picked up.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "rapidata.toml";

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectConfig {
    /// `local` (the embedded emulator), `rapidata.ai` (production), or another
    /// Rapidata environment's domain.
    pub environment: Option<String>,
    /// Marks the job definitions apply creates, so `apply --prune` can delete those no
    /// manifest names any more (the `--project` flag).
    pub project: Option<String>,
    #[serde(default)]
    pub manifests: ManifestsConfig,
    #[serde(default)]
    pub apply: ApplyConfig,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ManifestsConfig {
    /// Files or directories read when no path is given, relative to the project root.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Glob patterns (relative to the project root) of YAML files that are not manifests.
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApplyConfig {
    /// Default of `apply --parallelism`.
    pub parallelism: Option<usize>,
    /// Default of `apply --max-rounds`.
    pub max_rounds: Option<u32>,
    /// Default `failureTolerance` of job definitions and orders that set none (0 to 1).
    pub failure_tolerance: Option<f64>,
}

/// A config file that was found, with its directory (the project root).
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub root: PathBuf,
    pub config: ProjectConfig,
}

/// Where the search starts for the given command-line paths: the first path's directory
/// (a file's parent), else the working directory.
pub fn search_start(paths: &[PathBuf]) -> PathBuf {
    let first = paths
        .first()
        .map(|p| crate::manifest::paths::normalize(p))
        .unwrap_or_else(|| crate::manifest::paths::normalize(Path::new(".")));
    if first.is_dir() {
        first
    } else {
        first.parent().map(Path::to_path_buf).unwrap_or(first)
    }
}

/// The nearest `rapidata.toml` from `start` upwards, stopping at the Git repository root.
pub fn find(start: &Path) -> anyhow::Result<Option<Found>> {
    for dir in start.ancestors() {
        let path = dir.join(FILE_NAME);
        if path.is_file() {
            let config = read(&path)?;
            return Ok(Some(Found {
                path,
                root: dir.to_path_buf(),
                config,
            }));
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    Ok(None)
}

pub fn read(path: &Path) -> anyhow::Result<ProjectConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

pub fn parse(text: &str) -> anyhow::Result<ProjectConfig> {
    let config: ProjectConfig = toml::from_str(text).map_err(|e| {
        // toml's message names line and column and quotes the line.
        anyhow::anyhow!(
            "{}\nhelp: the keys are environment, project, [manifests] paths/exclude, [apply] parallelism/max-rounds/failure-tolerance",
            e.to_string().trim_end()
        )
    })?;
    if let Some(env) = &config.environment {
        if env.trim().is_empty() || env.contains(char::is_whitespace) || env.contains('/') {
            bail!("environment `{env}` is not an environment name; use `local`, `rapidata.ai` or another Rapidata domain");
        }
    }
    if let Some(t) = config.apply.failure_tolerance {
        if !(0.0..=1.0).contains(&t) {
            bail!(
                "[apply] failure-tolerance = {t} is outside 0 to 1 (it is a fraction: 0.05 is 5%)"
            );
        }
    }
    if config.apply.parallelism == Some(0) {
        bail!("[apply] parallelism must be at least 1");
    }
    for p in &config.manifests.exclude {
        glob::Pattern::new(p)
            .map_err(|e| anyhow::anyhow!("[manifests] exclude pattern `{p}` is not a glob: {e}"))?;
    }
    for p in &config.manifests.paths {
        let path = Path::new(p);
        if path.is_absolute()
            || path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            bail!("[manifests] path `{p}` must stay inside the project (relative, without `..`)");
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let c = parse(
            "environment = \"local\"\nproject = \"p\"\n[manifests]\npaths = [\"m\"]\nexclude = [\"compose/*.yml\"]\n[apply]\nparallelism = 8\nmax-rounds = 2\nfailure-tolerance = 0.05\n",
        )
        .unwrap();
        assert_eq!(c.environment.as_deref(), Some("local"));
        assert_eq!(c.manifests.paths, vec!["m"]);
        assert_eq!(c.apply.parallelism, Some(8));
        assert_eq!(c.apply.failure_tolerance, Some(0.05));
    }

    #[test]
    fn typos_and_bad_values_are_errors_with_a_line() {
        let e = format!(
            "{:#}",
            parse("environment = \"local\"\nparalelism = 3\n").unwrap_err()
        );
        assert!(e.contains("line 2") && e.contains("paralelism"), "{e}");
        assert!(parse("[apply]\nfailure-tolerance = 5\n").is_err());
        assert!(parse("[manifests]\npaths = [\"../x\"]\n").is_err());
        assert!(parse("environment = \"\"\n").is_err());
    }
}
