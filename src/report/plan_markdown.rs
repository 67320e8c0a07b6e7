//! The plan as Markdown for a pull-request comment or a CI step summary: the environment
//! and endpoint first, then blocked and destructive changes unfolded, then one collapsible
//! section per other changed resource, and how to apply. Always under [`LIMIT`] characters
//! however large the plan (GitHub rejects comments over 65,536), pointing to the JSON plan
//! for the rest.

use std::fmt::Write;

use std::collections::HashMap;

use super::field_diff::{field_diff, FieldDiff};
use super::plan_text::{
    datapoint_counts, example_counts, remote_samples, sources, summary_line, verb, Source, SAMPLES,
};
use super::style::{plural, thousands};
use crate::manifest::Project;
use crate::plan::{Action, Plan, ResourcePlan};

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

/// What the Markdown says about where the plan goes and how to apply it.
#[derive(Debug, Clone)]
pub struct Heading {
    /// The environment name (`local`, `rapidata.ai`, ...).
    pub environment: String,
    /// The API base URL, or "the embedded emulator".
    pub endpoint: String,
    /// The command that applies this plan (`rapidata apply --prune`).
    pub apply_command: String,
    /// Shown first, as a warning (a CI run against the local emulator).
    pub warning: Option<String>,
}

/// The warning for a run in CI (`CI=true`) against the embedded emulator: it is green, and
/// nothing of it reaches Rapidata.
pub fn local_in_ci_warning(local: bool, ci: Option<&str>) -> Option<String> {
    (local && ci.is_some_and(|v| v == "true" || v == "1")).then(|| {
        "This ran against the embedded local emulator (`environment = \"local\"`): nothing reaches Rapidata. \
         To plan and apply for real, set `environment = \"rapidata.ai\"` in rapidata.toml and the \
         RAPIDATA_CLIENT_ID and RAPIDATA_CLIENT_SECRET secrets."
            .to_string()
    })
}

/// Whether a resource's change removes something: it is shown unfolded at the top.
fn destructive(r: &ResourcePlan) -> bool {
    matches!(r.action, Action::Delete | Action::Replace)
        || r.relabel.is_some()
        || r.datapoints.as_ref().is_some_and(|d| d.dropped > 0)
        || r.datapoints
            .as_ref()
            .is_some_and(|d| !d.remove.is_empty() || !d.duplicates.is_empty())
}

