//! `rapidata status`: where each manifest resource lives on the remote and how far it is.
//! This is how a user finds a definition or order again after a failed run.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::common::{connect, load_project, root_of, runtime, Workload};
use super::{Exit, Format, Settings};
use crate::manifest::ResourceKind;
use crate::plan::{observe, Observation};
use crate::remote::DatasetProgress;
use crate::report::style::thousands;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Manifest files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Allow local asset paths outside the manifest root.
    #[arg(long)]
    pub allow_outside_root: bool,
}

/// `status --format json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusJson<'a> {
    format_version: u32,
    /// The environment or endpoint observed.
    api: &'a str,
    resources: &'a [Row],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    kind: ResourceKind,
    name: String,
    exists: bool,
    id: Option<String>,
    revision: Option<u32>,
    dataset_id: Option<String>,
    desired_datapoints: Option<usize>,
    dataset: Option<Counts>,
    state: Option<String>,
}

#[derive(Debug, Serialize)]
struct Counts {
    total: u64,
    ready: u64,
    pending: u64,
    failed: u64,
}

impl From<DatasetProgress> for Counts {
    fn from(p: DatasetProgress) -> Self {
        Counts {
            total: p.total,
            ready: p.ready,
            pending: p.pending,
            failed: p.failed,
        }
    }
}

pub fn run(args: StatusArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let format = settings.format("status", &[Format::Human, Format::Json, Format::Markdown])?;
    let paths = settings.manifest_paths(&args.paths);
    settings.announce();
    let project = load_project(&paths, args.allow_outside_root, settings)?;
    let rt = runtime(Workload::Observe)?;
    let (api, rows) = rt.block_on(async {
        let conn = connect(&settings.target, &root_of(&project), 16).await?;
        let record = crate::plan::RecordStore::open(&root_of(&project), &conn.api);
        let observed = observe(&conn.client, &project, &|_| true, &record.get()).await?;
        let mut rows = Vec::new();
        for r in &project.resources {
            let desired = match r {
                crate::manifest::Resource::JobDefinition(d) => Some(d.spec.datapoints.len()),
                crate::manifest::Resource::Order(o) => Some(o.spec.datapoints.len()),
                _ => None,
            };
            let mut row = Row {
                kind: r.kind(),
                name: r.name().to_string(),
                exists: false,
                id: None,
                revision: None,
                dataset_id: None,
                desired_datapoints: desired,
                dataset: None,
                state: None,
            };
            match observed.get(r.kind(), r.name()) {
                Some(Observation::Audience(Some(a))) => {
                    row.exists = true;
                    row.id = Some(a.id.clone());
                }
                Some(Observation::JobDefinition(Some(d))) => {
                    row.exists = true;
                    row.id = Some(d.definition.id.clone());
                    row.revision = Some(d.revision.number);
                    row.dataset_id = Some(d.revision.dataset_id.clone());
                    row.dataset = conn
                        .client
                        .dataset_progress(&d.revision.dataset_id)
                        .await
                        .ok()
                        .map(Counts::from);
                }
                Some(Observation::Order(Some(o))) => {
                    row.exists = true;
                    row.id = Some(o.order.id.clone());
                    row.state = Some(o.order.state.clone());
                    row.dataset_id = o.order.dataset_id.clone();
                    if let Some(ds) = &o.order.dataset_id {
                        row.dataset = conn
                            .client
                            .dataset_progress(ds)
                            .await
                            .ok()
                            .map(Counts::from);
                    }
                }
                // The newest job with the manifest's name is the one that runs.
                Some(Observation::Job(jobs)) if !jobs.is_empty() => {
                    let j = &jobs[jobs.len() - 1];
                    row.exists = true;
                    row.id = Some(j.id.clone());
                    row.revision = Some(j.revision_number);
                    row.state = Some(j.state.clone());
                }
                _ => {}
            }
            rows.push(row);
        }
        anyhow::Ok((conn.api.clone(), rows))
    })?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&StatusJson {
                format_version: 1,
                api: &api,
                resources: &rows,
            })?
        ),
        Format::Markdown => print!("{}", markdown(&api, &rows)),
        Format::Human => {
            for r in &rows {
                if !r.exists {
                    println!("{} {}: not created yet", r.kind, r.name);
                    continue;
                }
                let mut line = format!(
                    "{} {}: id {}",
                    r.kind,
                    r.name,
                    r.id.as_deref().unwrap_or("?")
                );
                if let Some(n) = r.revision {
                    line.push_str(&format!(", revision {n}"));
                }
                if let Some(s) = &r.state {
                    line.push_str(&format!(", state {s}"));
                }
                if let Some(c) = &r.dataset {
                    line.push_str(&format!(", datapoints {}", counts(c)));
                    if let Some(d) = r.desired_datapoints {
                        line.push_str(&format!(" ({} in the manifests)", thousands(d as u64)));
                    }
                }
                println!("{line}");
            }
        }
    }
    Ok(Exit::Success)
}

fn counts(c: &Counts) -> String {
    format!(
        "{} total / {} ready / {} pending / {} failed",
        thousands(c.total),
        thousands(c.ready),
        thousands(c.pending),
        thousands(c.failed)
    )
}

/// A table for a pull request or a step summary.
fn markdown(api: &str, rows: &[Row]) -> String {
    let mut out = format!("### rapidata status\n\nEnvironment: `{api}`\n\n");
    out.push_str(
        "| kind | name | id | revision | state | datapoints |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.kind,
            r.name.replace('|', "\\|"),
            r.id.as_deref().unwrap_or("not created yet"),
            r.revision.map(|n| n.to_string()).unwrap_or_default(),
            r.state.as_deref().unwrap_or(""),
            r.dataset.as_ref().map(counts).unwrap_or_default()
        );
    }
    out
}
