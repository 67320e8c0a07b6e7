//! Join a results document back to the manifest's datapoints: one row per datapoint,
//! keyed by its manifest key and source (file, line, asset path).
//!
//! A results item (`third_party/sdk-docs/understanding_the_results.md`, parsed by the SDK's
//! `rapidata_client/results/rapidata_results.py`) does not carry a datapoint id. It names
//! its asset: `assetUrl` / `assetUrls` (the uploaded file, whose name the remote datapoint
//! lists, and whose key `apply` stored in the asset's metadata, `KEY_METADATA`),
//! `identifier` / `originalFileName` (the file name, URL or text), and for compare and
//! ranking the option names of `aggregatedResults`. Matching tries the uploaded files
//! first (exact), then the names, with the item's `context` breaking ties; each datapoint
//! is used once, so duplicates are assigned in order.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::manifest::{Asset, Datapoint};
use crate::remote::RemoteDatapoint;

/// One line of `<name>.jsonl`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The manifest datapoint key (`None` when the item matched no datapoint).
    pub key: Option<String>,
    pub source: Option<Source>,
    /// The remote datapoint, when the dataset's listing was available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datapoint_id: Option<String>,
    /// Ranking: the group the result is about (the same result on each of its rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The results item, as the document has it.
    pub result: Value,
    /// Why the item could not be joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<String>,
    /// The position of the datapoint in the manifest (`rows::table` keeps manifest order).
    #[serde(skip)]
    pub index: Option<usize>,
    /// Ranking: the name the item gives this datapoint's asset (its `aggregatedResults` key).
    #[serde(skip)]
    pub option: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The manifest (inline datapoint) or source file (JSONL/CSV row).
    pub file: String,
    pub line: usize,
    /// The asset: a path relative to the manifest root, a URL, or the text.
    pub asset: String,
    /// Every asset, for compare.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<String>,
}

/// The name a results document gives an asset (the emulator's and Rapidata's `identifier`:
/// the original file name, the URL, or the text).
pub(super) fn asset_name(a: &Asset) -> String {
    match a {
        Asset::File { file_name, .. } => file_name.clone(),
        Asset::Url(u) => u.clone(),
        Asset::Text(t) => t.clone(),
        Asset::Uploaded(name) => name.clone(),
    }
}

pub(super) fn asset_source(a: &Asset, root: &Path) -> String {
    match a {
        Asset::File { path, .. } => path
            .strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/"),
        Asset::Url(u) => u.clone(),
        Asset::Text(t) => t.clone(),
        Asset::Uploaded(name) => format!("uploaded:{name}"),
    }
}

pub(super) fn source(dp: &Datapoint, root: &Path) -> Source {
    let assets: Vec<String> = dp.assets.iter().map(|a| asset_source(a, root)).collect();
    Source {
        file: relative(&dp.origin.file, root),
        line: dp.origin.line,
        asset: assets.first().cloned().unwrap_or_default(),
        assets: if assets.len() > 1 { assets } else { Vec::new() },
    }
}

/// A manifest or source path relative to the manifest root (origins are relative to the
/// working directory), so rows read the same from any checkout.
fn relative(file: &Path, root: &Path) -> String {
    let abs = std::env::current_dir()
        .map(|d| d.join(file))
        .unwrap_or_else(|_| file.to_path_buf());
    let rel = std::fs::canonicalize(&abs)
        .ok()
        .and_then(|c| c.strip_prefix(root).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| file.to_path_buf());
    rel.to_string_lossy().replace('\\', "/")
}

/// The set of asset names, as a map key.
fn name_key(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.collect();
    v.sort();
    v.dedup();
    v
}

/// Last path segment of a URL: the uploaded file's name.
fn file_of_url(u: &str) -> Option<String> {
    let path = u.split(['?', '#']).next()?;
    let last = path.rsplit('/').next()?;
    (!last.is_empty()).then(|| last.to_string())
}

/// Uploaded files an item names.
fn item_files(item: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(u) = item.get("assetUrl").and_then(Value::as_str) {
        out.extend(file_of_url(u));
    }
    if let Some(m) = item.get("assetUrls").and_then(Value::as_object) {
        out.extend(m.values().filter_map(Value::as_str).filter_map(file_of_url));
    }
    out
}

