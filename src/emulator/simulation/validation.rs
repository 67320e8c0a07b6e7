//! Validation sets in a run: labelers working on a job whose revision names a validation set
//! also answer that set's tasks (whose answers are known), and are scored by them.
//!
//! Each labeler who answers the job answers every task of the set once. A labeler of
//! reliability `s` knows the answer with probability `s`; otherwise it guesses, and a guess is
//! right with the task's `randomCorrectProbability` (what the SDK sends: `len(truths) /
//! len(answer_options)` for classification, 0.5 for compare;
//! `rapidata_client/validation/rapids/rapids_manager.py`). The share of tasks a labeler got
//! right is its measured accuracy: it is reported as its `userScores` in the set's dimensions
//! (the default dimension, `global`, when the set has none) and weighs its votes wherever the
//! results weigh by user score (`summedUserScores`, the early-stopping confidence).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::draw::rng;

/// One task of a validation set, as a run keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ValidationTask {
    #[serde(rename = "rapidId")]
    pub rapid_id: String,
    /// Chance that a guess is right.
    #[serde(rename = "randomCorrectProbability")]
    pub random_correct: f64,
}

/// The validation set of a run, snapshotted when the job is created (stored under
/// `_run.validationSet`), so that editing or deleting the set never changes a job's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ValidationSnapshot {
    pub id: String,
    pub dimensions: Vec<String>,
    pub tasks: Vec<ValidationTask>,
}

impl ValidationSnapshot {
    pub fn of(run: &Value) -> Option<ValidationSnapshot> {
        serde_json::from_value(run.get("validationSet")?.clone()).ok()
    }

    /// Whether the labeler (`pool`, `index`, reliability `score`) answers each task correctly.
    pub fn answers(&self, seed: u64, pool: &str, index: u64, score: f64) -> Vec<bool> {
        self.tasks
            .iter()
            .map(|t| {
                let mut r = rng(
                    seed,
                    "validation",
                    &format!("{}/{pool}", t.rapid_id),
                    &[index],
                );
                let knows = r.f64() < score;
                knows || r.f64() < t.random_correct
            })
            .collect()
    }

    /// The measured accuracy of a labeler on the set: the share of its tasks answered right;
    /// `None` for a set without tasks.
    pub fn accuracy(&self, seed: u64, pool: &str, index: u64, score: f64) -> Option<f64> {
        let answers = self.answers(seed, pool, index, score);
        (!answers.is_empty())
            .then(|| answers.iter().filter(|a| **a).count() as f64 / answers.len() as f64)
    }

    /// The `userScores` dimensions the measured accuracy is reported under.
    pub fn score_dimensions(&self) -> Vec<String> {
        if self.dimensions.is_empty() {
            vec!["global".to_string()]
        } else {
            self.dimensions.clone()
        }
    }
}

/// The chance that a guess answers a task right: the task's `randomCorrectProbability`, else
/// one over the number of answer options of its payload (0 for open tasks).
pub(crate) fn random_correct(rapid: &Value) -> f64 {
    if let Some(p) = rapid
        .get("randomCorrectProbability")
        .and_then(Value::as_f64)
    {
        return p.clamp(0.0, 1.0);
    }
    let payload = rapid.get("payload").unwrap_or(&Value::Null);
    match payload.get("_t").and_then(Value::as_str) {
        Some("ClassifyPayload") => {
            let k = payload
                .get("categories")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let right = rapid
                .get("truth")
                .and_then(|t| t.get("correctCategories"))
                .and_then(Value::as_array)
                .map_or(1, |c| c.len().max(1));
            if k == 0 {
                0.0
            } else {
                (right as f64 / k as f64).min(1.0)
            }
        }
        Some("ComparePayload") => 0.5,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(n: usize, p: f64) -> ValidationSnapshot {
        ValidationSnapshot {
            id: "vs".into(),
            dimensions: vec![],
            tasks: (0..n)
                .map(|i| ValidationTask {
                    rapid_id: format!("r{i}"),
                    random_correct: p,
                })
                .collect(),
        }
    }

    #[test]
    fn accuracy_follows_reliability_and_guessing() {
        let s = set(400, 0.0);
        let perfect = s.accuracy(1, "global", 7, 1.0).unwrap();
        assert_eq!(perfect, 1.0);
        assert_eq!(s.accuracy(1, "global", 7, 0.0).unwrap(), 0.0);
        let mid = s.accuracy(1, "global", 7, 0.6).unwrap();
        assert!((0.5..0.7).contains(&mid), "{mid}");
        // Guessing between two options: a labeler who knows nothing is right about half the time.
        let coin = set(400, 0.5).accuracy(1, "global", 7, 0.0).unwrap();
        assert!((0.4..0.6).contains(&coin), "{coin}");
        // Deterministic per labeler, different between labelers.
        assert_eq!(
            s.answers(1, "global", 7, 0.6),
            s.answers(1, "global", 7, 0.6)
        );
        assert_ne!(
            s.answers(1, "global", 7, 0.6),
            s.answers(1, "global", 8, 0.6)
        );
        assert_eq!(set(0, 0.5).accuracy(1, "global", 7, 0.6), None);
    }

    #[test]
    fn guess_chance_from_the_rapid() {
        let classify = json!({"payload": {"_t": "ClassifyPayload", "title": "t",
            "categories": [{"label": "a"}, {"label": "b"}, {"label": "c"}, {"label": "d"}]},
            "truth": {"_t": "AttachCategoryTruth", "correctCategories": ["a"]}});
        assert_eq!(random_correct(&classify), 0.25);
        let mut given = classify.clone();
        given["randomCorrectProbability"] = json!(0.5);
        assert_eq!(random_correct(&given), 0.5);
        assert_eq!(
            random_correct(&json!({"payload": {"_t": "ComparePayload", "criteria": "c"}})),
            0.5
        );
        assert_eq!(
            random_correct(&json!({"payload": {"_t": "FreeTextPayload"}})),
            0.0
        );
        assert_eq!(set(1, 0.0).score_dimensions(), vec!["global"]);
    }
}
