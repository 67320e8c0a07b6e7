//! Custom audiences recruit on `POST /audience/{id}/recruit` only. From then on candidates join
//! at a steady rate; once the audience has 3 examples (`MIN_EXAMPLES`), each candidate takes the graduation
//! rule's `minTasks` qualification tasks and graduates if its accuracy reaches the rule's bar,
//! else it is dropped. Public audiences (`global`) have their whole pool graduated from the
//! start.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::labelers::candidate_accuracy;
use super::Simulation;

/// Stored with the audience (under `_recruit`) when recruiting starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecruitSnapshot {
    pub seed: u64,
    pub since: i64,
    pub candidates_per_second: f64,
    pub max_candidates: u64,
    pub qualification_ms_per_task: u64,
    /// When the audience first had recruiting and 3 examples at once: qualification starts.
    pub qualifying_since: Option<i64>,
}

impl RecruitSnapshot {
    pub fn new(sim: &Simulation, now: i64, has_examples: bool) -> RecruitSnapshot {
        RecruitSnapshot {
            seed: sim.seed,
            since: now,
            candidates_per_second: sim.candidates_per_second,
            max_candidates: sim.max_candidates,
            qualification_ms_per_task: sim.qualification_ms_per_task,
            qualifying_since: has_examples.then_some(now),
        }
    }

    pub fn of(audience: &Value) -> Option<RecruitSnapshot> {
        serde_json::from_value(audience.get("_recruit")?.clone()).ok()
    }

    fn joined_at(&self, i: u64) -> Option<i64> {
        (self.candidates_per_second > 0.0 && i < self.max_candidates).then(|| {
            self.since + ((i + 1) as f64 * 1000.0 / self.candidates_per_second).ceil() as i64
        })
    }
}

/// The admission bar of a graduation rule and how many qualification tasks it takes.
fn bar(audience: &Value) -> (f64, u64) {
    let rule = audience.get("graduationRule").unwrap_or(&Value::Null);
    let num = |k: &str| rule.get(k).and_then(Value::as_f64);
    match rule.get("_t").and_then(Value::as_str) {
        Some("TaskAccuracy") => (
            num("targetAccuracy").unwrap_or(0.75),
            rule.get("minTasks").and_then(Value::as_u64).unwrap_or(10),
        ),
        Some("ScoreThreshold") => (
            num("graduationScore").unwrap_or(0.75),
            rule.get("minResponsesToGraduate")
                .and_then(Value::as_u64)
                .unwrap_or(10),
        ),
        Some("AcceptedFreeText") => (
            num("minAcceptedRatio").unwrap_or(0.75),
            rule.get("minAcceptedResponses")
                .and_then(Value::as_u64)
                .unwrap_or(10),
        ),
        _ => (0.75, 10),
    }
}

fn is_public(audience: &Value) -> bool {
    audience.get("isPublic").and_then(Value::as_bool) == Some(true)
}

/// One candidate: when it finishes qualifying (if it can) and whether it passes.
struct Candidate {
    joined: i64,
    finished: Option<i64>,
    passes: bool,
}

fn candidates(audience: &Value, snap: &RecruitSnapshot) -> Vec<Candidate> {
    let id = audience
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (target, tasks) = bar(audience);
    let took = (tasks * snap.qualification_ms_per_task) as i64;
    (0..snap.max_candidates)
        .map_while(|i| {
            let joined = snap.joined_at(i)?;
            Some(Candidate {
                joined,
                finished: snap.qualifying_since.map(|q| joined.max(q) + took),
                passes: candidate_accuracy(snap.seed, id, i) >= target,
            })
        })
        .collect()
}

/// Candidate indexes of a custom audience that graduate (the labelers its jobs draw from).
pub(crate) fn graduates(audience: &Value) -> Vec<u64> {
    let Some(snap) = RecruitSnapshot::of(audience) else {
        return Vec::new();
    };
    candidates(audience, &snap)
        .iter()
        .enumerate()
        .filter(|(_, c)| c.passes && c.finished.is_some())
        .map(|(i, _)| i as u64)
        .collect()
}

