//! What this machine learned at create time that the API does not return later, kept in
//! `.rapidata/recorded.json` of the project:
//!
//! - the dataset of each order it created (`GET /order/{id}` has no `datasetId`, fact 16);
//! - datasets being filled for a definition or a revision that does not exist yet (the
//!   SDK order is dataset → datapoints → definition/revision), so a killed apply resumes
//!   into the same dataset instead of starting a new one;
//! - the datapoints a job was assigned without (they failed, within tolerance), so a later
//!   plan does not take them for new data and relabel everything for them.
//!
//! It only ever saves work: without it (a fresh CI checkout) an unsubmitted order whose
//! datapoints cannot be observed is replaced, and an interrupted dataset is started again;
//! the abandoned one is bound to nothing and no labeler ever sees it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::manifest::ResourceKind;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// Order id → dataset id.
    #[serde(default)]
    pub order_datasets: BTreeMap<String, String>,
    /// `Kind/name` → the dataset being filled for it.
    #[serde(default)]
    pub pending_datasets: BTreeMap<String, PendingDataset>,
    /// Dataset id → keys of the manifest datapoints that were missing from it (failed to
    /// upload, within the failure tolerance) when a job was assigned on it: the next plan
    /// names them as failed earlier instead of starting a new dataset, revision and job
    /// (labeling everything again) for them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub started_without: BTreeMap<String, std::collections::BTreeSet<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PendingDataset {
    pub dataset_id: String,
    /// The revision the new dataset is for (its base); `None` for a new definition.
    pub base_revision: Option<u32>,
}

pub fn pending_key(kind: ResourceKind, name: &str) -> String {
    format!("{kind}/{name}")
}

/// The record of one API (environment), shared by the tasks of a run.
#[derive(Debug, Default)]
pub struct RecordStore {
    /// `None`: nothing is persisted (tests, read-only runs).
    path: Option<PathBuf>,
    api: String,
    data: Mutex<BTreeMap<String, Recorded>>,
}

impl RecordStore {
    /// The store in `<root>/.rapidata/recorded.json`, for `api`. An unreadable or damaged
    /// file reads as empty: the record only ever saves work.
    pub fn open(root: &Path, api: &str) -> RecordStore {
        let path = root.join(".rapidata").join("recorded.json");
        let data = read_regular(&path)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        RecordStore {
            path: Some(path),
            api: api.to_string(),
            data: Mutex::new(data),
        }
    }

    pub fn in_memory(api: &str) -> RecordStore {
        RecordStore {
            path: None,
            api: api.to_string(),
            data: Mutex::default(),
        }
    }

    pub fn get(&self) -> Recorded {
        self.lock().get(&self.api).cloned().unwrap_or_default()
    }

    pub fn update(&self, f: impl FnOnce(&mut Recorded)) {
        let snapshot = {
            let mut all = self.lock();
            f(all.entry(self.api.clone()).or_default());
            all.clone()
        };
        if let Some(path) = &self.path {
            // A failed write only costs work later; never an error.
            let _ = write_inside(
                path,
                &serde_json::to_vec_pretty(&snapshot).unwrap_or_default(),
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Recorded>> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Read a regular file that is not a symlink, bounded in size.
fn read_regular(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() || meta.len() > 16 * 1024 * 1024 {
        return None;
    }
    std::fs::read(path).ok()
}

/// Write atomically, refusing a `.rapidata` directory or file that is a symlink (a pull
/// request must not redirect writes outside the repository).
fn write_inside(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent"))?;
    if let Ok(m) = std::fs::symlink_metadata(dir) {
        if m.file_type().is_symlink() {
            return Err(std::io::Error::other(
                "refusing a symlinked .rapidata directory",
            ));
        }
    }
    std::fs::create_dir_all(dir)?;
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if m.file_type().is_symlink() {
            return Err(std::io::Error::other("refusing a symlinked record file"));
        }
    }
    // A fresh temporary file (never through something already there, such as a planted
    // symlink), then an atomic rename over the record.
    let tmp = dir.join(format!(
        ".recorded.{}.{:x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    std::io::Write::write_all(&mut f, bytes)?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_restart_and_keeps_apis_apart() {
        let dir = tempfile::tempdir().unwrap();
        let a = RecordStore::open(dir.path(), "local");
        a.update(|r| {
            r.order_datasets.insert("o1".into(), "d1".into());
        });
        let again = RecordStore::open(dir.path(), "local");
        assert_eq!(
            again.get().order_datasets.get("o1").map(String::as_str),
            Some("d1")
        );
        assert!(RecordStore::open(dir.path(), "rapidata.ai")
            .get()
            .order_datasets
            .is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_rapidata_dir_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join(".rapidata")).unwrap();
        let s = RecordStore::open(dir.path(), "local");
        s.update(|r| {
            r.order_datasets.insert("o".into(), "d".into());
        });
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    }
}
