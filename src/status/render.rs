//! The status report for people (terminal) and for a pull-request comment (Markdown).

use std::fmt::Write;

use super::{ResourceStatus, StatusReport};
use crate::manifest::ResourceKind;
use crate::remote::progress::RecruitingMetrics;

fn funnel(m: &RecruitingMetrics) -> String {
    let mut s = format!(
        "{} graduated, {} qualifying, {} dropped, {} inactive",
        m.graduated, m.distilling, m.dropped, m.inactive
    );
    if let Some(c) = m.capacity.as_ref().filter(|c| c.as_str() != "None") {
        let _ = write!(s, " (capacity {c})");
    }
    s
}

fn percent(r: &ResourceStatus) -> Option<String> {
    r.completion_percentage.map(|p| format!("{p:.1}%"))
}

/// One line per resource, details indented below it.
pub fn human(report: &StatusReport) -> String {
    let mut out = String::new();
    for r in &report.resources {
        if !r.exists {
            let _ = writeln!(out, "{} {}: not created yet (run apply)", r.kind, r.name);
            continue;
        }
        let mut line = format!(
            "{} {}: id {}",
            r.kind,
            r.name,
            r.id.as_deref().unwrap_or("?")
        );
        if let Some(n) = r.revision {
            let _ = write!(line, ", revision {n}");
        }
        if let Some(s) = &r.state {
            let _ = write!(line, ", {s}");
        }
        if let Some(p) = percent(r) {
            let _ = write!(line, ", {p} done");
        }
        if let Some(p) = &r.progress {
            let _ = write!(
                line,
                " ({} of {} datapoints complete, {} responses)",
                p.completed, p.total, p.response_count
            );
        } else if r.kind == ResourceKind::Order && r.completion_percentage.is_none() {
            line.push_str(" (the API reports no progress for orders)");
        }
        if let Some(c) = &r.dataset {
            let _ = write!(
                line,
                ", datapoints {} total / {} ready / {} pending / {} failed",
                c.total, c.ready, c.pending, c.failed
            );
            if let Some(d) = r.desired_datapoints {
                let _ = write!(line, " ({d} in the manifests)");
            }
        }
        let _ = writeln!(out, "{line}");
        if let Some(a) = &r.audience {
            let _ = write!(out, "    audience {} ({}): {}", a.name, a.id, a.status);
            match &r.recruiting {
                Some(m) => {
                    let _ = writeln!(out, "; recruiting: {}", funnel(m));
                }
                None => out.push('\n'),
            }
        }
        if let Some(why) = &r.stuck {
            let _ = writeln!(out, "    cannot finish: {why}");
        }
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// "2 of 3 jobs and orders done, 1 cannot finish."
pub fn summary(report: &StatusReport) -> String {
    let runs: Vec<_> = report
        .resources
        .iter()
        .filter(|r| matches!(r.kind, ResourceKind::Job | ResourceKind::Order))
        .collect();
    let done = runs.iter().filter(|r| r.done).count();
    let stuck = runs.iter().filter(|r| !r.done && r.stuck.is_some()).count();
    let absent = runs.iter().filter(|r| !r.exists).count();
    let mut s = format!("{done} of {} jobs and orders done", runs.len());
    if stuck > 0 {
        let _ = write!(s, ", {stuck} cannot finish without you");
    }
    if absent > 0 {
        let _ = write!(s, ", {absent} not created yet");
    }
    s.push('.');
    s
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A table of every resource, then what needs attention.
pub fn markdown(report: &StatusReport) -> String {
    let mut out = String::from("### rapidata status\n\n");
    let _ = writeln!(out, "**{}**\n", summary(report));
    out.push_str("| kind | name | id | state | done | recruiting |\n|---|---|---|---|---|---|\n");
    for r in &report.resources {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.kind,
            escape(&r.name),
            r.id.as_deref()
                .map(|i| format!("`{i}`"))
                .unwrap_or_else(|| "not created".into()),
            r.state.as_deref().unwrap_or(""),
            percent(r).unwrap_or_default(),
            r.recruiting.as_ref().map(funnel).unwrap_or_default()
        );
    }
    let stuck: Vec<_> = report
        .resources
        .iter()
        .filter_map(|r| r.stuck.as_ref().map(|w| (r, w)))
        .collect();
    if !stuck.is_empty() {
        out.push_str("\n**Cannot finish without you:**\n\n");
        for (r, why) in stuck {
            let _ = writeln!(out, "- {} **{}**: {}", r.kind, escape(&r.name), escape(why));
        }
    }
    out
}
