//! A field change as a reviewer reads it, in every rendering: short values inline
//! (`before → after`); structured values (filters, a workflow: JSON in the plan) as YAML
//! lines with `-`/`+`, as Terraform and `kubectl diff` show nested values; long or
//! multi-line text as a line diff. The lines are the same for the terminal and the
//! markdown; only the terminal adds color (and word highlighting inside changed lines).

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

/// One line of a diff: `' '` kept, `'-'` removed, `'+'` added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub sign: char,
    pub text: String,
}

/// How a change reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldDiff {
    /// Short and on one line: `before → after`.
    Inline { before: String, after: String },
    /// Structured or long: the lines, `-`/`+` where they differ.
    Lines(Vec<DiffLine>),
}

/// Values shorter than this (both together), on one line, read inline.
const INLINE: usize = 100;

pub fn field_diff(before: Option<&str>, after: Option<&str>) -> FieldDiff {
    let b = before.unwrap_or("(none)");
    let a = after.unwrap_or("(none)");
    let structured = |s: &str| {
        serde_json::from_str::<Value>(s)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
    };
    if let (Some(bv), Some(av)) = (structured(b), structured(a)) {
        return FieldDiff::Lines(lines_diff(&yaml(&bv), &yaml(&av)));
    }
    if b.len() + a.len() < INLINE && !b.contains('\n') && !a.contains('\n') {
        return FieldDiff::Inline {
            before: b.to_string(),
            after: a.to_string(),
        };
    }
    FieldDiff::Lines(lines_diff(&wrap(b), &wrap(a)))
}

fn lines_diff(before: &str, after: &str) -> Vec<DiffLine> {
    TextDiff::from_lines(before, after)
        .iter_all_changes()
        .map(|c| DiffLine {
            sign: match c.tag() {
                ChangeTag::Equal => ' ',
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            },
            text: c.value().trim_end_matches('\n').to_string(),
        })
        .collect()
}

/// Long one-line text as lines of about 80 characters, at word boundaries, so a change
/// shows as the lines it touches rather than one long line.
fn wrap(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut width = 0;
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 && width + word.len() + 1 > 80 {
                out.push('\n');
                width = 0;
            } else if i > 0 {
                out.push(' ');
                width += 1;
            }
            out.push_str(word);
            width += word.len();
        }
        out.push('\n');
    }
    out
}

/// A JSON value as block YAML lines (keys as written, scalars as JSON would quote them).
pub fn yaml(v: &Value) -> String {
    let mut out = String::new();
    emit(v, 0, &mut out);
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) if is_plain(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A string YAML reads back as the same string without quotes.
fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' '))
        && !s.starts_with([' ', '-'])
        && !s.ends_with(' ')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        && s.parse::<f64>().is_err()
}

fn emit(v: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                match x {
                    Value::Object(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        emit(x, indent + 1, out);
                    }
                    Value::Array(items) if !items.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        emit(x, indent + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(x))),
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for x in items {
                match x {
                    Value::Object(m) if !m.is_empty() => {
                        // `- key: value` then the rest of the object under it.
                        let mut first = String::new();
                        emit(x, indent + 1, &mut first);
                        let body = first.trim_start_matches(' ').to_string();
                        out.push_str(&format!("{pad}- {body}"));
                    }
                    Value::Array(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}-\n"));
                        emit(x, indent + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(x))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(d: &FieldDiff) -> Vec<String> {
        match d {
            FieldDiff::Lines(l) => l.iter().map(|x| format!("{}{}", x.sign, x.text)).collect(),
            FieldDiff::Inline { before, after } => vec![format!("{before} → {after}")],
        }
    }

    #[test]
    fn a_filter_change_is_the_yaml_lines_that_differ() {
        let before = r#"[{"_t":"LanguageFilter","languages":["de"]},{"_t":"CountryFilter","countries":["DE","AT"]}]"#;
        let after = r#"[{"_t":"LanguageFilter","languages":["de"]},{"_t":"CountryFilter","countries":["DE","CH"]}]"#;
        let lines = shown(&field_diff(Some(before), Some(after)));
        assert_eq!(
            lines,
            vec![
                " - _t: LanguageFilter",
                "   languages:",
                "     - de",
                " - _t: CountryFilter",
                "   countries:",
                "     - DE",
                "-    - AT",
                "+    - CH",
            ]
        );
    }

    #[test]
    fn short_values_stay_inline_and_long_text_is_a_line_diff() {
        assert_eq!(
            field_diff(Some("5"), Some("3")),
            FieldDiff::Inline {
                before: "5".into(),
                after: "3".into()
            }
        );
        let before = "Which animal is shown in the picture? Answer with the animal you see first, and if there are several animals pick the largest one.";
        let after = "Which animal is shown in the picture? Answer with the animal you see first, and if there are several animals pick the smallest one.";
        let lines = shown(&field_diff(Some(before), Some(after)));
        assert!(lines
            .iter()
            .any(|l| l.starts_with('-') && l.contains("largest")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with('+') && l.contains("smallest")));
        assert!(lines.iter().any(|l| l.starts_with(' ')), "{lines:?}");
    }

    #[test]
    fn strings_that_yaml_would_misread_are_quoted() {
        let y = yaml(&serde_json::json!({"a": "true", "b": "1.5", "c": "plain text", "d": ""}));
        assert_eq!(y, "a: \"true\"\nb: \"1.5\"\nc: plain text\nd: \"\"\n");
    }
}
