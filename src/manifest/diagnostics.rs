//! Every problem found in one run, reported together: fixing manifests one error per run
//! is slow, and CI logs should show the whole picture at once.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// One problem, pointing at the line that causes it and saying how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file (e.g. unreadable).
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The offending source line, filled in when the file is readable text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
}

/// All errors of a run, sorted by file and position once the run is over.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostics {
    pub errors: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    /// Sorts by file and position, drops exact duplicates and attaches the source lines.
    /// Each file is read at most once, and only files that have errors.
    pub(crate) fn finish(&mut self) {
        self.errors
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        self.errors.dedup();
        let mut texts: HashMap<PathBuf, Option<Vec<String>>> = HashMap::new();
        for d in &mut self.errors {
            if d.line == 0 || d.source_line.is_some() {
                continue;
            }
            let lines = texts.entry(d.file.clone()).or_insert_with(|| {
                std::fs::read(&d.file).ok().map(|b| {
                    String::from_utf8_lossy(&b)
                        .lines()
                        .map(str::to_owned)
                        .collect()
                })
            });
            if let Some(lines) = lines {
                d.source_line = lines.get(d.line - 1).cloned();
            }
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.line == 0 {
            writeln!(f, "  --> {}", self.file.display())?;
        } else {
            writeln!(
                f,
                "  --> {}:{}:{}",
                self.file.display(),
                self.line,
                self.column
            )?;
        }
        if let Some(src) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            // Tabs would misalign the caret; show them as single spaces.
            let shown: String = src
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            let shown = truncate(&shown, 200);
            writeln!(f, " {pad} |")?;
            writeln!(f, " {num} | {shown}")?;
            let caret_at = self.column.saturating_sub(1).min(shown.chars().count());
            writeln!(f, " {pad} | {}^", " ".repeat(caret_at))?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.errors {
            writeln!(f, "{d}")?;
        }
        let n = self.errors.len();
        write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}
