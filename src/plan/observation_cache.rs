//! A validated cache of dataset observations: `.rapidata/cache/` keeps, per dataset, every
//! datapoint identity the last full listing found (id, key, fingerprint, files), compactly.
//!
//! It is never trusted blindly and never a state file. A plan first asks the dataset for
//! two cheap facts in one request — its total and its newest datapoint's id
//! (`GET /dataset/{id}/datapoints?page_size=1&sort=-created_at`) — and replays the cache only
//! when both equal what the cache was written with. Datapoints are only ever created and
//! deleted, so any change by anyone changes one of the two: an added datapoint is the newest
//! (and raises the total), a deleted one lowers the total, and a delete plus an add changes
//! the newest. A file that is truncated, corrupted or of another format fails its checksum
//! and is ignored with a note; deleting the directory only makes the next plan slower.
//!
//! Format (little-endian): `RDOC`, version, the header (dataset id, total, newest id), the
//! records, then the record count and the blake3 of everything before it. A record: flags,
//! id, key, fingerprint, files, and the answer options it carries (written once per run of
//! datapoints that carry the same).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::manifest::fingerprint::Hex64;
use crate::remote::{DatasetHead, RemoteDatapoint};

const MAGIC: &[u8; 4] = b"RDOC";
/// 2: records carry the datapoint's answer options.
const VERSION: u32 = 2;

#[derive(Debug)]
pub struct ObservationCache {
    dir: PathBuf,
    /// Which API the datasets belong to (ids of two environments never mix).
    api: String,
    /// Why a cache file was not used although it existed (shown with the plan).
    notes: Mutex<Vec<String>>,
}

/// What loading found.
#[derive(Debug, PartialEq)]
pub enum Loaded {
    /// Every record was replayed and the file checked out.
    Hit,
    /// No cache for this dataset, or it was written for another total or newest datapoint:
    /// nothing was replayed.
    Miss,
    /// The file is damaged; records may have been replayed before that was found, so the
    /// caller discards what it built.
    Damaged,
}

impl ObservationCache {
    pub fn new(dir: PathBuf, api: &str) -> ObservationCache {
        ObservationCache {
            dir,
            api: api.to_string(),
            notes: Mutex::default(),
        }
    }

    /// The project's cache, `<root>/.rapidata/cache/`, when it can be a directory inside
    /// the repository (never through a committed symlink); `None` lists every dataset.
    pub fn in_project(root: &Path, api: &str) -> Option<ObservationCache> {
        crate::manifest::files::state_dir(root, "cache")
            .ok()
            .map(|dir| ObservationCache::new(dir, api))
    }

    /// The notes gathered so far (damaged files), taken.
    pub fn take_notes(&self) -> Vec<String> {
        self.notes
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }

    fn file(&self, dataset_id: &str) -> PathBuf {
        let mut h = blake3::Hasher::new();
        h.update(self.api.as_bytes());
        h.update(b"\0");
        h.update(dataset_id.as_bytes());
        let name = h.finalize().to_hex();
        self.dir.join(format!("{}.bin", &name.as_str()[..32]))
    }

    /// Replays the cached datapoints of `dataset_id` into `f` when the cache was written
    /// for exactly `head`.
    pub fn load(
        &self,
        dataset_id: &str,
        head: &DatasetHead,
        f: impl FnMut(RemoteDatapoint),
    ) -> Loaded {
        let path = self.file(dataset_id);
        // Only a regular file: a planted symlink is not followed out of the repository.
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            return Loaded::Miss;
        }
        let Ok(file) = std::fs::File::open(&path) else {
            return Loaded::Miss;
        };
        match read(file, dataset_id, head, f) {
            Ok(true) => Loaded::Hit,
            Ok(false) => Loaded::Miss,
            Err(why) => {
                if let Ok(mut n) = self.notes.lock() {
                    n.push(format!(
                        "the observation cache {} was ignored ({why}); the dataset was listed again",
                        path.display()
                    ));
                }
                let _ = std::fs::remove_file(&path);
                Loaded::Damaged
            }
        }
    }

    /// A writer of the listing of `dataset_id` as of `head`; the file replaces the old one
    /// only when [`CacheWriter::finish`] is called and the listing had `head.total` items.
    pub fn writer(&self, dataset_id: &str, head: &DatasetHead) -> CacheWriter {
        let path = self.file(dataset_id);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        // A fresh file (never through something planted at its name); renamed into place.
        let out = std::fs::create_dir_all(&self.dir)
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&tmp)
            })
            .ok();
        let mut w = CacheWriter {
            out,
            pending: Vec::with_capacity(WRITE_BUFFER + 4096),
            hasher: blake3::Hasher::new(),
            count: 0,
            expected: head.total,
            tmp,
            path,
            last_options: None,
        };
        let mut header = Vec::new();
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        put_str(&mut header, dataset_id);
        header.extend_from_slice(&head.total.to_le_bytes());
        put_str(&mut header, head.newest.as_deref().unwrap_or(""));
        w.put(&header);
        w
    }
}

