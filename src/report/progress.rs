//! Progress reporters for apply: indicatif bars on a terminal, periodic plain lines when
//! not (CI logs), nothing with `-q`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plan_text::summary_line;
use crate::apply::ApplyProgress;
use crate::plan::Summary;

/// Bars on a terminal (stderr).
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new() -> Self {
        Bars {
            bar: Mutex::new(None),
        }
    }
    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Ok(guard) = self.bar.lock() {
            if let Some(b) = guard.as_ref() {
                f(b);
            }
        }
    }
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

impl ApplyProgress for Bars {
    fn round(&self, round: u32, max: u32, s: &Summary) {
        eprintln!("Round {round}/{max}: {}", summary_line(s));
    }
    fn step(&self, message: &str) {
        let mut printed = false;
        self.with_bar(|b| {
            b.println(format!("  {message}"));
            printed = true;
        });
        if !printed {
            eprintln!("  {message}");
        }
    }
    fn uploads_started(&self, resource: &str, datapoints: u64, assets: u64) {
        let bar = ProgressBar::with_draw_target(Some(datapoints), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "  {prefix} [{bar:30}] {pos}/{len} datapoints, {per_sec}, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{resource} ({assets} assets)"));
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut g) = self.bar.lock() {
            *g = Some(bar);
        }
    }
    fn datapoint_done(&self, _ok: bool) {
        self.with_bar(|b| b.inc(1));
    }
    fn uploads_finished(&self, _resource: &str) {
        if let Ok(mut g) = self.bar.lock() {
            if let Some(b) = g.take() {
                b.finish_and_clear();
            }
        }
    }
}

/// Plain lines, at most one progress line every few seconds.
pub struct Lines {
    every: Duration,
    done: AtomicU64,
    failed: AtomicU64,
    total: AtomicU64,
    last: Mutex<Instant>,
    started: Mutex<Instant>,
}

impl Lines {
    pub fn new(every: Duration) -> Self {
        Lines {
            every,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            total: AtomicU64::new(0),
            last: Mutex::new(Instant::now()),
            started: Mutex::new(Instant::now()),
        }
    }
    fn line(&self, resource: &str) {
        let done = self.done.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        let secs = self
            .started
            .lock()
            .map(|s| s.elapsed().as_secs_f64())
            .unwrap_or(0.0)
            .max(0.001);
        eprintln!(
            "  {resource}: {done}/{total} datapoints ({failed} failed), {:.0}/s",
            done as f64 / secs
        );
    }
}

impl ApplyProgress for Lines {
    fn round(&self, round: u32, max: u32, s: &Summary) {
        eprintln!("Round {round}/{max}: {}", summary_line(s));
    }
    fn step(&self, message: &str) {
        eprintln!("  {message}");
    }
    fn uploads_started(&self, _resource: &str, datapoints: u64, _assets: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.failed.store(0, Ordering::Relaxed);
        self.total.store(datapoints, Ordering::Relaxed);
        if let Ok(mut s) = self.started.lock() {
            *s = Instant::now();
        }
    }
    fn datapoint_done(&self, ok: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let due = match self.last.lock() {
            Ok(mut last) if last.elapsed() >= self.every => {
                *last = Instant::now();
                true
            }
            _ => false,
        };
        if due {
            self.line("uploading");
        }
    }
    fn uploads_finished(&self, resource: &str) {
        self.line(resource);
    }
}
