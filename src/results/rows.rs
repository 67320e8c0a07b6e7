//! The rows a notebook loads as they are (`<job id>.jsonl` / `.csv`): one per manifest
//! datapoint, in manifest order, with the task's answer in columns of its own.
//!
//! The task type comes from the document's `info.type` (`info.orderType` in older
//! documents), as in the SDK's `RapidataResults._task_type`
//! (`rapidata_client/results/rapidata_results.py`); the answer columns follow what its
//! `to_pandas()` makes of each type:
//!
//! | type | columns |
//! |---|---|
//! | `Classification` | `label` (the option with the most votes; null on a tie), `labelShare`, `votes_<option>` |
//! | `Compare` | `winner` (the winning asset, as the manifest names it; null on a tie), `winnerShare` |
//! | `Ranking` | `rank` (1 = most votes in its group), `score` (its share of the group's votes) |
//! | `FreeText` | `texts` (one per response) |
//! | `Locate` | `points` (per response, its `{x, y}` points) |
//! | `Line` (draw) | `lines` (per response, its lines of `{x, y}` points) |
//! | `Transcription` (select words) | `selectedWords` (per response, its words) |
//! | `Scrub` (timestamp) | `times` (per response, its timestamps in ms) |
//!
//! Every row also has `key`, `source` (`file:line`), `asset` (`assetB` for compare),
//! `group`, `context`, `privateMetadata_<name>` (the SDK's flattening of
//! `privateMetadata`), `responses`, and the `job`, `jobId`, `revision` and `audience`
//! that produced the results. Every row has every column (null when it does not apply),
//! so the CSV and the JSONL have the same columns.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::join::{self, Row as Joined};
use crate::manifest::Datapoint;

/// What produced the results: on every row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Producer {
    /// The Job (or Order) manifest name.
    pub job: String,
    pub job_id: String,
    /// The definition revision the job ran (`None` for orders).
    pub revision: Option<u32>,
    /// The audience's name (its id when the manifests do not name it; `None` for orders).
    pub audience: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskType {
    Classify,
    Compare,
    Ranking,
    FreeText,
    Locate,
    Draw,
    SelectWords,
    Timestamp,
    /// A type this version does not know: `answers` holds the responses as they are.
    Other,
}

impl TaskType {
    /// The column that holds the answers of an open task.
    fn open_column(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            TaskType::FreeText => ("texts", "text"),
            TaskType::Locate => ("points", "coordinates"),
            TaskType::Draw => ("lines", "lines"),
            TaskType::SelectWords => ("selectedWords", "selectedWords"),
            TaskType::Timestamp => ("times", "timestamps"),
            TaskType::Other => ("answers", ""),
            _ => return None,
        })
    }
}

/// The task type of a results document.
pub fn task_type(document: &Value) -> TaskType {
    let info = document.get("info");
    let t = info
        .and_then(|i| i.get("type").or_else(|| i.get("orderType")))
        .and_then(Value::as_str)
        .unwrap_or("");
    match t {
        "Classification" | "Classify" => TaskType::Classify,
        "Compare" => TaskType::Compare,
        "Ranking" => TaskType::Ranking,
        "FreeText" => TaskType::FreeText,
        "Locate" => TaskType::Locate,
        "Line" | "Draw" => TaskType::Draw,
        "Transcription" | "SelectWords" => TaskType::SelectWords,
        "Scrub" | "Timestamp" => TaskType::Timestamp,
        _ => {
            // No (known) type: what the first response holds says it.
            let first = document
                .pointer("/results/0/detailedResults/0")
                .and_then(Value::as_object);
            let has = |k: &str| first.is_some_and(|m| m.contains_key(k));
            if has("selectedCategory") {
                TaskType::Classify
            } else if has("coordinates") {
                TaskType::Locate
            } else if has("lines") {
                TaskType::Draw
            } else if has("selectedWords") {
                TaskType::SelectWords
            } else if has("timestamps") {
                TaskType::Timestamp
            } else if has("text") {
                TaskType::FreeText
            } else {
                TaskType::Other
            }
        }
    }
}

