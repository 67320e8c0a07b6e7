//! The plan for people: `+ ~ - -/+` per resource, datapoint changes as counts with a few
//! samples, text diffs for long fields, and one summary line.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::style::{bytes, plural, thousands, Style};
use crate::manifest::{Asset, Datapoint, Origin, Project, Resource, ResourceKind};
use crate::plan::{Action, DatapointPlan, ExamplePlan, FieldChange, Plan, ResourcePlan, Summary};

/// How many sample datapoints to show per change kind.
pub const SAMPLES: usize = 3;

/// A datapoint as a reader recognises it, with where it was declared.
#[derive(Debug, Clone)]
pub struct Source {
    /// The explicit key, else the asset paths or URLs, else the first words of the text.
    pub label: String,
    pub origin: Origin,
}

/// The datapoints a plan shows as samples, by (resource, key): their label and origin.
/// Only the sampled keys are looked up — a million-datapoint plan does not build a
/// million labels to show three.
pub fn sources(project: &Project, plan: &Plan) -> HashMap<(String, String), Source> {
    let mut wanted: HashMap<&str, HashSet<&str>> = HashMap::new();
    for r in &plan.resources {
        let keys = wanted.entry(r.name.as_str()).or_default();
        if let Some(d) = &r.datapoints {
            let shown = if d.fresh.is_empty() { &d.add } else { &d.fresh };
            keys.extend(shown.iter().take(SAMPLES).map(String::as_str));
        }
        if let Some(e) = &r.examples {
            keys.extend(e.add.iter().take(SAMPLES).map(String::as_str));
        }
    }
    let mut m = HashMap::new();
    for r in &project.resources {
        let Some(keys) = wanted.get(r.name()).filter(|k| !k.is_empty()) else {
            continue;
        };
        let spec = match r {
            Resource::JobDefinition(d) => &d.spec,
            Resource::Order(o) => &o.spec,
            Resource::Audience(_) | Resource::ValidationSet(_) => {
                let examples = match r {
                    Resource::Audience(a) => &a.examples,
                    Resource::ValidationSet(s) => &s.tasks,
                    _ => continue,
                };
                for e in examples.iter().filter(|e| keys.contains(e.key.as_str())) {
                    m.insert(
                        (r.name().to_string(), e.key.clone()),
                        Source {
                            label: assets_label(&e.assets, &e.key, &project.root),
                            origin: e.origin.clone(),
                        },
                    );
                }
                continue;
            }
            _ => continue,
        };
        // The content of the sampled datapoints is read again (a source changed since
        // it was read: those samples show their key).
        let sampled = spec
            .datapoints
            .collect_where(|d| keys.contains(d.key().as_ref()))
            .unwrap_or_default();
        for dp in sampled {
            m.insert(
                (r.name().to_string(), dp.key.clone()),
                Source {
                    label: label(&dp, &project.root),
                    origin: dp.origin.clone(),
                },
            );
        }
    }
    m
}

/// How many words of a text asset name it in a plan.
const WORDS: usize = 6;

/// "images/cat.png", "images/a.png vs images/b.png", "\"The food was great and the…\"".
pub fn label(dp: &Datapoint, root: &std::path::Path) -> String {
    if dp.explicit_key {
        return dp.key.clone();
    }
    assets_label(&dp.assets, &dp.key, root)
}

/// The assets as a reader recognises them; `key` when there are none.
fn assets_label(assets: &[Asset], key: &str, root: &std::path::Path) -> String {
    let one = |a: &Asset| match a {
        Asset::File { path, .. } => path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string(),
        Asset::Url(u) => crate::manifest::redact::mask_url_userinfo(u),
        Asset::Text(t) => first_words(t),
        Asset::Uploaded(name) => format!("uploaded:{name}"),
    };
    let mut out = assets.iter().map(one).collect::<Vec<_>>().join(" vs ");
    if out.is_empty() {
        out = key.to_string();
    }
    out
}

/// The first words of a text, quoted, on one line, with an ellipsis when cut.
pub fn first_words(t: &str) -> String {
    let words: Vec<&str> = t.split_whitespace().collect();
    let mut s: String = words
        .iter()
        .take(WORDS)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let mut cut = words.len() > WORDS;
    if s.chars().count() > 60 {
        s = s.chars().take(60).collect();
        cut = true;
    }
    format!("\"{s}{}\"", if cut { "…" } else { "" })
}

