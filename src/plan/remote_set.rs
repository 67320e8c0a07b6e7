//! A dataset's datapoints as observed, reduced against the manifest's datapoints while
//! the pages arrive (issue #14): a remote copy with a desired key and the desired content
//! keeps only its id — the lowest id per key, the copy the plan keeps — and everything
//! else (other keys, other content, further copies, datapoints of other tools) is kept
//! whole for the diff. A converged dataset of a million datapoints is a million ids, not
//! a million keys, fingerprints and file lists.

use std::collections::HashMap;

use super::identity::same_remote_fingerprint;
use crate::manifest::LabelingSpec;
use crate::remote::RemoteDatapoint;

#[derive(Debug, Clone, Default)]
pub struct RemoteSet {
    /// By desired position: the id of the kept copy (desired key and content).
    kept: Vec<Option<Box<str>>>,
    /// By desired position: whether the kept copy was made by another tool (adopted).
    kept_by_other: Vec<bool>,
    kept_count: u64,
    kept_adopted: u64,
    /// Uploaded files of kept copies that have some, by desired position.
    kept_files: HashMap<usize, Vec<String>>,
    /// Every other remote datapoint, deduplicated by id.
    rest: Vec<RemoteDatapoint>,
    /// Order-independent hash of the kept copies (id, key, fingerprint); the rest is
    /// hashed when the set is finished.
    digest: [u64; 4],
    /// The answer options the dataset's datapoints carry.
    carried: Carried,
}

/// The answer options a dataset's datapoints carry (`answer_options` segments), which a
/// classification revision bound to that segment shows labelers.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Carried {
    /// No datapoint carries any.
    #[default]
    None,
    /// Every datapoint that carries options carries these.
    Same(std::sync::Arc<[String]>),
    /// Datapoints carry different options.
    Mixed,
}

impl RemoteSet {
    /// An empty dataset.
    pub fn empty() -> RemoteSet {
        RemoteSet::default()
    }

    /// Reduces `remote` against `spec` (for tests and callers that have a list).
    pub fn from_list(spec: &LabelingSpec, remote: Vec<RemoteDatapoint>) -> RemoteSet {
        let mut s = RemoteSet::empty();
        for r in remote {
            s.push(spec, r);
        }
        s.finish();
        s
    }

    /// Adds one observed datapoint.
    pub fn push(&mut self, spec: &LabelingSpec, r: RemoteDatapoint) {
        if let Some(o) = &r.answer_options {
            self.carried = match std::mem::take(&mut self.carried) {
                Carried::None => Carried::Same(o.clone()),
                Carried::Same(have) if have == *o => Carried::Same(have),
                _ => Carried::Mixed,
            };
        }
        let pos = match (&r.key, &r.fingerprint) {
            (Some(k), Some(fp)) => spec.datapoints.position(k).filter(|&p| {
                spec.datapoints.at(p).is_some_and(|d| {
                    same_remote_fingerprint(
                        &spec.task,
                        &d.fingerprint(),
                        r.answer_options.as_deref(),
                        fp,
                    )
                })
            }),
            _ => None,
        };
        let Some(pos) = pos else {
            self.rest.push(r);
            return;
        };
        if self.kept.len() < spec.datapoints.len() {
            self.kept.resize(spec.datapoints.len(), None);
            self.kept_by_other.resize(spec.datapoints.len(), false);
        }
        // Which copy is kept: one rapidata made over one another tool made (that one is
        // then left alone, see `adopt`), else the lowest id.
        let replaces = match &self.kept[pos] {
            None => true,
            // The same datapoint on two pages (listing while it changes): once.
            Some(id) if **id == *r.id => return,
            Some(id) => match (self.kept_by_other[pos], r.adopted) {
                (true, false) => true,
                (false, true) => false,
                _ => *r.id < **id,
            },
        };
        if !replaces {
            self.rest.push(r);
            return;
        }
        if let Some(previous) = self.kept[pos].take() {
            let files = self.kept_files.remove(&pos).unwrap_or_default();
            let was_other = self.kept_by_other[pos];
            let demoted = RemoteDatapoint {
                id: previous.into(),
                key: r.key.clone(),
                fingerprint: r.fingerprint.clone(),
                files,
                adopted: was_other,
                answer_options: None,
            };
            self.hash(&demoted, false);
            self.rest.push(demoted);
            self.kept_count -= 1;
            self.kept_adopted -= u64::from(was_other);
        }
        self.hash(&r, true);
        self.kept[pos] = Some(r.id.as_str().into());
        self.kept_by_other[pos] = r.adopted;
        self.kept_count += 1;
        self.kept_adopted += u64::from(r.adopted);
        if !r.files.is_empty() {
            self.kept_files.insert(pos, r.files);
        }
    }

    /// Deduplicates the rest by id and hashes it (call once, after the last push).
    pub fn finish(&mut self) {
        self.rest.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        self.rest.dedup_by(|a, b| a.id == b.id);
        let rest = std::mem::take(&mut self.rest);
        for r in &rest {
            self.hash(r, true);
        }
        self.rest = rest;
    }

    fn row_hash(id: &str, key: Option<&str>, fp: &str) -> [u64; 4] {
        let mut h = blake3::Hasher::new();
        for part in [id, key.unwrap_or(""), fp] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let row = h.finalize();
        let mut out = [0u64; 4];
        for (lane, chunk) in out.iter_mut().zip(row.as_bytes().chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *lane = u64::from_le_bytes(b);
        }
        out
    }

    fn hash(&mut self, r: &RemoteDatapoint, add: bool) {
        let fp = r
            .fingerprint
            .as_ref()
            .map(|f| f.as_str())
            .unwrap_or_default();
        let row = Self::row_hash(&r.id, r.key.as_deref(), &fp);
        for (lane, x) in self.digest.iter_mut().zip(row) {
            *lane = if add {
                lane.wrapping_add(x)
            } else {
                lane.wrapping_sub(x)
            };
        }
    }

    /// How many kept copies were made by another tool (adopted by their content).
    pub fn kept_adopted(&self) -> u64 {
        self.kept_adopted
    }

    /// How many desired datapoints have a kept copy.
    pub fn kept_count(&self) -> u64 {
        self.kept_count
    }

    /// Whether the desired datapoint at `pos` has a kept copy.
    pub fn is_kept(&self, pos: usize) -> bool {
        self.kept.get(pos).is_some_and(Option::is_some)
    }

    /// Uploaded files of the kept copy of the desired datapoint at `pos`.
    pub fn kept_files(&self) -> &HashMap<usize, Vec<String>> {
        &self.kept_files
    }

    /// The remote datapoints that are not kept copies.
    pub fn rest(&self) -> &[RemoteDatapoint] {
        &self.rest
    }

    /// Every datapoint observed (kept copies and the rest).
    pub fn len(&self) -> u64 {
        self.kept_count + self.rest.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The answer options the datapoints carry.
    pub fn carried_options(&self) -> &Carried {
        &self.carried
    }

    /// For the observation digest: independent of the listing order.
    pub fn digest(&self) -> [u64; 4] {
        self.digest
    }
}
