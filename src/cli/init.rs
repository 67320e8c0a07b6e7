//! `rapidata init`: start a project in a directory — `rapidata.toml`, an example
//! manifest, a `.gitignore` for `.rapidata/`, and a GitHub Actions workflow. Never
//! overwrites a file; after it, `validate`, `plan` and `apply --auto-approve` work with no
//! further flags.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::settings::Source;
use super::{Exit, Format, Settings};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The directory to start the project in (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The project marker written to rapidata.toml (what `apply --prune` deletes by).
    /// Default: the directory's name.
    #[arg(long = "name", value_name = "NAME")]
    pub name: Option<String>,
    /// The GitHub Action the workflow uses, as OWNER/REPO@REF: where this repository's
    /// `action.yml` is published. Default: `your-org/rapidata` at the commit this binary
    /// was built from (pinned to a hash, so the workflow passes zizmor's audit).
    #[arg(long, value_name = "OWNER/REPO@REF")]
    pub action: Option<String>,
}

/// Edit after `init`, or pass `--action`: the repository that publishes `action.yml`.
pub const ACTION_REPO: &str = "your-org/rapidata";

/// `ACTION_REPO` at the commit of this build (a full hash), else at the version's tag.
pub fn default_action() -> String {
    let sha = env!("RAPIDATA_GIT_SHA");
    if sha.len() == 40 {
        format!("{ACTION_REPO}@{sha} # v{}", env!("CARGO_PKG_VERSION"))
    } else {
        format!("{ACTION_REPO}@v{}", env!("CARGO_PKG_VERSION"))
    }
}

fn config_text(environment: &str, project: &str) -> String {
    format!(
        r#"# rapidata project configuration; flags and RAPIDATA_* variables override it.
# The environment this project targets: `local` is the embedded emulator (state in
# .rapidata/local/, nothing leaves this machine); `rapidata.ai` is production Rapidata.
# To go to production, change this one line to `environment = "rapidata.ai"` and add the
# repository secrets RAPIDATA_CLIENT_ID and RAPIDATA_CLIENT_SECRET (Settings → Secrets and
# variables → Actions); .github/workflows/rapidata.yml already passes them to plan and apply.
environment = "{environment}"

# Marks the job definitions apply creates, so `rapidata apply --prune` can delete
# those that no manifest names any more.
project = "{project}"

[manifests]
# Read when no path is given (relative to this file).
paths = ["manifests"]
# YAML files that are not manifests (globs relative to this file). Files without
# `apiVersion: rapidata.ai/...` are skipped anyway.
exclude = []

[apply]
# Datapoints uploaded at once.
parallelism = 16
# Default failureTolerance of job definitions and orders that set none (0.05 = 5% may fail).
failure-tolerance = 0.0
"#
    )
}

const EXAMPLE: &str = r#"# An example: who labels (Audience), what they label (JobDefinition) and the job that
# puts the two together. `rapidata plan` shows what apply would do; `rapidata schema`
# prints the JSON Schema for editors.
apiVersion: rapidata.ai/v1
kind: Audience
name: english-speakers
description: Labelers who speak English
filters:
  - _t: LanguageFilter
    languages: [en]
# Labelers qualify on these before they label (recruiting starts once they are in).
examples:
  - type: classify
    instruction: Is this review positive or negative?
    answerOptions: [positive, negative]
    asset: {text: "Lovely place, we will come back."}
    truth: [positive]
  - type: classify
    instruction: Is this review positive or negative?
    answerOptions: [positive, negative]
    asset: {text: "Rude staff and a dirty table."}
    truth: [negative]
    explanation: Both complaints are negative.
  - type: classify
    instruction: Is this review positive or negative?
    answerOptions: [positive, negative]
    asset: {text: "The pasta was perfect."}
    truth: [positive]
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: review-sentiment
type: classify
instruction: Is this review positive or negative?
answerOptions: [positive, negative]
referee:
  responsesPerDatapoint: 3
datapoints:
  - asset: {text: "The food was great and the staff were friendly."}
  - asset: {text: "We waited an hour and the soup was cold."}
  - asset: {text: "Good value, and the dessert was the best part."}
---
apiVersion: rapidata.ai/v1
kind: Job
name: review-sentiment-en
definition: review-sentiment
audience: english-speakers
"#;

/// [`EXAMPLE`] with the schema modeline starting each of its documents (editors read it
/// per document), so editors complete and check it with no setup.
fn example_text() -> String {
    let modeline = crate::manifest::schema::MODELINE;
    format!(
        "{modeline}{}",
        EXAMPLE.replace("\n---\n", &format!("\n---\n{modeline}"))
    )
}

