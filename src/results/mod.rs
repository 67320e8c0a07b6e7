//! `rapidata results`: the results of each Job and Order of the manifests that completed,
//! pulled into the repository, one directory per resource and one set of files per job, so
//! the results of a paused or replaced job are never overwritten:
//!
//! * `<out>/<name>/<job id>.json`: the document as Rapidata returns it, byte for byte;
//! * `<out>/<name>/<job id>.jsonl` (and/or `.csv`, `--rows`): one row per manifest datapoint,
//!   in manifest order, with its key, source, privateMetadata and the task's answer in
//!   columns of its own (see `rows`);
//! * `<out>/<name>/latest.jsonl` (`.csv`): the rows of the newest job's results;
//! * `<out>/<name>/index.json`: every job's results there, with the revision, audience and
//!   dataset they came from, and which is `latest`.
//!
//! Like the SDK's `RapidataJob.get_results` (`rapidata_client/job/rapidata_job.py`), a job's
//! results are read once it is `Completed` (`GET /job/{id}/download-results`; orders:
//! `GET /order/{id}/download-results`, fact 15). The index records the job id, its
//! `resultFileName` and `completedAt` (an order: its id and state), and only what changed
//! since is downloaded again.
//!
//! Preliminary results of a running job: the SDK reads them through
//! `POST /pipeline/{id}/preliminary-download`, which contract v2 does not include, so they
//! are not offered (see [`PRELIMINARY_UNAVAILABLE`]).

pub mod html;
pub mod join;
pub mod rows;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::manifest::{Project, Resource, ResourceKind};
use crate::plan::{Observation, Observed};
use crate::remote::{ApiError, Client};

pub const PRELIMINARY_UNAVAILABLE: &str = "--preliminary is not available: the SDK reads the results of a running job through POST /pipeline/{pipelineId}/preliminary-download, which the Rapidata API contract v2 that rapidata follows does not include. `rapidata results` downloads the results of completed jobs and orders; `rapidata status --wait` follows them until then.";

/// The index of a resource's directory.
pub const INDEX_FILE: &str = "index.json";

/// The row files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RowFormat {
    /// JSON Lines: `pd.read_json(path, lines=True)`.
    Jsonl,
    /// CSV with a header: `pd.read_csv(path)` (lists and objects as JSON).
    Csv,
}

impl RowFormat {
    pub fn ext(self) -> &'static str {
        match self {
            RowFormat::Jsonl => "jsonl",
            RowFormat::Csv => "csv",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PullOptions {
    pub formats: Vec<RowFormat>,
    /// Only the Job or Order with this name.
    pub only: Option<String>,
    /// Every earlier job with the name too (replaced, paused), not only the newest.
    pub all: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            formats: vec![RowFormat::Jsonl],
            only: None,
            all: false,
        }
    }
}

/// One job's (or order's) results in a resource's directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: String,
    pub state: String,
    #[serde(default)]
    pub result_file_name: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
    /// The definition and the revision the job ran (jobs).
    #[serde(default)]
    pub definition_id: Option<String>,
    #[serde(default)]
    pub revision: Option<u32>,
    /// The audience's name (its id when no manifest names it) and id (jobs).
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub audience_id: Option<String>,
    #[serde(default)]
    pub dataset_id: Option<String>,
    /// The raw document, relative to the resource's directory.
    pub document: String,
    /// The row files written, relative to the resource's directory.
    #[serde(default)]
    pub rows_files: Vec<String>,
    pub rows: usize,
    pub unmatched: usize,
    pub downloaded_at: String,
}

impl Entry {
    /// Same remote results as `other` (nothing new to download).
    fn same_results(&self, other: &Entry) -> bool {
        self.id == other.id
            && self.state == other.state
            && self.result_file_name == other.result_file_name
            && self.completed_at == other.completed_at
    }
}

/// `<out>/<name>/index.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub kind: String,
    pub name: String,
    /// The id of the newest job's results (`latest.*` holds its rows).
    #[serde(default)]
    pub latest: Option<String>,
    /// Oldest first.
    #[serde(default)]
    pub results: Vec<Entry>,
}

