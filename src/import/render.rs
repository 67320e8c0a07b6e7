//! `rapidata import` for people: the listing as a table, and what a write did, resource
//! by resource, with everything the manifest format could not express.

use std::fmt::Write;

use super::document::kind_label;
use super::{ImportListing, ImportReport};
use crate::report::style::Style;

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The listing: one row per resource.
pub fn listing(l: &ImportListing, style: &Style) -> String {
    if l.resources.is_empty() {
        return "Nothing found: no job definition, audience or job the credentials can see matches the filters.\n".into();
    }
    let rows: Vec<[String; 4]> = l
        .resources
        .iter()
        .map(|c| {
            let mut detail = c.detail.clone();
            if let (Some(r), Some(a)) = (c.revision, &c.audience_id) {
                let _ = write!(detail, ", revision {r}, audience {a}");
            }
            if let Some(p) = &c.project {
                let _ = write!(detail, ", project {p}");
            }
            [c.kind.to_string(), one_line(&c.name), c.id.clone(), detail]
        })
        .collect();
    let head = ["KIND", "NAME", "ID", "DETAILS"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let w = [width(0), width(1), width(2)];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            head[0],
            head[1],
            head[2],
            head[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        ))
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        );
    }
    let _ = writeln!(
        out,
        "\n{} found. `rapidata import --out DIR` (with the same filters) writes them as manifests.",
        l.resources.len()
    );
    out
}

/// What a write did. `project`: the project the plan of these manifests runs with (its
/// marker), which adopts what was made outside it.
pub fn report(r: &ImportReport, style: &Style, project: Option<&str>) -> String {
    let mut out = String::new();
    for w in &r.written {
        let rows = match (&w.rows_file, w.rows) {
            (Some(f), Some(n)) => format!(
                " + {f} ({n} {})",
                match w.kind {
                    crate::manifest::ResourceKind::Audience => "examples",
                    _ => "datapoints",
                }
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{} {} {} → {}{rows}",
            style.green("+"),
            w.kind,
            style.bold(&one_line(&w.name)),
            w.file
        );
        for n in &w.not_expressible {
            let _ = writeln!(
                out,
                "    {} {}",
                style.yellow("not expressible:"),
                one_line(n)
            );
        }
        for n in &w.warnings {
            let _ = writeln!(out, "    {} {}", style.red("warning:"), one_line(n));
        }
    }
    for s in &r.skipped {
        let _ = writeln!(
            out,
            "{} {} {} ({}) not written: {}",
            style.yellow("!"),
            kind_label(s.kind),
            style.bold(&one_line(&s.name)),
            s.id,
            one_line(&s.reason)
        );
    }
    let expect = match project {
        // `plan::project_marker`: one step each, then nothing.
        Some(p) => format!(
            "should now show no change for them but adopting those made outside project `{p}` \
             into it (one step each: its marker, nothing uploaded or labeled again); once \
             `rapidata apply` took it, no change"
        ),
        None => "should now show no change for them".to_string(),
    };
    let _ = writeln!(
        out,
        "\n{} manifest(s) written to {}, {} skipped. `rapidata plan {} --detailed-exitcode` {expect}.",
        r.written.len(),
        r.out,
        r.skipped.len(),
        r.out
    );
    out
}
