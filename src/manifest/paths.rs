//! The manifest root and the rule that local files stay inside it. In GitOps the
//! manifests come from a pull request; without this rule a manifest could upload
//! `/etc/passwd` or `~/.ssh/id_rsa` to a labeling service, or print it in an error.
//!
//! Paths are resolved physically (`canonicalize`: every symlink followed, `..` applied to
//! the directory it really is in), never by lexical `..` shortcuts: `sub/link/../x` with
//! `sub/link -> /proc/self` is `/proc/x`, not `sub/x`. The file is then opened through
//! [`super::files`], which checks the opened file itself.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Lexically resolves `.` and `..` (without touching the file system), after making the
/// path absolute against the working directory. Only for naming things (roots, duplicate
/// arguments); never to decide whether a path stays inside the root.
pub fn normalize(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The root for a set of command-line paths: a directory argument is its own root; a file
/// inside a Git repository has the repository as root, otherwise its directory. Several
/// arguments share the deepest common ancestor of their roots.
pub fn default_root(paths: &[PathBuf]) -> PathBuf {
    let mut roots = paths.iter().map(|p| {
        let n = normalize(p);
        if n.is_dir() {
            n
        } else {
            let dir = n
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"));
            git_root(&dir).unwrap_or(dir)
        }
    });
    let Some(mut root) = roots.next() else {
        return normalize(Path::new("."));
    };
    for r in roots {
        while !r.starts_with(&root) {
            if !root.pop() {
                break;
            }
        }
    }
    root
}

fn git_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Why a local path was refused. Messages name the path as written, never where a
/// symlink outside the root points to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("absolute path `{0}` is not allowed")]
    Absolute(String),
    #[error("path `{0}` leaves the manifest root `{1}`")]
    Escapes(String, String),
    #[error("path `{0}` leads outside the manifest root `{1}` through a symlink")]
    SymlinkEscapes(String, String),
    #[error("file `{0}` not found")]
    NotFound(String),
    #[error("`{0}` is not a regular file")]
    NotAFile(String),
    #[error("cannot read `{0}`: {1}")]
    Io(String, String),
}

impl PathError {
    /// How to fix it.
    pub fn help(&self) -> &'static str {
        match self {
            PathError::Absolute(_) => {
                "use a path relative to the manifest file, or pass --allow-outside-root if this is intended"
            }
            PathError::Escapes(..) | PathError::SymlinkEscapes(..) => {
                "move the file inside the manifest root, set --root, or pass --allow-outside-root if this is intended"
            }
            PathError::NotFound(_) => "check the path; it is relative to the file that names it",
            PathError::NotAFile(_) => "point at a regular file (not a directory, device or pipe)",
            PathError::Io(..) => "check the file's permissions",
        }
    }
}

/// Resolves local paths against the root rule. Paths are resolved once each: many
/// datapoints often share one file.
#[derive(Debug)]
pub struct PathResolver {
    pub root: PathBuf,
    pub root_canonical: PathBuf,
    pub allow_outside_root: bool,
    cache: HashMap<PathBuf, Result<PathBuf, PathError>>,
    /// Resolutions of an earlier load, used before the file system: reading a load's
    /// datapoints again gives the same files (a file deleted since then fails when it is
    /// uploaded, as one datapoint, not the whole read).
    earlier: Option<Arc<HashMap<PathBuf, Result<PathBuf, PathError>>>>,
}

impl PathResolver {
    pub fn new(root: PathBuf, allow_outside_root: bool) -> PathResolver {
        let root = normalize(&root);
        let root_canonical = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        PathResolver {
            root,
            root_canonical,
            allow_outside_root,
            cache: HashMap::new(),
            earlier: None,
        }
    }

    /// A resolver that answers from this one's resolutions first.
    pub fn replaying(&self) -> PathResolver {
        let mut earlier = self.earlier.as_deref().cloned().unwrap_or_default();
        earlier.extend(self.cache.iter().map(|(k, v)| (k.clone(), v.clone())));
        PathResolver {
            root: self.root.clone(),
            root_canonical: self.root_canonical.clone(),
            allow_outside_root: self.allow_outside_root,
            cache: HashMap::new(),
            earlier: Some(Arc::new(earlier)),
        }
    }

    /// A copy sharing the earlier resolutions (cheap).
    pub fn fresh_copy(&self) -> PathResolver {
        PathResolver {
            root: self.root.clone(),
            root_canonical: self.root_canonical.clone(),
            allow_outside_root: self.allow_outside_root,
            cache: HashMap::new(),
            earlier: self.earlier.clone(),
        }
    }

    /// The root files must stay inside, for [`super::files`]; `None` when allowed outside.
    pub fn confine(&self) -> Option<&Path> {
        (!self.allow_outside_root).then_some(self.root_canonical.as_path())
    }

