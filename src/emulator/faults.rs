//! Fault injection: the failures a client must survive, reproducible from a seed.
//!
//! A [`FaultPlan`] comes from a YAML/JSON file (`rapidata emulator --faults FILE`) or from a
//! test ([`super::EmulatorHandle::set_faults`]). Every random decision is drawn from one
//! `fastrand::Rng` seeded with `seed`, in the order requests reach the fault stage, so the same
//! plan and the same request sequence give the same faults. With concurrent clients the
//! request order itself varies, so the decisions are deterministic per arrival order, not per
//! request content. Counters (429 bursts) are per rule and also follow arrival order.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::simulation::Simulation;
use super::EmulatorError;

/// What can go wrong, and how often. `Default` is no faults.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FaultPlan {
    /// Seed of the decision sequence.
    pub seed: u64,
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
    /// Per-route faults; every rule whose `route` matches applies.
    pub routes: Vec<RouteFault>,
    /// Assets that always fail, matched by file name (uploads) or URL (URL and batch uploads).
    pub asset_failures: Vec<AssetFailure>,
    /// Overrides the configured token lifetime for tokens issued from now on (e.g. 2 s to
    /// exercise expiry and refresh).
    pub token_ttl_secs: Option<u64>,
    /// The simulated labelers, recruiting and pricing (see `docs/emulator.md`).
    pub simulation: Simulation,
}

/// Faults for the requests whose route matches `route`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RouteFault {
    /// Glob over `"METHOD /route/{template}"`, e.g. `"POST /dataset/{datasetId}/datapoint"`,
    /// `"GET *"` or `"*"`.
    pub route: String,
    /// Probability (0..=1) that the request is answered with `status` without being handled.
    pub error_rate: f64,
    /// Status of injected errors (default 503).
    pub status: Option<u16>,
    /// Latency added to matching requests, in milliseconds.
    pub latency_ms: u64,
    /// Probability that the request is handled (the write commits) and then the connection is
    /// closed without a response.
    pub lost_response_rate: f64,
    /// Probability that the request is handled (the write commits) and then answered with
    /// `status` anyway: a gateway (502, 504) or a server (500, 503) that lost the answer.
    pub after_write_rate: f64,
    /// Periodic bursts of 429 with `Retry-After`.
    pub burst_429: Option<Burst429>,
}

/// Of every `period` matching requests, the last `length` get 429 with
/// `Retry-After: retry_after_secs` (so the first requests of a run pass).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Burst429 {
    pub period: u64,
    pub length: u64,
    #[serde(default = "one")]
    pub retry_after_secs: u64,
}

fn one() -> u64 {
    1
}

/// A permanent asset failure.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AssetFailure {
    /// Glob over the uploaded file name or the URL, e.g. `"FAILME*"` or `"*/broken/*"`.
    pub pattern: String,
    /// Problem title of a failed file upload (the SDK's failure reason); default
    /// "Unsupported media".
    pub title: Option<String>,
    /// Message of a failed URL item; default "download failed".
    pub error_message: Option<String>,
    /// Ingestion stage of a failed URL item; default "download".
    pub stage: Option<String>,
    /// Upstream HTTP status of a failed URL fetch; default 404.
    pub upstream_http_status: Option<u16>,
}

impl FaultPlan {
    /// Reads a plan from a file: JSON when the name ends in `.json`, YAML otherwise.
    pub fn from_file(path: &Path) -> Result<FaultPlan, EmulatorError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EmulatorError::Faults(format!("cannot read {}: {e}", path.display())))?;
        let plan: FaultPlan = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text)
                .map_err(|e| EmulatorError::Faults(format!("{}: {e}", path.display())))?
        } else {
            serde_saphyr::from_str(&text)
                .map_err(|e| EmulatorError::Faults(format!("{}: {e}", path.display())))?
        };
        plan.validate()?;
        Ok(plan)
    }

    /// Rejects plans that cannot mean what they say (rates outside 0..=1, bad globs).
    pub fn validate(&self) -> Result<(), EmulatorError> {
        if let Some(secs) = self.token_ttl_secs {
            super::auth::check_token_ttl("token_ttl_secs", secs).map_err(EmulatorError::Faults)?;
        }
        for r in &self.routes {
            glob::Pattern::new(&r.route)
                .map_err(|e| EmulatorError::Faults(format!("route glob '{}': {e}", r.route)))?;
            for (name, rate) in [
                ("error_rate", r.error_rate),
                ("lost_response_rate", r.lost_response_rate),
                ("after_write_rate", r.after_write_rate),
            ] {
                if !(0.0..=1.0).contains(&rate) {
                    return Err(EmulatorError::Faults(format!(
                        "{name} {rate} of '{}' is not in 0..=1",
                        r.route
                    )));
                }
            }
            if let Some(s) = r.status {
                if !(400..=599).contains(&s) {
                    return Err(EmulatorError::Faults(format!(
                        "status {s} of '{}' is not an error status",
                        r.route
                    )));
                }
            }
            if let Some(b) = &r.burst_429 {
                if b.period == 0 || b.length > b.period {
                    return Err(EmulatorError::Faults(format!(
                        "burst_429 of '{}' needs 0 < length <= period",
                        r.route
                    )));
                }
            }
        }
        for a in &self.asset_failures {
            glob::Pattern::new(&a.pattern)
                .map_err(|e| EmulatorError::Faults(format!("asset glob '{}': {e}", a.pattern)))?;
        }
        self.simulation.validate().map_err(EmulatorError::Faults)
    }
}