impl Index {
    pub fn read(dir: &Path) -> Option<Index> {
        serde_json::from_slice(&std::fs::read(dir.join(INDEX_FILE)).ok()?).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Pulled {
    /// Downloaded and written.
    Downloaded {
        id: String,
        rows: usize,
        /// Rows joined to no manifest datapoint.
        unmatched: usize,
        json: PathBuf,
        files: Vec<PathBuf>,
    },
    /// The results are current: nothing downloaded. `rejoined`: the rows changed with the
    /// manifests (or a new `--rows` format) and were written again from the stored document.
    UpToDate {
        id: String,
        json: PathBuf,
        files: Vec<PathBuf>,
        rejoined: bool,
    },
    /// Not completed yet (or failed): no results to pull.
    NotCompleted {
        id: String,
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
    /// The resource's directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    #[serde(flatten)]
    pub pulled: Pulled,
    /// `--all`: the earlier jobs with the name, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<Pulled>,
    /// Not completed, and it cannot finish on its own: why, and what to do — the same
    /// words `rapidata status` says (`status::collect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cannot_finish: Option<String>,
    /// `--all`: every results in the directory (its index), oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Index>,
    /// The newest job's results and rows, for `--html`.
    #[serde(skip)]
    pub latest: Option<(Entry, rows::Table)>,
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

/// `<out>/<stem>`, made if missing; a symlink there is refused (it could lead out of `out`).
fn resource_dir(out: &Path, stem: &str) -> std::io::Result<PathBuf> {
    let dir = out.join(stem);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => Err(std::io::Error::other(format!(
            "{} is not a directory (a symlink or a file): not written into",
            dir.display()
        ))),
        Ok(_) => Ok(dir),
        Err(_) => {
            std::fs::create_dir(&dir)?;
            Ok(dir)
        }
    }
}

/// Audience id → the name the manifests (or Rapidata) give it.
fn audience_names(project: &Project, observed: &Observed) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (id, a) in &observed.remote_audiences {
        if let Some(a) = a {
            out.insert(id.clone(), a.name.clone());
        }
    }
    for r in &project.resources {
        if let Some(Observation::Audience(Some(a))) = observed.get(r.kind(), r.name()) {
            out.insert(a.id.clone(), r.name().to_string());
        }
    }
    out
}

/// The directory stem of each Job and Order: a Job and an Order may share a name; the
/// order's directory then gets `.order`.
pub fn stems(project: &Project) -> Vec<(&Resource, String)> {
    let job_names: HashSet<&str> = project
        .resources
        .iter()
        .filter(|r| r.kind() == ResourceKind::Job)
        .map(Resource::name)
        .collect();
    project
        .resources
        .iter()
        .filter_map(|r| {
            let stem = match r.kind() {
                ResourceKind::Job => file_stem(r.name()),
                ResourceKind::Order if job_names.contains(r.name()) => {
                    format!("{}.order", file_stem(r.name()))
                }
                ResourceKind::Order => file_stem(r.name()),
                _ => return None,
            };
            Some((r, stem))
        })
        .collect()
}

/// Pull the results of every Job and Order of `project` that completed into `out`.
pub async fn pull(
    client: &Client,
    project: &Project,
    observed: &Observed,
    out: &Path,
    opts: &PullOptions,
) -> std::io::Result<PullReport> {
    std::fs::create_dir_all(out)?;
    let audiences = audience_names(project, observed);
    let mut report = PullReport {
        items: Vec::new(),
        downloads: 0,
    };
    for (r, stem) in stems(project) {
        if opts.only.as_deref().is_some_and(|n| n != r.name()) {
            continue;
        }
        let (kind, name) = (r.kind(), r.name().to_string());
        let ctx = Ctx {
            client,
            project,
            observed,
            opts,
            audiences: &audiences,
            out,
            stem: &stem,
        };
        let mut item = PullItem {
            kind,
            name,
            dir: None,
            pulled: Pulled::NotCreated,
            cannot_finish: None,
            earlier: Vec::new(),
            history: None,
            latest: None,
        };
        match ctx.resource(r, &mut item).await {
            Ok(()) => {}
            Err(e) => {
                item.pulled = Pulled::Failed {
                    message: e.to_string(),
                }
            }
        }
        report.downloads += std::iter::once(&item.pulled)
            .chain(&item.earlier)
            .filter(|p| matches!(p, Pulled::Downloaded { .. }))
            .count();
        report.items.push(item);
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

struct Ctx<'a> {
    client: &'a Client,
    project: &'a Project,
    observed: &'a Observed,
    opts: &'a PullOptions,
    audiences: &'a BTreeMap<String, String>,
    out: &'a Path,
    stem: &'a str,
}

/// What is known of one job or order before its results are read.
struct Target {
    entry: Entry,
    /// Whether its results may become `latest` (the newest job with the name).
    newest: bool,
}

impl Ctx<'_> {
    async fn resource(&self, r: &Resource, item: &mut PullItem) -> Result<(), PullError> {
        let targets: Vec<Target> = match (r, self.observed.get(r.kind(), r.name())) {
            (Resource::Job(_), Some(Observation::Job(jobs))) if !jobs.is_empty() => {
                // The newest job with the manifest's name is the one that runs; with
                // --all the earlier ones (replaced, paused) too.
                let from = if self.opts.all { 0 } else { jobs.len() - 1 };
                let mut out = Vec::new();
                for (i, j) in jobs.iter().enumerate().skip(from) {
                    out.push(Target {
                        entry: self.job_entry(&j.id).await?,
                        newest: i == jobs.len() - 1,
                    });
                }
                out
            }
            (Resource::Order(_), Some(Observation::Order(Some(obs)))) => {
                let remote = self.client.get_order(&obs.order.id).await?;
                vec![Target {
                    entry: blank_entry(remote.id, remote.state, obs.order.dataset_id.clone()),
                    newest: true,
                }]
            }
            _ => return Ok(()),
        };
        let dir = resource_dir(self.out, self.stem)?;
        item.dir = Some(dir.clone());
        let mut index = Index::read(&dir).unwrap_or_default();
        index.kind = r.kind().to_string();
        index.name = r.name().to_string();
        let n = targets.len();
        for (i, t) in targets.into_iter().enumerate() {
            let pulled = match self.one(r, t, &dir, &mut index).await {
                Ok((p, latest)) => {
                    if latest.is_some() {
                        item.latest = latest;
                    }
                    p
                }
                Err(e) => Pulled::Failed {
                    message: e.to_string(),
                },
            };
            if i + 1 == n {
                item.pulled = pulled;
            } else {
                item.earlier.push(pulled);
            }
        }
        if self.opts.all {
            item.history = Some(index);
        }
        Ok(())
    }

    async fn job_entry(&self, id: &str) -> Result<Entry, PullError> {
        let d = self.client.job_detail(id).await?;
        let mut e = blank_entry(d.id, d.state, None);
        e.result_file_name = d.result_file_name;
        e.completed_at = d.completed_at;
        e.revision = Some(d.revision_number);
        e.audience = Some(
            self.audiences
                .get(&d.audience_id)
                .cloned()
                .unwrap_or_else(|| d.audience_id.clone()),
        );
        e.audience_id = Some(d.audience_id);
        e.definition_id = Some(d.definition_id);
        Ok(e)
    }

    /// Pull one job's (or order's) results into `dir` and record them in its index.
    async fn one(
        &self,
        r: &Resource,
        t: Target,
        dir: &Path,
        index: &mut Index,
    ) -> Result<(Pulled, Option<(Entry, rows::Table)>), PullError> {
        let mut entry = t.entry;
        if entry.state != "Completed" {
            let p = Pulled::NotCompleted {
                id: entry.id,
                state: entry.state,
            };
            return Ok((p, None));
        }
        let id_stem = file_stem(&entry.id);
        let json = dir.join(format!("{id_stem}.json"));
        entry.document = format!("{id_stem}.json");
        // Current: the stored document is joined again (the manifest may have moved or
        // re-keyed datapoints since) and nothing is downloaded. A stored document that no
        // longer parses is downloaded again.
        let known = index.results.iter().position(|e| e.id == entry.id);
        let stored = known
            .filter(|&i| index.results[i].same_results(&entry))
            .and_then(|_| std::fs::read(&json).ok())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let (document, bytes) = match stored {
            Some(doc) => (doc, None),
            None => {
                let bytes = match r.kind() {
                    ResourceKind::Job => self.client.download_job_results(&entry.id).await?,
                    _ => self.client.download_order_results(&entry.id).await?,
                };
                (serde_json::from_slice(&bytes)?, Some(bytes))
            }
        };
        if entry.dataset_id.is_none() {
            if let (Some(def), Some(rev)) = (&entry.definition_id, entry.revision) {
                entry.dataset_id = self
                    .client
                    .revision(def, rev)
                    .await
                    .map(|rev| rev.dataset_id)
                    .ok();
            }
        }
        let remote = match &entry.dataset_id {
            Some(ds) => self.client.list_datapoints(ds).await?,
            None => Vec::new(),
        };
        // Results join every row to its manifest datapoint: all of them, with content.
        let spec = match r {
            Resource::Job(job) => self.project.resources.iter().find_map(|x| match x {
                Resource::JobDefinition(def) if def.name == job.definition => Some(&def.spec),
                _ => None,
            }),
            Resource::Order(o) => Some(&o.spec),
            _ => None,
        };
        let manifest = match spec {
            Some(s) => s.datapoints.to_vec()?,
            None => Vec::new(),
        };
        let joined = join::rows(&document, &manifest, &remote, &self.project.root);
        let producer = rows::Producer {
            job: r.name().to_string(),
            job_id: entry.id.clone(),
            revision: entry.revision,
            audience: entry.audience.clone(),
        };
        let table = rows::table(&document, &joined, &manifest, &self.project.root, &producer);
        entry.rows = table.rows.len();
        entry.unmatched = joined.iter().filter(|j| j.key.is_none()).count();
        let mut rejoined = false;
        let mut files = Vec::new();
        let mut written = Vec::new();
        let becomes_latest = t.newest || index.latest.is_none();
        for f in &self.opts.formats {
            let bytes = match f {
                RowFormat::Jsonl => rows::to_jsonl(&table)?,
                RowFormat::Csv => rows::to_csv(&table)?,
            };
            let name = format!("{id_stem}.{}", f.ext());
            let mut targets = vec![dir.join(&name)];
            if becomes_latest {
                targets.push(dir.join(format!("latest.{}", f.ext())));
            }
            for path in targets {
                if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                    write_atomic(&path, &bytes)?;
                    rejoined = true;
                }
            }
            files.push(dir.join(&name));
            written.push(name);
        }
        if let Some(b) = &bytes {
            write_atomic(&json, b)?;
        }
        // The formats written before stay listed (their files are still there).
        if let Some(i) = known {
            for f in &index.results[i].rows_files {
                if !written.contains(f) && dir.join(f).is_file() {
                    written.push(f.clone());
                }
            }
        }
        written.sort();
        entry.rows_files = written;
        entry.downloaded_at = match (known, &bytes) {
            (Some(i), None) => index.results[i].downloaded_at.clone(),
            _ => chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let (rows_n, unmatched) = (entry.rows, entry.unmatched);
        let id = entry.id.clone();
        let latest = becomes_latest.then(|| (entry.clone(), table));
        let changed = match known {
            Some(i) => {
                let c = index.results[i] != entry;
                index.results[i] = entry;
                c
            }
            None => {
                index.results.push(entry);
                true
            }
        };
        if becomes_latest && index.latest.as_deref() != Some(id.as_str()) {
            // `latest.*` of a format not written now would still be the previous job's.
            for f in [RowFormat::Jsonl, RowFormat::Csv] {
                if !self.opts.formats.contains(&f) {
                    let stale = dir.join(format!("latest.{}", f.ext()));
                    if stale.is_file() {
                        std::fs::remove_file(stale)?;
                    }
                }
            }
            index.latest = Some(id.clone());
        }
        if changed || bytes.is_some() || !dir.join(INDEX_FILE).is_file() || becomes_latest {
            let new = serde_json::to_vec_pretty(&*index)?;
            if std::fs::read(dir.join(INDEX_FILE)).ok().as_deref() != Some(new.as_slice()) {
                write_atomic(&dir.join(INDEX_FILE), &new)?;
            }
        }
        let pulled = match bytes {
            Some(_) => Pulled::Downloaded {
                id,
                rows: rows_n,
                unmatched,
                json,
                files,
            },
            None => Pulled::UpToDate {
                id,
                json,
                files,
                rejoined,
            },
        };
        Ok((pulled, latest))
    }
}

/// `results --html`: write `<out>/report.html` for the report (see `html`).
pub fn write_html(report: &PullReport, root: &Path, out: &Path) -> std::io::Result<PathBuf> {
    let path = out.join(html::FILE);
    write_atomic(&path, html::render(report, root).as_bytes())?;
    Ok(path)
}

fn blank_entry(id: String, state: String, dataset_id: Option<String>) -> Entry {
    Entry {
        id,
        state,
        result_file_name: None,
        completed_at: None,
        definition_id: None,
        revision: None,
        audience: None,
        audience_id: None,
        dataset_id,
        document: String::new(),
        rows_files: Vec::new(),
        rows: 0,
        unmatched: 0,
        downloaded_at: String::new(),
    }
}

fn describe(p: &Pulled) -> String {
    use std::fmt::Write as _;
    let files = |json: &Path, files: &[PathBuf]| {
        std::iter::once(json)
            .chain(files.iter().map(PathBuf::as_path))
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match p {
        Pulled::Downloaded {
            id,
            rows,
            unmatched,
            json,
            files: f,
        } => {
            let mut s = format!("downloaded job {id}: {} ({rows} rows", files(json, f));
            if *unmatched > 0 {
                let _ = write!(s, ", {unmatched} joined to no manifest datapoint");
            }
            s.push(')');
            s
        }
        Pulled::UpToDate {
            id,
            json,
            files: f,
            rejoined,
        } => format!(
            "up to date (job {id}: {}); nothing downloaded{}",
            files(json, f),
            if *rejoined {
                ", rows written again from the stored results"
            } else {
                ""
            }
        ),
        Pulled::NotCompleted { id, state } => format!(
            "job {id} {state}: no results until it completes (`rapidata status` says how far it is)"
        ),
        Pulled::NotCreated => "not created yet (run apply)".to_string(),
        Pulled::Failed { message } => format!("failed: {message}"),
    }
}

/// One line per Job and Order, for people (with `--all`, its earlier jobs and the
/// results in its directory).
pub fn render(report: &PullReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for i in &report.items {
        let _ = writeln!(out, "{} {}: {}", i.kind, i.name, describe(&i.pulled));
        if let Some(why) = &i.cannot_finish {
            let _ = writeln!(out, "    cannot finish: {why}");
        }
        for e in &i.earlier {
            let _ = writeln!(out, "    earlier: {}", describe(e));
        }
        if let (Some(h), Some(dir)) = (&i.history, &i.dir) {
            let _ = writeln!(out, "    results in {}:", dir.display());
            for e in &h.results {
                let mut what = vec![format!(
                    "completed {}",
                    e.completed_at.as_deref().unwrap_or("?")
                )];
                if let Some(r) = e.revision {
                    what.push(format!("revision {r}"));
                }
                if let Some(a) = &e.audience {
                    what.push(format!("audience {a}"));
                }
                if let Some(d) = &e.dataset_id {
                    what.push(format!("dataset {d}"));
                }
                what.push(format!("{} rows", e.rows));
                let latest = if h.latest.as_deref() == Some(e.id.as_str()) {
                    " (latest)"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "      {}{latest}: {}; {}",
                    e.id,
                    what.join(", "),
                    std::iter::once(&e.document)
                        .chain(&e.rows_files)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
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

    #[cfg(unix)]
    #[test]
    fn a_symlink_in_place_of_a_results_directory_is_refused() {
        let out = std::env::temp_dir().join(format!("rapidata-results-{}", fastrand::u64(..)));
        let elsewhere = out.with_extension("elsewhere");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("job")).unwrap();
        let refused = resource_dir(&out, "job");
        let made = resource_dir(&out, "other");
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_dir_all(&elsewhere);
        assert!(refused.is_err());
        assert_eq!(made.unwrap(), out.join("other"));
    }
}
