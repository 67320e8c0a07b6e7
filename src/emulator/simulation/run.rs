//! Evaluating a run at a point in time: its state, the responses collected so far, and the
//! votes behind them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use serde_json::Value;

use super::draw::rng;
use super::labelers::{candidate_accuracy, global_score, Eligibility, Labeler};
use super::recruiting::{graduates, ready_at, RecruitSnapshot};
use super::referee::Referee;
use super::tasks::{Task, Unit};
use super::timeline::Timeline;
use super::validation::ValidationSnapshot;
use crate::emulator::datapoints::{dataset_get, dataset_rows};
use crate::emulator::http::ApiResult;

/// What a run labels, with whom.
pub(crate) struct RunInput<'a> {
    /// The job or order id: it keys the vote draws.
    pub id: &'a str,
    pub timeline: &'a Timeline,
    pub dataset_id: &'a str,
    pub workflow: &'a Value,
    pub referee: &'a Value,
    /// The job's audience; `None` for orders (the global pool).
    pub audience: Option<&'a Value>,
    /// When the predecessor completed or failed; `None` while it has not.
    pub predecessor_end: Option<i64>,
    /// The validation set of the job's revision, as the job snapshotted it.
    pub validation: Option<ValidationSnapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Waiting for its predecessor.
    Queued,
    /// Runnable but no response yet (start delay, or a custom audience nobody graduated in).
    Starting,
    Running,
    Paused,
    Completed,
    /// The audience was deleted before the run completed.
    Failed,
}

/// A run at one point in time.
pub(crate) struct Evaluation {
    pub state: RunState,
    pub responses: u64,
    /// Responses the run collects in all (fewer than the referee's maximum when it stops early).
    pub required: u64,
    pub units: u64,
    pub completed_units: u64,
    /// When it completed (`Completed`) or failed (`Failed`).
    pub ended_at: Option<i64>,
    needs: Arc<Needs>,
}

impl Evaluation {
    pub fn percentage(&self) -> f64 {
        if self.required == 0 {
            return if self.state == RunState::Completed {
                100.0
            } else {
                0.0
            };
        }
        (self.responses as f64 * 100.0 / self.required as f64 * 100.0).round() / 100.0
    }
}

/// Responses each unit needs, per run and dataset size (a run's votes never change, so
/// neither does this; the dataset size keys it in case datapoints are added before a run).
#[derive(Debug, Default)]
pub(crate) struct PlanCache {
    needs: Mutex<HashMap<String, CachedNeeds>>,
}

/// Dataset size the needs were computed for, and the needs per unit.
type CachedNeeds = (i64, Arc<Needs>);

/// Responses each unit needs, in unit order and sorted (the allocation walks the sorted ones).
#[derive(Debug)]
pub(super) struct Needs {
    per_unit: Vec<u32>,
    sorted: Vec<u32>,
}

impl Needs {
    fn new(per_unit: Vec<u32>) -> Needs {
        let mut sorted = per_unit.clone();
        sorted.sort_unstable();
        Needs { per_unit, sorted }
    }
}

/// Who answers a run's units.
pub(super) struct Draws {
    seed: u64,
    scope: String,
    global_pool: u64,
    custom: Option<(String, u64, Vec<u64>)>,
    who: Eligibility,
    validation: Option<ValidationSnapshot>,
}

/// One response to a unit.
pub(super) struct Vote {
    pub labeler: Labeler,
    /// The chosen option of a categorical task.
    pub choice: Option<usize>,
}

impl Draws {
    pub fn new(input: &RunInput<'_>) -> Draws {
        let t = input.timeline;
        let (custom, who) = match input.audience {
            Some(a) if a.get("isPublic").and_then(Value::as_bool) != Some(true) => {
                let id = a
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let seed = RecruitSnapshot::of(a).map(|s| s.seed).unwrap_or(t.seed);
                (
                    Some((id, seed, graduates(a))),
                    Eligibility::from_filters(a.get("filters").unwrap_or(&Value::Null)),
                )
            }
            Some(a) => (
                None,
                Eligibility::from_filters(a.get("filters").unwrap_or(&Value::Null)),
            ),
            None => (None, Eligibility::default()),
        };
        Draws {
            seed: t.seed,
            scope: if t.key.is_empty() {
                input.id.to_string()
            } else {
                t.key.clone()
            },
            global_pool: t.pool.max(1),
            custom,
            who,
            validation: input.validation.clone(),
        }
    }