fn section(r: &ResourcePlan, sources: &HashMap<(String, String), Source>, folded: bool) -> String {
    let mut s = String::new();
    let title = format!(
        "<code>{}</code> {} <b>{}</b> — {}{}",
        r.action.symbol().trim(),
        r.kind,
        escape(&r.name),
        verb(r.action),
        if r.adopt.is_some() && r.action != Action::Adopt {
            " (adopt)"
        } else {
            ""
        }
    );
    if folded {
        let _ = writeln!(s, "<details><summary>{title}</summary>\n");
    } else {
        let _ = writeln!(s, "{title}\n");
    }
    if let Some(o) = &r.origin {
        let _ = writeln!(s, "Declared at `{o}`.\n");
    }
    if let Some(why) = &r.adopt {
        let _ = writeln!(s, "> **adopt:** {}\n", escape(why));
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
    if let Some(x) = &r.relabel {
        let _ = writeln!(s, "> **⚠️ relabels:** {}\n", escape(&x.describe()));
    }
    // Short changes in a table; structured and long ones as the same `-`/`+` lines the
    // terminal shows (`report::field_diff`), in a diff block.
    let diffs: Vec<(&str, FieldDiff)> = r
        .changes
        .iter()
        .map(|c| {
            (
                c.field.as_str(),
                field_diff(c.before.as_deref(), c.after.as_deref()),
            )
        })
        .collect();
    let inline: Vec<&(&str, FieldDiff)> = diffs
        .iter()
        .filter(|(_, d)| matches!(d, FieldDiff::Inline { .. }))
        .collect();
    if !inline.is_empty() {
        let _ = writeln!(s, "| field | before | after |\n|---|---|---|");
        for (field, d) in inline {
            if let FieldDiff::Inline { before, after } = d {
                let _ = writeln!(
                    s,
                    "| {field} | {} | {} |",
                    escape(&clip(before, 500)),
                    escape(&clip(after, 500))
                );
            }
        }
        s.push('\n');
    }
    for (field, d) in &diffs {
        if let FieldDiff::Lines(lines) = d {
            let _ = writeln!(s, "`{field}`:\n\n```diff");
            let mut shown = 0usize;
            for l in lines {
                // A code block is not markdown: only a fence inside it needs care.
                let text = clip(&l.text, 300).replace("```", "ˋˋˋ");
                if shown < 200 {
                    let _ = writeln!(s, "{} {text}", l.sign);
                }
                shown += 1;
            }
            if shown > 200 {
                let _ = writeln!(s, "  … {} more lines", shown - 200);
            }
            let _ = writeln!(s, "```\n");
        }
    }
    if let Some(d) = &r.datapoints {
        let _ = writeln!(s, "Datapoints: {}.\n", datapoint_counts(d));
        // The same samples as the human plan: what is new first.
        let shown_adds = if d.fresh.is_empty() { &d.add } else { &d.fresh };
        for k in shown_adds.iter().take(SAMPLES) {
            let (label, at) = match sources.get(&(r.name.clone(), k.clone())) {
                Some(src) => (src.label.clone(), format!(" ({})", src.origin)),
                None => (k.clone(), String::new()),
            };
            let _ = writeln!(s, "- `+ {}`{}", escape(&clip(&label, 80)), escape(&at));
        }
        if shown_adds.len() > SAMPLES {
            let _ = writeln!(
                s,
                "- … and {} more to upload",
                thousands((shown_adds.len() - SAMPLES) as u64)
            );
        }
        for (sign, what) in remote_samples(d) {
            let _ = writeln!(s, "- `{sign} {}`", escape(&clip(&what, 80)));
        }
    }
    if let Some(e) = r.examples.as_ref().filter(|e| e.has_changes()) {
        let _ = writeln!(s, "Examples: {}.\n", example_counts(e));
        for k in e.add.iter().take(SAMPLES) {
            let (label, at) = match sources.get(&(r.name.clone(), k.clone())) {
                Some(src) => (src.label.clone(), format!(" ({})", src.origin)),
                None => (k.clone(), String::new()),
            };
            let _ = writeln!(s, "- `+ {}`{}", escape(&clip(&label, 80)), escape(&at));
        }
        for x in e.deletions().take(SAMPLES) {
            let _ = writeln!(s, "- `- {}` [{}]", escape(&clip(&x.key, 80)), escape(&x.id));
        }
    }
    if folded {
        let _ = writeln!(s, "\n</details>\n");
    } else {
        s.push('\n');
    }
    s
}

pub fn render(plan: &Plan, project: &Project, heading: &Heading) -> String {
    let sources = sources(project, plan);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### rapidata plan for `{}`\n",
        escape(&heading.environment)
    );
    let _ = writeln!(
        out,
        "Environment **{}** at {}.\n",
        escape(&heading.environment),
        if heading.endpoint.contains("://") {
            format!("`{}`", heading.endpoint)
        } else {
            escape(&heading.endpoint)
        }
    );
    if let Some(w) = &heading.warning {
        let _ = writeln!(out, "> [!WARNING]\n> {}\n", escape(w));
    }
    let _ = writeln!(out, "**{}**\n", summary_line(&plan.summary()));
    for n in &plan.notes {
        let _ = writeln!(out, "> **note:** {}\n", escape(n));
    }
    if let Some(t) = &plan.cost_total {
        let _ = writeln!(out, "{}\n", crate::plan::cost::total_line(t));
    }
    let changed: Vec<_> = plan.resources.iter().filter(|r| r.is_shown()).collect();
    if changed.is_empty() {
        let _ = writeln!(out, "No changes. The remote matches the manifests.");
        return out;
    }
    if plan.blocked().next().is_some() && !plan.has_changes() {
        let _ = writeln!(
            out,
            "Nothing can be applied until the blocked changes below are resolved.\n"
        );
    } else if !plan.has_changes() {
        let _ = writeln!(
            out,
            "No changes to apply; the notes below (kept drift, warnings) need no step.\n"
        );
    }
    // Blocked first, then what deletes or replaces: never folded away.
    let (attention, rest): (Vec<&&ResourcePlan>, Vec<&&ResourcePlan>) = changed
        .iter()
        .partition(|r| r.action == Action::Blocked || destructive(r));
    let mut attention = attention;
    attention.sort_by_key(|r| r.action != Action::Blocked);
    let mut omitted = 0usize;
    let mut body = String::new();
    if !attention.is_empty() {
        let blocked = attention
            .iter()
            .filter(|r| r.action == Action::Blocked)
            .count();
        let destroying = attention.len() - blocked;
        let mut parts = Vec::new();
        if blocked > 0 {
            parts.push(plural(blocked as u64, "blocked change", "blocked changes"));
        }
        if destroying > 0 {
            parts.push(plural(
                destroying as u64,
                "destructive change",
                "destructive changes",
            ));
        }
        let _ = writeln!(body, "#### ⚠️ Needs attention: {}\n", parts.join(", "));
    }
    let sections =
        attention
            .iter()
            .map(|r| section(r, &sources, false))
            .chain(rest.iter().enumerate().map(|(i, r)| {
                let mut s = String::new();
                if i == 0 {
                    s.push_str("#### Changes\n\n");
                }
                s.push_str(&section(r, &sources, true));
                s
            }));
    for (i, s) in sections.enumerate() {
        if out.len() + body.len() + s.len() > LIMIT - RESERVE {
            omitted = changed.len() - i;
            break;
        }
        body.push_str(&s);
    }
    out.push_str(&body);
    if omitted > 0 {
        let _ = writeln!(
            out,
            "… {} not shown to keep this under {} characters. \
             The complete plan: `rapidata plan --format json`.\n",
            plural(
                omitted as u64,
                "more changed resource is",
                "more changed resources are"
            ),
            thousands(LIMIT as u64)
        );
    }
    if plan.blocked().next().is_some() {
        let _ = writeln!(
            out,
            "#### How to apply\n\nFix the blocked changes first: `{}` applies the rest and exits 1 while any remain.",
            heading.apply_command
        );
    } else if plan.has_changes() {
        let _ = writeln!(
            out,
            "#### How to apply\n\nMerge this pull request: the workflow on the default branch runs \
             `{} --auto-approve`. By hand: `{}` shows this plan again and asks before it changes anything \
             (or `rapidata plan --out plan.json`, then `rapidata apply plan.json` applies exactly that plan).",
            heading.apply_command, heading.apply_command
        );
    }
    out
}
