//! `rapidata results`: pull the results of completed jobs and orders into the repository.

use std::path::PathBuf;

use super::common::{connect, load_project, root_of, runtime, Workload};
use super::{Exit, Format, Settings};
use crate::results::{self, Pulled};

#[derive(Debug, clap::Args)]
pub struct ResultsArgs {
    /// Manifest files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Directory for the results: per Job and Order `<name>/<job id>.json` (as Rapidata
    /// returns them), `<name>/<job id>.jsonl` (one row per datapoint, in manifest order),
    /// `<name>/latest.jsonl` and `<name>/index.json`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Row files to write: jsonl (`pd.read_json(p, lines=True)`), csv (`pd.read_csv(p)`),
    /// or both (`--rows jsonl,csv`).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "jsonl")]
    pub rows: Vec<results::RowFormat>,
    /// Only the Job or Order with this name.
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
    /// Also the earlier jobs with the name (replaced or paused), and list every job's
    /// results in the directory.
    #[arg(long)]
    pub all: bool,
    /// Also write `DIR/report.html`: one self-contained page (no scripts, no network) with
    /// per job its completion, charts of the answers and of agreement, and the datapoints
    /// with the least agreement first, with their images or text.
    #[arg(long)]
    pub html: bool,
    /// Results of jobs still running (not available: see the message).
    #[arg(long)]
    pub preliminary: bool,
    /// Allow local asset paths outside the manifest root.
    #[arg(long)]
    pub allow_outside_root: bool,
}

/// Version of `results --format json`.
const FORMAT_VERSION: u32 = 1;

pub fn run(args: ResultsArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let format = settings.format("results", &[Format::Human, Format::Json])?;
    if args.preliminary {
        eprintln!("error: {}", results::PRELIMINARY_UNAVAILABLE);
        return Ok(Exit::Unavailable);
    }
    let paths = settings.manifest_paths(&args.paths);
    settings.announce();
    let project = load_project(&paths, args.allow_outside_root, settings)?;
    if let Some(name) = &args.job {
        let known = results::stems(&project)
            .iter()
            .any(|(r, _)| r.name() == name);
        if !known {
            anyhow::bail!("no Job or Order named `{name}` in the manifests");
        }
    }
    let mut rows = args.rows.clone();
    rows.sort();
    rows.dedup();
    let rt = runtime(Workload::Observe)?;
    let report = rt.block_on(async {
        let conn = connect(&settings.target, &root_of(&project), 16).await?;
        let observed = conn.observe_project(&project).await?;
        let opts = results::PullOptions {
            formats: rows,
            only: args.job.clone(),
            all: args.all,
        };
        let mut report = results::pull(&conn.client, &project, &observed, &args.out, &opts).await?;
        // What has no results yet and cannot finish on its own says so in status's words:
        // results and status never disagree on it.
        if report
            .items
            .iter()
            .any(|i| matches!(i.pulled, Pulled::NotCompleted { .. }))
        {
            let status = crate::status::collect(&conn.client, &project, &observed).await?;
            for item in report
                .items
                .iter_mut()
                .filter(|i| matches!(i.pulled, Pulled::NotCompleted { .. }))
            {
                item.cannot_finish = status
                    .resources
                    .iter()
                    .find(|r| r.kind == item.kind && r.name == item.name)
                    .and_then(|r| r.stuck.clone());
            }
        }
        anyhow::Ok(report)
    })?;
    let html = match args.html {
        true => Some(results::write_html(&report, &project.root, &args.out)?),
        false => None,
    };
    match format {
        Format::Json => {
            // `formatVersion` first, then the report's own (camelCase) fields.
            let mut out = serde_json::Map::new();
            out.insert("formatVersion".into(), FORMAT_VERSION.into());
            if let serde_json::Value::Object(fields) = serde_json::to_value(&report)? {
                out.extend(fields);
            }
            if let Some(h) = &html {
                out.insert("html".into(), h.display().to_string().into());
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        _ => {
            print!("{}", results::render(&report));
            if let Some(h) = &html {
                println!("Wrote {}.", h.display());
            }
        }
    }
    let failed = report
        .items
        .iter()
        .any(|i| matches!(i.pulled, Pulled::Failed { .. }));
    Ok(if failed { Exit::Error } else { Exit::Success })
}
