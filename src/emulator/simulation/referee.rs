//! Referees: how many responses a datapoint needs, and when it may stop early.

use serde_json::Value;

/// A revision's or order's referee (`IReferee`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Referee {
    /// Exactly `votes` responses per datapoint.
    Naive { votes: u32 },
    /// Stops once `threshold` responses agree, at `max` at the latest.
    Quorum { max: u32, threshold: u32 },
    /// Stops once the confidence in one answer reaches `threshold`, at `max` at the latest.
    EarlyStopping { max: u32, threshold: f64 },
    /// `total` responses over the whole run, spread evenly over the datapoints.
    Budget { total: u64 },
}

impl Referee {
    pub fn parse(v: &Value) -> Option<Referee> {
        let int = |k: &str| v.get(k).and_then(Value::as_u64);
        Some(match v.get("_t")?.as_str()? {
            "NaiveReferee" => Referee::Naive {
                votes: int("totalVotes")? as u32,
            },
            "QuorumReferee" => Referee::Quorum {
                max: int("maxVotes")? as u32,
                threshold: int("threshold")? as u32,
            },
            "EarlyStoppingReferee" => Referee::EarlyStopping {
                max: int("maxVotes")? as u32,
                threshold: v.get("threshold")?.as_f64()?,
            },
            "BudgetReferee" => Referee::Budget {
                total: int("totalBudget")?,
            },
            _ => return None,
        })
    }

    /// The most responses datapoint `index` of `count` can get.
    pub fn cap(&self, index: u64, count: u64) -> u32 {
        match *self {
            Referee::Naive { votes } => votes,
            Referee::Quorum { max, .. } | Referee::EarlyStopping { max, .. } => max,
            Referee::Budget { total } => match total.checked_div(count) {
                Some(each) => (each + u64::from(index < total % count)) as u32,
                None => 0,
            },
        }
    }

    /// `requiredResponses` of a cost estimate: the responses the referee requires at most.
    pub fn required_responses(&self, count: u64) -> u64 {
        match *self {
            Referee::Budget { total } => total,
            _ => u64::from(self.cap(0, count)) * count,
        }
    }

    /// Whether the referee may stop a datapoint before its cap (so votes must be simulated
    /// to know how many it needs).
    pub fn stops_early(&self) -> bool {
        matches!(self, Referee::Quorum { .. } | Referee::EarlyStopping { .. })
    }

    /// Whether results report `confidencePerCategory` (confidence-based stopping).
    pub fn reports_confidence(&self) -> bool {
        matches!(self, Referee::EarlyStopping { .. })
    }

    /// Whether a datapoint with these categorical votes `(choice, labeler score)` over
    /// `options` answers is done.
    pub fn done(&self, votes: &[(usize, f64)], options: usize, cap: u32) -> bool {
        if votes.len() as u32 >= cap {
            return true;
        }
        match *self {
            Referee::Quorum { threshold, .. } => {
                let mut counts = vec![0u32; options.max(1)];
                for (c, _) in votes {
                    if let Some(n) = counts.get_mut(*c) {
                        *n += 1;
                    }
                }
                counts.iter().any(|n| *n >= threshold)
            }
            Referee::EarlyStopping { threshold, .. } => {
                confidence(votes, options).iter().any(|c| *c >= threshold)
            }
            _ => false,
        }
    }
}

/// Posterior probability of each answer being right, from a uniform prior and votes whose
/// labeler answers correctly with probability `score` (else uniformly one of the others).
pub(crate) fn confidence(votes: &[(usize, f64)], options: usize) -> Vec<f64> {
    if options < 2 {
        return vec![1.0; options];
    }
    let mut log = vec![0.0f64; options];
    for (choice, score) in votes {
        let s = score.clamp(0.01, 0.99);
        let other = ((1.0 - s) / (options as f64 - 1.0)).ln();
        for (c, l) in log.iter_mut().enumerate() {
            *l += if c == *choice { s.ln() } else { other };
        }
    }
    let max = log.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = log.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_responses_per_referee() {
        let r = |v| Referee::parse(&v).unwrap();
        assert_eq!(
            r(json!({"_t": "NaiveReferee", "totalVotes": 3})).required_responses(2),
            6
        );
        assert_eq!(
            r(json!({"_t": "QuorumReferee", "maxVotes": 7, "threshold": 3})).required_responses(4),
            28
        );
        assert_eq!(
            r(json!({"_t": "EarlyStoppingReferee", "maxVotes": 5, "threshold": 0.99}))
                .required_responses(3),
            15
        );
        let b = r(json!({"_t": "BudgetReferee", "totalBudget": 10}));
        assert_eq!(b.required_responses(3), 10);
        assert_eq!(
            (0..3).map(|i| b.cap(i, 3)).collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        assert!(Referee::parse(&json!({"_t": "Other"})).is_none());
    }

    #[test]
    fn early_stopping_stops_on_agreement_not_on_disagreement() {
        let es = Referee::EarlyStopping {
            max: 10,
            threshold: 0.99,
        };
        let agree: Vec<(usize, f64)> = vec![(0, 0.9); 3];
        assert!(es.done(&agree, 2, 10));
        assert!(!es.done(&agree[..1], 2, 10));
        assert!(!es.done(&[(0, 0.9), (1, 0.9), (0, 0.9)], 2, 10));
        let q = Referee::Quorum {
            max: 7,
            threshold: 3,
        };
        assert!(q.done(&[(1, 0.7), (0, 0.7), (1, 0.7), (1, 0.7)], 2, 7));
        assert!(!q.done(&[(1, 0.7), (0, 0.7), (1, 0.7)], 2, 7));
        let c = confidence(&[(0, 0.8), (0, 0.8)], 2);
        assert!((c[0] - 0.64 / 0.68).abs() < 1e-9, "{c:?}");
    }
}