/// `2 to add, 1 to remove, 5 unchanged` for the examples of an audience.
pub fn example_counts(e: &ExamplePlan) -> String {
    let mut parts = vec![format!("{} to add", thousands(e.add.len() as u64))];
    let removed = e.deletions().count();
    if removed > 0 {
        parts.push(format!("{} to remove", thousands(removed as u64)));
    }
    parts.push(format!("{} unchanged", thousands(e.unchanged)));
    if e.adopted > 0 {
        parts.push(format!(
            "{} made outside rapidata and recognised by content",
            thousands(e.adopted)
        ));
    }
    if e.orphaned > 0 {
        parts.push(format!(
            "{} kept (not in the manifest; prune removes them)",
            thousands(e.orphaned)
        ));
    }
    if e.unmanaged > 0 {
        parts.push(format!("{} not managed here", thousands(e.unmanaged)));
    }
    if e.upload_assets > 0 {
        parts.push(format!(
            "{} to upload",
            plural(e.upload_assets, "asset", "assets")
        ));
    }
    parts.join(", ")
}

pub fn summary_line(s: &Summary) -> String {
    let n = |v: usize| thousands(v as u64);
    let mut line = format!(
        "Plan: {} to create, {} to change, {} to replace, {} to delete",
        n(s.create),
        n(s.change),
        n(s.replace),
        n(s.delete)
    );
    if s.adopt > 0 {
        let _ = write!(line, ", {} to adopt into the project", n(s.adopt));
    }
    if s.pause_resume > 0 {
        let _ = write!(line, ", {} to pause or resume", n(s.pause_resume));
    }
    if s.blocked > 0 {
        let _ = write!(line, ", {} blocked", n(s.blocked));
    }
    let _ = write!(
        line,
        "; {} to upload ({}, {}), {} to remove.",
        plural(s.upload, "datapoint", "datapoints"),
        plural(s.upload_assets, "asset", "assets"),
        bytes(s.upload_bytes),
        thousands(s.remove)
    );
    line
}

pub fn verb(a: Action) -> &'static str {
    match a {
        Action::NoChange => "no change",
        Action::Create => "create",
        Action::Update => "update in place",
        Action::UpdateData => "update datapoints",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::Blocked => "cannot be applied",
        Action::Pause => "pause",
        Action::Resume => "resume",
        Action::Adopt => "adopt into the project",
    }
}

/// One line per datapoint change kind, e.g. "+12 to upload (12 assets, 3.2 KiB), -1 ...".
pub fn datapoint_counts(d: &DatapointPlan) -> String {
    if d.carried_over > 0 || d.dropped > 0 || !d.fresh.is_empty() {
        let kept = if d.keep.is_empty() {
            String::new()
        } else {
            format!(
                " ({} of them no longer in the manifests, kept because prune is off)",
                thousands(d.keep.len() as u64)
            )
        };
        return format!(
            "a new dataset of {}: {} new, {} carried over with their files{kept}, {} not carried over; {} to upload ({})",
            plural(d.add.len() as u64 + d.keep.len() as u64, "datapoint", "datapoints"),
            thousands(d.fresh.len() as u64),
            thousands(d.carried_over),
            thousands(d.dropped),
            plural(d.upload_assets, "file", "files"),
            bytes(d.upload_bytes)
        );
    }
    let mut parts = vec![format!(
        "{} to upload ({}, {})",
        thousands(d.add.len() as u64),
        plural(d.upload_assets, "asset", "assets"),
        bytes(d.upload_bytes)
    )];
    let removed = d.remove.len() as u64;
    parts.push(format!("{} to remove", thousands(removed)));
    if !d.changed.is_empty() {
        parts.push(format!("{} changed", thousands(d.changed.len() as u64)));
    }
    if !d.duplicates.is_empty() {
        parts.push(format!(
            "{} duplicates to remove",
            thousands(d.duplicates.len() as u64)
        ));
    }
    parts.push(format!("{} unchanged", thousands(d.unchanged)));
    if d.adopted > 0 {
        parts.push(format!(
            "{} made outside rapidata and recognised by content",
            thousands(d.adopted)
        ));
    }
    if d.orphaned > 0 {
        parts.push(format!(
            "{} no longer in the manifest (kept; prune to remove)",
            thousands(d.orphaned)
        ));
    }
    if d.unmanaged > 0 {
        parts.push(format!("{} unmanaged (left alone)", thousands(d.unmanaged)));
    }
    if !d.failed_earlier.is_empty() {
        parts.push(format!(
            "{} failed earlier (not in the job's dataset; not uploaded)",
            thousands(d.failed_earlier.len() as u64)
        ));
    }
    parts.join(", ")
}

