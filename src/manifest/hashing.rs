//! Content hashes of local files, computed in parallel and cached.
//!
//! A datapoint's identity depends on its files' bytes, so every run needs every hash. The
//! cache maps (canonical path, size, mtime in nanoseconds) to (hash, media type); an
//! unchanged file is not read again. The cache is a plain TSV file: a damaged or foreign
//! line is skipped, an unreadable cache is ignored, and a failed write is not an error:
//! the cache may only ever save time, never change a result.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::UNIX_EPOCH;

use super::files::{open_regular, read_text};
use super::media::{sniff, Media, SNIFF_LEN};

const CACHE_FILE: &str = "file-hashes.tsv";
const CACHE_HEADER: &str = "# rapidata file hash cache v1: size\tmtime_ns\tblake3\tmedia\tpath";

/// What is known about one local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub size: u64,
    /// blake3 of the bytes, lowercase hex.
    pub hash: String,
    /// `None`: not a supported media type.
    pub media: Option<Media>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CacheEntry {
    size: u64,
    mtime_ns: u128,
    hash: String,
    media: Option<Media>,
}

/// Hash statistics of one run, for benchmarks and `--verbose` output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashStats {
    pub files: usize,
    pub cache_hits: usize,
    pub bytes_read: u64,
}

/// Hashes `paths` (canonical) with up to `available_parallelism` threads, using and
/// updating the cache in `cache_dir` when given. Results are in input order. Each file is
/// opened through [`super::files::open_regular`]: a regular file, inside `root` when given.
pub fn hash_files(
    paths: &[PathBuf],
    cache_dir: Option<&Path>,
    root: Option<&Path>,
) -> (Vec<Result<FileInfo, String>>, HashStats) {
    let cache = cache_dir.map(load_cache).unwrap_or_default();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
        .min(paths.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<HashOutcome>> = (0..paths.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = paths.get(i) else { break };
                        out.push((i, hash_one(path, &cache, root)));
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            // A panicking worker would be a bug in this module; its files then count as
            // unreadable rather than aborting the whole validation.
            if let Ok(part) = h.join() {
                for (i, r) in part {
                    results[i] = Some(r);
                }
            }
        }
    });
    let mut stats = HashStats {
        files: paths.len(),
        ..HashStats::default()
    };
    let mut updates = Vec::new();
    let out = results
        .into_iter()
        .zip(paths)
        .map(|(r, p)| match r {
            Some((res, entry, hit, read)) => {
                stats.cache_hits += usize::from(hit);
                stats.bytes_read += read;
                if let (Some(e), false) = (entry, hit) {
                    updates.push((p.clone(), e));
                }
                res
            }
            None => Err("internal error while hashing".to_owned()),
        })
        .collect();
    if let (Some(dir), false) = (cache_dir, updates.is_empty()) {
        let mut merged = cache;
        merged.extend(updates);
        let _ = save_cache(dir, &merged);
    }
    (out, stats)
}

type HashOutcome = (Result<FileInfo, String>, Option<CacheEntry>, bool, u64);

fn hash_one(path: &Path, cache: &HashMap<PathBuf, CacheEntry>, root: Option<&Path>) -> HashOutcome {
    // A cache hit reads no content: the canonical path's own metadata (a symlink is not
    // followed) decides. Content is only ever read through `open_regular`.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if let (true, Some(mtime_ns), Some(e)) = (meta.is_file(), mtime_ns(&meta), cache.get(path))
        {
            if e.size == meta.len() && e.mtime_ns == mtime_ns {
                let info = FileInfo {
                    size: e.size,
                    hash: e.hash.clone(),
                    media: e.media,
                };
                return (Ok(info), None, true, 0);
            }
        }
    }
    let (file, meta) = match open_regular(path, root) {
        Ok(f) => f,
        Err(e) => return (Err(e.to_string()), None, false, 0),
    };
    let size = meta.len();
    match read_and_hash(file) {
        Ok((hash, media, read)) => {
            let entry = mtime_ns(&meta).map(|mtime_ns| CacheEntry {
                size,
                mtime_ns,
                hash: hash.clone(),
                media,
            });
            (Ok(FileInfo { size, hash, media }), entry, false, read)
        }
        Err(e) => (Err(e.kind().to_string()), None, false, 0),
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> Option<u128> {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
}

fn read_and_hash(mut f: std::fs::File) -> std::io::Result<(String, Option<Media>, u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let mut total = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().to_hex().to_string(), sniff(&head), total))
}

