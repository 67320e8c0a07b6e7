//! Where an import writes, and how: only inside the project root, never through a
//! symlink, never over an existing file unless `--force`, and all or nothing.
//!
//! `DIR/job-definitions/<name>.yaml` (+ `<name>.datapoints.jsonl`),
//! `DIR/audiences/<name>.yaml` (+ `<name>.examples.jsonl`), `DIR/jobs/<name>.yaml`, the
//! names made safe file names (remote names are free text). Files are first written into
//! a fresh staging directory inside `DIR` (so they can be checked as manifests before
//! anything is in place), then linked into place: a hard link fails when the target
//! exists, so a file created in the meantime is never replaced either.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use super::document::Document;
use crate::manifest::paths::normalize;
use crate::manifest::ResourceKind;

/// The directory below `--out` that holds each kind.
pub fn kind_dir(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::JobDefinition => "job-definitions",
        ResourceKind::Audience => "audiences",
        ResourceKind::Job => "jobs",
        ResourceKind::Order => "orders",
        ResourceKind::ValidationSet => "validation-sets",
    }
}

/// Longest file stem written (characters).
const MAX_STEM: usize = 100;

/// A safe file stem for a remote name: letters, digits, `-`, `_` and `.` kept, anything
/// else (path separators, spaces, control characters) a `-`; never starting with `.` or
/// `-`, never empty.
pub fn file_stem(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        let c = if c.is_alphanumeric() || matches!(c, '_' | '.') {
            c
        } else {
            '-'
        };
        if !(c == '-' && s.ends_with('-')) {
            s.push(c);
        }
    }
    let s: String = s
        .trim_start_matches(['.', '-'])
        .trim_end_matches('-')
        .chars()
        .take(MAX_STEM)
        .collect();
    if s.is_empty() {
        "unnamed".into()
    } else {
        s
    }
}

/// Unique stems per kind, also on case-insensitive file systems: the second `a` is `a-2`.
pub fn stems(names: &[(ResourceKind, &str)]) -> Vec<String> {
    let mut taken: HashSet<(ResourceKind, String)> = HashSet::new();
    names
        .iter()
        .map(|(kind, name)| {
            let base = file_stem(name);
            let mut stem = base.clone();
            let mut n = 2;
            while !taken.insert((*kind, stem.to_lowercase())) {
                stem = format!("{base}-{n}");
                n += 1;
            }
            stem
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("--out {out} is outside the project root {root}: import writes only inside the project (its manifest root)")]
    Outside { out: String, root: String },
    #[error("{0} is a symlink; import does not write through symlinks (remove it, or choose another --out)")]
    Symlink(String),
    #[error("{0} exists and is not a directory")]
    NotADirectory(String),
    #[error("these files exist already (nothing was written; pass --force to replace them):\n  {}", .0.join("\n  "))]
    Exists(Vec<String>),
    #[error("writing {0}: {1}")]
    Io(String, std::io::Error),
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |e| WriteError::Io(p.display().to_string(), e)
}

/// Makes `dir` a directory of `parent` (created if missing); refuses a symlink or a file.
fn ensure_dir(dir: &Path) -> Result<(), WriteError> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(WriteError::Symlink(dir.display().to_string())),
        Ok(m) if !m.is_dir() => Err(WriteError::NotADirectory(dir.display().to_string())),
        Ok(_) => Ok(()),
        // `create_dir` does not follow a symlink planted in the meantime: it fails.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(dir).map_err(io(dir))
        }
        Err(e) => Err(WriteError::Io(dir.display().to_string(), e)),
    }
}

/// The output directory, physically inside `root`, created one component at a time
/// below the root (never through a symlink). Returns its canonical path.
pub fn out_dir(out: &Path, root: &Path) -> Result<PathBuf, WriteError> {
    let outside = || WriteError::Outside {
        out: out.display().to_string(),
        root: root.display().to_string(),
    };
    let root_canonical = std::fs::canonicalize(root).map_err(io(root))?;
    let wanted = normalize(out);
    let rel = wanted
        .strip_prefix(normalize(root))
        .or_else(|_| wanted.strip_prefix(&root_canonical))
        .map_err(|_| outside())?
        .to_path_buf();
    let mut dir = root_canonical.clone();
    for c in rel.components() {
        match c {
            Component::Normal(part) => {
                dir.push(part);
                ensure_dir(&dir)?;
            }
            _ => return Err(outside()),
        }
    }
    let real = std::fs::canonicalize(&dir).map_err(io(&dir))?;
    if !real.starts_with(&root_canonical) {
        return Err(outside());
    }
    Ok(real)
}

/// Where a document's files go, relative to the output directory.
pub fn paths(doc: &Document, stem: &str) -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(kind_dir(doc.kind));
    let mut v = vec![(dir.join(format!("{stem}.yaml")), doc.text())];
    if let Some(r) = &doc.rows {
        v.push((dir.join(&r.file_name), r.text.clone()));
    }
    v
}