/// Asset names an item gives: its identifier (or original file name), else the options it
/// compares.
fn item_names(item: &Value) -> Vec<String> {
    for k in ["originalFileName", "identifier"] {
        if let Some(s) = item.get(k).and_then(Value::as_str) {
            return vec![s.to_string()];
        }
    }
    item.get("aggregatedResults")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

struct Joiner<'a> {
    manifest: &'a [Datapoint],
    by_key: HashMap<&'a str, usize>,
    remote: &'a [RemoteDatapoint],
    /// Uploaded file name → remote datapoints using it.
    by_file: HashMap<&'a str, Vec<usize>>,
    /// Sorted asset names → manifest datapoints with exactly those assets.
    by_names: HashMap<Vec<String>, Vec<usize>>,
    /// Remote datapoint key → its id.
    remote_ids: HashMap<&'a str, &'a str>,
    used: HashSet<usize>,
    root: &'a Path,
}

impl<'a> Joiner<'a> {
    fn row(
        &mut self,
        i: usize,
        item: &Value,
        group: Option<String>,
        option: Option<String>,
    ) -> Row {
        self.used.insert(i);
        let dp = &self.manifest[i];
        let remote_id = self
            .remote_ids
            .get(dp.key.as_str())
            .map(|id| id.to_string());
        Row {
            key: Some(dp.key.clone()),
            source: Some(source(dp, self.root)),
            datapoint_id: remote_id,
            group,
            result: item.clone(),
            unmatched: None,
            index: Some(i),
            option,
        }
    }

    /// The unused manifest datapoint whose assets are exactly the given uploaded files.
    fn by_files(&self, files: &[String], context: Option<&str>) -> Option<usize> {
        if files.is_empty() {
            return None;
        }
        let candidates: Vec<usize> = self
            .by_file
            .get(files[0].as_str())
            .into_iter()
            .flatten()
            .map(|&i| &self.remote[i])
            .filter(|r| files.iter().all(|f| r.files.contains(f)))
            .filter_map(|r| r.key.as_deref().and_then(|k| self.by_key.get(k).copied()))
            .filter(|i| !self.used.contains(i))
            .collect();
        self.pick(candidates, context)
    }

    /// The unused manifest datapoint whose asset names are the given names.
    fn by_names(&self, names: &[String], context: Option<&str>) -> Option<usize> {
        if names.is_empty() {
            return None;
        }
        let candidates: Vec<usize> = self
            .by_names
            .get(&name_key(names.iter().cloned()))
            .into_iter()
            .flatten()
            .copied()
            .filter(|i| !self.used.contains(i))
            .collect();
        self.pick(candidates, context)
    }

    fn pick(&self, candidates: Vec<usize>, context: Option<&str>) -> Option<usize> {
        if candidates.len() > 1 {
            if let Some(c) = context {
                if let Some(&i) = candidates
                    .iter()
                    .find(|&&i| self.manifest[i].context.as_deref() == Some(c))
                {
                    return Some(i);
                }
            }
        }
        candidates.first().copied()
    }
}

/// One row per result item (per datapoint of the group for ranking).
pub fn rows(
    document: &Value,
    manifest: &[Datapoint],
    remote: &[RemoteDatapoint],
    root: &Path,
) -> Vec<Row> {
    let mut j = Joiner {
        manifest,
        by_key: manifest
            .iter()
            .enumerate()
            .map(|(i, d)| (d.key.as_str(), i))
            .collect(),
        remote,
        by_file: HashMap::new(),
        by_names: HashMap::new(),
        remote_ids: remote
            .iter()
            .filter_map(|r| r.key.as_deref().map(|k| (k, r.id.as_str())))
            .collect(),
        used: HashSet::new(),
        root,
    };
    for (i, r) in remote.iter().enumerate() {
        for f in &r.files {
            j.by_file.entry(f.as_str()).or_default().push(i);
        }
    }
    for (i, d) in manifest.iter().enumerate() {
        j.by_names
            .entry(name_key(d.assets.iter().map(asset_name)))
            .or_default()
            .push(i);
    }
    let ranking = document
        .pointer("/info/type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("ranking"));
    let mut out = Vec::new();
    for item in document
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let context = item.get("context").and_then(Value::as_str);
        if ranking {
            // One item per group: every asset it ranks is one datapoint.
            let group = item
                .get("identifier")
                .and_then(Value::as_str)
                .map(str::to_string);
            let names: Vec<String> = item
                .get("aggregatedResults")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            let urls = item.get("assetUrls").and_then(Value::as_object);
            let before = out.len();
            for name in &names {
                let files: Vec<String> = urls
                    .and_then(|m| m.get(name))
                    .and_then(Value::as_str)
                    .and_then(file_of_url)
                    .into_iter()
                    .collect();
                let found = j
                    .by_files(&files, None)
                    .or_else(|| j.by_names(std::slice::from_ref(name), None));
                if let Some(i) = found {
                    out.push(j.row(i, item, group.clone(), Some(name.clone())));
                }
            }
            if out.len() == before {
                out.push(unmatched(item, group));
            }
            continue;
        }
        let found = j
            .by_files(&item_files(item), context)
            .or_else(|| j.by_names(&item_names(item), context));
        match found {
            Some(i) => out.push(j.row(i, item, None, None)),
            None => out.push(unmatched(item, None)),
        }
    }
    out
}