/// What the fault stage decided for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Decision {
    pub delay: Duration,
    /// Answer with this status instead of handling the request.
    pub error: Option<u16>,
    /// Answer 429 with this `Retry-After`.
    pub throttle: Option<u64>,
    /// Handle, then drop the connection.
    pub lose_response: bool,
    /// Handle, then answer with this status.
    pub error_after: Option<u16>,
}

/// A plan plus its decision state.
#[derive(Debug)]
pub(crate) struct FaultState {
    plan: FaultPlan,
    patterns: Vec<Option<glob::Pattern>>,
    counters: Vec<u64>,
    rng: fastrand::Rng,
}

impl FaultState {
    pub fn new(plan: FaultPlan) -> FaultState {
        let patterns = plan
            .routes
            .iter()
            .map(|r| glob::Pattern::new(&r.route).ok())
            .collect();
        let counters = vec![0; plan.routes.len()];
        let rng = fastrand::Rng::with_seed(plan.seed);
        FaultState {
            plan,
            patterns,
            counters,
            rng,
        }
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// Replaces the simulation settings, keeping the fault decision sequence.
    pub fn set_simulation(&mut self, simulation: Simulation) {
        self.plan.simulation = simulation;
    }

    /// Decides the fate of one request on `route` (`"METHOD /template"`).
    pub fn decide(&mut self, route: &str) -> Decision {
        let mut d = Decision {
            delay: Duration::from_millis(self.plan.latency_ms),
            ..Decision::default()
        };
        for (i, rule) in self.plan.routes.iter().enumerate() {
            if !self.patterns[i].as_ref().is_some_and(|p| p.matches(route)) {
                continue;
            }
            d.delay += Duration::from_millis(rule.latency_ms);
            let n = self.counters[i];
            self.counters[i] += 1;
            if let Some(b) = &rule.burst_429 {
                if d.throttle.is_none() && n % b.period >= b.period - b.length {
                    d.throttle = Some(b.retry_after_secs);
                }
            }
            if rule.error_rate > 0.0 && self.rng.f64() < rule.error_rate && d.error.is_none() {
                d.error = Some(rule.status.unwrap_or(503));
            }
            if rule.lost_response_rate > 0.0 && self.rng.f64() < rule.lost_response_rate {
                d.lose_response = true;
            }
            if rule.after_write_rate > 0.0
                && self.rng.f64() < rule.after_write_rate
                && d.error_after.is_none()
            {
                d.error_after = Some(rule.status.unwrap_or(502));
            }
        }
        d
    }

    /// The permanent failure configured for an asset name or URL, if any.
    pub fn asset_failure(&self, name_or_url: &str) -> Option<AssetFailure> {
        self.plan
            .asset_failures
            .iter()
            .find(|a| glob::Pattern::new(&a.pattern).is_ok_and(|p| p.matches(name_or_url)))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64) -> FaultPlan {
        FaultPlan {
            seed,
            routes: vec![RouteFault {
                route: "POST /dataset/*".into(),
                error_rate: 0.3,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn same_seed_same_decisions_other_seed_other_decisions() {
        let run = |seed| {
            let mut s = FaultState::new(plan(seed));
            (0..200)
                .map(|_| {
                    s.decide("POST /dataset/{datasetId}/datapoint")
                        .error
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let failures = run(7).iter().filter(|f| **f).count();
        assert!((30..90).contains(&failures), "{failures} of 200 at 30%");
    }

    #[test]
    fn bursts_hit_the_end_of_each_period() {
        let mut s = FaultState::new(FaultPlan {
            routes: vec![RouteFault {
                route: "*".into(),
                burst_429: Some(Burst429 {
                    period: 5,
                    length: 2,
                    retry_after_secs: 3,
                }),
                ..Default::default()
            }],
            ..Default::default()
        });
        let got: Vec<Option<u64>> = (0..10).map(|_| s.decide("GET /jobs").throttle).collect();
        let n = None;
        assert_eq!(
            got,
            vec![n, n, n, Some(3), Some(3), n, n, n, Some(3), Some(3)]
        );
    }

    #[test]
    fn yaml_plan_parses_and_bad_rates_are_rejected() {
        let yaml = "seed: 3\nroutes:\n  - route: \"POST /asset/file\"\n    error_rate: 0.5\n    status: 502\nasset_failures:\n  - pattern: \"FAILME*\"\n";
        let plan: FaultPlan = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(plan.routes[0].status, Some(502));
        assert!(plan.validate().is_ok());
        let bad = FaultPlan {
            routes: vec![RouteFault {
                route: "*".into(),
                error_rate: 2.0,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        let sim: FaultPlan = serde_saphyr::from_str(
            "simulation:\n  seed: 4\n  responses_per_second: 2.5\n  pricing_delay_ms: 300\n",
        )
        .unwrap();
        assert_eq!(sim.simulation.seed, 4);
        assert_eq!(sim.simulation.responses_per_second, 2.5);
        assert_eq!(
            sim.simulation.start_delay_ms, 1000,
            "unset settings keep their defaults"
        );
        let negative: Result<FaultPlan, _> =
            serde_saphyr::from_str("simulation:\n  responses_per_second: -1\n");
        assert!(negative.unwrap().validate().is_err());
        assert!(serde_saphyr::from_str::<FaultPlan>("simulation:\n  speed: 1\n").is_err());
    }
}
