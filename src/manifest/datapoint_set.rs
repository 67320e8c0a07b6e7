//! The datapoints of one job definition or order, as plan and apply hold them: per
//! datapoint only its identity (fingerprint, explicit key if any, where it was written),
//! about 64 bytes. Their content (assets, context, metadata) is read again from the
//! manifests and sources when it is needed — to upload the missing ones, to label a few
//! samples — and checked against the identity read the first time (issue #14: memory flat
//! in the content of a dataset; a million text datapoints are 64 MB, not 600).

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::context::Loc;
use super::fingerprint::Hex64;
use super::model::{Datapoint, Origin};
use super::replay::Replay;

/// What stays resident per datapoint.
#[derive(Debug, Clone)]
struct Entry {
    /// blake3 of the datapoint's canonical encoding (`Datapoint::fingerprint`).
    fingerprint: Hex64,
    /// The key when it is not the fingerprint key (an explicit one).
    key: Option<Box<str>>,
    explicit: bool,
    /// Where it was written (file id into [`Inner::files`]).
    loc: Loc,
}

/// Where the content comes from when it is needed.
#[derive(Debug)]
enum Content {
    /// Held in memory (built by a program or a test, not read from manifests).
    Memory(Vec<Datapoint>),
    /// Read again from the manifests and sources.
    Sources(Replay),
}

#[derive(Debug)]
struct Inner {
    entries: Vec<Entry>,
    /// Files the origins point into (shared by every resource of a load).
    files: Arc<Vec<Arc<Path>>>,
    hasher: RandomState,
    /// Key hash → entry; keys whose hash another key already has are in `collided`. The
    /// hash is already `hasher`'s (keyed, random), so the map does not hash it again.
    index: HashMap<u64, u32, BuildHasherDefault<KeyHash>>,
    collided: HashMap<String, u32>,
    /// Where [`Datapoints::position`] looks first: after the last position it found.
    next_hint: AtomicU32,
    /// Datapoints in the largest group (those without a group count as one group).
    max_group_size: u64,
    /// Whether any asset is a file or a URL (text needs no upload).
    has_media: bool,
    /// Whether any datapoint has a `group`.
    has_groups: bool,
    content: Content,
}

/// The datapoints of one resource, in manifest order. Cloning is cheap (shared).
#[derive(Debug, Clone)]
pub struct Datapoints(Arc<Inner>);

/// Why content could not be read again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReplayError(pub String);

/// One datapoint's identity.
#[derive(Debug, Clone, Copy)]
pub struct DatapointRef<'a> {
    set: &'a Inner,
    entry: &'a Entry,
}

impl<'a> DatapointRef<'a> {
    /// The explicit key, or `fp-` and the first 32 hex characters of the fingerprint.
    pub fn key(&self) -> Cow<'a, str> {
        match &self.entry.key {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(match &self.entry.fingerprint {
                Hex64::Bytes(b) => {
                    super::fingerprint::fingerprint_key(super::fingerprint::hex(b).as_str())
                }
                Hex64::Text(t) => super::fingerprint::fingerprint_key(t),
            }),
        }
    }

    pub fn explicit_key(&self) -> bool {
        self.entry.explicit
    }

    /// The fingerprint (lowercase hex).
    pub fn fingerprint(&self) -> Cow<'a, str> {
        self.entry.fingerprint.as_str()
    }

    pub fn origin(&self) -> Origin {
        self.set.origin(self.entry)
    }

    fn has_key(&self, key: &str) -> bool {
        match (&self.entry.key, &self.entry.fingerprint) {
            (Some(k), _) => **k == *key,
            (None, Hex64::Bytes(b)) => {
                let Some(hex) = key.strip_prefix(super::fingerprint::FINGERPRINT_KEY_PREFIX) else {
                    return false;
                };
                hex.len() == 32 && super::fingerprint::hex(b).as_str().starts_with(hex)
            }
            (None, Hex64::Text(fp)) => super::fingerprint::fingerprint_key(fp) == key,
        }
    }
}

impl Inner {
    fn origin(&self, e: &Entry) -> Origin {
        e.loc.origin(&self.files)
    }

    fn find(&self, key: &str) -> Option<u32> {
        self.find_hashed(key, self.hasher.hash_one(key))
    }

    /// [`Inner::find`] with `key`'s hash already computed.
    fn find_hashed(&self, key: &str, h: u64) -> Option<u32> {
        if let Some(&i) = self.index.get(&h) {
            let r = DatapointRef {
                set: self,
                entry: &self.entries[i as usize],
            };
            if r.has_key(key) {
                return Some(i);
            }
        }
        self.collided.get(key).copied()
    }
}

/// The hasher of [`Inner::index`]: its keys are hashes already.
#[derive(Default)]
struct KeyHash(u64);

impl Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the key is a `u64`); anything else still hashes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What is known of the content as a whole, from the first read.
pub(crate) struct ContentStats {
    pub max_group_size: u64,
    pub has_media: bool,
    pub has_groups: bool,
}