/// Largest cache file read.
const MAX_CACHE_BYTES: u64 = 256 << 20;

fn load_cache(dir: &Path) -> HashMap<PathBuf, CacheEntry> {
    // A regular file inside the cache directory only (never a symlink to `/dev/zero`).
    let inside = std::fs::canonicalize(dir).ok();
    let Ok(text) = read_text(&dir.join(CACHE_FILE), inside.as_deref(), MAX_CACHE_BYTES) else {
        return HashMap::new();
    };
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<(PathBuf, CacheEntry)> {
    if line.starts_with('#') {
        return None;
    }
    let mut it = line.splitn(5, '\t');
    let size = it.next()?.parse().ok()?;
    let mtime_ns = it.next()?.parse().ok()?;
    let hash = it.next()?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let media = match it.next()? {
        "-" => None,
        m => Some(Media::parse(m)?),
    };
    let path = PathBuf::from(it.next()?);
    if !path.is_absolute() {
        return None;
    }
    Some((
        path,
        CacheEntry {
            size,
            mtime_ns,
            hash: hash.to_owned(),
            media,
        },
    ))
}

fn save_cache(dir: &Path, entries: &HashMap<PathBuf, CacheEntry>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    // `create_new` never follows a symlink planted at these names: it fails instead.
    let gitignore = dir.join(".gitignore");
    if std::fs::symlink_metadata(&gitignore).is_err() {
        let mut g = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&gitignore)?;
        g.write_all(b"*\n")?;
    }
    let mut sorted: Vec<_> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let tmp = dir.join(format!("{CACHE_FILE}.{}.tmp", std::process::id()));
    {
        let _ = std::fs::remove_file(&tmp);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut w = std::io::BufWriter::new(f);
        writeln!(w, "{CACHE_HEADER}")?;
        for (path, e) in sorted {
            let Some(p) = path.to_str() else { continue };
            if p.contains(['\t', '\n', '\r']) {
                continue;
            }
            let media = e.media.map_or("-", Media::as_str);
            writeln!(
                w,
                "{}\t{}\t{}\t{}\t{}",
                e.size, e.mtime_ns, e.hash, media, p
            )?;
        }
        w.flush()?;
    }
    std::fs::rename(&tmp, dir.join(CACHE_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_used_and_corruption_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.bin");
        std::fs::write(&f, b"GIF89a-some-bytes").unwrap();
        let f = std::fs::canonicalize(f).unwrap();
        let cache = dir.path().join("cache");
        let (r1, s1) = hash_files(std::slice::from_ref(&f), Some(&cache), None);
        assert_eq!(s1.cache_hits, 0);
        let (r2, s2) = hash_files(std::slice::from_ref(&f), Some(&cache), None);
        assert_eq!(s2.cache_hits, 1);
        assert_eq!(s2.bytes_read, 0);
        assert_eq!(r1[0].as_ref().unwrap(), r2[0].as_ref().unwrap());
        assert_eq!(
            r1[0].as_ref().unwrap().hash,
            blake3::hash(b"GIF89a-some-bytes").to_hex().to_string()
        );
        // Garbage in the cache: ignored, rebuilt.
        std::fs::write(cache.join(CACHE_FILE), "garbage\n1\t2\tzz\tpng\t/x\n\0\0").unwrap();
        let (r3, s3) = hash_files(std::slice::from_ref(&f), Some(&cache), None);
        assert_eq!(s3.cache_hits, 0);
        assert_eq!(r3[0].as_ref().unwrap().media, Some(Media::Gif));
        let (_, s4) = hash_files(std::slice::from_ref(&f), Some(&cache), None);
        assert_eq!(s4.cache_hits, 1);
    }
}