/// The rows, and their columns in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub task: TaskType,
    pub columns: Vec<String>,
    pub rows: Vec<Map<String, Value>>,
    /// Per row: the share of the most common answer among its responses (classify,
    /// compare, free text, select words); `None` without responses or for answers that
    /// are not alike by equality (ranking, points, lines, times).
    pub agreement: Vec<Option<f64>>,
}

/// The share of the most common answer of an item (see [`Table::agreement`]).
fn agreement(task: TaskType, item: Option<&Value>) -> Option<f64> {
    let item = item?;
    let modal = |answers: Vec<String>| {
        let mut n: HashMap<&str, usize> = HashMap::new();
        for a in &answers {
            *n.entry(a.as_str()).or_default() += 1;
        }
        let max = n.values().copied().max()?;
        Some(round4(max as f64 / answers.len() as f64))
    };
    match task {
        TaskType::Classify | TaskType::Compare => {
            let c = counts(item);
            let total: f64 = c.iter().map(|x| x.1).sum();
            let max = c.iter().map(|x| x.1).fold(0.0f64, f64::max);
            (total > 0.0).then(|| round4(max / total))
        }
        TaskType::FreeText | TaskType::SelectWords => {
            let (_, field) = task.open_column()?;
            modal(
                item.get("detailedResults")?
                    .as_array()?
                    .iter()
                    .map(|r| open_answer(task, field, r).to_string())
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Votes per option of an item (`aggregatedResults`), in the document's order.
fn counts(item: &Value) -> Vec<(String, f64)> {
    item.get("aggregatedResults")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default()
}

/// The option with the single most votes: `None` when nothing was voted or the top is
/// tied (as the document's `winner`).
fn top(counts: &[(String, f64)]) -> Option<usize> {
    let max = counts.iter().map(|c| c.1).fold(0.0f64, f64::max);
    if max <= 0.0 {
        return None;
    }
    let mut at = counts.iter().enumerate().filter(|(_, c)| c.1 == max);
    let first = at.next().map(|(i, _)| i);
    at.next().is_none().then_some(first).flatten()
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The share of `option`'s votes: the document's `aggregatedResultsRatios`, else counted.
fn share(item: &Value, counts: &[(String, f64)], option: &str) -> Option<f64> {
    if let Some(r) = item
        .pointer("/aggregatedResultsRatios")
        .and_then(|m| m.get(option))
        .and_then(Value::as_f64)
    {
        return Some(r);
    }
    let total: f64 = counts.iter().map(|c| c.1).sum();
    let mine = counts.iter().find(|c| c.0 == option)?.1;
    (total > 0.0).then(|| round4(mine / total))
}

fn responses(item: &Value) -> u64 {
    match item.get("detailedResults").and_then(Value::as_array) {
        Some(d) => d.len() as u64,
        None => counts(item).iter().map(|c| c.1 as u64).sum(),
    }
}

/// Options voted on across the document, in order of first appearance (classify).
fn all_options(document: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items(document) {
        for (k, _) in counts(item) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    out
}

fn items(document: &Value) -> impl Iterator<Item = &Value> {
    document
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The answer columns of one row; `item` is `None` for a datapoint without results.
fn answer(
    row: &mut Map<String, Value>,
    task: TaskType,
    item: Option<&Value>,
    joined: Option<&Joined>,
    dp: Option<&Datapoint>,
    root: &Path,
    options: &[String],
) {
    let c = item.map(counts).unwrap_or_default();
    match task {
        TaskType::Classify => {
            let label = top(&c).map(|i| c[i].0.clone());
            let label_share = match (&label, item) {
                (Some(l), Some(item)) => share(item, &c, l).map(Value::from),
                _ => None,
            };
            row.insert(
                "label".into(),
                label.map(Value::from).unwrap_or(Value::Null),
            );
            row.insert("labelShare".into(), label_share.unwrap_or(Value::Null));
            for o in options {
                let n = c.iter().find(|x| &x.0 == o).map_or(0, |x| x.1 as u64);
                row.insert(format!("votes_{o}"), Value::from(n));
            }
        }
        TaskType::Compare => {
            let item_winner = item
                .and_then(|i| i.get("winner"))
                .and_then(Value::as_str)
                .map(str::to_string);
            // The document's winner, else the option with the most votes.
            let winner = item_winner.or_else(|| top(&c).map(|i| c[i].0.clone()));
            let winner_share = match (&winner, item) {
                (Some(w), Some(item)) => share(item, &c, w).map(Value::from),
                _ => None,
            };
            // As the manifest names the asset: the asset with that name, else its
            // position among the options.
            let named = winner.as_ref().map(|w| {
                dp.and_then(|dp| {
                    let pos = dp
                        .assets
                        .iter()
                        .position(|a| &join::asset_name(a) == w)
                        .or_else(|| {
                            c.iter()
                                .position(|x| &x.0 == w)
                                .filter(|i| *i < dp.assets.len() && c.len() >= dp.assets.len())
                        })?;
                    Some(join::asset_source(&dp.assets[pos], root))
                })
                .unwrap_or_else(|| w.clone())
            });
            row.insert(
                "winner".into(),
                named.map(Value::from).unwrap_or(Value::Null),
            );
            row.insert("winnerShare".into(), winner_share.unwrap_or(Value::Null));
        }
        TaskType::Ranking => {
            let option = joined.and_then(|j| j.option.as_deref());
            let (rank, score) = match (option, item) {
                (Some(o), Some(item)) => {
                    let mine = c.iter().find(|x| x.0 == o).map_or(0.0, |x| x.1);
                    let rank = 1 + c.iter().filter(|x| x.1 > mine).count() as u64;
                    (
                        Value::from(rank),
                        share(item, &c, o).map_or(Value::Null, Value::from),
                    )
                }
                _ => (Value::Null, Value::Null),
            };
            row.insert("rank".into(), rank);
            row.insert("score".into(), score);
        }
        open => {
            let (column, field) = open.open_column().unwrap_or(("answers", ""));
            let value = item.map(|item| {
                Value::Array(
                    item.get("detailedResults")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|r| open_answer(open, field, r))
                        .collect(),
                )
            });
            row.insert(column.into(), value.unwrap_or(Value::Null));
        }
    }
    row.insert(
        "responses".into(),
        Value::from(item.map(responses).unwrap_or(0)),
    );
}

/// One response of an open task: its answer field (the words of select words), else the
/// response without `userDetails`.
fn open_answer(task: TaskType, field: &str, response: &Value) -> Value {
    match response.get(field) {
        Some(Value::Array(words)) if task == TaskType::SelectWords => Value::Array(
            words
                .iter()
                .map(|w| w.get("word").cloned().unwrap_or_else(|| w.clone()))
                .collect(),
        ),
        Some(v) if !field.is_empty() => v.clone(),
        _ => {
            let mut r = response.clone();
            if let Some(m) = r.as_object_mut() {
                m.remove("userDetails");
            }
            r
        }
    }
}

/// The rows of one results document: every datapoint of the manifest in its order, then
/// the items joined to none (`key` null, with `unmatched`).
pub fn table(
    document: &Value,
    joined: &[Joined],
    manifest: &[Datapoint],
    root: &Path,
    producer: &Producer,
) -> Table {
    let task = task_type(document);
    let options = if task == TaskType::Classify {
        all_options(document)
    } else {
        Vec::new()
    };
    let by_index: HashMap<usize, &Joined> = joined
        .iter()
        .filter_map(|j| j.index.map(|i| (i, j)))
        .collect();
    let compare = task == TaskType::Compare;
    let mut rows = Vec::with_capacity(manifest.len());
    let mut agreements = Vec::with_capacity(manifest.len());
    for (i, dp) in manifest.iter().enumerate() {
        let j = by_index.get(&i).copied();
        let src = join::source(dp, root);
        let mut row = Map::new();
        row.insert("key".into(), Value::from(dp.key.clone()));
        row.insert(
            "source".into(),
            Value::from(format!("{}:{}", src.file, src.line)),
        );
        let assets: Vec<String> = dp
            .assets
            .iter()
            .map(|a| join::asset_source(a, root))
            .collect();
        row.insert(
            "asset".into(),
            assets.first().cloned().map_or(Value::Null, Value::from),
        );
        if compare {
            row.insert(
                "assetB".into(),
                assets.get(1).cloned().map_or(Value::Null, Value::from),
            );
        }
        row.insert(
            "group".into(),
            dp.group.clone().map_or(Value::Null, Value::from),
        );
        row.insert(
            "context".into(),
            dp.context.clone().map_or(Value::Null, Value::from),
        );
        for (k, v) in &dp.private_metadata {
            row.insert(format!("privateMetadata_{k}"), Value::from(v.clone()));
        }
        answer(
            &mut row,
            task,
            j.map(|j| &j.result),
            j,
            Some(dp),
            root,
            &options,
        );
        agreements.push(agreement(task, j.map(|j| &j.result)));
        producer_columns(&mut row, producer);
        row.insert(
            "datapointId".into(),
            j.and_then(|j| j.datapoint_id.clone())
                .map_or(Value::Null, Value::from),
        );
        rows.push(row);
    }
    for j in joined.iter().filter(|j| j.index.is_none()) {
        let mut row = Map::new();
        row.insert("key".into(), Value::Null);
        row.insert("source".into(), Value::Null);
        let name = j
            .result
            .get("originalFileName")
            .or_else(|| j.result.get("identifier"))
            .cloned()
            .unwrap_or(Value::Null);
        row.insert("asset".into(), name);
        row.insert(
            "group".into(),
            j.group.clone().map_or(Value::Null, Value::from),
        );
        row.insert(
            "context".into(),
            j.result.get("context").cloned().unwrap_or(Value::Null),
        );
        answer(
            &mut row,
            task,
            Some(&j.result),
            Some(j),
            None,
            root,
            &options,
        );
        agreements.push(agreement(task, Some(&j.result)));
        producer_columns(&mut row, producer);
        row.insert("datapointId".into(), Value::Null);
        row.insert(
            "unmatched".into(),
            j.unmatched.clone().map_or(Value::Null, Value::from),
        );
        rows.push(row);
    }
    // Every row gets every column: a column only some rows have goes after the column
    // before it in those rows (privateMetadata stays ahead of the answer).
    let mut columns: Vec<String> = Vec::new();
    for r in &rows {
        let mut at = 0;
        for k in r.keys() {
            match columns.iter().position(|c| c == k) {
                Some(p) => at = p + 1,
                None => {
                    columns.insert(at, k.clone());
                    at += 1;
                }
            }
        }
    }
    let rows = rows
        .into_iter()
        .map(|mut r| {
            columns
                .iter()
                .map(|c| (c.clone(), r.remove(c).unwrap_or(Value::Null)))
                .collect()
        })
        .collect();
    Table {
        task,
        columns,
        rows,
        agreement: agreements,
    }
}

fn producer_columns(row: &mut Map<String, Value>, p: &Producer) {
    row.insert("job".into(), Value::from(p.job.clone()));
    row.insert("jobId".into(), Value::from(p.job_id.clone()));
    row.insert(
        "revision".into(),
        p.revision.map_or(Value::Null, Value::from),
    );
    row.insert(
        "audience".into(),
        p.audience.clone().map_or(Value::Null, Value::from),
    );
}

/// JSON Lines: `pd.read_json(path, lines=True)`.
pub fn to_jsonl(t: &Table) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    for r in &t.rows {
        serde_json::to_writer(&mut out, r)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// CSV with a header: `pd.read_csv(path)`. Null is an empty field; lists and objects
/// (the shapes, texts and words of open tasks) are JSON.
pub fn to_csv(t: &Table) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&t.columns)?;
    for r in &t.rows {
        w.write_record(t.columns.iter().map(|c| match r.get(c) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }))?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn joined(doc: &Value) -> Vec<Joined> {
        join::rows(doc, &[], &[], Path::new("/root"))
    }

    #[test]
    fn a_tied_classification_has_no_label_and_votes_per_option() {
        let doc = json!({"info": {"type": "Classification"}, "results": [
            {"identifier": "a.png", "aggregatedResults": {"cat": 1, "dog": 1},
             "detailedResults": [{}, {}]},
            {"identifier": "b.png", "aggregatedResults": {"cat": 2, "dog": 1, "bird": 0},
             "aggregatedResultsRatios": {"cat": 0.6667, "dog": 0.3333, "bird": 0.0},
             "detailedResults": [{}, {}, {}]},
        ]});
        let t = table(
            &doc,
            &joined(&doc),
            &[],
            Path::new("/root"),
            &Producer::default(),
        );
        assert_eq!(t.task, TaskType::Classify);
        assert_eq!(t.rows[0]["label"], Value::Null);
        assert_eq!(t.rows[0]["votes_bird"], 0, "every row has every option");
        assert_eq!(t.rows[1]["label"], "cat");
        assert_eq!(t.rows[1]["labelShare"], 0.6667);
        assert_eq!(t.rows[1]["responses"], 3);
        // Unmatched items keep their asset name and say why.
        assert_eq!(t.rows[1]["asset"], "b.png");
        assert!(t.rows[1]["unmatched"].is_string());
    }

    #[test]
    fn ranks_share_a_place_on_equal_votes() {
        let doc = json!({"info": {"type": "Ranking"}, "results": [
            {"identifier": "g", "aggregatedResults": {"a": 3, "b": 1, "c": 3}},
        ]});
        let mut j = joined(&doc);
        let base = j.remove(0);
        let j: Vec<Joined> = ["a", "b", "c"]
            .iter()
            .map(|o| Joined {
                option: Some(o.to_string()),
                ..base.clone()
            })
            .collect();
        let t = table(&doc, &j, &[], Path::new("/root"), &Producer::default());
        let ranks: Vec<&Value> = t.rows.iter().map(|r| &r["rank"]).collect();
        assert_eq!(ranks, [&json!(1), &json!(3), &json!(1)]);
        assert_eq!(t.rows[1]["score"], 0.1429);
    }

    #[test]
    fn the_type_comes_from_the_responses_when_info_has_none() {
        let doc = json!({"results": [{"detailedResults": [{"timestamps": [1.0]}]}]});
        assert_eq!(task_type(&doc), TaskType::Timestamp);
        assert_eq!(
            task_type(&json!({"info": {"orderType": "Line"}})),
            TaskType::Draw
        );
    }

    #[test]
    fn csv_has_the_jsonl_columns_with_lists_as_json() {
        let doc = json!({"info": {"type": "FreeText"}, "results": [
            {"identifier": "t, \"quoted\"", "detailedResults": [{"text": "a"}, {"text": "b"}]},
        ]});
        let t = table(
            &doc,
            &joined(&doc),
            &[],
            Path::new("/root"),
            &Producer::default(),
        );
        let csv = String::from_utf8(to_csv(&t).unwrap()).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next().unwrap(), t.columns.join(","));
        let row = lines.next().unwrap();
        assert!(row.contains(r#""[""a"",""b""]""#), "{row}");
        assert!(row.contains(r#""t, ""quoted""""#), "{row}");
        let jsonl = String::from_utf8(to_jsonl(&t).unwrap()).unwrap();
        assert!(jsonl.contains(r#""texts":["a","b"]"#), "{jsonl}");
    }
}