    /// Vote `j` on `unit`.
    pub fn vote(&self, unit: &Unit, j: u32) -> Vote {
        let mut r = rng(
            self.seed,
            "vote",
            &self.scope,
            &[unit.seq as u64, u64::from(j)],
        );
        let mut labeler = match &self.custom {
            Some((aud, seed, grads)) if !grads.is_empty() => {
                let idx = grads[r.usize(..grads.len())];
                Labeler::new(
                    *seed,
                    aud,
                    idx,
                    candidate_accuracy(*seed, aud, idx),
                    &self.who,
                )
            }
            _ => {
                let idx = r.u64(..self.global_pool);
                Labeler::new(
                    self.seed,
                    "global",
                    idx,
                    global_score(self.seed, idx),
                    &self.who,
                )
            }
        };
        if let Some(v) = &self.validation {
            labeler.measured = v
                .accuracy(self.seed, &labeler.pool, labeler.index, labeler.score)
                .map(|acc| (v.score_dimensions(), acc));
        }
        let k = unit.options.len();
        let choice = (k > 0).then(|| {
            let truth = rng(self.seed, "truth", "", &[unit.seq as u64]).usize(..k);
            if k == 1 || r.f64() < labeler.score {
                truth
            } else {
                (truth + 1 + r.usize(..k - 1)) % k
            }
        });
        Vote { labeler, choice }
    }

    /// Generator for the free answer of vote `j` on `unit`.
    pub fn answer_rng(&self, unit: &Unit, j: u32) -> fastrand::Rng {
        rng(
            self.seed,
            "answer",
            &self.scope,
            &[unit.seq as u64, u64::from(j)],
        )
    }
}

/// The run's task, referee and units (reads the dataset).
pub(super) fn load_units(
    conn: &Connection,
    input: &RunInput<'_>,
) -> ApiResult<(Task, Referee, Vec<Unit>)> {
    let task = Task::from_workflow(input.workflow);
    let referee = Referee::parse(input.referee).unwrap_or(Referee::Naive { votes: 1 });
    let units = match dataset_get(conn, input.dataset_id)? {
        Some(ds) => task.units(&dataset_rows(conn, ds.seq)?),
        None => Vec::new(),
    };
    Ok((task, referee, units))
}

/// Votes each unit needs before the referee stops it.
pub(super) fn unit_need(draws: &Draws, referee: &Referee, unit: &Unit, cap: u32) -> u32 {
    if !referee.stops_early() || unit.options.is_empty() {
        return cap;
    }
    let mut votes = Vec::new();
    for j in 0..cap {
        let v = draws.vote(unit, j);
        votes.push((v.choice.unwrap_or(0), v.labeler.weight()));
        if referee.done(&votes, unit.options.len(), cap) {
            return j + 1;
        }
    }
    cap
}

/// Comparisons a ranking group of `size` items is labeled in: the online pair maker's
/// `totalComparisonBudget`, or every unique pair once for the full-permutation pair maker
/// (`rapidata_client/workflow/_multi_ranking_workflow.py`).
pub(super) fn ranking_comparisons(workflow: &Value, size: usize) -> u32 {
    let pm = workflow.get("pairMakerConfig").unwrap_or(&Value::Null);
    let pairs = (size * size.saturating_sub(1) / 2).max(1) as u32;
    match pm.get("_t").and_then(Value::as_str) {
        Some("OnlinePairMaker") => pm
            .get("totalComparisonBudget")
            .and_then(Value::as_u64)
            .map_or(pairs, |b| b.clamp(1, u64::from(u32::MAX)) as u32),
        _ => pairs,
    }
}

/// Responses a ranking group needs: the referee's votes count per comparison (the SDK sends
/// `responses_per_comparison` as the referee's `totalVotes`, and for the full-permutation pair
/// maker multiplies it by the comparisons per pair; `_multi_ranking_workflow.py`). A budget
/// referee's share is already a count of responses.
fn ranking_need(workflow: &Value, referee: &Referee, size: usize, cap: u32) -> u32 {
    match referee {
        Referee::Budget { .. } => cap,
        _ => cap.saturating_mul(ranking_comparisons(workflow, size)),
    }
}

fn needs(conn: &Connection, input: &RunInput<'_>, cache: &PlanCache) -> ApiResult<Arc<Needs>> {
    let count = dataset_get(conn, input.dataset_id)?
        .map(|d| d.count)
        .unwrap_or(0);
    if let Ok(map) = cache.needs.lock() {
        if let Some((c, n)) = map.get(input.id) {
            if *c == count {
                return Ok(n.clone());
            }
        }
    }
    let task = Task::from_workflow(input.workflow);
    let referee = Referee::parse(input.referee).unwrap_or(Referee::Naive { votes: 1 });
    let simple =
        !(referee.stops_early() && task.categorical()) && task.kind != super::tasks::Kind::Ranking;
    let needs: Vec<u32> = if simple {
        let n = count.max(0) as u64;
        (0..n).map(|i| referee.cap(i, n)).collect()
    } else {
        let (_, _, units) = load_units(conn, input)?;
        let draws = Draws::new(input);
        let n = units.len() as u64;
        units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let cap = referee.cap(i as u64, n);
                if task.kind == super::tasks::Kind::Ranking {
                    ranking_need(input.workflow, &referee, u.options.len(), cap)
                } else {
                    unit_need(&draws, &referee, u, cap)
                }
            })
            .collect()
    };
    let needs = Arc::new(Needs::new(needs));
    if let Ok(mut map) = cache.needs.lock() {
        if map.len() > 4096 {
            map.clear();
        }
        map.insert(input.id.to_string(), (count, needs.clone()));
    }
    Ok(needs)
}

