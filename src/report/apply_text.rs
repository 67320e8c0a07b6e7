//! The end of an apply, for people: per-resource outcome and failures grouped by reason.

use std::fmt::Write;

use super::failures::{by_reason, ApplyReport, FailureRecord};
use super::style::{thousands, Style};

/// How many failed items to list under each reason.
const ITEMS_PER_REASON: usize = 5;

pub fn render(report: &ApplyReport, style: &Style) -> String {
    let mut out = String::new();
    for r in &report.resources {
        if r.desired > 0 {
            let _ = writeln!(
                out,
                "{} {}: {}/{} datapoints present{}",
                r.kind,
                r.name,
                thousands(r.present),
                thousands(r.desired),
                if r.missing > 0 {
                    format!(
                        ", {} missing ({:.1}%, tolerance {:.1}%){}",
                        thousands(r.missing),
                        r.failure_rate * 100.0,
                        r.failure_tolerance * 100.0,
                        if r.failed > 0 && r.failed != r.missing {
                            format!(", {} of them failed", thousands(r.failed))
                        } else {
                            String::new()
                        }
                    )
                } else {
                    String::new()
                }
            );
        }
        for n in &r.notes {
            let _ = writeln!(out, "  {} {}: {}", style.yellow("!"), r.name, n);
        }
    }
    if let Some(e) = &report.error {
        let _ = writeln!(out, "\n{} {e}", style.red("error:"));
    }
    // Resource-level failures are shown above, as notes of their resource; the JSON
    // report lists them with the datapoint failures.
    let datapoint_failures: Vec<FailureRecord> = report
        .failures
        .iter()
        .filter(|f| f.item.key.is_some())
        .cloned()
        .collect();
    if !datapoint_failures.is_empty() {
        let _ = writeln!(
            out,
            "\n{} datapoints failed, by reason:",
            thousands(datapoint_failures.len() as u64)
        );
        for (reason, items) in by_reason(&datapoint_failures) {
            let _ = writeln!(
                out,
                "  {} × {}",
                thousands(items.len() as u64),
                style.red(&reason)
            );
            for f in items.iter().take(ITEMS_PER_REASON) {
                let place = match (&f.item.file, f.item.line) {
                    (Some(file), Some(line)) => format!("{}:{line} ", file.display()),
                    _ => String::new(),
                };
                // The datapoint's asset says more than an `fp-` key.
                let what = match (&f.asset, f.item.assets.first(), &f.item.key) {
                    (Some(asset), _, _) | (None, Some(asset), _) => asset.clone(),
                    (None, None, key) => key.clone().unwrap_or_default(),
                };
                let _ = writeln!(
                    out,
                    "      {place}{what} [{}{}]",
                    f.error_type,
                    f.trace_id
                        .as_deref()
                        .map(|t| format!(", trace {t}"))
                        .unwrap_or_default()
                );
            }
            if items.len() > ITEMS_PER_REASON {
                let _ = writeln!(
                    out,
                    "      … and {} more",
                    thousands((items.len() - ITEMS_PER_REASON) as u64)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} after {} round{} ({} requests).",
        if report.converged {
            style.green("Converged")
        } else if report.interrupted {
            style.yellow("Interrupted")
        } else {
            style.yellow("Not converged")
        },
        report.rounds,
        if report.rounds == 1 { "" } else { "s" },
        thousands(report.requests)
    );
    out
}