/// When the audience's first labeler can answer: always for public audiences, the first
/// graduation for custom ones, `None` if nobody graduates (no recruiting, no example, or a bar
/// nobody reaches).
pub(crate) fn ready_at(audience: &Value) -> Option<i64> {
    if is_public(audience) {
        return Some(i64::MIN);
    }
    let snap = RecruitSnapshot::of(audience)?;
    candidates(audience, &snap)
        .iter()
        .filter(|c| c.passes)
        .filter_map(|c| c.finished)
        .min()
}

/// The funnel at `now`: `(status, usersPerState, graduated, dropped)`. A public audience's
/// whole pool is graduated: the SDK warns about an audience without graduates and points to
/// `global` as the ready-to-go audience (`rapidata_client/audience/rapidata_audience.py`,
/// `_warn_if_no_graduated_annotators`).
pub(crate) fn funnel(audience: &Value, global_pool: u64, now: i64) -> (String, Value, u64, u64) {
    if is_public(audience) {
        return (
            "Ready".into(),
            json!({"Distilling": 0, "Graduated": global_pool}),
            global_pool,
            0,
        );
    }
    let Some(snap) = RecruitSnapshot::of(audience) else {
        return (
            "Created".into(),
            json!({"Distilling": 0, "Graduated": 0}),
            0,
            0,
        );
    };
    let (mut distilling, mut graduated, mut dropped) = (0u64, 0u64, 0u64);
    for c in candidates(audience, &snap) {
        if c.joined > now {
            break;
        }
        match c.finished {
            Some(f) if f <= now && c.passes => graduated += 1,
            Some(f) if f <= now => dropped += 1,
            _ => distilling += 1,
        }
    }
    let status = if graduated > 0 { "Ready" } else { "Recruiting" };
    (
        status.into(),
        json!({"Distilling": distilling, "Graduated": graduated, "DroppedLowAccuracy": dropped}),
        graduated,
        dropped,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audience(recruit: Option<RecruitSnapshot>, target: f64) -> Value {
        let mut a = json!({"id": "aud", "isPublic": false,
            "graduationRule": {"_t": "TaskAccuracy", "targetAccuracy": target, "minTasks": 10}});
        if let Some(r) = recruit {
            a["_recruit"] = serde_json::to_value(r).unwrap();
        }
        a
    }

    #[test]
    fn nobody_graduates_without_recruiting_or_examples() {
        let sim = Simulation::default();
        assert_eq!(ready_at(&audience(None, 0.75)), None);
        assert_eq!(funnel(&audience(None, 0.75), 10, 99_999).0, "Created");
        let no_examples = audience(Some(RecruitSnapshot::new(&sim, 0, false)), 0.75);
        assert_eq!(ready_at(&no_examples), None);
        let (status, users, graduated, _) = funnel(&no_examples, 10, 60_000);
        assert_eq!((status.as_str(), graduated), ("Recruiting", 0));
        assert!(users["Distilling"].as_u64().unwrap() > 0);
        let unreachable = audience(Some(RecruitSnapshot::new(&sim, 0, true)), 0.99);
        assert_eq!(ready_at(&unreachable), None);
    }

    #[test]
    fn recruiting_with_examples_graduates_over_time() {
        let sim = Simulation::default();
        let a = audience(Some(RecruitSnapshot::new(&sim, 0, true)), 0.75);
        let ready = ready_at(&a).unwrap();
        assert!((1000..10_000).contains(&ready), "{ready}");
        assert_eq!(funnel(&a, 10, ready - 1).2, 0);
        assert_eq!(funnel(&a, 10, ready).2, 1);
        let (status, _, later, dropped) = funnel(&a, 10, 30_000);
        assert_eq!(status, "Ready");
        assert!(later > 10 && dropped > 0, "{later} {dropped}");
    }
}
