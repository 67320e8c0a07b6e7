//! The global options of every command, resolved once (flags and environment variables over
//! `rapidata.toml`, over built-in defaults) into one [`Settings`] value.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};

use super::config::{self, Found};
use crate::report::style::Style;

/// The production environment.
pub const PRODUCTION: &str = "rapidata.ai";

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    #[default]
    Human,
    /// camelCase keys, with a `formatVersion`.
    Json,
    Markdown,
}

/// Options every command takes, before or after the command name.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Output format (commands with output): human, json (camelCase, versioned), markdown.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Colour in human output. `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub color: ColorChoice,
    /// Only errors and the final result.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail (repeatable).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Where the API is.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// Rapidata environment: `https://api.{env}` and `https://auth.{env}`; `local` runs the
    /// embedded emulator with its state in `.rapidata/local/`. Default: `environment` in
    /// rapidata.toml, else `rapidata.ai` (production).
    #[arg(long, global = true, env = "RAPIDATA_ENVIRONMENT")]
    pub environment: Option<String>,
    /// Base URL serving both the API and the token endpoints (e.g. an emulator). Overrides
    /// --environment.
    #[arg(long, global = true, env = "RAPIDATA_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Accept a plain `http://` endpoint that is not loopback (credentials then cross the
    /// network unencrypted). Loopback `http://` (an emulator) needs no flag.
    #[arg(long, global = true, env = "RAPIDATA_ALLOW_HTTP")]
    pub allow_http: bool,
}

/// Where a setting came from, for the target line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Env(&'static str),
    Config(PathBuf),
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(n) => write!(f, "from {n}"),
            Source::Env(n) => write!(f, "from ${n}"),
            Source::Config(p) => write!(f, "from {}", p.display()),
            Source::Default => write!(f, "the default; no {} found", config::FILE_NAME),
        }
    }
}

/// The resolved remote: an environment name, or an endpoint URL that overrides it.
#[derive(Debug, Clone)]
pub struct Target {
    pub environment: String,
    pub endpoint: Option<String>,
    pub allow_http: bool,
    pub source: Source,
    /// `-q`: no informational lines on stderr.
    pub quiet: bool,
}

impl Target {
    pub fn is_local(&self) -> bool {
        self.endpoint.is_none() && self.environment == "local"
    }

    /// One line for stderr: what this command talks to, and why. Credentials written into
    /// a URL or an environment name are masked.
    pub fn describe(&self) -> String {
        let text = self.describe_raw();
        crate::manifest::redact::Redactor::from_env().redact(&text)
    }

    fn describe_raw(&self) -> String {
        let mask = crate::manifest::redact::mask_url_userinfo;
        match &self.endpoint {
            Some(url) => format!("Target: endpoint {} ({})", mask(url), self.source),
            None if self.is_local() => format!(
                "Target: environment local, the embedded emulator ({})",
                self.source
            ),
            None => {
                let env = mask(&format!("https://{}", self.environment));
                let env = env.trim_start_matches("https://");
                format!(
                    "Target: environment {env} at https://api.{env} ({})",
                    self.source
                )
            }
        }
    }
}

/// Everything the global options and the project config decide.
#[derive(Debug, Clone)]
pub struct Settings {
    pub format: Option<Format>,
    pub color: ColorChoice,
    pub quiet: bool,
    pub verbose: u8,
    pub target: Target,
    pub project: Option<Found>,
}

fn source_of(m: &ArgMatches, id: &str, flag: &'static str, env: &'static str) -> Option<Source> {
    match m.value_source(id)? {
        ValueSource::CommandLine => Some(Source::Flag(flag)),
        ValueSource::EnvVariable => Some(Source::Env(env)),
        _ => None,
    }
}