/// The remote datapoints a plan names that the manifests no longer have: those a new
/// dataset does not carry over (`-`), and those it keeps (`=`). By label when the plan
/// read one, else by key.
pub fn remote_samples(d: &DatapointPlan) -> Vec<(char, String)> {
    let name = |x: &crate::plan::RemoteRef| match &x.label {
        Some(l) => format!("{l} [{}]", x.key),
        None => x.key.clone(),
    };
    let mut out: Vec<(char, String)> = d
        .deletions()
        .chain(&d.dropped_items)
        .take(SAMPLES)
        .map(|x| ('-', name(x)))
        .collect();
    let gone = d.deletions().count() + d.dropped_items.len();
    if gone > SAMPLES {
        out.push((
            '-',
            format!("… and {} more not kept", thousands((gone - SAMPLES) as u64)),
        ));
    }
    if d.carried_over > 0 || !d.fresh.is_empty() {
        out.extend(d.keep.iter().take(SAMPLES).map(|x| {
            (
                '=',
                format!("{} (no longer in the manifests; kept)", name(x)),
            )
        }));
        if d.keep.len() > SAMPLES {
            out.push((
                '=',
                format!(
                    "… and {} more kept",
                    thousands((d.keep.len() - SAMPLES) as u64)
                ),
            ));
        }
    }
    out
}

fn header(style: &Style, r: &ResourcePlan) -> String {
    let sym = r.action.symbol();
    let effective =
        if r.action == Action::NoChange && r.datapoints.as_ref().is_some_and(|d| d.has_changes()) {
            "~"
        } else {
            sym
        };
    let painted = match effective {
        "+" => style.green(effective),
        "-" => style.red(effective),
        "~" | "-/+" => style.yellow(effective),
        "!" => style.red(effective),
        s => s.to_string(),
    };
    let mut h = format!("{painted:>3} {} {}", r.kind, style.bold(&r.name));
    if let Some(id) = &r.remote_id {
        let _ = write!(
            h,
            " {}",
            style.dim(&format!(
                "[{id}{}]",
                r.revision
                    .map(|n| format!(", revision {n}"))
                    .unwrap_or_default()
            ))
        );
    }
    let _ = write!(h, " — {}", verb(r.action));
    if r.adopt.is_some() && r.remote_id.is_some() && r.action != Action::Adopt {
        let _ = write!(h, " {}", style.yellow("(adopt)"));
    }
    h
}

/// A field change: short values inline, structured values as YAML lines and long text as
/// a line diff (`report::field_diff`); on a color terminal the words that changed inside a
/// changed line are highlighted.
pub fn field_change(style: &Style, c: &FieldChange, indent: &str) -> String {
    use super::field_diff::{field_diff, FieldDiff};
    match field_diff(c.before.as_deref(), c.after.as_deref()) {
        FieldDiff::Inline { before, after } => format!(
            "{indent}~ {}: {} → {}\n",
            c.field,
            style.red(&before),
            style.green(&after)
        ),
        FieldDiff::Lines(lines) => {
            let mut out = format!("{indent}~ {}:\n", c.field);
            for (i, l) in lines.iter().enumerate() {
                let text = match (l.sign, style.color) {
                    // Word highlighting only where color can show it.
                    ('-', true) => highlight(style, &l.text, lines.get(i + 1), '+', true),
                    ('+', true) => highlight(
                        style,
                        &l.text,
                        i.checked_sub(1).and_then(|p| lines.get(p)),
                        '-',
                        false,
                    ),
                    _ => l.text.clone(),
                };
                let line = format!("{} {text}", l.sign);
                let line = match l.sign {
                    '-' if !style.color => line,
                    '+' if !style.color => line,
                    '-' => style.red(&line),
                    '+' => style.green(&line),
                    _ => line,
                };
                let _ = writeln!(out, "{indent}    {line}");
            }
            out
        }
    }
}

/// The words of `text` that its counterpart line (the `+` after a `-`, or the `-` before a
/// `+`) does not have, in bold.
fn highlight(
    style: &Style,
    text: &str,
    other: Option<&super::field_diff::DiffLine>,
    other_sign: char,
    removed: bool,
) -> String {
    let Some(o) = other.filter(|o| o.sign == other_sign) else {
        return text.to_string();
    };
    let (old, new) = if removed {
        (text, o.text.as_str())
    } else {
        (o.text.as_str(), text)
    };
    let mut out = String::new();
    for change in TextDiff::from_words(old, new).iter_all_changes() {
        match (change.tag(), removed) {
            (ChangeTag::Equal, _) => out.push_str(change.value()),
            (ChangeTag::Delete, true) | (ChangeTag::Insert, false) => {
                out.push_str(&style.bold(change.value()))
            }
            _ => {}
        }
    }
    out
}

