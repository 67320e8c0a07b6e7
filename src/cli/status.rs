//! `rapidata status`: where each manifest resource lives on the remote and how far it is.
//! This is how a user finds a definition or order again after a failed run.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::common::{connect, load_project, paths_or_cwd, root_of, runtime, Workload};
use super::{Format, RemoteArgs};
use crate::manifest::ResourceKind;
use crate::plan::audience::job_audience_warning;
use crate::plan::{observe, Observation};
use crate::remote::DatasetProgress;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Manifest files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Allow local asset paths outside the manifest root.
    #[arg(long)]
    pub allow_outside_root: bool,
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
    /// Audiences: qualification examples on the remote, and graduated labelers.
    #[serde(skip_serializing_if = "Option::is_none")]
    examples: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    graduated: Option<u64>,
    /// Jobs: why their audience cannot produce responses (the SDK's warning).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
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

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let paths = paths_or_cwd(&args.paths);
    let project = load_project(&paths, args.allow_outside_root)?;
    let rt = runtime(Workload::Observe)?;
    let rows = rt.block_on(async {
        let conn = connect(&args.remote, &root_of(&project), 16).await?;
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
                examples: None,
                graduated: None,
                warnings: Vec::new(),
            };
            if let crate::manifest::Resource::Job(j) = r {
                row.warnings
                    .extend(job_audience_warning(&project, &observed, j, None));
            }
            match observed.get(r.kind(), r.name()) {
                Some(Observation::Audience(Some(a))) => {
                    row.exists = true;
                    row.id = Some(a.id.clone());
                    row.state = Some(a.status.clone());
                    row.examples = Some(a.examples.len());
                    row.graduated = a.metrics.map(|m| m.graduated);
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
        anyhow::Ok(rows)
    })?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Human | Format::Markdown => {
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
                if let Some(n) = r.examples {
                    line.push_str(&format!(", {n} qualification examples"));
                }
                if let Some(n) = r.graduated {
                    line.push_str(&format!(", {n} graduated labelers"));
                }
                if let Some(c) = &r.dataset {
                    line.push_str(&format!(
                        ", datapoints {} total / {} ready / {} pending / {} failed",
                        c.total, c.ready, c.pending, c.failed
                    ));
                    if let Some(d) = r.desired_datapoints {
                        line.push_str(&format!(" ({d} in the manifests)"));
                    }
                }
                println!("{line}");
                for w in &r.warnings {
                    println!("  {w}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
