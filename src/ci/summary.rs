//! The GitHub Actions step summary: Markdown appended to the file `GITHUB_STEP_SUMMARY`
//! names, which GitHub shows on the run's page. GitHub accepts at most 1 MiB per step.

use std::io::Write;
use std::path::Path;

use super::truncate::fit;

/// GitHub's limit for one step's summary, in bytes.
pub const LIMIT_BYTES: usize = 1024 * 1024;
/// The budget in characters: a character is at most 4 bytes in UTF-8, so this many always
/// stay under [`LIMIT_BYTES`] (with room for the final newline).
pub const LIMIT_CHARS: usize = LIMIT_BYTES / 4 - 16;

/// Appends `markdown` (cut to fit) to the summary file.
pub fn append(path: &Path, markdown: &str, note: &str) -> std::io::Result<()> {
    let text = fit(markdown, LIMIT_CHARS, note);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}
