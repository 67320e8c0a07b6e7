//! Reading YAML safely: documents are split so one broken document does not hide the
//! errors of the others, and a budget stops alias bombs before they eat memory.
//!
//! Each document is parsed on its own text only (serde-saphyr 2.x); the lines before it are
//! added to every location afterwards ([`LINE_OFFSET`] for [`super::raw::Located`], and
//! [`describe`] for errors). Parsing a file is therefore linear in its size, however many
//! documents it holds.

use std::cell::Cell;

use serde::de::DeserializeOwned;
use serde_saphyr::{DuplicateKeyPolicy, Error as SaphyrError, Options};

use super::suggest::did_you_mean;

thread_local! {
    /// Lines before the document being parsed on this thread; [`super::raw::Located`] adds
    /// it to the line the parser reports, so every location is a line of the file.
    static LINE_OFFSET: Cell<usize> = const { Cell::new(0) };
}

/// The line offset of the document being parsed (see [`LINE_OFFSET`]).
pub fn line_offset() -> usize {
    LINE_OFFSET.with(Cell::get)
}

/// Sets [`LINE_OFFSET`] for the lifetime of the guard (restored even on unwind).
struct OffsetGuard(usize);

impl OffsetGuard {
    fn set(offset: usize) -> OffsetGuard {
        OffsetGuard(LINE_OFFSET.with(|c| c.replace(offset)))
    }
}

impl Drop for OffsetGuard {
    fn drop(&mut self) {
        LINE_OFFSET.with(|c| c.set(self.0));
    }
}

/// One YAML document of a file, with the number of lines before it.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub text: &'a str,
    /// 0-based line of the segment's first line in the file.
    pub line_offset: usize,
}

/// Splits a YAML stream at `---` lines. YAML forbids a document marker at column 0 inside
/// any content (it is `c-forbidden`), so this split agrees with a full parser. Segments
/// with nothing but comments and blank lines are dropped.
pub fn split_documents(src: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut start_line = 0usize;
    let mut offset = 0usize;
    for (i, line) in src.split_inclusive('\n').enumerate() {
        if i > 0 && is_marker(line, "---") {
            out.push(Segment {
                text: &src[start..offset],
                line_offset: start_line,
            });
            start = offset;
            start_line = i;
        }
        offset += line.len();
    }
    out.push(Segment {
        text: &src[start..],
        line_offset: start_line,
    });
    out.retain(|s| !is_empty_document(s.text));
    out
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn is_empty_document(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty()
            || t.starts_with('#')
            || t.starts_with('%')
            || is_marker(t, "---")
            || is_marker(t, "...")
    })
}

/// Parser options: duplicate keys are errors; aliases may not replay more than a small
/// manifest's worth of events, so a billion-laughs document fails after a few hundred
/// thousand events instead of expanding to gigabytes.
pub fn options() -> Options {
    let mut o = Options::default();
    if let Some(b) = o.budget.as_mut() {
        b.max_events = 5_000_000;
        b.max_nodes = 2_000_000;
        b.max_documents = 10_000;
    }
    o.duplicate_keys = DuplicateKeyPolicy::Error;
    o.alias_limits.max_total_replayed_events = 100_000;
    o.alias_limits.max_replay_stack_depth = 16;
    o.alias_limits.max_alias_expansions_per_anchor = 1_000;
    o.with_snippet = false;
    o
}

/// A parse failure, located within the file (not the segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: Option<String>,
}

/// Parses one document into `T`, mapping serde-saphyr's error to a located message with
/// a fix. Only the document's own text is parsed; its line offset is added to every
/// location.
pub fn parse<T: DeserializeOwned>(seg: Segment<'_>) -> Result<T, YamlError> {
    let _offset = OffsetGuard::set(seg.line_offset);
    serde_saphyr::from_str_with_options::<T>(seg.text, options()).map_err(|e| describe(&e, seg))
}

