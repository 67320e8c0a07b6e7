//! Simulated labelers: how jobs and orders progress, what labelers answer, how custom audiences
//! recruit, and what a run costs.
//!
//! Nothing runs in the background. A job (or a submitted order) stores a [`Timeline`]: when it
//! was running, paused, what it waits for, and the rate, seed and start delay it was created
//! with. Every read derives the state from the timeline and the clock: responses so far =
//! labeling time × rate, spread round-robin over the datapoints that still need votes; each
//! vote is drawn from a generator keyed by (seed, run id, datapoint, vote number), so the same
//! run gives the same votes on every read and after a restart. See `docs/emulator.md`.

mod draw;
mod labelers;
mod recruiting;
mod referee;
mod results;
mod run;
mod tasks;
mod timeline;
mod validation;

use serde::Deserialize;

pub(crate) use recruiting::{funnel, RecruitSnapshot};
pub(crate) use referee::Referee;
pub(crate) use results::results_document;
pub(crate) use run::{evaluate, validation_tally, Evaluation, PlanCache, RunInput, RunState};
pub(crate) use timeline::Timeline;
pub(crate) use validation::{random_correct, ValidationSnapshot, ValidationTask};

/// Settings of the simulation (`simulation:` in the fault/simulation file, or
/// [`super::EmulatorHandle::set_simulation`]). A job or order takes a snapshot of the rates
/// and the seed when it is created (an audience when it starts recruiting), so changing the
/// settings affects new runs only and a restart never changes a run's history.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Simulation {
    /// Seed of every labeler draw (who answers, what they answer, who graduates).
    pub seed: u64,
    /// Responses a running job (or order) collects per second.
    pub responses_per_second: f64,
    /// Time between a job becoming runnable and its first response (campaign start-up).
    pub start_delay_ms: u64,
    /// Price of one response in the cost estimates.
    pub price_per_response: f64,
    /// After a definition revision or a job is created, its cost estimate answers 409 for
    /// this long ("not priced yet").
    pub pricing_delay_ms: u64,
    /// Labelers in the global audience (`qualifiedUserCount`).
    pub global_pool: u64,
    /// Candidates joining a recruiting custom audience per second.
    pub candidates_per_second: f64,
    /// Candidates a custom audience can recruit at most.
    pub max_candidates: u64,
    /// Time a candidate spends on one qualification task; qualification takes the
    /// graduation rule's `minTasks` of them.
    pub qualification_ms_per_task: u64,
}

impl Default for Simulation {
    fn default() -> Self {
        Simulation {
            seed: 0,
            responses_per_second: 25.0,
            start_delay_ms: 1000,
            price_per_response: 0.05,
            pricing_delay_ms: 0,
            global_pool: 1000,
            candidates_per_second: 5.0,
            max_candidates: 200,
            qualification_ms_per_task: 100,
        }
    }
}

impl Simulation {
    /// Rejects settings that cannot mean anything (negative or non-finite rates).
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("responses_per_second", self.responses_per_second),
            ("price_per_response", self.price_per_response),
            ("candidates_per_second", self.candidates_per_second),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!(
                    "simulation.{name} must be a finite number >= 0, not {v}"
                ));
            }
        }
        if self.global_pool == 0 {
            return Err("simulation.global_pool must be at least 1".into());
        }
        Ok(())
    }
}