fn unmatched(item: &Value, group: Option<String>) -> Row {
    Row {
        key: None,
        source: None,
        datapoint_id: None,
        group,
        result: item.clone(),
        unmatched: Some(
            "no datapoint of the manifest has this item's assets (removed from the manifest since?)"
                .into(),
        ),
        index: None,
        option: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Origin;
    use serde_json::json;
    use std::path::PathBuf;

    fn dp(key: &str, assets: Vec<Asset>, context: Option<&str>, line: usize) -> Datapoint {
        Datapoint {
            key: key.into(),
            explicit_key: true,
            fingerprint: String::new(),
            origin: Origin {
                file: std::path::Path::new("data/x.jsonl").into(),
                line,
                column: 1,
            },
            assets,
            context: context.map(str::to_string),
            context_asset: None,
            private_metadata: Default::default(),
            group: None,
            sentence: None,
        }
    }

    fn file(name: &str) -> Asset {
        Asset::File {
            path: PathBuf::from("/root/images").join(name),
            file_name: name.into(),
            size: 1,
            content_hash: String::new(),
        }
    }

    #[test]
    fn same_file_twice_is_told_apart_by_context_then_order() {
        let m = vec![
            dp("a", vec![file("cat.png")], Some("one"), 1),
            dp("b", vec![file("cat.png")], Some("two"), 2),
        ];
        let doc = json!({"info": {"type": "Classification"}, "results": [
            {"identifier": "cat.png", "context": "two"},
            {"identifier": "cat.png", "context": "one"},
        ]});
        let rows = rows(&doc, &m, &[], Path::new("/root"));
        let keys: Vec<_> = rows.iter().map(|r| r.key.clone().unwrap()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(rows[0].source.as_ref().unwrap().asset, "images/cat.png");
        assert_eq!(rows[0].source.as_ref().unwrap().line, 2);
    }

    #[test]
    fn uploaded_files_win_over_names() {
        let m = vec![
            dp("a", vec![file("x.png")], None, 1),
            dp("b", vec![file("x.png")], None, 2),
        ];
        let remote = vec![
            RemoteDatapoint {
                id: "r1".into(),
                key: Some("a".into()),
                fingerprint: None,
                files: vec!["u1_x.png".into()],
                adopted: false,
                answer_options: None,
            },
            RemoteDatapoint {
                id: "r2".into(),
                key: Some("b".into()),
                fingerprint: None,
                files: vec!["u2_x.png".into()],
                adopted: false,
                answer_options: None,
            },
        ];
        let doc = json!({"results": [
            {"identifier": "x.png", "assetUrl": "https://assets.example/u2_x.png"},
        ]});
        let rows = rows(&doc, &m, &remote, Path::new("/root"));
        assert_eq!(rows[0].key.as_deref(), Some("b"));
        assert_eq!(rows[0].datapoint_id.as_deref(), Some("r2"));
    }

    #[test]
    fn an_unknown_item_is_kept_unmatched() {
        let doc = json!({"results": [{"identifier": "gone.png"}]});
        let rows = rows(&doc, &[], &[], Path::new("/root"));
        assert_eq!(rows.len(), 1);
        assert!(rows[0].key.is_none() && rows[0].unmatched.is_some());
    }
}