pub fn render(plan: &Plan, project: &Project, style: &Style) -> String {
    let sources = sources(project, plan);
    let mut out = String::new();
    let relabels: Vec<&ResourcePlan> = plan
        .resources
        .iter()
        .filter(|r| r.relabel.is_some())
        .collect();
    if !relabels.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.red(
                &style.bold("Labeled again (paid per response; budget and --max-cost apply):")
            )
        );
        for r in relabels {
            if let Some(x) = &r.relabel {
                let _ = writeln!(out, "  ! {} {}: {}", r.kind, r.name, x.describe());
            }
        }
        out.push('\n');
    }
    let mut shown = 0;
    for r in &plan.resources {
        if !r.is_shown() {
            continue;
        }
        shown += 1;
        let _ = writeln!(out, "{}", header(style, r));
        if let Some(o) = &r.origin {
            let _ = writeln!(out, "      {}", style.dim(&o.to_string()));
        }
        if let Some(why) = &r.adopt {
            let _ = writeln!(out, "      {} {why}", style.yellow("adopt:"));
        }
        if let Some(reason) = &r.reason {
            let _ = writeln!(
                out,
                "      {}",
                if r.action == Action::Blocked {
                    style.red(reason)
                } else {
                    reason.clone()
                }
            );
        }
        for c in &r.changes {
            out.push_str(&field_change(style, c, "      "));
        }
        for (i, step) in r.steps.iter().enumerate() {
            let _ = writeln!(out, "      {}. {}", i + 1, step.describe());
        }
        if let Some(req) = &r.requires {
            if !r.steps.is_empty() {
                let _ = writeln!(
                    out,
                    "      {}",
                    style.dim(&format!("(once {} {} is complete)", req.kind, req.name))
                );
            }
        }
        for n in &r.notes {
            let _ = writeln!(out, "      {} {n}", style.yellow("note:"));
        }
        if let Some(c) = &r.cost {
            let line = crate::plan::cost::describe(c);
            let line = if c.over_budget() {
                style.red(&line)
            } else {
                line
            };
            let _ = writeln!(out, "      cost: {line}");
        }
        if let Some(d) = &r.datapoints {
            if d.has_changes()
                || d.orphaned > 0
                || d.carried_over > 0
                || !d.failed_earlier.is_empty()
            {
                let _ = writeln!(out, "      datapoints: {}", datapoint_counts(d));
                let shown_adds = if d.fresh.is_empty() { &d.add } else { &d.fresh };
                for k in shown_adds.iter().take(SAMPLES) {
                    let (label, at) = match sources.get(&(r.name.clone(), k.clone())) {
                        Some(s) => (s.label.clone(), format!(" ({})", s.origin)),
                        None => (k.clone(), String::new()),
                    };
                    let _ = writeln!(
                        out,
                        "        {} {label}{}",
                        style.green("+"),
                        style.dim(&at)
                    );
                }
                if shown_adds.len() > SAMPLES {
                    let _ = writeln!(
                        out,
                        "        … and {} more to upload",
                        thousands((shown_adds.len() - SAMPLES) as u64)
                    );
                }
                for (sign, what) in remote_samples(d) {
                    let sign = if sign == '-' {
                        style.red("-")
                    } else {
                        sign.to_string()
                    };
                    let _ = writeln!(out, "        {sign} {what}");
                }
            }
        }
        if let Some(x) = &r.relabel {
            let _ = writeln!(out, "      {} {}", style.red("relabels:"), x.describe());
        }
        if let Some(e) = &r.examples {
            if e.has_changes() || e.orphaned > 0 {
                let what = if r.kind == ResourceKind::ValidationSet {
                    "tasks"
                } else {
                    "examples"
                };
                let _ = writeln!(out, "      {what}: {}", example_counts(e));
                for k in e.add.iter().take(SAMPLES) {
                    let (label, at) = match sources.get(&(r.name.clone(), k.clone())) {
                        Some(s) => (s.label.clone(), format!(" ({})", s.origin)),
                        None => (k.clone(), String::new()),
                    };
                    let _ = writeln!(
                        out,
                        "        {} {label}{}",
                        style.green("+"),
                        style.dim(&at)
                    );
                }
                if e.add.len() > SAMPLES {
                    let _ = writeln!(
                        out,
                        "        … and {} more to add",
                        thousands((e.add.len() - SAMPLES) as u64)
                    );
                }
                for x in e.deletions().take(SAMPLES) {
                    let _ = writeln!(
                        out,
                        "        {} {} {}",
                        style.red("-"),
                        x.key,
                        style.dim(&format!("[{}]", x.id))
                    );
                }
            }
        }
    }
    if shown == 0 {
        out.push_str("No changes. The remote matches the manifests.\n");
    } else if plan.blocked().next().is_some() && !plan.has_changes() {
        out.push_str("\nNothing can be applied until the blocked changes above are resolved.\n");
    } else if !plan.has_changes() {
        out.push_str(
            "\nNo changes to apply; the notes above (kept drift, warnings) need no step.\n",
        );
    } else {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", style.bold(&summary_line(&plan.summary())));
    if let Some(t) = &plan.cost_total {
        let _ = writeln!(out, "{}", crate::plan::cost::total_line(t));
    }
    out
}