/// The innermost error: snippets and alias wrappers only add context.
fn original(err: &SaphyrError) -> &SaphyrError {
    match err.without_snippet() {
        SaphyrError::AliasError { error, .. } => original(error),
        other => other,
    }
}

fn describe(err: &SaphyrError, seg: Segment<'_>) -> YamlError {
    use SaphyrError as E;
    let err = original(err);
    let raw = match err {
        E::SerdeUnknownField {
            field, expected, ..
        } => format!(
            "unknown field `{field}`, expected one of {}",
            expected.join(", ")
        ),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => format!(
            "unknown variant `{variant}`, expected one of {}",
            expected.join(", ")
        ),
        E::SerdeMissingField { field, .. } => format!("missing field `{field}`"),
        E::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => format!("invalid type: {unexpected}, expected {expected}"),
        E::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => format!("invalid value: {unexpected}, expected {expected}"),
        E::DuplicateMappingKey { key, .. } => match key {
            Some(k) => format!("duplicate mapping key `{k}`"),
            None => "duplicate mapping key".to_owned(),
        },
        E::Message { msg, .. } | E::HookError { msg, .. } => msg.clone(),
        E::Eof { .. } => "unexpected end of input".to_owned(),
        E::Unexpected { expected, .. } => format!("wrong kind of value: expected {expected}"),
        E::ContainerEndMismatch { .. } => "list or mapping ends without a start".to_owned(),
        E::UnknownAnchor { .. } => "alias refers to an unknown anchor".to_owned(),
        E::Budget { breach, .. } => format!("YAML too large or too deeply aliased ({breach:?})"),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => {
            "YAML too large or too deeply aliased (alias expansion limit)".to_owned()
        }
        E::QuotingRequired { value, .. } => format!("the value `{value}` must be quoted"),
        other => strip_location(&other.to_string()),
    };
    let (line, column) = match err.location() {
        Some(loc) if loc.line() > 0 => (
            usize::try_from(loc.line())
                .unwrap_or(usize::MAX)
                .saturating_add(seg.line_offset),
            usize::try_from(loc.column()).unwrap_or(1).max(1),
        ),
        _ => (first_line_of(seg), 1),
    };
    let (mut line, mut column) = (line, column);
    if let E::SerdeUnknownField { field, .. } = err {
        if let Some((l, c)) = locate_key(seg, line, field) {
            (line, column) = (l, c);
        }
    }
    let (message, help) = explain(&raw);
    YamlError {
        line,
        column,
        message,
        help,
    }
}

/// The 1-based file line of the document's first content line (its start if none).
fn first_line_of(seg: Segment<'_>) -> usize {
    seg.text
        .lines()
        .position(|l| {
            let t = l.trim();
            !(t.is_empty() || t.starts_with('#'))
        })
        .unwrap_or(0)
        + seg.line_offset
        + 1
}

/// The parser's own wording may end in `at line X column Y` (of the document, not the
/// file); the location is reported separately.
fn strip_location(msg: &str) -> String {
    let msg = msg.lines().next().unwrap_or(msg);
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// Turns serde's wording into a message plus a concrete fix.
fn explain(raw: &str) -> (String, Option<String>) {
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let (field, expected) = split_expected(rest);
        let cands: Vec<&str> = expected.iter().map(String::as_str).collect();
        let help = match did_you_mean(&field, &cands) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("remove it; allowed fields here: {}", expected.join(", ")),
        };
        return (format!("unknown field `{field}`"), Some(help));
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        let (value, expected) = split_expected(rest);
        let cands: Vec<&str> = expected.iter().map(String::as_str).collect();
        let help = match did_you_mean(&value, &cands) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("use one of: {}", expected.join(", ")),
        };
        return (format!("unknown value `{value}`"), Some(help));
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        let field = rest.trim_end_matches('`');
        return (
            format!("missing required field `{field}`"),
            Some(format!("add `{field}:` to this mapping")),
        );
    }
    if raw.contains("duplicate") {
        return (
            raw.to_owned(),
            Some("remove or rename one of the repeated keys".to_owned()),
        );
    }
    if raw.starts_with("wrong kind of value") {
        return (
            raw.to_owned(),
            Some("check the indentation and the field's type (mapping, list or scalar) in docs/manifests.md".to_owned()),
        );
    }
    if raw.starts_with("invalid type") || raw.starts_with("invalid value") {
        return (
            raw.to_owned(),
            Some("change the value to the expected type".to_owned()),
        );
    }
    if raw.contains("budget") || raw.contains("alias") || raw.contains("too large") {
        return (
            raw.to_owned(),
            Some("manifests must not expand aliases into huge documents; write the values out or split the file".to_owned()),
        );
    }
    (
        raw.to_owned(),
        Some("fix the YAML syntax at this position".to_owned()),
    )
}

