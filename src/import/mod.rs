//! `rapidata import`: manifests for the job definitions, audiences and jobs a team made
//! without rapidata (the Python SDK, the web app), so they can be managed as code from
//! then on, with `plan` showing no change for them right after the import.
//!
//! The data flow of the other commands, for one run: [`select`] lists what the
//! credentials can see and applies the filters, [`fetch`] reads the chosen resources in
//! full, [`definition`], [`audience`] and [`job`] turn each into a manifest [`Document`]
//! (with what the manifest format cannot express), [`write`] puts the files in place. In
//! between, the files are loaded as manifests exactly as `validate` and `plan` load them:
//! a document that does not load is not written (it is reported as skipped), so an import
//! never leaves a directory `plan` refuses.

pub mod audience;
pub mod definition;
pub mod document;
pub mod emit;
pub mod fetch;
pub mod job;
pub mod render;
pub mod select;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use document::{Document, Skipped, Written};
pub use select::{Candidate, Filter, Listed};

use crate::manifest::{self, ResourceKind};
use crate::remote::{ApiError, Client};
use write::{Staging, WriteError};

/// Bumped whenever the JSON shape of `import --format json` changes incompatibly.
pub const IMPORT_FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the remote: {0}")]
    Api(#[from] ApiError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Where and how to write.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// `--out`, as given.
    pub out: PathBuf,
    /// The project root: nothing is written outside it.
    pub root: PathBuf,
    /// Replace existing files.
    pub force: bool,
}

/// What `import` without `--out` shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportListing {
    pub format_version: u32,
    pub resources: Vec<Candidate>,
}

/// What `import --out` did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub format_version: u32,
    /// The output directory, as given.
    pub out: String,
    pub written: Vec<Written>,
    pub skipped: Vec<Skipped>,
}

/// The remote resources the filters choose.
pub async fn list(client: &Client, filter: &Filter) -> Result<ImportListing, ImportError> {
    let listed = Listed::read(client).await?;
    Ok(ImportListing {
        format_version: IMPORT_FORMAT_VERSION,
        resources: select::choose(client, &listed, filter).await?,
    })
}

/// `plan` takes the oldest remote resource of a name (`observe::pick_oldest`): only that
/// one can be a manifest; the others are reported.
fn oldest_of_names(
    chosen: Vec<Candidate>,
    listed: &Listed,
) -> (Vec<Candidate>, Vec<Skipped>, BTreeMap<String, Vec<String>>) {
    let mut oldest: BTreeMap<(ResourceKind, &str), (&str, &str)> = BTreeMap::new();
    let mut all: BTreeMap<(ResourceKind, &str), Vec<&str>> = BTreeMap::new();
    let defs = listed
        .definitions
        .iter()
        .map(|d| (ResourceKind::JobDefinition, &d.name, &d.id, &d.created_at));
    let auds = listed
        .audiences
        .iter()
        .map(|a| (ResourceKind::Audience, &a.name, &a.id, &a.created_at));
    for (kind, name, id, created) in defs.chain(auds) {
        all.entry((kind, name.as_str())).or_default().push(id);
        let e = oldest
            .entry((kind, name.as_str()))
            .or_insert((created.as_str(), id.as_str()));
        if (created.as_str(), id.as_str()) < *e {
            *e = (created.as_str(), id.as_str());
        }
    }
    let mut keep = Vec::new();
    let mut skipped = Vec::new();
    let mut others: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in chosen {
        let key = (c.kind, c.name.as_str());
        match oldest.get(&key) {
            Some((_, id)) if *id != c.id => skipped.push(Skipped {
                kind: c.kind,
                name: c.name.clone(),
                id: c.id.clone(),
                reason: format!(
                    "an older {} has the same name ({id}); `plan` takes the oldest of a name and shows the others as duplicates that apply deletes: rename this one in the Rapidata app to import it",
                    document::kind_label(c.kind)
                ),
            }),
            Some(_) => {
                let ids: Vec<String> = all[&key]
                    .iter()
                    .filter(|i| **i != c.id)
                    .map(|i| i.to_string())
                    .collect();
                if !ids.is_empty() {
                    others.insert(c.id.clone(), ids);
                }
                keep.push(c);
            }
            None => keep.push(c),
        }
    }
    (keep, skipped, others)
}

