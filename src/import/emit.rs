//! Text of the generated files: YAML scalars, flow values and comment blocks, and JSON
//! Lines rows. Everything written comes from the remote (names, instructions, texts), so
//! every string goes through [`scalar`] (quoted whenever a plain scalar could be read as
//! something else) and every comment through [`comment`] (one line per line, control
//! characters removed), so nothing a remote value contains can add a YAML key or end a
//! comment early.

use std::fmt::Write;

use serde_json::Value;

/// Words YAML 1.1 or 1.2 reads as something other than a string when unquoted.
const RESERVED: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
];

/// A string as a YAML scalar: plain when that reads back as the same string in block and
/// flow context, double-quoted otherwise.
pub fn scalar(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        // After the first character: no flow indicators (`,[]{}`), no `:` (a key) and
        // no `#` (a comment); `?`, `!` and `'` mean something only at the start.
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | ' ' | '.' | '/' | '+' | '-' | '?' | '!' | '\'' | '(' | ')')
        })
        && !s.ends_with(' ')
        && !s.contains("  ")
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s));
    if plain {
        s.to_string()
    } else {
        quoted(s)
    }
}

/// A double-quoted YAML scalar; everything that is not printable is escaped.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number as YAML: the shortest text that reads back as the same `f64`.
pub fn number(x: f64) -> String {
    format!("{x}")
}

/// A JSON value as a one-line YAML flow value (`{_t: LanguageFilter, languages: [de]}`).
pub fn flow(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A list of strings as a YAML flow sequence.
pub fn flow_strings(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| scalar(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Text as YAML comment lines (`# ...`), wrapped at about 90 columns; `indent` goes
/// before continuation lines of a list item.
pub fn comment(text: &str, first: &str, indent: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = String::new();
    let mut line = format!("# {first}");
    let mut empty = true;
    for word in clean.split(' ').filter(|w| !w.is_empty()) {
        if !empty && line.chars().count() + 1 + word.chars().count() > 90 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = format!("# {indent}");
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// One JSON Lines row.
pub fn row(v: &Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What serde-saphyr (the manifest parser) reads `yaml` as.
    fn read(yaml: &str) -> Value {
        serde_saphyr::from_str::<Value>(yaml).unwrap()
    }

    #[test]
    fn every_string_reads_back_as_itself() {
        let tricky = [
            "plain words",
            "yes",
            "No",
            "null",
            "~",
            "1.5",
            "0x1F",
            "- item",
            "a: b",
            "a #b",
            "trailing ",
            " leading",
            "[x]",
            "{x}",
            "a, b",
            "quote \" and \\ backslash",
            "line\nbreak",
            "tab\tand\rcr",
            "nel\u{85}ls\u{2028}bom\u{feff}",
            "emoji 🐈 and ümlaut",
            "",
            "@at",
            "`tick",
            "!tag",
            "&anchor",
            "*alias",
            "%percent",
            "| pipe",
            "> fold",
            "'single'",
            "Which animal is it?",
            "it's (really) done!",
            "?question",
            "a - b",
        ];
        for s in tricky {
            let yaml = format!("k: {}\nl: [{}]\n", scalar(s), scalar(s));
            let v = read(&yaml);
            assert_eq!(v["k"], json!(s), "{yaml}");
            assert_eq!(v["l"][0], json!(s), "{yaml}");
        }
    }

    #[test]
    fn flow_values_and_comments_stay_what_they_are() {
        let f = json!({"_t": "NotFilter", "filter": {"_t": "CountryFilter", "countries": ["US", "NO"]}, "n": 1.5});
        let v = read(&format!("f: {}\n", flow(&f)));
        assert_eq!(v["f"], f);
        // A remote text with a line break cannot end the comment and add a key.
        let c = comment("name\nkind: Job", "from ", "  ");
        assert_eq!(read(&format!("{c}a: 1\n")), json!({"a": 1}));
        assert!(c.lines().all(|l| l.starts_with('#')), "{c}");
        for x in [0.1, 0.75, 1.0, 1e-7, 12345.678] {
            assert_eq!(read(&format!("x: {}\n", number(x)))["x"].as_f64(), Some(x));
        }
    }
}
