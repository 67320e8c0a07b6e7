//! Reading a resource's datapoints again, with their content, from the manifests and
//! sources they came from: what [`super::Datapoints`] does instead of holding the content
//! of every datapoint. The same code reads them (drafts, then datapoints); local files
//! are not hashed again (their hashes from the first read are reused), and every
//! datapoint is checked against the identity read the first time.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::context::{Ctx, Loc};
use super::datapoint_set::ReplayError;
use super::draft::{from_inline, Draft, DraftSink};
use super::finalize::{finalize_one, Hashed};
use super::hashing::FileInfo;
use super::model::Datapoint;
use super::paths::PathResolver;
use super::raw::{Located, RawDatapoint, RawSource};
use super::sources::{glob_drafts, read_source};

/// What every resource of one load shares.
#[derive(Debug)]
pub(crate) struct ReplayShared {
    /// The root rule, answering from the load's resolutions first.
    pub paths: PathResolver,
    /// The load's file table, so locations keep their file ids.
    pub files: Arc<Vec<Arc<Path>>>,
    /// Hashes of the local files, by canonical path.
    pub hashed: HashMap<PathBuf, FileInfo>,
}

/// One way datapoints were written, in the order they were read.
#[derive(Debug, Clone)]
pub(crate) enum ReplayItem {
    Inline {
        file: u32,
        base_dir: PathBuf,
        raw: Located<RawDatapoint>,
    },
    Source {
        file: u32,
        base_dir: PathBuf,
        src: Located<RawSource>,
    },
    /// A file glob, as the paths it matched.
    Glob {
        base_dir: PathBuf,
        loc: Loc,
        matched: Vec<String>,
    },
}

#[derive(Debug)]
pub(crate) struct Replay {
    pub shared: Arc<ReplayShared>,
    pub items: Vec<ReplayItem>,
}

type Visit<'a> = dyn FnMut(usize, Datapoint) -> Result<ControlFlow<()>, ReplayError> + 'a;

impl Replay {
    /// Calls `f` with each datapoint (its position, then its content) until it breaks;
    /// `expected` is how many the first read found.
    pub fn run(&self, expected: usize, f: &mut Visit<'_>) -> Result<(), ReplayError> {
        let mut ctx = Ctx::with_files(self.shared.paths.fresh_copy(), &self.shared.files);
        ctx.keep_texts = false;
        let mut sink = Sink {
            shared: &self.shared,
            hashed: Vec::new(),
            next: 0,
            f,
            stop: false,
            err: None,
        };
        for item in &self.items {
            if sink.stop || sink.err.is_some() {
                break;
            }
            match item {
                ReplayItem::Inline {
                    file,
                    base_dir,
                    raw,
                } => {
                    let d = from_inline(&mut ctx, *file, base_dir, raw.clone());
                    sink.accept(&mut ctx, d);
                }
                ReplayItem::Source {
                    file,
                    base_dir,
                    src,
                } => {
                    read_source(&mut ctx, *file, base_dir, src.clone(), &mut sink);
                }
                ReplayItem::Glob {
                    base_dir,
                    loc,
                    matched,
                } => glob_drafts(&mut ctx, base_dir, matched, *loc, &mut sink),
            }
        }
        if let Some(e) = sink.err {
            return Err(e);
        }
        if let Some(d) = ctx.diags.errors.first() {
            return Err(ReplayError(format!(
                "{}:{}:{}: {} (the manifests changed since they were read; run plan again)",
                d.file.display(),
                d.line,
                d.column,
                d.message
            )));
        }
        if !sink.stop && sink.next != expected {
            return Err(ReplayError(format!(
                "the manifests now hold {} datapoints where they held {expected} when they were \
                 read; run plan again",
                sink.next
            )));
        }
        Ok(())
    }
}

struct Sink<'a, 'f> {
    shared: &'a ReplayShared,
    /// Hashes per entry of the replaying context's local files.
    hashed: Hashed,
    next: usize,
    f: &'a mut Visit<'f>,
    stop: bool,
    err: Option<ReplayError>,
}

impl DraftSink for Sink<'_, '_> {
    fn accept(&mut self, ctx: &mut Ctx, d: Draft) {
        if self.stop || self.err.is_some() {
            return;
        }
        while self.hashed.len() < ctx.locals.len() {
            let canonical = &ctx.locals[self.hashed.len()].canonical;
            self.hashed.push(self.shared.hashed.get(canonical).cloned());
        }
        let loc = d.loc;
        match finalize_one(ctx, &self.hashed, d) {
            None => {
                let at = ctx.origin(loc);
                self.err = Some(ReplayError(format!(
                    "{at}: a file this datapoint uses changed since it was read; run plan again"
                )));
            }
            Some(done) => {
                let i = self.next;
                self.next += 1;
                match (self.f)(i, done.datapoint) {
                    Ok(ControlFlow::Continue(())) => {}
                    Ok(ControlFlow::Break(())) => self.stop = true,
                    Err(e) => self.err = Some(e),
                }
            }
        }
    }
}