/// A datapoint's key was already used: the index of the first one with it.
pub(crate) struct DuplicateKey {
    pub first: usize,
}

/// Builds a [`Datapoints`] from identities in manifest order.
pub(crate) struct Builder {
    inner: Inner,
}

impl Builder {
    pub fn new(files: Arc<Vec<Arc<Path>>>, capacity: usize) -> Builder {
        Builder {
            inner: Inner {
                entries: Vec::with_capacity(capacity),
                files,
                hasher: RandomState::new(),
                index: HashMap::with_capacity_and_hasher(capacity, Default::default()),
                collided: HashMap::new(),
                next_hint: AtomicU32::new(0),
                max_group_size: 0,
                has_media: false,
                has_groups: false,
                content: Content::Memory(Vec::new()),
            },
        }
    }

    /// Adds a datapoint's identity, or says which earlier datapoint has its key.
    pub fn push(
        &mut self,
        key: &str,
        fingerprint: &str,
        explicit: bool,
        loc: Loc,
    ) -> Result<(), DuplicateKey> {
        let h = self.inner.hasher.hash_one(key);
        if let Some(first) = self.inner.find_hashed(key, h) {
            return Err(DuplicateKey {
                first: first as usize,
            });
        }
        let i = u32::try_from(self.inner.entries.len()).unwrap_or(u32::MAX);
        match self.inner.index.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.inner.collided.insert(key.to_owned(), i);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        // `fingerprint_key(fingerprint) != key`, without building the derived key.
        let derived = fingerprint.get(..32.min(fingerprint.len()));
        let stored =
            explicit || key.strip_prefix(super::fingerprint::FINGERPRINT_KEY_PREFIX) != derived;
        self.inner.entries.push(Entry {
            fingerprint: Hex64::new(fingerprint),
            key: stored.then(|| key.into()),
            explicit,
            loc,
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// Room for about `additional` more datapoints (grown once, not by doubling).
    pub fn reserve(&mut self, additional: usize) {
        self.inner.entries.reserve(additional);
        self.inner.index.reserve(additional);
    }

    /// Where the `i`-th datapoint pushed was written.
    pub fn loc(&self, i: usize) -> Option<Loc> {
        self.inner.entries.get(i).map(|e| e.loc)
    }

    pub fn finish(
        mut self,
        files: Arc<Vec<Arc<Path>>>,
        replay: Replay,
        stats: ContentStats,
    ) -> Datapoints {
        self.inner.files = files;
        self.inner.max_group_size = stats.max_group_size;
        self.inner.has_media = stats.has_media;
        self.inner.has_groups = stats.has_groups;
        self.inner.entries.shrink_to_fit();
        self.inner.content = Content::Sources(replay);
        Datapoints(Arc::new(self.inner))
    }
}

impl Default for Datapoints {
    fn default() -> Self {
        Datapoints::from_vec(Vec::new())
    }
}

impl Datapoints {
    /// Datapoints held in memory (for programs and tests). A repeated key keeps the first.
    pub fn from_vec(datapoints: Vec<Datapoint>) -> Datapoints {
        let mut files: Vec<Arc<Path>> = Vec::new();
        let mut file_ids: HashMap<Arc<Path>, u32> = HashMap::new();
        let mut kept = Vec::with_capacity(datapoints.len());
        let mut b = Builder::new(Arc::new(Vec::new()), datapoints.len());
        for dp in datapoints {
            let next = u32::try_from(files.len()).unwrap_or(u32::MAX);
            let file = *file_ids.entry(dp.origin.file.clone()).or_insert_with(|| {
                files.push(dp.origin.file.clone());
                next
            });
            let loc = Loc::new(file, dp.origin.line, dp.origin.column);
            if b.push(&dp.key, &dp.fingerprint, dp.explicit_key, loc)
                .is_ok()
            {
                kept.push(dp);
            }
        }
        let mut sizes: HashMap<Option<&str>, u64> = HashMap::new();
        for dp in &kept {
            *sizes.entry(dp.group.as_deref()).or_default() += 1;
        }
        b.inner.max_group_size = sizes.values().copied().max().unwrap_or(0);
        b.inner.has_groups = kept.iter().any(|d| d.group.is_some());
        b.inner.has_media = kept.iter().any(|d| {
            d.assets
                .iter()
                .chain(d.context_asset.as_ref())
                .any(|a| !matches!(a, super::model::Asset::Text(_)))
        });
        b.inner.files = Arc::new(files);
        b.inner.content = Content::Memory(kept);
        Datapoints(Arc::new(b.inner))
    }

    pub fn len(&self) -> usize {
        self.0.entries.len()
    }

    /// Whether any datapoint has a file or URL asset (something to upload besides text).
    pub fn has_media(&self) -> bool {
        self.0.has_media
    }

    /// Whether any datapoint has a `group`.
    pub fn has_groups(&self) -> bool {
        self.0.has_groups
    }

    /// How many datapoints the largest `group` has (ranking sizes its workflow by it).
    pub fn max_group_size(&self) -> u64 {
        self.0.max_group_size
    }

    pub fn is_empty(&self) -> bool {
        self.0.entries.is_empty()
    }

    /// Identities in manifest order.
    pub fn iter(&self) -> impl Iterator<Item = DatapointRef<'_>> {
        self.0.entries.iter().map(|entry| DatapointRef {
            set: &self.0,
            entry,
        })
    }

    /// The datapoint at `pos` in manifest order.
    pub fn at(&self, pos: usize) -> Option<DatapointRef<'_>> {
        self.0.entries.get(pos).map(|entry| DatapointRef {
            set: &self.0,
            entry,
        })
    }

    /// The position of `key` in manifest order.
    pub fn position(&self, key: &str) -> Option<usize> {
        // Remote datapoints are listed in the order they were created, which is usually
        // manifest order: the one after the last found is tried first (keys are unique, so
        // a match is the answer), before a random access into the index.
        let next = self.0.next_hint.load(Ordering::Relaxed) as usize;
        let found = match self.0.entries.get(next) {
            Some(entry)
                if DatapointRef {
                    set: &self.0,
                    entry,
                }
                .has_key(key) =>
            {
                Some(next as u32)
            }
            _ => self.0.find(key),
        };
        if let Some(i) = found {
            self.0
                .next_hint
                .store(i.saturating_add(1), Ordering::Relaxed);
        }
        found.map(|i| i as usize)
    }

    /// Every datapoint with its content, in manifest order, until `f` breaks. Content
    /// read from sources is checked against the identity read the first time: a source
    /// edited since is an error ("run plan again"), never a silently different upload.
    pub fn for_each(
        &self,
        mut f: impl FnMut(usize, &Datapoint) -> ControlFlow<()>,
    ) -> Result<(), ReplayError> {
        match &self.0.content {
            Content::Memory(v) => {
                for (i, dp) in v.iter().enumerate() {
                    if f(i, dp).is_break() {
                        break;
                    }
                }
                Ok(())
            }
            Content::Sources(r) => r.run(self.0.entries.len(), &mut |i, dp| {
                let e = DatapointRef {
                    set: &self.0,
                    entry: &self.0.entries[i],
                };
                if e.explicit_key() != dp.explicit_key
                    || !e.has_key(&dp.key)
                    || e.fingerprint() != dp.fingerprint
                {
                    return Err(ReplayError(format!(
                        "{} changed since it was read (the datapoint at line {} is not the \
                         same any more); run plan again",
                        dp.origin.file.display(),
                        dp.origin.line
                    )));
                }
                Ok(f(i, &dp))
            }),
        }
    }

    /// The datapoints `keep` selects, with their content, in manifest order.
    pub fn collect_where(
        &self,
        mut keep: impl FnMut(DatapointRef<'_>) -> bool,
    ) -> Result<Vec<Datapoint>, ReplayError> {
        let wanted: Vec<bool> = self.iter().map(&mut keep).collect();
        let mut left = wanted.iter().filter(|w| **w).count();
        let mut out = Vec::with_capacity(left);
        if left == 0 {
            return Ok(out);
        }
        self.for_each(|i, dp| {
            if wanted[i] {
                out.push(dp.clone());
                left -= 1;
            }
            if left == 0 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok(out)
    }

    /// Every datapoint with its content (for commands that need them all, like
    /// `results`).
    pub fn to_vec(&self) -> Result<Vec<Datapoint>, ReplayError> {
        self.collect_where(|_| true)
    }

    /// The content of the datapoints `keep` selects (by position), in manifest order,
    /// in batches of `batch` through a bounded channel filled from a blocking thread: at
    /// most a few batches are in memory at a time however many there are.
    pub fn stream(
        &self,
        keep: Vec<bool>,
        batch: usize,
    ) -> tokio::sync::mpsc::Receiver<Result<Vec<Datapoint>, ReplayError>> {
        let batch = batch.max(1);
        // Batches, not datapoints: each send wakes the consumer's runtime, and a wake per
        // datapoint cost more than reading it (issue #24: 0.4 s before a 4,096-datapoint
        // chunk could start). Two batches in flight keep the reader ahead.
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let set = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut pending = Vec::with_capacity(batch);
            let r = set.for_each(|i, dp| {
                if !keep.get(i).copied().unwrap_or(false) {
                    return ControlFlow::Continue(());
                }
                pending.push(dp.clone());
                if pending.len() < batch {
                    return ControlFlow::Continue(());
                }
                let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
                match tx.blocking_send(Ok(full)) {
                    Ok(()) => ControlFlow::Continue(()),
                    // The consumer stopped listening.
                    Err(_) => ControlFlow::Break(()),
                }
            });
            // What was read before a source turned out changed is not sent: the consumer
            // uploads nothing of the batch the change is in.
            match r {
                Ok(()) if !pending.is_empty() => {
                    let _ = tx.blocking_send(Ok(pending));
                }
                Ok(()) => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                }
            }
        });
        rx
    }
}
