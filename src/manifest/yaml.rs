//! Reading YAML safely: documents are split so one broken document does not hide the
//! errors of the others, and a budget stops alias bombs before they eat memory.

use serde::de::DeserializeOwned;
use serde_saphyr::options::AliasLimits;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options};

use super::suggest::did_you_mean;

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
    Options {
        budget: Some(Budget {
            max_events: 5_000_000,
            max_nodes: 2_000_000,
            max_documents: 10_000,
            ..Budget::default()
        }),
        duplicate_keys: DuplicateKeyPolicy::Error,
        alias_limits: AliasLimits {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1_000,
        },
        with_snippet: false,
        ..Options::default()
    }
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
/// a fix.
/// The segment is preceded by as many empty lines as it has lines before it, so every
/// location the parser reports is already a line of the file.
pub fn parse<T: DeserializeOwned>(seg: Segment<'_>) -> Result<T, YamlError> {
    let mut padded = String::with_capacity(seg.line_offset + seg.text.len());
    padded.push_str(&"\n".repeat(seg.line_offset));
    padded.push_str(seg.text);
    serde_saphyr::from_str_with_options::<T>(&padded, options())
        .map_err(|e| describe(&e, seg, &padded))
}

fn describe(err: &serde_saphyr::Error, seg: Segment<'_>, padded: &str) -> YamlError {
    use serde_saphyr::Error as E;
    let err = err.without_snippet();
    let raw = match err {
        E::Message { msg, .. } | E::HookError { msg, .. } => msg.clone(),
        E::Eof { .. } => "unexpected end of input".to_owned(),
        E::Unexpected { expected, .. } => format!("wrong kind of value: expected {expected}"),
        E::ContainerEndMismatch { .. } => "list or mapping ends without a start".to_owned(),
        E::UnknownAnchor { .. } => "alias refers to an unknown anchor".to_owned(),
        E::Budget { breach, .. } => format!("YAML too large or too deeply aliased ({breach:?})"),
        E::QuotingRequired { value, .. } => format!("the value `{value}` must be quoted"),
        other => other.to_string(),
    };
    let (line, column) = match err.location() {
        Some(loc) => (
            usize::try_from(loc.line()).unwrap_or(0),
            usize::try_from(loc.column()).unwrap_or(0),
        ),
        None => (seg.line_offset + 1, 1),
    };
    let (mut line, mut column) = (line, column);
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or("");
        if let Some((l, c)) = locate_key(padded, line, field) {
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

/// serde reports an unknown field at the start of its mapping; find the key's own line
/// (the first line at or after the mapping that writes `field:`).
fn locate_key(padded: &str, from_line: usize, field: &str) -> Option<(usize, usize)> {
    for (i, line) in padded.lines().enumerate().skip(from_line.saturating_sub(1)) {
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
                    return Some((i + 1, indent + dash + 1));
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
        let text = "a: 1\nb:\n  - x: 1\n    instrution: 2\n";
        assert_eq!(locate_key(text, 1, "instrution"), Some((4, 5)));
        assert_eq!(locate_key("- \"k\" : 1\n", 1, "k"), Some((1, 3)));
        assert_eq!(locate_key("a: 1\n", 1, "zz"), None);
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