/// Of several chosen jobs with one name only one can be a manifest: the newest.
fn newest_job_per_name(chosen: Vec<Candidate>) -> (Vec<Candidate>, Vec<Skipped>) {
    let mut newest: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for c in chosen.iter().filter(|c| c.kind == ResourceKind::Job) {
        let e = newest
            .entry(c.name.as_str())
            .or_insert((c.created_at.as_str(), c.id.as_str()));
        if (c.created_at.as_str(), c.id.as_str()) > *e {
            *e = (c.created_at.as_str(), c.id.as_str());
        }
    }
    let newest: BTreeMap<String, String> = newest
        .into_iter()
        .map(|(n, (_, id))| (n.to_string(), id.to_string()))
        .collect();
    let mut keep = Vec::new();
    let mut skipped = Vec::new();
    for c in chosen {
        match newest.get(&c.name) {
            Some(id) if c.kind == ResourceKind::Job && *id != c.id => skipped.push(Skipped {
                kind: c.kind,
                name: c.name.clone(),
                id: c.id.clone(),
                reason: format!(
                    "the newer job {id} has the same name and is the one written; its manifest says `onReplace: keep`, so `plan` leaves this one as it is"
                ),
            }),
            _ => keep.push(c),
        }
    }
    (keep, skipped)
}