/// Whether `environment` or an endpoint URL is production Rapidata.
pub fn is_production(environment: &str, endpoint: Option<&str>) -> bool {
    match endpoint {
        Some(url) => {
            let host = url
                .split("://")
                .nth(1)
                .unwrap_or(url)
                .split(['/', ':'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            host == PRODUCTION || host.ends_with(&format!(".{PRODUCTION}"))
        }
        None => environment.trim().trim_end_matches('/') == PRODUCTION,
    }
}

impl Settings {
    /// Resolve once: `matches` are the subcommand's (global options propagate there).
    pub fn resolve(
        global: &GlobalArgs,
        matches: &ArgMatches,
        paths: &[PathBuf],
    ) -> anyhow::Result<Settings> {
        let project = config::find(&config::search_start(paths))?;
        let configured = project
            .as_ref()
            .and_then(|f| f.config.environment.clone().map(|e| (e, f.path.clone())));
        let remote = &global.remote;
        let env_source = source_of(
            matches,
            "environment",
            "--environment",
            "RAPIDATA_ENVIRONMENT",
        );
        let endpoint_source = source_of(matches, "endpoint", "--endpoint", "RAPIDATA_ENDPOINT");
        let (environment, mut source) = match (&remote.environment, &configured) {
            (Some(e), _) => (e.clone(), env_source.clone().unwrap_or(Source::Default)),
            (None, Some((e, path))) => (e.clone(), Source::Config(path.clone())),
            (None, None) => (PRODUCTION.to_string(), Source::Default),
        };
        if remote.endpoint.is_some() {
            source = endpoint_source.clone().unwrap_or(Source::Default);
        }
        // A project that names another environment reaches production only when a flag
        // says so on this command line, never through a variable left in the shell.
        if let Some((wanted, path)) = &configured {
            let reaching = is_production(&environment, remote.endpoint.as_deref());
            if reaching && !is_production(wanted, None) {
                if let Source::Env(var) = &source {
                    bail!(
                        "{} targets environment `{wanted}`, but ${var} points this command at production Rapidata ({PRODUCTION}); \
                         refusing to reach production by accident.\nhelp: unset {var}, or pass --environment {PRODUCTION} (or --endpoint URL) on the command line to mean it",
                        path.display()
                    );
                }
            }
        }
        Ok(Settings {
            format: global.format,
            color: global.color,
            quiet: global.quiet,
            verbose: global.verbose,
            target: Target {
                environment,
                endpoint: remote.endpoint.clone(),
                allow_http: remote.allow_http,
                source,
                quiet: global.quiet,
            },
            project,
        })
    }

    /// Print the target line (stderr), unless quiet; with `-v`, also the project.
    pub fn announce(&self) {
        if self.quiet {
            return;
        }
        eprintln!("{}", self.target.describe());
        if self.verbose > 0 {
            match &self.project {
                Some(f) => eprintln!(
                    "Project: {} (config {}; the manifest root and .rapidata/ are here)",
                    f.root.display(),
                    f.path.display()
                ),
                None => eprintln!(
                    "Project: none ({} not found up to the Git repository root)",
                    config::FILE_NAME
                ),
            }
        }
    }

    pub fn style(&self) -> Style {
        Style::detect(match self.color {
            ColorChoice::Auto => None,
            ColorChoice::Always => Some(true),
            ColorChoice::Never => Some(false),
        })
    }

    /// The format asked for, if this command has it.
    pub fn format(&self, command: &str, supported: &[Format]) -> anyhow::Result<Format> {
        let f = self.format.unwrap_or_default();
        let name = |f: &Format| {
            f.to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
        };
        if !supported.contains(&f) {
            let names: Vec<String> = supported.iter().map(name).collect();
            bail!(
                "`{command}` has no {} output; --format takes {} here",
                name(&f),
                names.join(" or ")
            );
        }
        Ok(f)
    }

    /// The manifest paths: the arguments, else the config's `[manifests] paths`, else `.`.
    pub fn manifest_paths(&self, args: &[PathBuf]) -> Vec<PathBuf> {
        if !args.is_empty() {
            return args.to_vec();
        }
        match &self.project {
            Some(f) if !f.config.manifests.paths.is_empty() => f
                .config
                .manifests
                .paths
                .iter()
                .map(|p| relative_to_cwd(&f.root.join(p)))
                .collect(),
            Some(f) => vec![relative_to_cwd(&f.root)],
            None => vec![PathBuf::from(".")],
        }
    }

    /// How the manifests load: inside a project, the project root is the manifest root
    /// (so `../images` works from a subdirectory) and its excludes and defaults apply.
    pub fn load_options(&self, paths: &[PathBuf]) -> crate::manifest::LoadOptions {
        let mut opts = crate::manifest::LoadOptions::default();
        if let Some(f) = &self.project {
            let inside = paths
                .iter()
                .all(|p| crate::manifest::paths::normalize(p).starts_with(&f.root));
            if inside {
                opts.root = Some(f.root.clone());
            }
            opts.exclude = f
                .config
                .manifests
                .exclude
                .iter()
                .filter_map(|p| glob::Pattern::new(&f.root.join(p).to_string_lossy()).ok())
                .collect();
            opts.default_failure_tolerance = f.config.apply.failure_tolerance;
        }
        opts
    }

    /// `--project`, else the config's `project`.
    pub fn project_marker(&self, flag: &Option<String>) -> Option<String> {
        flag.clone()
            .or_else(|| self.project.as_ref().and_then(|f| f.config.project.clone()))
    }
}

/// `path` relative to the working directory when it is below it (messages read better).
fn relative_to_cwd(path: &Path) -> PathBuf {
    let cwd = crate::manifest::paths::normalize(Path::new("."));
    match path.strip_prefix(&cwd) {
        Ok(rest) if rest.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rest) => rest.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_is_recognised_by_name_and_host() {
        assert!(is_production("rapidata.ai", None));
        assert!(!is_production("local", None));
        assert!(is_production("x", Some("https://api.rapidata.ai/")));
        assert!(!is_production("rapidata.ai", Some("http://127.0.0.1:8080")));
        assert!(!is_production(
            "x",
            Some("https://rapidata.ai.evil.example")
        ));
    }
}