    /// The canonical path of `written` (relative to `base_dir`), a regular file inside the
    /// root, or why it is refused.
    pub fn resolve(&mut self, base_dir: &Path, written: &str) -> Result<PathBuf, PathError> {
        let w = Path::new(written);
        if w.is_absolute() && !self.allow_outside_root {
            return Err(PathError::Absolute(written.to_owned()));
        }
        // Keyed by the joined path as written: many datapoints name the same file.
        let raw = base_dir.join(w);
        if let Some(r) = self.cache.get(&raw) {
            return r.clone();
        }
        if let Some(r) = self.earlier.as_ref().and_then(|e| e.get(&raw)) {
            return r.clone();
        }
        let r = self.check(&raw, written);
        self.cache.insert(raw, r.clone());
        r
    }

    /// Records that `joined` (the base directory joined with the path as written) is the
    /// regular file `canonical`, inside the root: for a glob's matches, whose canonical
    /// path the listing already knows (see `sources::read_glob`).
    pub fn known_file(&mut self, joined: PathBuf, canonical: PathBuf) {
        debug_assert!(self.allow_outside_root || canonical.starts_with(&self.root_canonical));
        self.cache.insert(joined, Ok(canonical));
    }

    fn check(&self, joined: &Path, written: &str) -> Result<PathBuf, PathError> {
        let canonical = self.physical(joined, written)?;
        match std::fs::metadata(&canonical) {
            Ok(m) if m.is_file() => Ok(canonical),
            Ok(_) => Err(PathError::NotAFile(written.to_owned())),
            Err(e) => Err(PathError::Io(written.to_owned(), e.kind().to_string())),
        }
    }

    /// `joined` resolved on the file system, inside the root unless allowed outside.
    fn physical(&self, joined: &Path, written: &str) -> Result<PathBuf, PathError> {
        let root_shown = self.root.display().to_string();
        let lexically_inside = normalize(joined).starts_with(&self.root);
        let canonical = match std::fs::canonicalize(joined) {
            Ok(c) => c,
            Err(_) if !self.allow_outside_root && !lexically_inside => {
                return Err(PathError::Escapes(written.to_owned(), root_shown))
            }
            Err(e) => {
                // Whether a path outside exists is not revealed either: a missing file
                // behind a symlink that leads outside is an escape, not "not found".
                let outside = !self.allow_outside_root
                    && joined
                        .ancestors()
                        .skip(1)
                        .find_map(|a| std::fs::canonicalize(a).ok())
                        .is_some_and(|c| !c.starts_with(&self.root_canonical));
                return Err(if outside {
                    PathError::SymlinkEscapes(written.to_owned(), root_shown)
                } else if e.kind() == std::io::ErrorKind::NotFound {
                    PathError::NotFound(written.to_owned())
                } else {
                    PathError::Io(written.to_owned(), e.kind().to_string())
                });
            }
        };
        if !self.allow_outside_root && !canonical.starts_with(&self.root_canonical) {
            return Err(if lexically_inside {
                PathError::SymlinkEscapes(written.to_owned(), root_shown)
            } else {
                PathError::Escapes(written.to_owned(), root_shown)
            });
        }
        Ok(canonical)
    }

    /// Where a glob starts (its components before the first wildcard), resolved
    /// physically and checked for the root rule. Matches are then listed by
    /// [`super::sources`] without following symlinked directories, and each is checked
    /// with [`PathResolver::resolve`].
    pub fn check_pattern(&self, base_dir: &Path, pattern: &str) -> Result<GlobStart, PathError> {
        let p = Path::new(pattern);
        if p.is_absolute() && !self.allow_outside_root {
            return Err(PathError::Absolute(pattern.to_owned()));
        }
        let mut literal = PathBuf::new();
        let mut rest: Vec<String> = Vec::new();
        for c in p.components() {
            let s = c.as_os_str().to_string_lossy();
            if rest.is_empty() && !s.contains(['*', '?', '[']) {
                literal.push(c.as_os_str());
            } else {
                rest.push(s.into_owned());
            }
        }
        if rest.is_empty() {
            // No wildcard: the pattern names one file; its directory is the start.
            let last = literal
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            literal.pop();
            rest.push(last);
        }
        let start = self.physical(&base_dir.join(&literal), pattern)?;
        if !start.is_dir() {
            return Err(PathError::NotFound(pattern.to_owned()));
        }
        Ok(GlobStart {
            written: literal,
            dir: start,
            rest: rest.join("/"),
        })
    }
}

/// A glob split at its first wildcard component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobStart {
    /// The leading components without wildcards, as written (relative to the manifest).
    pub written: PathBuf,
    /// The same directory, canonical (inside the root unless allowed outside).
    pub dir: PathBuf,
    /// The remaining pattern, matched against paths relative to `dir`.
    pub rest: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_dot_dot() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("/a/../../x")), PathBuf::from("/x"));
    }
}
