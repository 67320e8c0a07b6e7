//! The results document of `download-results`, in the format of Rapidata's
//! "Interpreting the Results" page (`third_party/sdk-docs/understanding_the_results.md`) and the
//! SDK's `RapidataResults` (`rapidata_client/results/rapidata_results.py`): `info`, one item of
//! `results` per datapoint (per group for ranking) and a `summary`.

use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::labelers::round4;
use super::referee::confidence;
use super::run::{load_units, Draws, Evaluation, RunInput};
use super::tasks::{Kind, Unit};
use crate::emulator::http::ApiResult;

/// Version of the aggregator the document claims (winnerIndex and weightedWinner exist).
const AGGREGATOR_VERSION: &str = "4.1.0";

/// The results collected so far (all of them once the run completed).
pub(crate) fn results_document(
    conn: &Connection,
    input: &RunInput<'_>,
    eval: &Evaluation,
    name: &str,
    created_at: &str,
) -> ApiResult<Value> {
    let (task, referee, units) = load_units(conn, input)?;
    let draws = Draws::new(input);
    let alloc = eval.allocation();
    let mut results = Vec::with_capacity(units.len());
    let mut summary: Map<String, Value> = Map::new();
    let (mut a_wins, mut b_wins) = (0u64, 0u64);
    for (i, unit) in units.iter().enumerate() {
        let n = alloc.get(i).copied().unwrap_or(0);
        let votes: Vec<_> = (0..n).map(|j| draws.vote(unit, j)).collect();
        let mut item = Map::new();
        if let Some(c) = &unit.context {
            item.insert("context".into(), Value::from(c.clone()));
        }
        if task.categorical() {
            categorical(
                &mut item,
                unit,
                &votes,
                &task.kind,
                referee.reports_confidence(),
            );
            match task.kind {
                Kind::Classify { .. } => {
                    for (k, v) in item["aggregatedResults"].as_object().into_iter().flatten() {
                        let sum = summary.get(k).and_then(Value::as_u64).unwrap_or(0);
                        summary.insert(k.clone(), Value::from(sum + v.as_u64().unwrap_or(0)));
                    }
                }
                _ => match item.get("winnerIndex").and_then(Value::as_u64) {
                    Some(0) => a_wins += 1,
                    Some(1) => b_wins += 1,
                    _ => {}
                },
            }
        } else {
            identity(&mut item, unit);
            let detailed: Vec<Value> = votes
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    let mut d = task.answer(unit, &mut draws.answer_rng(unit, j as u32));
                    d["userDetails"] = v.labeler.details();
                    d
                })
                .collect();
            item.insert("detailedResults".into(), Value::Array(detailed));
        }
        results.push(Value::Object(item));
    }
    let summary = match task.kind {
        Kind::Classify { .. } => Value::Object(summary),
        Kind::Compare | Kind::Ranking => json!({"A_wins_total": a_wins, "B_wins_total": b_wins}),
        Kind::Open(_) => json!({"responses": eval.responses, "datapoints": units.len()}),
    };
    Ok(json!({
        "info": {
            "createdAt": created_at,
            "version": AGGREGATOR_VERSION,
            "type": task.info_type(),
            "name": name,
            "instruction": task.instruction,
        },
        "results": results,
        "summary": summary,
    }))
}

/// `identifier`, `originalFileName` and `assetUrl` of a single-asset datapoint.
fn identity(item: &mut Map<String, Value>, unit: &Unit) {
    item.insert("identifier".into(), Value::from(unit.identifier.clone()));
    if let Some(f) = &unit.original_file {
        item.insert("originalFileName".into(), Value::from(f.clone()));
    }
    if let Some(u) = &unit.asset_url {
        item.insert("assetUrl".into(), Value::from(u.clone()));
    }
}

fn ratios(values: &[f64]) -> Vec<f64> {
    let sum: f64 = values.iter().sum();
    values
        .iter()
        .map(|v| if sum > 0.0 { round4(v / sum) } else { 0.0 })
        .collect()
}