/// `name`, expected one of a, b` → ("name", ["a", "b"]); backticks around the
/// candidates (serde's own wording) are accepted too.
fn split_expected(rest: &str) -> (String, Vec<String>) {
    let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
    let list = tail
        .split_once("expected one of ")
        .or_else(|| tail.split_once("expected "))
        .map_or("", |(_, l)| l);
    let expected = list
        .split(", ")
        .map(|s| s.trim().trim_matches('`').to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    (name.to_owned(), expected)
}

/// serde may report an unknown field at the start of its mapping; find the key's own
/// line (the first line at or after `from_line` of the file that writes `field:`), looking
/// only inside the document.
fn locate_key(seg: Segment<'_>, from_line: usize, field: &str) -> Option<(usize, usize)> {
    let skip = from_line.saturating_sub(1).saturating_sub(seg.line_offset);
    for (i, line) in seg.text.lines().enumerate().skip(skip) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let (dash, t) = match trimmed.strip_prefix("- ") {
            Some(t) => (2 + (t.len() - t.trim_start().len()), t.trim_start()),
            None => (0, trimmed),
        };
        for q in ["", "\"", "'"] {
            if let Some(rest) = t
                .strip_prefix(q)
                .and_then(|r| r.strip_prefix(field))
                .and_then(|r| r.strip_prefix(q))
            {
                if rest.trim_start().starts_with(':') {
                    return Some((seg.line_offset + i + 1, indent + dash + 1));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_key_lines() {
        let seg = |text, line_offset| Segment { text, line_offset };
        let text = "a: 1\nb:\n  - x: 1\n    instrution: 2\n";
        assert_eq!(locate_key(seg(text, 0), 1, "instrution"), Some((4, 5)));
        assert_eq!(locate_key(seg(text, 10), 11, "instrution"), Some((14, 5)));
        assert_eq!(locate_key(seg("- \"k\" : 1\n", 0), 1, "k"), Some((1, 3)));
        assert_eq!(locate_key(seg("a: 1\n", 0), 1, "zz"), None);
    }

    #[test]
    fn splits_at_markers_only_at_column_zero() {
        let src = "# head\na: 1\n---\nb: 2\n  ---x\n--- \n# only comment\n---\nc: 3\n";
        let segs = split_documents(src);
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0].line_offset, 0);
        assert_eq!(segs[1].line_offset, 2);
        assert!(segs[1].text.contains("---x"));
        assert_eq!(segs[2].line_offset, 7);
    }

    #[test]
    fn unknown_field_gets_suggestion() {
        let (m, h) = explain("unknown field `instrution`, expected one of name, instruction");
        assert_eq!(m, "unknown field `instrution`");
        assert_eq!(h.as_deref(), Some("did you mean `instruction`?"));
        let (m, h) = explain("unknown field `instrution`, expected one of `name`, `instruction`");
        assert_eq!(m, "unknown field `instrution`");
        assert_eq!(h.as_deref(), Some("did you mean `instruction`?"));
    }
}
