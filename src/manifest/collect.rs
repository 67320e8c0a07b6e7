//! The datapoints of one job definition or order as its sources are read: each draft is
//! checked, turned into a datapoint at once when it needs no file hash (text, URLs) and
//! kept as an identity only; drafts with local files wait for the hashes. Keys must be
//! unique within the resource. What remains is a [`Datapoints`]: identities plus how to
//! read the content again.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::context::{Ctx, Loc};
use super::datapoint_rules::DraftChecker;
use super::datapoint_set::{Builder, ContentStats, Datapoints};
use super::draft::{Draft, DraftSink};
use super::finalize::{finalize_one, Finished, Hashed};
use super::replay::{Replay, ReplayItem, ReplayShared};

/// A datapoint's identity while the rest of the load goes on.
struct Ident {
    /// blake3, as bytes (the loader's fingerprints are 64 hex characters).
    fingerprint: [u8; 32],
    key: Option<Box<str>>,
    loc: Loc,
    key_loc: Loc,
}

impl Ident {
    fn of(f: Finished) -> Ident {
        let d = f.datapoint;
        Ident {
            fingerprint: super::fingerprint::parse_hex(&d.fingerprint)
                .or_else(|| {
                    blake3::Hash::from_hex(&d.fingerprint)
                        .ok()
                        .map(|h| *h.as_bytes())
                })
                .unwrap_or_default(),
            key: d.explicit_key.then(|| d.key.into_boxed_str()),
            loc: f.loc,
            key_loc: f.key_loc,
        }
    }
}

enum Slot {
    Ready(Ident),
    /// Waits for its files' hashes (boxed: most slots are ready and small).
    Pending(Box<Draft>),
    /// Unusable (reported).
    Dropped,
}

pub struct Collector {
    checker: DraftChecker,
    /// Identities in manifest order, added as soon as everything before them is known.
    builder: Builder,
    /// Where an explicit key was written, when not where its datapoint starts.
    key_locs: HashMap<usize, Loc>,
    /// From the first draft that waits for file hashes on: kept in order until then.
    slots: Vec<Slot>,
    pub(crate) items: Vec<ReplayItem>,
    /// Datapoints per group (`None`: without one).
    groups: HashMap<Option<Box<str>>, u64>,
    /// Whether a draft names a file or a URL.
    has_media: bool,
}

impl Collector {
    pub fn new(checker: DraftChecker) -> Collector {
        Collector {
            checker,
            builder: Builder::new(Arc::new(Vec::new()), 0),
            key_locs: HashMap::new(),
            slots: Vec::new(),
            items: Vec::new(),
            groups: HashMap::new(),
            has_media: false,
        }
    }

    /// Rules that span datapoints, once every draft is in.
    pub fn end_of_sources(&mut self, ctx: &mut Ctx) {
        self.checker.finish(ctx);
    }

    /// Adds an identity; a key already used is reported.
    fn add(&mut self, ctx: &mut Ctx, ident: Ident) {
        let loc = ident.loc;
        let explicit = ident.key.is_some();
        let hex = super::fingerprint::hex(&ident.fingerprint);
        let key = match &ident.key {
            Some(k) => k.to_string(),
            None => super::fingerprint::fingerprint_key(hex.as_str()),
        };
        let n = self.builder.len();
        match self.builder.push(&key, hex.as_str(), explicit, loc) {
            Ok(()) => {
                if ident.key_loc != loc {
                    self.key_locs.insert(n, ident.key_loc);
                }
            }
            Err(dup) => {
                let first = self
                    .key_locs
                    .get(&dup.first)
                    .copied()
                    .or_else(|| self.builder.loc(dup.first))
                    .map(|l| ctx.origin(l).to_string())
                    .unwrap_or_default();
                if explicit {
                    ctx.error(
                        ident.key_loc,
                        format!("duplicate datapoint key `{key}` (first used at {first})"),
                        "keys must be unique within a resource; change one of them",
                    );
                } else {
                    ctx.error(
                        ident.key_loc,
                        format!("duplicate datapoint: same content as the datapoint at {first}"),
                        "remove the repeat, or give both an explicit `key` if they are meant to be separate",
                    );
                }
            }
        }
    }

    /// The datapoints, once every local file is hashed; duplicate keys are reported.
    pub fn finish(
        mut self,
        ctx: &mut Ctx,
        hashed: &Hashed,
        shared: &Arc<ReplayShared>,
        files: &Arc<Vec<Arc<Path>>>,
    ) -> Datapoints {
        for slot in std::mem::take(&mut self.slots) {
            let ident = match slot {
                Slot::Ready(i) => i,
                Slot::Pending(d) => match finalize_one(ctx, hashed, *d) {
                    Some(f) => Ident::of(f),
                    None => continue,
                },
                Slot::Dropped => continue,
            };
            self.add(ctx, ident);
        }
        let stats = ContentStats {
            max_group_size: self.groups.values().copied().max().unwrap_or(0),
            has_media: self.has_media,
            has_groups: self.groups.keys().any(Option::is_some),
        };
        self.builder.finish(
            files.clone(),
            Replay {
                shared: shared.clone(),
                items: self.items,
            },
            stats,
        )
    }
}

impl DraftSink for Collector {
    fn reserve(&mut self, additional: usize) {
        self.builder.reserve(additional);
    }

    fn accept(&mut self, ctx: &mut Ctx, d: Draft) {
        self.checker.check(ctx, &d);
        let group = d.group.as_ref().map(|(g, _)| g.as_str().into());
        *self.groups.entry(group).or_default() += 1;
        self.has_media |= d.has_media();
        let slot = if d.has_local_file() {
            Slot::Pending(Box::new(d))
        } else {
            match finalize_one(ctx, &Vec::new(), d) {
                Some(f) => Slot::Ready(Ident::of(f)),
                None => Slot::Dropped,
            }
        };
        match slot {
            // Nothing waits before it: in at once (a text source never queues).
            Slot::Ready(ident) if self.slots.is_empty() => self.add(ctx, ident),
            Slot::Dropped if self.slots.is_empty() => {}
            slot => self.slots.push(slot),
        }
    }
}
