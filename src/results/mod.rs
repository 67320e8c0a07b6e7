//! `rapidata results`: the results of each Job and Order of the manifests that completed,
//! pulled into the repository: `<out>/<name>.json` (the document as Rapidata returns it,
//! byte for byte) and `<out>/<name>.jsonl` (one row per datapoint, keyed by the manifest's
//! datapoint key and source; see `join`).
//!
//! Like the SDK's `RapidataJob.get_results` (`rapidata_client/job/rapidata_job.py`), a job's
//! results are read once it is `Completed` (`GET /job/{id}/download-results`; orders:
//! `GET /order/{id}/download-results`, fact 15). What was downloaded is recorded in
//! `<out>/.rapidata-results.json` (the job id, its `resultFileName` and `completedAt`; an
//! order's id and state), and only what changed since is downloaded again.
//!
//! Preliminary results of a running job: the SDK reads them through
//! `POST /pipeline/{id}/preliminary-download`, which contract v2 does not include, so they
//! are not offered (see [`PRELIMINARY_UNAVAILABLE`]).

pub mod join;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::manifest::{Project, Resource, ResourceKind};
use crate::plan::{Observation, Observed};
use crate::remote::{ApiError, Client};

pub const PRELIMINARY_UNAVAILABLE: &str = "--preliminary is not available: the SDK reads the results of a running job through POST /pipeline/{pipelineId}/preliminary-download, which the Rapidata API contract v2 that rapidata follows does not include. `rapidata results` downloads the results of completed jobs and orders; `rapidata status --wait` follows them until then.";

/// Where the record of what was downloaded lives, in the output directory.
pub const STATE_FILE: &str = ".rapidata-results.json";

/// What was downloaded for one resource: when this still matches the remote and both
/// files are there, nothing is downloaded again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Downloaded {
    pub id: String,
    pub state: String,
    #[serde(default)]
    pub result_file_name: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    #[serde(default)]
    resources: BTreeMap<String, Downloaded>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Pulled {
    /// Downloaded and written.
    Downloaded {
        rows: usize,
        /// Rows joined to no manifest datapoint.
        unmatched: usize,
        json: PathBuf,
        jsonl: PathBuf,
    },
    /// The results are current: nothing downloaded. `rejoined`: the rows changed with the
    /// manifests and `<name>.jsonl` was written again from the stored document.
    UpToDate {
        json: PathBuf,
        rejoined: bool,
    },
    /// Not completed yet (or failed): no results to pull.
    NotCompleted {
        state: String,
    },
    NotCreated,
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullItem {
    pub kind: ResourceKind,
    pub name: String,
    #[serde(flatten)]
    pub pulled: Pulled,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullReport {
    pub items: Vec<PullItem>,
    /// `download-results` requests made.
    pub downloads: usize,
}

/// A file name for a resource name: resource names are free text from manifests (which
/// arrive in pull requests), so nothing in them may lead out of the output directory.
pub fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim().trim_start_matches('.').to_string();
    if s.is_empty() {
        "_".to_string()
    } else {
        s
    }
}

/// Write `bytes` to `path` through a temporary file and a rename, so a reader never sees
/// half a file and a symlink at `path` is replaced, never followed.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".rapidata-{}-{:016x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    // `create_new` never opens an existing file or follows a symlink planted there.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let written = f.write_all(bytes).and_then(|_| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

fn state_key(kind: ResourceKind, name: &str) -> String {
    format!("{kind}/{name}")
}

/// Pull the results of every Job and Order of `project` that completed into `out`.
pub async fn pull(
    client: &Client,
    project: &Project,
    observed: &Observed,
    out: &Path,
) -> std::io::Result<PullReport> {
    std::fs::create_dir_all(out)?;
    let state_path = out.join(STATE_FILE);
    let mut state: State = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // A Job and an Order may share a name; the order's files then get `.order`.
    let job_names: HashSet<&str> = project
        .resources
        .iter()
        .filter(|r| r.kind() == ResourceKind::Job)
        .map(Resource::name)
        .collect();
    let mut report = PullReport {
        items: Vec::new(),
        downloads: 0,
    };
    for r in &project.resources {
        let (kind, name) = (r.kind(), r.name().to_string());
        let stem = match kind {
            ResourceKind::Job => file_stem(&name),
            ResourceKind::Order if job_names.contains(name.as_str()) => {
                format!("{}.order", file_stem(&name))
            }
            ResourceKind::Order => file_stem(&name),
            _ => continue,
        };
        let json = out.join(format!("{stem}.json"));
        let jsonl = out.join(format!("{stem}.jsonl"));
        let pulled = match pull_one(client, project, observed, r, &mut state, &json, &jsonl).await {
            Ok(p) => p,
            Err(e) => Pulled::Failed {
                message: e.to_string(),
            },
        };
        if matches!(pulled, Pulled::Downloaded { .. }) {
            report.downloads += 1;
            write_atomic(&state_path, &serde_json::to_vec_pretty(&state)?)?;
        }
        report.items.push(PullItem { kind, name, pulled });
    }
    Ok(report)
}

#[derive(Debug, thiserror::Error)]
enum PullError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("writing the results: {0}")]
    Io(#[from] std::io::Error),
    #[error("the results are not a JSON document: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ReplayError),
}