/// Writes one listing; abandoned (the old file stays or none is written) on any error.
pub struct CacheWriter {
    out: Option<std::fs::File>,
    /// Records not yet written nor hashed: both happen a buffer at a time (a blake3 update
    /// per record of ~100 bytes cost more than the rest of writing it).
    pending: Vec<u8>,
    hasher: blake3::Hasher,
    count: u64,
    expected: u64,
    tmp: PathBuf,
    path: PathBuf,
    /// The answer options of the last record that carried some.
    last_options: Option<std::sync::Arc<[String]>>,
}

/// How many bytes of records a [`CacheWriter`] writes and hashes at once.
const WRITE_BUFFER: usize = 256 * 1024;

impl CacheWriter {
    fn put(&mut self, bytes: &[u8]) {
        if self.out.is_some() {
            self.pending.extend_from_slice(bytes);
            self.drain_if_full();
        }
    }

    fn drain_if_full(&mut self) {
        if self.pending.len() >= WRITE_BUFFER {
            self.drain();
        }
    }

    /// Writes and hashes what is pending.
    fn drain(&mut self) {
        if let Some(out) = &mut self.out {
            if out.write_all(&self.pending).is_err() {
                self.out = None;
            } else {
                self.hasher.update(&self.pending);
            }
        }
        self.pending.clear();
    }

    pub fn write(&mut self, d: &RemoteDatapoint) {
        if self.out.is_none() {
            return;
        }
        let same_options = d.answer_options.is_some() && d.answer_options == self.last_options;
        let b = &mut self.pending;
        let flags = u8::from(d.key.is_some())
            | (u8::from(matches!(d.fingerprint, Some(Hex64::Bytes(_)))) << 1)
            | (u8::from(matches!(d.fingerprint, Some(Hex64::Text(_)))) << 2)
            | (u8::from(d.adopted) << 3)
            | (u8::from(d.answer_options.is_some() && !same_options) << 4)
            | (u8::from(same_options) << 5);
        b.push(flags);
        put_str(b, &d.id);
        if let Some(k) = &d.key {
            put_str(b, k);
        }
        match &d.fingerprint {
            Some(Hex64::Bytes(x)) => b.extend_from_slice(x),
            Some(Hex64::Text(t)) => put_str(b, t),
            None => {}
        }
        b.extend_from_slice(&(d.files.len() as u32).to_le_bytes());
        for f in &d.files {
            put_str(b, f);
        }
        if let (Some(options), false) = (&d.answer_options, same_options) {
            b.extend_from_slice(&(options.len() as u32).to_le_bytes());
            for o in options.iter() {
                put_str(b, o);
            }
            self.last_options = Some(options.clone());
        }
        self.drain_if_full();
        self.count += 1;
    }

