//! Shared state of one load: the files seen (so locations are small), the diagnostics,
//! the path rule and the table of local files to hash.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::model::Origin;
use super::paths::{PathError, PathResolver};

/// A compact location: file index into [`Ctx::files`], 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: u32,
    pub line: u32,
    pub column: u32,
}

impl Loc {
    /// The origin it is, with `files` the file table its file id points into.
    pub fn origin(self, files: &[Arc<Path>]) -> Origin {
        Origin {
            file: files
                .get(self.file as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from(Path::new(""))),
            line: self.line as usize,
            column: self.column as usize,
        }
    }

    pub fn new(file: u32, line: usize, column: usize) -> Loc {
        Loc {
            file,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// A local file referenced by some datapoint, hashed once however often it is used.
#[derive(Debug)]
pub struct LocalFile {
    pub canonical: PathBuf,
    /// Where it is first used, for errors about the file itself.
    pub first_use: Loc,
    pub uses: usize,
}

#[derive(Debug)]
pub struct Ctx {
    pub files: Vec<Arc<Path>>,
    file_ids: HashMap<PathBuf, u32>,
    pub diags: Diagnostics,
    pub paths: PathResolver,
    pub locals: Vec<LocalFile>,
    local_ids: HashMap<PathBuf, usize>,
    /// The text of every file read (safely), by the name diagnostics show: error excerpts
    /// come from here, never from reading a name again.
    pub texts: HashMap<PathBuf, Arc<String>>,
    /// Whether texts are kept for error excerpts (not when reading a load's sources
    /// again: a million-line source is then held once, while it is read).
    pub keep_texts: bool,
    /// `failureTolerance` of specs that set none (the project config's default).
    pub default_failure_tolerance: f64,
}

impl Ctx {
    pub fn new(paths: PathResolver) -> Ctx {
        Ctx {
            files: Vec::new(),
            file_ids: HashMap::new(),
            diags: Diagnostics::default(),
            paths,
            locals: Vec::new(),
            local_ids: HashMap::new(),
            texts: HashMap::new(),
            keep_texts: true,
            default_failure_tolerance: 0.0,
        }
    }

    /// A context whose file table starts as `files` (ids stay the same), for reading a
    /// load's sources again.
    pub fn with_files(paths: PathResolver, files: &[Arc<Path>]) -> Ctx {
        let mut ctx = Ctx::new(paths);
        for f in files {
            ctx.file_id(f);
        }
        ctx
    }

    pub fn file_id(&mut self, path: &Path) -> u32 {
        if let Some(id) = self.file_ids.get(path) {
            return *id;
        }
        let id = u32::try_from(self.files.len()).unwrap_or(u32::MAX);
        self.files.push(Arc::from(path));
        self.file_ids.insert(path.to_path_buf(), id);
        id
    }

    /// Keeps the text of `path` (as shown) for error excerpts; returns a shared handle.
    pub fn keep_text(&mut self, path: &Path, text: String) -> Arc<String> {
        // Arc<String>, not Arc<str>: no copy of a 100 MB source.
        let text = Arc::new(text);
        if self.keep_texts {
            self.texts.insert(path.to_path_buf(), text.clone());
        }
        text
    }

    pub fn origin(&self, loc: Loc) -> Origin {
        loc.origin(&self.files)
    }

    pub fn error(&mut self, loc: Loc, message: impl Into<String>, help: impl Into<String>) {
        let help: String = help.into();
        let at = self.origin(loc);
        let d = Diagnostic {
            file: at.file.to_path_buf(),
            line: at.line,
            column: at.column,
            message: message.into(),
            help: if help.is_empty() { None } else { Some(help) },
            source_line: None,
            excerpt_start: 0,
        };
        self.diags.push(d);
    }

    pub fn path_error(&mut self, loc: Loc, e: &PathError) {
        self.error(loc, e.to_string(), e.help());
    }

    /// Registers a local asset, returning its index in [`Ctx::locals`], or reports why
    /// the path is refused.
    pub fn local_asset(&mut self, base_dir: &Path, written: &str, loc: Loc) -> Option<usize> {
        match self.paths.resolve(base_dir, written) {
            Ok(canonical) => {
                if let Some(i) = self.local_ids.get(&canonical) {
                    self.locals[*i].uses += 1;
                    return Some(*i);
                }
                let i = self.locals.len();
                self.local_ids.insert(canonical.clone(), i);
                self.locals.push(LocalFile {
                    canonical,
                    first_use: loc,
                    uses: 1,
                });
                Some(i)
            }
            Err(e) => {
                self.path_error(loc, &e);
                None
            }
        }
    }
}
