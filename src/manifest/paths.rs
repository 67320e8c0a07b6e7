//! The manifest root and the rule that local files stay inside it. In GitOps the
//! manifests come from a pull request; without this rule a manifest could upload
//! `/etc/passwd` or `~/.ssh/id_rsa` to a labeling service.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// Lexically resolves `.` and `..` (without touching the file system), after making the
/// path absolute against the working directory.
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

/// Why a local path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("absolute path `{0}` is not allowed")]
    Absolute(String),
    #[error("path `{0}` leaves the manifest root `{1}`")]
    Escapes(String, String),
    #[error("path `{0}` is a symlink to `{1}`, outside the manifest root `{2}`")]
    SymlinkEscapes(String, String, String),
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
            PathError::NotAFile(_) => "point at a media file, not a directory",
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
        }
    }

    /// The canonical path of `written` (relative to `base_dir`), or why it is refused.
    /// `expect_file` requires a regular file (assets, sources).
    pub fn resolve(&mut self, base_dir: &Path, written: &str) -> Result<PathBuf, PathError> {
        let w = Path::new(written);
        if w.is_absolute() && !self.allow_outside_root {
            return Err(PathError::Absolute(written.to_owned()));
        }
        // Keyed by the joined path as written: many datapoints name the same file, and
        // normalizing (which asks for the working directory) is the expensive part.
        let raw = base_dir.join(w);
        if let Some(r) = self.cache.get(&raw) {
            return r.clone();
        }
        let r = self.check(&normalize(&raw), written);
        self.cache.insert(raw, r.clone());
        r
    }

    fn check(&self, joined: &Path, written: &str) -> Result<PathBuf, PathError> {
        let root_shown = self.root.display().to_string();
        if !self.allow_outside_root && !joined.starts_with(&self.root) {
            return Err(PathError::Escapes(written.to_owned(), root_shown));
        }
        let canonical = match std::fs::canonicalize(joined) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PathError::NotFound(written.to_owned()))
            }
            Err(e) => return Err(PathError::Io(written.to_owned(), e.to_string())),
        };
        if !self.allow_outside_root && !canonical.starts_with(&self.root_canonical) {
            return Err(PathError::SymlinkEscapes(
                written.to_owned(),
                canonical.display().to_string(),
                root_shown,
            ));
        }
        if !canonical.is_file() {
            return Err(PathError::NotAFile(written.to_owned()));
        }
        Ok(canonical)
    }

    /// Checks a directory-relative glob's base for the root rule (matches are checked one
    /// by one with [`PathResolver::resolve`]).
    pub fn check_pattern(&self, base_dir: &Path, pattern: &str) -> Result<PathBuf, PathError> {
        let p = Path::new(pattern);
        if p.is_absolute() && !self.allow_outside_root {
            return Err(PathError::Absolute(pattern.to_owned()));
        }
        let joined = normalize(&base_dir.join(p));
        if !self.allow_outside_root && !joined.starts_with(&self.root) {
            return Err(PathError::Escapes(
                pattern.to_owned(),
                self.root.display().to_string(),
            ));
        }
        Ok(base_dir.join(p))
    }
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