/// Files that exist already (or anything else at their names).
pub fn existing(dir: &Path, files: &[PathBuf]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| std::fs::symlink_metadata(dir.join(f)).is_ok())
        .cloned()
        .collect()
}

/// A fresh directory for the files before they are checked and put in place.
pub struct Staging {
    pub dir: PathBuf,
}

impl Staging {
    pub fn new(out: &Path) -> Result<Staging, WriteError> {
        let dir = out.join(format!(
            ".rapidata-import-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir(&dir).map_err(io(&dir))?;
        Ok(Staging { dir })
    }

    /// Writes `files` (relative paths) into the staging directory.
    pub fn write(&self, files: &[(PathBuf, String)]) -> Result<(), WriteError> {
        for (rel, text) in files {
            let path = self.dir.join(rel);
            if let Some(parent) = path.parent() {
                ensure_dir(parent)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(io(&path))?;
            f.write_all(text.as_bytes()).map_err(io(&path))?;
            f.sync_all().map_err(io(&path))?;
        }
        Ok(())
    }

    /// Empties the staging directory (to write a smaller set again).
    pub fn clear(&self) -> Result<(), WriteError> {
        std::fs::remove_dir_all(&self.dir).map_err(io(&self.dir))?;
        std::fs::create_dir(&self.dir).map_err(io(&self.dir))
    }

    /// Puts every staged file in place below `out`. Without `force` an existing file is
    /// never replaced (a hard link fails on it); with `force` it is replaced by a rename,
    /// which replaces a symlink there rather than following it.
    pub fn commit(&self, out: &Path, files: &[PathBuf], force: bool) -> Result<(), WriteError> {
        let clash = existing(out, files);
        if !force && !clash.is_empty() {
            return Err(WriteError::Exists(
                clash
                    .iter()
                    .map(|f| out.join(f).display().to_string())
                    .collect(),
            ));
        }
        let dirs: BTreeMap<PathBuf, ()> = files
            .iter()
            .filter_map(|f| f.parent().map(|p| (p.to_path_buf(), ())))
            .collect();
        for d in dirs.keys() {
            ensure_dir(&out.join(d))?;
        }
        for f in files {
            let from = self.dir.join(f);
            let to = out.join(f);
            if force {
                std::fs::rename(&from, &to).map_err(io(&to))?;
            } else {
                match std::fs::hard_link(&from, &to) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Err(WriteError::Exists(vec![to.display().to_string()]))
                    }
                    // No hard links here: a rename, after the check above.
                    Err(_) => std::fs::rename(&from, &to).map_err(io(&to))?,
                }
            }
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe_and_unique() {
        assert_eq!(file_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(file_stem(".hidden"), "hidden");
        assert_eq!(file_stem("a b\nc"), "a-b-c");
        assert_eq!(file_stem("///"), "unnamed");
        assert_eq!(file_stem("Katzen-Überprüfung"), "Katzen-Überprüfung");
        assert_eq!(file_stem(&"x".repeat(300)).len(), MAX_STEM);
        let s = stems(&[
            (ResourceKind::Job, "a"),
            (ResourceKind::Job, "A"),
            (ResourceKind::Job, "a/"),
            (ResourceKind::Audience, "a"),
        ]);
        assert_eq!(s, ["a", "A-2", "a-3", "a"]);
    }

    #[cfg(unix)]
    #[test]
    fn out_stays_inside_the_root_and_off_symlinks() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let made = out_dir(&root.path().join("imported/x"), root.path()).unwrap();
        assert!(made.is_dir());
        assert!(matches!(
            out_dir(elsewhere.path(), root.path()),
            Err(WriteError::Outside { .. })
        ));
        assert!(matches!(
            out_dir(&root.path().join("../escape"), root.path()),
            Err(WriteError::Outside { .. })
        ));
        std::os::unix::fs::symlink(elsewhere.path(), root.path().join("link")).unwrap();
        assert!(matches!(
            out_dir(&root.path().join("link/sub"), root.path()),
            Err(WriteError::Symlink(_))
        ));
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn existing_files_are_never_replaced_without_force() {
        let root = tempfile::tempdir().unwrap();
        let out = out_dir(root.path(), root.path()).unwrap();
        let files = vec![(PathBuf::from("jobs/a.yaml"), "new\n".to_string())];
        let names: Vec<PathBuf> = files.iter().map(|f| f.0.clone()).collect();
        std::fs::create_dir(out.join("jobs")).unwrap();
        std::fs::write(out.join("jobs/a.yaml"), "mine\n").unwrap();
        let staging = Staging::new(&out).unwrap();
        staging.write(&files).unwrap();
        assert!(matches!(
            staging.commit(&out, &names, false),
            Err(WriteError::Exists(_))
        ));
        assert_eq!(
            std::fs::read_to_string(out.join("jobs/a.yaml")).unwrap(),
            "mine\n"
        );
        staging.commit(&out, &names, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("jobs/a.yaml")).unwrap(),
            "new\n"
        );
        let dir = staging.dir.clone();
        drop(staging);
        assert!(!dir.exists());
    }
}