fn by_option(options: &[String], values: &[f64], integer: bool) -> Value {
    Value::Object(
        options
            .iter()
            .zip(values)
            .map(|(o, v)| {
                let v = if integer {
                    Value::from(*v as u64)
                } else {
                    Value::from(round4(*v))
                };
                (o.clone(), v)
            })
            .collect(),
    )
}

/// The index of the single largest value; `None` when nothing was voted or the top is tied.
fn argmax(values: &[f64]) -> Option<usize> {
    let max = values.iter().copied().fold(0.0f64, f64::max);
    if max <= 0.0 {
        return None;
    }
    let top: Vec<usize> = (0..values.len()).filter(|i| values[*i] == max).collect();
    (top.len() == 1).then(|| top[0])
}

fn categorical(
    item: &mut Map<String, Value>,
    unit: &Unit,
    votes: &[super::run::Vote],
    kind: &Kind,
    with_confidence: bool,
) {
    let options = &unit.options;
    let mut counts = vec![0.0f64; options.len()];
    let mut scores = vec![0.0f64; options.len()];
    for v in votes {
        if let Some(c) = v.choice {
            counts[c] += 1.0;
            scores[c] += v.labeler.weight();
        }
    }
    let classify = matches!(kind, Kind::Classify { .. });
    if classify {
        identity(item, unit);
    } else {
        let winner = argmax(&counts);
        let weighted = argmax(&scores);
        let name = |i: Option<usize>| {
            i.map(|i| Value::from(options[i].clone()))
                .unwrap_or(Value::Null)
        };
        item.insert("winner".into(), name(winner));
        item.insert(
            "winnerIndex".into(),
            winner.map(Value::from).unwrap_or(Value::Null),
        );
        item.insert("weightedWinner".into(), name(weighted));
        item.insert(
            "weightedWinnerIndex".into(),
            weighted.map(Value::from).unwrap_or(Value::Null),
        );
        item.insert(
            "winner_index".into(),
            winner.map(Value::from).unwrap_or(Value::Null),
        );
        if !unit.asset_urls.is_empty() {
            item.insert(
                "assetUrls".into(),
                Value::Object(
                    unit.asset_urls
                        .iter()
                        .map(|(k, u)| (k.clone(), Value::from(u.clone())))
                        .collect(),
                ),
            );
        }
    }
    item.insert(
        "aggregatedResults".into(),
        by_option(options, &counts, true),
    );
    item.insert(
        "aggregatedResultsRatios".into(),
        by_option(options, &ratios(&counts), false),
    );
    item.insert(
        "summedUserScores".into(),
        by_option(options, &scores, false),
    );
    item.insert(
        "summedUserScoresRatios".into(),
        by_option(options, &ratios(&scores), false),
    );
    if classify && with_confidence {
        let pairs: Vec<(usize, f64)> = votes
            .iter()
            .filter_map(|v| v.choice.map(|c| (c, v.labeler.weight())))
            .collect();
        item.insert(
            "confidencePerCategory".into(),
            by_option(options, &confidence(&pairs, options.len()), false),
        );
    }
    let key = if classify {
        "selectedCategory"
    } else {
        "votedFor"
    };
    let detailed: Vec<Value> = votes
        .iter()
        .filter_map(|v| {
            v.choice
                .map(|c| json!({key: options[c], "userDetails": v.labeler.details()}))
        })
        .collect();
    item.insert("detailedResults".into(), Value::Array(detailed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winners_are_null_on_ties_and_without_votes() {
        assert_eq!(argmax(&[0.0, 0.0]), None);
        assert_eq!(argmax(&[2.0, 2.0]), None);
        assert_eq!(argmax(&[1.0, 3.0]), Some(1));
        assert_eq!(ratios(&[1.0, 3.0]), vec![0.25, 0.75]);
    }
}
