//! Every problem found in one run, reported together: fixing manifests one error per run
//! is slow, and CI logs should show the whole picture at once.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::redact::Redactor;

/// Longest excerpt of a source line shown (characters); a 200 MB line is never copied.
pub const EXCERPT_CHARS: usize = 160;
/// Longest message or help shown (characters): values quoted from files are cut.
pub const MESSAGE_CHARS: usize = 400;

/// One problem, pointing at the line that causes it and saying how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based (1 when the problem concerns the whole file, e.g. unreadable).
    pub line: usize,
    /// 1-based.
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// An excerpt of the offending source line (at most [`EXCERPT_CHARS`] characters
    /// around the column, secrets masked), filled in when the file was read as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    /// Characters of the line left out before the excerpt (for the caret).
    #[serde(skip)]
    pub excerpt_start: usize,
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

    /// Sorts by file and position, drops exact duplicates, attaches bounded excerpts of
    /// the source lines (from `texts`, the files as they were read: a name is never read
    /// again), cuts long messages and masks secrets.
    /// Every error gets a location: line 1, column 1 where nothing better is known.
    pub(crate) fn finish(&mut self, texts: &HashMap<PathBuf, Arc<String>>) {
        for d in &mut self.errors {
            d.line = d.line.max(1);
            d.column = d.column.max(1);
        }
        self.errors
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        self.errors.dedup();
        let redactor = Redactor::from_env();
        // Line starts per file, computed once and only for files that have errors.
        let mut starts: HashMap<PathBuf, Vec<usize>> = HashMap::new();
        for d in &mut self.errors {
            d.message = redactor.redact(&truncate(&d.message, MESSAGE_CHARS));
            d.help = d
                .help
                .take()
                .map(|h| redactor.redact(&truncate(&h, MESSAGE_CHARS)));
            if d.line == 0 || d.source_line.is_some() {
                continue;
            }
            let Some(text) = texts.get(&d.file) else {
                continue;
            };
            let starts = starts.entry(d.file.clone()).or_insert_with(|| {
                std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                    .collect()
            });
            let Some(&from) = starts.get(d.line - 1) else {
                continue;
            };
            let to = text[from..].find('\n').map_or(text.len(), |i| from + i);
            let line = text[from..to].trim_end_matches('\r');
            let (start, excerpt) = excerpt(line, d.column);
            d.excerpt_start = start;
            d.source_line = Some(redactor.redact(&excerpt));
        }
    }
}

/// At most [`EXCERPT_CHARS`] characters of `line` around `column` (1-based), and how many
/// characters were left out before them.
fn excerpt(line: &str, column: usize) -> (usize, String) {
    let col = column.saturating_sub(1);
    let start = col.saturating_sub(EXCERPT_CHARS / 2).min(col);
    let start = if col < EXCERPT_CHARS - 20 { 0 } else { start };
    let text: String = line.chars().skip(start).take(EXCERPT_CHARS + 1).collect();
    (start, truncate(&text, EXCERPT_CHARS))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.line == 0 {
            writeln!(f, "  --> {}:1:1", self.file.display())?;
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
            let lead = if self.excerpt_start > 0 { "…" } else { "" };
            writeln!(f, " {pad} |")?;
            writeln!(f, " {num} | {lead}{shown}")?;
            let caret_at = (self.column.saturating_sub(1)
                - self.excerpt_start.min(self.column.saturating_sub(1)))
            .min(shown.chars().count())
                + lead.chars().count();
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