/// Writes manifests for the chosen resources (and what their jobs need) into `opts.out`.
pub async fn import(
    client: &Client,
    filter: &Filter,
    opts: &WriteOptions,
) -> Result<ImportReport, ImportError> {
    // Refuse a bad --out before reading anything.
    let out = write::out_dir(&opts.out, &opts.root)?;
    let listed = Listed::read(client).await?;
    let chosen = select::choose(client, &listed, filter).await?;
    let chosen = select::with_dependencies(chosen, &listed);
    let (chosen, mut skipped, same_name) = oldest_of_names(chosen, &listed);
    let (chosen, more) = newest_job_per_name(chosen);
    skipped.extend(more);
    let fetched = fetch::fetch(client, &listed, &chosen).await?;

    // Definitions and audiences first: jobs refer to them.
    let mut docs: Vec<(Document, String)> = Vec::new();
    let names: Vec<(ResourceKind, &str)> = fetched
        .definitions
        .iter()
        .map(|d| (ResourceKind::JobDefinition, d.summary.name.as_str()))
        .chain(
            fetched
                .audiences
                .iter()
                .map(|a| (ResourceKind::Audience, a.audience.name.as_str())),
        )
        .chain(
            fetched
                .jobs
                .iter()
                .map(|j| (ResourceKind::Job, j.name.as_str())),
        )
        .collect();
    let stems = write::stems(&names);
    let mut stem = stems.into_iter();
    let mut skip = |kind, name: &str, id: &str, reason: String| {
        skipped.push(Skipped {
            kind,
            name: name.to_string(),
            id: id.to_string(),
            reason,
        })
    };
    let duplicates_warning = |kind: ResourceKind, name: &str, id: &str| {
        same_name.get(id).map(|ids| {
            format!(
                "{} newer {}(s) also named `{name}` ({}): `plan` takes this one, the oldest, and shows the others as duplicates that apply deletes; rename them in the Rapidata app before applying",
                ids.len(),
                document::kind_label(kind),
                ids.join(", ")
            )
        })
    };
    for d in &fetched.definitions {
        let s = stem.next().unwrap_or_default();
        match definition::convert(d, &format!("{s}.datapoints.jsonl")) {
            Ok(mut doc) => {
                doc.warnings.extend(duplicates_warning(
                    ResourceKind::JobDefinition,
                    &doc.name,
                    &doc.id,
                ));
                docs.push((doc, s));
            }
            Err(why) => skip(
                ResourceKind::JobDefinition,
                &d.summary.name,
                &d.summary.id,
                format!("it cannot be a manifest: {why}"),
            ),
        }
    }
    for a in &fetched.audiences {
        let s = stem.next().unwrap_or_default();
        match audience::convert(a, &format!("{s}.examples.jsonl")) {
            Ok(mut doc) => {
                doc.warnings.extend(duplicates_warning(
                    ResourceKind::Audience,
                    &doc.name,
                    &doc.id,
                ));
                docs.push((doc, s));
            }
            Err(why) => skip(
                ResourceKind::Audience,
                &a.audience.name,
                &a.audience.id,
                format!("it cannot be a manifest: {why}"),
            ),
        }
    }
    let job_stems: Vec<String> = stem.collect();
    let mut next_skipped = Vec::new();
    let mut job_docs = Vec::new();
    {
        let definitions: BTreeMap<String, (String, u32)> = docs
            .iter()
            .filter(|(d, _)| d.kind == ResourceKind::JobDefinition)
            .filter_map(|(d, _)| {
                let rev = fetched
                    .definitions
                    .iter()
                    .find(|f| f.summary.id == d.id)?
                    .revision
                    .number;
                Some((d.id.clone(), (d.name.clone(), rev)))
            })
            .collect();
        let audiences: BTreeMap<String, String> = docs
            .iter()
            .filter(|(d, _)| d.kind == ResourceKind::Audience)
            .map(|(d, _)| (d.id.clone(), d.name.clone()))
            .collect();
        let custom: BTreeSet<String> = listed.audiences.iter().map(|a| a.id.clone()).collect();
        for (j, s) in fetched.jobs.iter().zip(job_stems) {
            let cx = job::Context {
                definitions: &definitions,
                audiences: &audiences,
                custom_audiences: &custom,
                same_name: listed.jobs.iter().filter(|o| o.name == j.name).collect(),
            };
            match job::convert(j, &cx) {
                Ok(doc) => job_docs.push((doc, s)),
                Err(why) => next_skipped.push(Skipped {
                    kind: ResourceKind::Job,
                    name: j.name.clone(),
                    id: j.id.clone(),
                    reason: format!("it cannot be a manifest: {why}"),
                }),
            }
        }
    }
    skipped.extend(next_skipped);
    docs.extend(job_docs);

    // Check every file as a manifest before anything is in place.
    let staging = Staging::new(&out)?;
    loop {
        let files: Vec<(PathBuf, String)> =
            docs.iter().flat_map(|(d, s)| write::paths(d, s)).collect();
        staging.write(&files)?;
        let bad = invalid(&staging.dir, &docs);
        if bad.is_empty() {
            break;
        }
        let mut gone: BTreeSet<(ResourceKind, String)> = BTreeSet::new();
        let mut i = 0;
        docs.retain(|(d, _)| {
            let keep = match bad.get(&i) {
                Some(why) => {
                    gone.insert((d.kind, d.id.clone()));
                    skipped.push(Skipped {
                        kind: d.kind,
                        name: d.name.clone(),
                        id: d.id.clone(),
                        reason: format!("its manifest would not load: {why}"),
                    });
                    false
                }
                None => true,
            };
            i += 1;
            keep
        });
        // Jobs whose definition or audience is no longer written.
        docs.retain(|(d, _)| {
            let lost = d.needs.iter().find(|n| gone.contains(n));
            if let Some((kind, id)) = lost {
                skipped.push(Skipped {
                    kind: d.kind,
                    name: d.name.clone(),
                    id: d.id.clone(),
                    reason: format!(
                        "its {} ({id}) is not written (see its reason)",
                        document::kind_label(*kind)
                    ),
                });
            }
            lost.is_none()
        });
        staging.clear()?;
    }
    let files: Vec<PathBuf> = docs
        .iter()
        .flat_map(|(d, s)| write::paths(d, s).into_iter().map(|f| f.0))
        .collect();
    staging.commit(&out, &files, opts.force)?;
    drop(staging);

    let shown = |rel: &Path| display(&opts.out.join(rel));
    let written = docs
        .iter()
        .map(|(d, s)| {
            let dir = PathBuf::from(write::kind_dir(d.kind));
            Written {
                kind: d.kind,
                name: d.name.clone(),
                id: d.id.clone(),
                file: shown(&dir.join(format!("{s}.yaml"))),
                rows_file: d.rows.as_ref().map(|r| shown(&dir.join(&r.file_name))),
                rows: d.rows.as_ref().map(|r| r.count),
                not_expressible: d.not_expressible.clone(),
                warnings: d.warnings.clone(),
            }
        })
        .collect();
    skipped.sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
    Ok(ImportReport {
        format_version: IMPORT_FORMAT_VERSION,
        out: display(&opts.out),
        written,
        skipped,
    })
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The documents (by index) whose staged files do not load as manifests, with the first
/// error of each.
fn invalid(dir: &Path, docs: &[(Document, String)]) -> BTreeMap<usize, String> {
    let opts = manifest::LoadOptions {
        root: Some(dir.to_path_buf()),
        no_cache: true,
        ..Default::default()
    };
    let Err(diags) = manifest::load(&[dir.to_path_buf()], &opts) else {
        return BTreeMap::new();
    };
    // Each staged file belongs to one document: `<kind dir>/<stem>...`.
    let owner = |file: &Path| -> Option<usize> {
        let rel = file
            .strip_prefix(dir)
            .ok()
            .map(Path::to_path_buf)
            .or_else(|| {
                let c: Vec<_> = file.components().rev().take(2).collect();
                Some(c.into_iter().rev().collect())
            })?;
        docs.iter().position(|(d, s)| {
            write::paths(d, s)
                .iter()
                .any(|(p, _)| *p == rel || rel.ends_with(p))
        })
    };
    let mut out = BTreeMap::new();
    for e in &diags.errors {
        let why = format!("{}:{}: {}", e.file.display(), e.line, e.message);
        match owner(&e.file) {
            Some(i) => {
                out.entry(i).or_insert(why);
            }
            // An error no document owns: drop everything rather than write a broken set.
            None => {
                for i in 0..docs.len() {
                    out.entry(i).or_insert_with(|| why.clone());
                }
            }
        }
    }
    out
}