const GITIGNORE: &str =
    "# rapidata's local state: hash cache, emulator data, apply reports\n.rapidata/\n";

fn workflow_text(action: &str) -> String {
    format!(
        r#"# Plan on pull requests (with a comment on the PR), apply on the default branch.
name: rapidata

on:
  pull_request:
  push:
    branches: [main]
  workflow_dispatch:

permissions:
  contents: read

jobs:
  plan:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - uses: {action}
        with:
          command: plan
        env:
          RAPIDATA_CLIENT_ID: ${{{{ secrets.RAPIDATA_CLIENT_ID }}}}
          RAPIDATA_CLIENT_SECRET: ${{{{ secrets.RAPIDATA_CLIENT_SECRET }}}}

  apply:
    if: github.event_name != 'pull_request' && github.ref == format('refs/heads/{{0}}', github.event.repository.default_branch)
    runs-on: ubuntu-latest
    # One apply at a time, and an apply is never cancelled by a newer push.
    concurrency:
      group: rapidata-apply
      cancel-in-progress: false
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - uses: {action}
        with:
          command: apply
        env:
          RAPIDATA_CLIENT_ID: ${{{{ secrets.RAPIDATA_CLIENT_ID }}}}
          RAPIDATA_CLIENT_SECRET: ${{{{ secrets.RAPIDATA_CLIENT_SECRET }}}}
"#
    )
}

/// The files `init` writes, relative to the project directory.
pub fn files(environment: &str, project: &str, action: &str) -> Vec<(&'static str, String)> {
    vec![
        ("rapidata.toml", config_text(environment, project)),
        ("manifests/example.yaml", example_text()),
        (".gitignore", GITIGNORE.to_string()),
        (".github/workflows/rapidata.yml", workflow_text(action)),
    ]
}

pub fn run(args: InitArgs, settings: &Settings) -> anyhow::Result<Exit> {
    settings.format("init", &[Format::Human])?;
    // `local` for a try-out unless the command line or the environment names another.
    let environment = match settings.target.source {
        Source::Flag(_) | Source::Env(_) if settings.target.endpoint.is_none() => {
            settings.target.environment.clone()
        }
        _ => "local".to_string(),
    };
    let action = args.action.clone().unwrap_or_else(default_action);
    if !action.contains('/') || !action.contains('@') || action.contains(['\n', '$', '{']) {
        bail!("--action `{action}` is not OWNER/REPO@REF");
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)?;
    let project = match &args.name {
        Some(n) => n.clone(),
        None => dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "rapidata".to_string()),
    };
    if project.contains(['"', '\\', '\n']) {
        bail!(
            "project name `{project}` cannot contain quotes, backslashes or newlines; pass --name"
        );
    }
    if dir.join(super::config::FILE_NAME).exists() {
        bail!(
            "{} already exists: this directory is a rapidata project already",
            dir.join(super::config::FILE_NAME).display()
        );
    }
    let mut written = Vec::new();
    let mut kept = Vec::new();
    for (rel, text) in files(&environment, &project, &action) {
        let path = dir.join(rel);
        if rel == ".gitignore" && path.exists() {
            append_gitignore(&path)?;
            written.push(format!("{rel} (added .rapidata/)"));
            continue;
        }
        if path.exists() {
            kept.push(rel);
            continue;
        }
        write_new(&path, &text)?;
        written.push(rel.to_string());
    }
    if !settings.quiet {
        eprintln!(
            "Started a rapidata project in {} targeting environment `{environment}`:",
            dir.display()
        );
        for w in &written {
            eprintln!("  wrote {w}");
        }
        for k in &kept {
            eprintln!("  kept {k} (it exists)");
        }
        eprintln!(
            "Next: `rapidata validate`, `rapidata plan`, `rapidata apply --auto-approve`.\n\
             The workflow uses `{}`; set RAPIDATA_CLIENT_ID and RAPIDATA_CLIENT_SECRET as \
             repository secrets before targeting a real environment.",
            action
        );
    }
    Ok(Exit::Success)
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// Adds `.rapidata/` to an existing `.gitignore` unless a line already ignores it.
fn append_gitignore(path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.lines().any(|l| {
        matches!(
            l.trim(),
            ".rapidata" | ".rapidata/" | "/.rapidata" | "/.rapidata/"
        )
    }) {
        return Ok(());
    }
    let sep = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    std::fs::write(path, format!("{text}{sep}{GITIGNORE}"))
        .with_context(|| format!("writing {}", path.display()))
}
