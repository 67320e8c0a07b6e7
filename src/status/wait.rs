//! `status --wait`: read again every few seconds until every job and order is done or
//! cannot finish, showing each one's completion (a bar per job on a terminal, a line per
//! change otherwise). The SDK polls a job every 5 s (`_wait_for_status`,
//! `display_progress_bar` in `rapidata_client/job/rapidata_job.py`).

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{refresh, StatusReport};
use crate::manifest::{Project, ResourceKind};
use crate::remote::{ApiError, Client};

/// The SDK's polling interval for a job's state.
pub const WAIT_INTERVAL: Duration = Duration::from_secs(5);

/// How waiting is shown.
pub trait WaitView {
    fn update(&mut self, report: &StatusReport);
    fn finish(&mut self) {}
}

/// One bar per job and order (0–100 %), on stderr.
pub struct Bars {
    multi: MultiProgress,
    bars: HashMap<(ResourceKind, String), ProgressBar>,
}

impl Bars {
    pub fn new() -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: HashMap::new(),
        }
    }
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitView for Bars {
    fn update(&mut self, report: &StatusReport) {
        for r in report.runs() {
            let bar = self
                .bars
                .entry((r.kind, r.name.clone()))
                .or_insert_with(|| {
                    let b = self.multi.add(ProgressBar::new(1000));
                    b.set_style(
                        ProgressStyle::with_template("  {prefix:30} [{bar:30}] {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.set_prefix(format!("{} {}", r.kind, r.name));
                    b
                });
            let p = r.completion_percentage.unwrap_or(0.0).clamp(0.0, 100.0);
            bar.set_position((p * 10.0).round() as u64);
            let mut msg = format!("{:.1}% {}", p, r.state.as_deref().unwrap_or(""));
            if r.stuck.is_some() && !r.done {
                msg.push_str(" (cannot finish)");
            }
            bar.set_message(msg);
            if r.done || r.stuck.is_some() {
                bar.finish();
            }
        }
    }
    fn finish(&mut self) {
        for b in self.bars.values() {
            b.finish();
        }
    }
}

/// A line per job or order whenever its state or percentage changed (CI logs).
#[derive(Default)]
pub struct Lines {
    last: HashMap<(ResourceKind, String), String>,
}

impl WaitView for Lines {
    fn update(&mut self, report: &StatusReport) {
        for r in report.runs() {
            let line = format!(
                "{} {}: {} {}",
                r.kind,
                r.name,
                r.state.as_deref().unwrap_or("?"),
                r.completion_percentage
                    .map(|p| format!("{p:.1}%"))
                    .unwrap_or_default()
            );
            let key = (r.kind, r.name.clone());
            if self.last.get(&key) != Some(&line) {
                eprintln!("  {line}");
                self.last.insert(key, line);
            }
        }
    }
}

/// Poll every `interval` until settled: every job and order done or stuck.
pub async fn wait(
    client: &Client,
    project: &Project,
    report: &mut StatusReport,
    interval: Duration,
    view: &mut dyn WaitView,
) -> Result<(), ApiError> {
    view.update(report);
    while !report.settled() {
        tokio::time::sleep(interval).await;
        refresh(client, project, report).await?;
        view.update(report);
    }
    view.finish();
    Ok(())
}