async fn pull_one(
    client: &Client,
    project: &Project,
    observed: &Observed,
    r: &Resource,
    state: &mut State,
    json: &Path,
    jsonl: &Path,
) -> Result<Pulled, PullError> {
    let key = state_key(r.kind(), r.name());
    let (current, dataset, spec) = match (r, observed.get(r.kind(), r.name())) {
        (Resource::Job(job), Some(Observation::Job(jobs))) if !jobs.is_empty() => {
            // The newest job with the manifest's name is the one that runs.
            let j = &jobs[jobs.len() - 1];
            let d = client.job_detail(&j.id).await?;
            if d.state != "Completed" {
                return Ok(Pulled::NotCompleted { state: d.state });
            }
            let spec = project.resources.iter().find_map(|x| match x {
                Resource::JobDefinition(def) if def.name == job.definition => Some(&def.spec),
                _ => None,
            });
            let dataset = client
                .revision(&d.definition_id, d.revision_number)
                .await
                .map(|rev| rev.dataset_id)
                .ok();
            (
                Downloaded {
                    id: d.id,
                    state: d.state,
                    result_file_name: d.result_file_name,
                    completed_at: d.completed_at,
                },
                dataset,
                spec,
            )
        }
        (Resource::Order(o), Some(Observation::Order(Some(obs)))) => {
            let remote = client.get_order(&obs.order.id).await?;
            if remote.state != "Completed" {
                return Ok(Pulled::NotCompleted {
                    state: remote.state,
                });
            }
            (
                Downloaded {
                    id: remote.id,
                    state: remote.state,
                    result_file_name: None,
                    completed_at: None,
                },
                obs.order.dataset_id.clone(),
                Some(&o.spec),
            )
        }
        _ => return Ok(Pulled::NotCreated),
    };
    // Current: the stored document is joined again (the manifest may have moved or
    // re-keyed datapoints since) and nothing is downloaded. A stored document that no
    // longer parses is downloaded again.
    let stored = (state.resources.get(&key) == Some(&current) && jsonl.is_file())
        .then(|| std::fs::read(json).ok())
        .flatten()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let (document, bytes) = match stored {
        Some(doc) => (doc, None),
        None => {
            let bytes = match r.kind() {
                ResourceKind::Job => client.download_job_results(&current.id).await?,
                _ => client.download_order_results(&current.id).await?,
            };
            (serde_json::from_slice(&bytes)?, Some(bytes))
        }
    };
    let remote = match &dataset {
        Some(ds) => client.list_datapoints(ds).await?,
        None => Vec::new(),
    };
    // Results join every row to its manifest datapoint: all of them, with content.
    let manifest = match spec {
        Some(s) => s.datapoints.to_vec()?,
        None => Vec::new(),
    };
    let rows = join::rows(&document, &manifest, &remote, &project.root);
    let mut lines = Vec::new();
    for row in &rows {
        serde_json::to_writer(&mut lines, row)?;
        lines.push(b'\n');
    }
    let Some(bytes) = bytes else {
        let rejoined = std::fs::read(jsonl).ok().as_deref() != Some(lines.as_slice());
        if rejoined {
            write_atomic(jsonl, &lines)?;
        }
        return Ok(Pulled::UpToDate {
            json: json.to_path_buf(),
            rejoined,
        });
    };
    write_atomic(json, &bytes)?;
    write_atomic(jsonl, &lines)?;
    state.resources.insert(key, current);
    Ok(Pulled::Downloaded {
        rows: rows.len(),
        unmatched: rows.iter().filter(|r| r.key.is_none()).count(),
        json: json.to_path_buf(),
        jsonl: jsonl.to_path_buf(),
    })
}

/// One line per Job and Order, for people.
pub fn render(report: &PullReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for i in &report.items {
        let what = match &i.pulled {
            Pulled::Downloaded {
                rows,
                unmatched,
                json,
                jsonl,
            } => {
                let mut s = format!(
                    "downloaded: {} and {} ({rows} rows",
                    json.display(),
                    jsonl.display()
                );
                if *unmatched > 0 {
                    let _ = write!(s, ", {unmatched} joined to no manifest datapoint");
                }
                s.push(')');
                s
            }
            Pulled::UpToDate { json, rejoined } => format!(
                "up to date ({}); nothing downloaded{}",
                json.display(),
                if *rejoined {
                    ", rows joined again to the changed manifests"
                } else {
                    ""
                }
            ),
            Pulled::NotCompleted { state } => {
                format!(
                    "{state}: no results until it completes (`rapidata status --wait` follows it)"
                )
            }
            Pulled::NotCreated => "not created yet (run apply)".to_string(),
            Pulled::Failed { message } => format!("failed: {message}"),
        };
        let _ = writeln!(out, "{} {}: {what}", i.kind, i.name);
    }
    let _ = writeln!(out, "{} downloaded.", report.downloads);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_lead_out_of_the_directory() {
        assert_eq!(file_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem(".."), "_");
        assert_eq!(file_stem("a/b\\c"), "a_b_c");
        assert_eq!(file_stem("animals-de v2"), "animals-de v2");
        assert!(!file_stem("..hidden").starts_with('.'));
    }
}