    /// Seals the file and puts it in place, if the listing was whole.
    pub fn finish(mut self) {
        self.drain();
        let Some(mut out) = self.out.take() else {
            let _ = std::fs::remove_file(&self.tmp);
            return;
        };
        if self.count != self.expected {
            // The dataset changed while it was listed: not cached.
            drop(out);
            let _ = std::fs::remove_file(&self.tmp);
            return;
        }
        let count = self.count.to_le_bytes();
        self.hasher.update(&count);
        let digest = self.hasher.finalize();
        let ok = out.write_all(&count).is_ok()
            && out.write_all(digest.as_bytes()).is_ok()
            && out.flush().is_ok();
        drop(out);
        if !ok || std::fs::rename(&self.tmp, &self.path).is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

/// Strings longer than this are not ids, keys or file names: the file is damaged.
const MAX_STR: u32 = 1 << 20;

/// Reads the records from a buffer of its own and hashes what was read a buffer at a time
/// (a million records are ten million small fields; hashing each on its own cost more than
/// reading them).
struct Reader<R> {
    r: R,
    hasher: blake3::Hasher,
    buf: Vec<u8>,
    /// `buf[pos..end]` is read from the file but not yet consumed.
    pos: usize,
    end: usize,
    /// `buf[..hashed]` is in `hasher`; `buf[hashed..pos]` is consumed but not yet hashed.
    hashed: usize,
}

/// The reader's buffer (grown when a field is longer).
const READ_BUFFER: usize = 256 * 1024;

impl<R: Read> Reader<R> {
    fn new(r: R) -> Reader<R> {
        Reader {
            r,
            hasher: blake3::Hasher::new(),
            buf: vec![0; READ_BUFFER],
            pos: 0,
            end: 0,
            hashed: 0,
        }
    }

    /// Makes `n` unconsumed bytes available.
    fn fill(&mut self, n: usize) -> Result<(), String> {
        if self.end - self.pos >= n {
            return Ok(());
        }
        self.hasher.update(&self.buf[self.hashed..self.pos]);
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        self.hashed = 0;
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        while self.end < n {
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err("it is truncated".to_string()),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err("it is truncated".to_string()),
            }
        }
        Ok(())
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        self.fill(n)?;
        let at = self.pos;
        self.pos += n;
        Ok(&self.buf[at..at + n])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()?;
        if n > MAX_STR {
            return Err("a field has an impossible length".into());
        }
        std::str::from_utf8(self.bytes(n as usize)?)
            .map(str::to_owned)
            .map_err(|_| "a field is not UTF-8".into())
    }

    /// The hash of everything consumed, and what follows it (the unconsumed bytes first).
    fn into_rest(mut self) -> (blake3::Hasher, impl Read) {
        self.hasher.update(&self.buf[self.hashed..self.pos]);
        let rest = self.buf[self.pos..self.end].to_vec();
        (self.hasher, std::io::Cursor::new(rest).chain(self.r))
    }
}

/// `Ok(true)`: replayed and checked; `Ok(false)`: written for another head (nothing
/// replayed); `Err`: damaged.
fn read(
    r: impl Read,
    dataset_id: &str,
    head: &DatasetHead,
    mut f: impl FnMut(RemoteDatapoint),
) -> Result<bool, String> {
    let mut r = Reader::new(r);
    if r.bytes(4)? != MAGIC || r.u32()? != VERSION {
        return Err("it is not a cache file of this version".into());
    }
    if r.string()? != dataset_id {
        return Err("it belongs to another dataset".into());
    }
    let total = r.u64()?;
    let newest = r.string()?;
    if total != head.total || newest != head.newest.as_deref().unwrap_or("") {
        return Ok(false);
    }
    let mut last_options: Option<std::sync::Arc<[String]>> = None;
    for _ in 0..total {
        let flags = r.bytes(1)?[0];
        if flags & !0b11_1111 != 0 || flags & 0b11_0000 == 0b11_0000 {
            return Err("a record is malformed".into());
        }
        let id = r.string()?;
        let key = (flags & 1 != 0).then(|| r.string()).transpose()?;
        let fingerprint = if flags & 0b10 != 0 {
            Some(Hex64::Bytes(r.array()?))
        } else if flags & 0b100 != 0 {
            Some(Hex64::Text(r.string()?.into()))
        } else {
            None
        };
        let n = r.u32()?;
        if n > 1024 {
            return Err("a record is malformed".into());
        }
        let files = (0..n).map(|_| r.string()).collect::<Result<Vec<_>, _>>()?;
        let answer_options = if flags & 0b1_0000 != 0 {
            let n = r.u32()?;
            if n > 1024 {
                return Err("a record is malformed".into());
            }
            let options: std::sync::Arc<[String]> =
                (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
            last_options = Some(options.clone());
            Some(options)
        } else if flags & 0b10_0000 != 0 {
            Some(last_options.clone().ok_or("a record is malformed")?)
        } else {
            None
        };
        f(RemoteDatapoint {
            id,
            key,
            fingerprint,
            files,
            adopted: flags & 0b1000 != 0,
            answer_options,
        });
    }
    let (mut hasher, mut inner) = r.into_rest();
    let mut tail = [0u8; 40];
    inner
        .read_exact(&mut tail)
        .map_err(|_| "it is truncated".to_string())?;
    let count = &tail[..8];
    hasher.update(count);
    if u64::from_le_bytes(count.try_into().unwrap_or([0; 8])) != total
        || hasher.finalize().as_bytes() != &tail[8..]
    {
        return Err("its checksum does not match".into());
    }
    let mut rest = [0u8; 1];
    if inner.read(&mut rest).unwrap_or(0) != 0 {
        return Err("it has bytes after its end".into());
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dp(i: u32) -> RemoteDatapoint {
        RemoteDatapoint {
            id: format!("dp{i}"),
            key: (!i.is_multiple_of(3)).then(|| format!("k{i}")),
            fingerprint: match i % 3 {
                0 => None,
                1 => Some(Hex64::new(blake3::hash(&i.to_le_bytes()).to_hex().as_str())),
                _ => Some(Hex64::Text(format!("odd-{i}").into())),
            },
            files: (0..i % 3).map(|n| format!("f{i}-{n}.png")).collect(),
            adopted: i.is_multiple_of(5),
            // Runs of the same options, a change, and none.
            answer_options: match i % 7 {
                0 => None,
                1..=4 => Some(["a".to_string(), "b".to_string()].into()),
                _ => Some(["c".to_string()].into()),
            },
        }
    }

    fn head(total: u64, newest: &str) -> DatasetHead {
        DatasetHead {
            total,
            newest: Some(newest.into()),
        }
    }

    fn write(c: &ObservationCache, ds: &str, h: &DatasetHead, items: &[RemoteDatapoint]) {
        let mut w = c.writer(ds, h);
        for d in items {
            w.write(d);
        }
        w.finish();
    }

    #[test]
    fn a_listing_round_trips_only_for_its_head() {
        let dir = tempfile::tempdir().unwrap();
        let c = ObservationCache::new(dir.path().to_path_buf(), "api");
        let items: Vec<RemoteDatapoint> = (0..50).map(dp).collect();
        write(&c, "ds", &head(50, "dp49"), &items);
        let mut got = Vec::new();
        assert_eq!(
            c.load("ds", &head(50, "dp49"), |d| got.push(d)),
            Loaded::Hit
        );
        assert_eq!(got, items);
        let mut none = Vec::new();
        assert_eq!(
            c.load("ds", &head(51, "dp50"), |d| none.push(d)),
            Loaded::Miss
        );
        assert_eq!(
            c.load("ds", &head(50, "dp50"), |d| none.push(d)),
            Loaded::Miss
        );
        assert_eq!(
            c.load("other", &head(50, "dp49"), |d| none.push(d)),
            Loaded::Miss
        );
        assert!(none.is_empty());
        // Another API's dataset of the same id is another file.
        let c2 = ObservationCache::new(dir.path().to_path_buf(), "api2");
        assert_eq!(c2.load("ds", &head(50, "dp49"), |_| {}), Loaded::Miss);
    }

    #[test]
    fn a_listing_that_does_not_match_its_total_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let c = ObservationCache::new(dir.path().to_path_buf(), "api");
        let items: Vec<RemoteDatapoint> = (0..5).map(dp).collect();
        write(&c, "ds", &head(6, "dp4"), &items);
        assert_eq!(c.load("ds", &head(6, "dp4"), |_| {}), Loaded::Miss);
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let c = ObservationCache::new(dir.path().to_path_buf(), "api");
        let items: Vec<RemoteDatapoint> = (0..8).map(dp).collect();
        let h = head(8, "dp7");
        write(&c, "ds", &h, &items);
        let path = c.file("ds");
        let good = std::fs::read(&path).unwrap();
        for cut in 0..good.len() {
            std::fs::write(&path, &good[..cut]).unwrap();
            let r = c.load("ds", &h, |_| {});
            // A cut inside the header may make it look like another head: never a hit.
            assert_ne!(r, Loaded::Hit, "truncated at {cut}");
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            let mut got = Vec::new();
            let r = c.load("ds", &h, |d| got.push(d));
            assert!(
                r != Loaded::Hit || got == items,
                "byte {at} flipped was trusted"
            );
            assert_ne!(r, Loaded::Hit, "byte {at} flipped");
        }
        assert!(!c.take_notes().is_empty());
        let mut extra = good.clone();
        extra.push(0);
        std::fs::write(&path, &extra).unwrap();
        assert_eq!(c.load("ds", &h, |_| {}), Loaded::Damaged);
    }
}
