//! When a run (a job, or a submitted order) was able to collect responses.
//!
//! A run is *enabled* except while paused. It *labels* while enabled, after its gate: the
//! latest of its first start, its predecessor's end and its audience's first graduate, plus the
//! start delay; and before its audience was deleted. Responses = labeling time × rate.

use serde::{Deserialize, Serialize};

/// Stored with the job or order (under `_sim`); all times are unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Timeline {
    pub seed: u64,
    /// Keys the run's draws together with `seed` (the run's creation number, so the same
    /// requests give the same votes in any emulator); empty means the run's id.
    #[serde(default)]
    pub key: String,
    /// Responses per second.
    pub rate: f64,
    pub start_delay_ms: i64,
    /// Labelers in the global pool when the run was created.
    pub pool: u64,
    /// Closed enabled intervals.
    #[serde(default)]
    pub runs: Vec<[i64; 2]>,
    /// Start of the open enabled interval; `None` while paused.
    pub since: Option<i64>,
    /// The run that must finish first (`precedingJobId`, `precedingOrderId`).
    #[serde(default)]
    pub after: Option<String>,
    /// Set when the predecessor went away: its end, or when it was deleted.
    #[serde(default)]
    pub not_before: Option<i64>,
    /// When the audience was deleted: nothing is collected after it.
    #[serde(default)]
    pub end: Option<i64>,
}

impl Timeline {
    pub fn new(now: i64, seed: u64, rate: f64, start_delay_ms: u64, pool: u64) -> Timeline {
        Timeline {
            seed,
            key: String::new(),
            rate,
            start_delay_ms: start_delay_ms as i64,
            pool,
            runs: Vec::new(),
            since: Some(now),
            after: None,
            not_before: None,
            end: None,
        }
    }

    pub fn paused(&self) -> bool {
        self.since.is_none()
    }

    pub fn pause(&mut self, now: i64) {
        if let Some(s) = self.since.take() {
            self.runs.push([s, now.max(s)]);
        }
    }

    pub fn resume(&mut self, now: i64) {
        if self.since.is_none() {
            self.since = Some(now);
        }
    }

    fn first_start(&self) -> Option<i64> {
        self.runs.first().map(|r| r[0]).or(self.since)
    }

    /// When labeling can start: `None` while something it waits for has not happened
    /// (`ready` = the audience's first graduate, `predecessor_end` = the predecessor's end).
    pub fn gate(&self, ready: Option<i64>, predecessor_end: Option<i64>) -> Option<i64> {
        let start = self.first_start()?;
        let after = match (&self.after, self.not_before) {
            (_, Some(t)) => t,
            (Some(_), None) => predecessor_end?,
            (None, None) => i64::MIN,
        };
        Some(
            start
                .max(ready?)
                .max(after)
                .saturating_add(self.start_delay_ms),
        )
    }

    fn intervals(&self, now: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let end = self.end.unwrap_or(i64::MAX);
        self.runs
            .iter()
            .map(|r| (r[0], r[1]))
            .chain(self.since.map(|s| (s, i64::MAX)))
            .map(move |(s, e)| (s, e.min(now).min(end)))
    }

    /// Milliseconds of labeling up to `now`.
    pub fn labeling_ms(&self, gate: i64, now: i64) -> i64 {
        self.intervals(now)
            .map(|(s, e)| (e - s.max(gate)).max(0))
            .sum()
    }

    /// The wall time at which labeling time reaches `ms`, if it has by `now`.
    pub fn time_at(&self, gate: i64, ms: i64, now: i64) -> Option<i64> {
        let mut left = ms;
        for (s, e) in self.intervals(now) {
            let s = s.max(gate);
            if e < s {
                continue;
            }
            if e - s >= left {
                return Some(s + left);
            }
            left -= e - s;
        }
        None
    }

    /// Labeling time needed for `responses`.
    pub fn ms_for(&self, responses: u64) -> i64 {
        if responses == 0 {
            return 0;
        }
        if self.rate <= 0.0 {
            return i64::MAX;
        }
        ((responses as f64) * 1000.0 / self.rate).ceil() as i64
    }

    /// Responses collected in `labeling_ms`.
    pub fn responses_in(&self, labeling_ms: i64) -> u64 {
        ((labeling_ms.max(0) as f64) * self.rate / 1000.0).floor() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_stop_the_clock_and_gates_delay_it() {
        let mut t = Timeline::new(1000, 0, 10.0, 500, 10);
        let gate = t.gate(Some(0), None).unwrap();
        assert_eq!(gate, 1500);
        assert_eq!(t.labeling_ms(gate, 2500), 1000);
        assert_eq!(t.responses_in(1000), 10);
        t.pause(3000);
        assert_eq!(t.labeling_ms(gate, 9000), 1500);
        t.resume(10_000);
        assert_eq!(t.labeling_ms(gate, 10_500), 2000);
        assert_eq!(t.time_at(gate, 1500, 20_000), Some(3000));
        assert_eq!(t.time_at(gate, 1600, 20_000), Some(10_100));
        assert_eq!(t.time_at(gate, 99_000, 20_000), None);
        // Waiting for an audience that never graduates anyone, or an unfinished predecessor.
        assert_eq!(t.gate(None, None), None);
        t.after = Some("j".into());
        assert_eq!(t.gate(Some(0), None), None);
        assert_eq!(t.gate(Some(0), Some(4000)), Some(4500));
    }
}