/// How `budget` responses spread round-robin over units still short of their need.
#[cfg(test)]
fn allocate(needs: &[u32], budget: u64) -> Vec<u32> {
    allocate_sorted(&Needs::new(needs.to_vec()), budget)
}

/// [`allocate`] with the needs sorted once per run.
fn allocate_sorted(needs: &Needs, budget: u64) -> Vec<u32> {
    let sorted = &needs.sorted;
    let (mut level, mut left, mut i) = (0u64, budget, 0usize);
    while i < sorted.len() {
        let open = (sorted.len() - i) as u64;
        let next = u64::from(sorted[i]);
        let cost = (next - level) * open;
        if left >= cost {
            left -= cost;
            level = next;
            while i < sorted.len() && u64::from(sorted[i]) == next {
                i += 1;
            }
        } else {
            level += left / open;
            left %= open;
            break;
        }
    }
    let mut extra = left;
    needs
        .per_unit
        .iter()
        .map(|&n| {
            let n = u64::from(n);
            let mut got = n.min(level);
            if n > level && extra > 0 {
                got += 1;
                extra -= 1;
            }
            got as u32
        })
        .collect()
}

/// Evaluates a run at `now`.
pub(crate) fn evaluate(
    conn: &Connection,
    input: &RunInput<'_>,
    cache: &PlanCache,
    now: i64,
) -> ApiResult<Evaluation> {
    let t = input.timeline;
    let needs = needs(conn, input, cache)?;
    let required: u64 = needs.per_unit.iter().map(|n| u64::from(*n)).sum();
    let units = needs.per_unit.len() as u64;
    let ready = match input.audience {
        Some(a) => ready_at(a),
        None => Some(i64::MIN),
    };
    let waiting_for_predecessor = t.after.is_some()
        && t.not_before.is_none()
        && input.predecessor_end.is_none_or(|e| now < e);
    let mut e = Evaluation {
        state: RunState::Starting,
        responses: 0,
        required,
        units,
        completed_units: 0,
        ended_at: None,
        needs,
    };
    let gate = t.gate(ready, input.predecessor_end);
    if let Some(g) = gate {
        let labeled = t.labeling_ms(g, now);
        let need_ms = t.ms_for(required);
        if now >= g && labeled >= need_ms {
            e.state = RunState::Completed;
            e.responses = required;
            e.completed_units = units;
            e.ended_at = t.time_at(g, need_ms, now).or(Some(now));
            return Ok(e);
        }
        e.responses = t.responses_in(labeled).min(required);
        let alloc = allocate_sorted(&e.needs, e.responses);
        e.completed_units = alloc
            .iter()
            .zip(e.needs.per_unit.iter())
            .filter(|(a, n)| a >= n)
            .count() as u64;
        if now >= g {
            e.state = RunState::Running;
        }
    }
    if let Some(end) = t.end {
        e.state = RunState::Failed;
        e.ended_at = Some(end);
    } else if t.paused() {
        e.state = RunState::Paused;
    } else if waiting_for_predecessor {
        e.state = RunState::Queued;
    }
    Ok(e)
}

/// How the labelers who answered the run so far did on each task of its validation set:
/// `(rapid id, answered right, answered wrong)` per task, in the set's order. Empty for a run
/// without a validation set.
pub(crate) fn validation_tally(
    conn: &Connection,
    input: &RunInput<'_>,
    eval: &Evaluation,
) -> ApiResult<Vec<(String, u64, u64)>> {
    let Some(set) = &input.validation else {
        return Ok(Vec::new());
    };
    let (_, _, units) = load_units(conn, input)?;
    let draws = Draws::new(input);
    let alloc = eval.allocation();
    let mut voters = std::collections::BTreeMap::new();
    for (i, unit) in units.iter().enumerate() {
        for j in 0..alloc.get(i).copied().unwrap_or(0) {
            let l = draws.vote(unit, j).labeler;
            voters.entry((l.pool, l.index)).or_insert(l.score);
        }
    }
    let mut tally: Vec<(String, u64, u64)> = set
        .tasks
        .iter()
        .map(|t| (t.rapid_id.clone(), 0, 0))
        .collect();
    for ((pool, index), score) in voters {
        for (t, right) in
            tally
                .iter_mut()
                .zip(set.answers(input.timeline.seed, &pool, index, score))
        {
            if right {
                t.1 += 1;
            } else {
                t.2 += 1;
            }
        }
    }
    Ok(tally)
}

impl Evaluation {
    /// Responses collected per unit so far.
    pub(super) fn allocation(&self) -> Vec<u32> {
        allocate_sorted(&self.needs, self.responses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_is_round_robin_over_open_units() {
        assert_eq!(allocate(&[3, 3, 3], 4), vec![2, 1, 1]);
        assert_eq!(allocate(&[1, 3, 3], 5), vec![1, 2, 2]);
        assert_eq!(allocate(&[1, 3, 3], 6), vec![1, 3, 2]);
        assert_eq!(allocate(&[1, 3, 3], 99), vec![1, 3, 3]);
        assert_eq!(allocate(&[], 5), Vec::<u32>::new());
        assert_eq!(allocate(&[2, 2], 0), vec![0, 0]);
    }
}
