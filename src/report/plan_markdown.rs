//! The plan as Markdown for a pull-request comment or a CI step summary: one collapsible
//! section per changed resource, always under [`LIMIT`] characters however large the plan
//! (GitHub rejects comments over 65,536), pointing to the JSON plan for the rest.

use std::fmt::Write;

use super::plan_text::{datapoint_counts, example_counts, origins, summary_line, verb, SAMPLES};
use super::style::thousands;
use crate::manifest::Project;
use crate::plan::Plan;

pub const LIMIT: usize = 60_000;
/// Room kept for the closing note when sections are cut.
const RESERVE: usize = 1_000;

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Truncate to at most `max` characters on a char boundary.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

pub fn render(plan: &Plan, project: &Project) -> String {
    let origins = origins(project);
    let mut out = String::new();
    let _ = writeln!(out, "### rapidata plan\n");
    let _ = writeln!(out, "**{}**\n", summary_line(&plan.summary()));
    if let Some(t) = &plan.cost_total {
        let _ = writeln!(out, "{}\n", crate::plan::cost::total_line(t));
    }
    let changed: Vec<_> = plan.resources.iter().filter(|r| r.is_shown()).collect();
    if changed.is_empty() {
        let _ = writeln!(out, "No changes. The remote matches the manifests.");
        return out;
    }
    if !plan.has_changes() {
        let _ = writeln!(out, "No changes to apply; the drift below is kept.\n");
    }
    let mut omitted = 0usize;
    for (i, r) in changed.iter().enumerate() {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<details><summary><code>{}</code> {} <b>{}</b> — {}</summary>\n",
            r.action.symbol().trim(),
            r.kind,
            escape(&r.name),
            verb(r.action)
        );
        if let Some(o) = &r.origin {
            let _ = writeln!(s, "Declared at `{o}`.\n");
        }
        if let Some(reason) = &r.reason {
            let _ = writeln!(s, "> {}\n", escape(reason));
        }
        for (i, step) in r.steps.iter().enumerate() {
            let _ = writeln!(s, "{}. {}", i + 1, escape(&step.describe()));
        }
        if !r.steps.is_empty() {
            s.push('\n');
        }
        for n in &r.notes {
            let _ = writeln!(s, "> **note:** {}\n", escape(n));
        }
        if let Some(c) = &r.cost {
            let _ = writeln!(s, "Cost: {}.\n", escape(&crate::plan::cost::describe(c)));
        }
        if !r.changes.is_empty() {
            let _ = writeln!(s, "| field | before | after |\n|---|---|---|");
            for c in &r.changes {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} |",
                    c.field,
                    escape(&clip(c.before.as_deref().unwrap_or(""), 500)).replace('\n', "<br>"),
                    escape(&clip(c.after.as_deref().unwrap_or(""), 500)).replace('\n', "<br>")
                );
            }
            s.push('\n');
        }
        if let Some(d) = &r.datapoints {
            let _ = writeln!(s, "Datapoints: {}.\n", datapoint_counts(d));
            for k in d.add.iter().take(SAMPLES) {
                let at = origins
                    .get(&(r.name.clone(), k.clone()))
                    .map(|o| format!(" ({o})"))
                    .unwrap_or_default();
                let _ = writeln!(s, "- `+ {}`{}", escape(&clip(k, 80)), escape(&at));
            }
            if d.add.len() > SAMPLES {
                let _ = writeln!(
                    s,
                    "- … and {} more to upload",
                    thousands((d.add.len() - SAMPLES) as u64)
                );
            }
            for x in d.deletions().take(SAMPLES) {
                let _ = writeln!(s, "- `- {}` [{}]", escape(&clip(&x.key, 80)), escape(&x.id));
            }
        }
        if let Some(e) = r.examples.as_ref().filter(|e| e.has_changes()) {
            let _ = writeln!(s, "Examples: {}.\n", example_counts(e));
            for k in e.add.iter().take(SAMPLES) {
                let at = origins
                    .get(&(r.name.clone(), k.clone()))
                    .map(|o| format!(" ({o})"))
                    .unwrap_or_default();
                let _ = writeln!(s, "- `+ {}`{}", escape(&clip(k, 80)), escape(&at));
            }
            for x in e.deletions().take(SAMPLES) {
                let _ = writeln!(s, "- `- {}` [{}]", escape(&clip(&x.key, 80)), escape(&x.id));
            }
        }
        let _ = writeln!(s, "\n</details>\n");
        if out.len() + s.len() > LIMIT - RESERVE {
            omitted = changed.len() - i;
            break;
        }
        out.push_str(&s);
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "… {omitted} more changed resources are not shown to keep this under {} characters. \
             The complete plan: `rapidata plan --format json`.",
            thousands(LIMIT as u64)
        );
    }
    out
}
