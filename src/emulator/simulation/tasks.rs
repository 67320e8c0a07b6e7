//! What labelers are asked, per task type: the answer options of each datapoint (categorical
//! tasks) or the shape of a free answer (open tasks), read from the workflow and the
//! datapoint's stored segments.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::emulator::datapoints::SimRow;

/// Where the emulator pretends uploaded files are hosted (`assetUrl`, `assetUrls`).
pub(crate) const ASSET_HOST: &str = "https://assets.rapidata.emulator/";

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Votes over categories (literal, or the datapoint's option-list segment).
    Classify {
        literal: Vec<String>,
        segment: Option<String>,
    },
    /// Votes over the two assets of the datapoint.
    Compare,
    /// Votes over the assets of a datapoint group.
    Ranking,
    /// Free answers of this rapid type (`FreeText`, `Locate`, ...), or `Evaluation`.
    Open(String),
}

/// The task a run asks, from its workflow.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub kind: Kind,
    asset_segment: String,
    context_segment: Option<String>,
    context_literal: Option<String>,
    transcription_segment: String,
    classes: Vec<String>,
    pub instruction: String,
}

/// One thing labelers answer: a datapoint, or a group of datapoints for ranking.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub seq: i64,
    pub options: Vec<String>,
    /// Option → hosted URL, for file assets.
    pub asset_urls: Vec<(String, String)>,
    pub identifier: String,
    pub original_file: Option<String>,
    pub asset_url: Option<String>,
    pub context: Option<String>,
    text: Option<String>,
}

fn binding_text(b: Option<&Value>) -> Option<String> {
    b?.get("literal")?.as_str().map(String::from)
}

fn binding_segment(b: Option<&Value>) -> Option<String> {
    b?.get("segment")?.as_str().map(String::from)
}

impl Task {
    pub fn from_workflow(workflow: &Value) -> Task {
        let rapid = workflow.get("rapid").unwrap_or(&Value::Null);
        let wf = workflow.get("_t").and_then(Value::as_str).unwrap_or("");
        let rapid_t = rapid.get("_t").and_then(Value::as_str).unwrap_or("");
        let kind = match (wf, rapid_t) {
            ("GroupedRankingWorkflow", _) => Kind::Ranking,
            ("EvaluationWorkflow", _) => Kind::Open("Evaluation".into()),
            (_, "Classify") => {
                let cats = rapid.get("categories");
                Kind::Classify {
                    literal: cats
                        .and_then(|c| c.get("literal"))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|o| o.get("label").and_then(Value::as_str))
                        .map(String::from)
                        .collect(),
                    segment: binding_segment(cats),
                }
            }
            (_, "Compare") => Kind::Compare,
            (_, "") => Kind::Open("Unknown".into()),
            (_, other) => Kind::Open(other.into()),
        };
        let instruction_key = match rapid_t {
            "Classify" | "Transcription" => "title",
            "Compare" => "criteria",
            "FreeText" => "question",
            _ => "target",
        };
        let instruction = if wf == "GroupedRankingWorkflow" {
            workflow
                .get("criteria")
                .and_then(Value::as_str)
                .map(String::from)
        } else {
            binding_text(rapid.get(instruction_key))
        };
        Task {
            kind,
            asset_segment: binding_segment(rapid.get("asset")).unwrap_or_else(|| "asset".into()),
            context_segment: binding_segment(rapid.get("context")),
            context_literal: binding_text(rapid.get("context")),
            transcription_segment: binding_segment(rapid.get("transcription"))
                .unwrap_or_else(|| "transcription".into()),
            classes: rapid
                .get("classes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            instruction: instruction.unwrap_or_default(),
        }
    }

    /// `info.type` of the results document.
    pub fn info_type(&self) -> String {
        match &self.kind {
            Kind::Classify { .. } => "Classification".into(),
            Kind::Compare => "Compare".into(),
            Kind::Ranking => "Ranking".into(),
            Kind::Open(t) => t.clone(),
        }
    }

    pub fn categorical(&self) -> bool {
        !matches!(self.kind, Kind::Open(_))
    }

    /// The units of a dataset's rows, in order.
    pub fn units(&self, rows: &[SimRow]) -> Vec<Unit> {
        if self.kind == Kind::Ranking {
            let mut groups: BTreeMap<(i64, String), Vec<&SimRow>> = BTreeMap::new();
            let mut first: BTreeMap<String, i64> = BTreeMap::new();
            for r in rows {
                let g = r.group.clone().unwrap_or_else(|| format!("#{}", r.seq));
                let f = *first.entry(g.clone()).or_insert(r.seq);
                groups.entry((f, g)).or_default().push(r);
            }
            return groups
                .into_iter()
                .map(|((seq, group), members)| {
                    let mut unit = self.unit(seq, members[0]);
                    unit.identifier = group;
                    unit.options.clear();
                    unit.asset_urls.clear();
                    for m in members {
                        let segs = parse(&m.segments);
                        if let Some(a) =
                            segment(&segs, &self.asset_segment).and_then(|s| s.get("asset"))
                        {
                            let (name, url, _) = describe(a);
                            if let Some(u) = url {
                                unit.asset_urls.push((name.clone(), u));
                            }
                            unit.options.push(name);
                        }
                    }
                    unit
                })
                .collect();
        }
        rows.iter().map(|r| self.unit(r.seq, r)).collect()
    }

    fn unit(&self, seq: i64, row: &SimRow) -> Unit {
        let segs = parse(&row.segments);
        let asset = segment(&segs, &self.asset_segment).and_then(|s| s.get("asset"));
        let (identifier, asset_url, original_file) = asset.map(describe).unwrap_or_default();
        let text_of = |key: &str| {
            segment(&segs, key)
                .and_then(|s| s.get("originalText"))
                .and_then(Value::as_str)
                .map(String::from)
        };
        let context = match &self.context_segment {
            Some(key) => text_of(key),
            None => self.context_literal.clone(),
        };
        let mut options = Vec::new();
        let mut asset_urls = Vec::new();
        match &self.kind {
            Kind::Classify {
                literal,
                segment: seg,
            } => {
                options = seg
                    .as_deref()
                    .and_then(|k| segment(&segs, k))
                    .and_then(|s| s.get("options"))
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|o| o.get("label").and_then(Value::as_str))
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_else(|| literal.clone());
            }
            Kind::Compare => {
                for child in asset
                    .and_then(|a| a.get("assets"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let (name, url, _) = describe(child);
                    if let Some(u) = url {
                        asset_urls.push((name.clone(), u));
                    }
                    options.push(name);
                }
            }
            _ => {}
        }
        Unit {
            seq,
            options,
            asset_urls,
            identifier,
            original_file,
            asset_url,
            context,
            text: text_of(&self.transcription_segment),
        }
    }

    /// A free answer to an open task (what one labeler submitted).
    pub fn answer(&self, unit: &Unit, r: &mut fastrand::Rng) -> Value {
        let mut p = || (r.f64() * 1000.0).round() / 1000.0;
        let Kind::Open(t) = &self.kind else {
            return Value::Null;
        };
        match t.as_str() {
            "Locate" => json!({"coordinates": [{"x": p(), "y": p()}]}),
            "BoundingBox" => {
                let (x, y) = (p() * 0.5, p() * 0.5);
                json!({"boxes": [{"xMin": x, "yMin": y, "xMax": x + 0.25, "yMax": y + 0.25}]})
            }
            "Line" => json!({"lines": [[{"x": p(), "y": p()}, {"x": p(), "y": p()}]]}),
            "Polygon" => {
                json!({"polygons": [[{"x": p(), "y": p()}, {"x": p(), "y": p()}, {"x": p(), "y": p()}]]})
            }
            "Scrub" => json!({"timestamps": [(p() * 10_000.0).round()]}),
            "Evaluation" => json!({"correct": p() < 0.8}),
            "NamedEntity" => {
                let class = if self.classes.is_empty() {
                    "Entity".to_string()
                } else {
                    self.classes[(p() * self.classes.len() as f64) as usize % self.classes.len()]
                        .clone()
                };
                let start = (p() * 10.0) as u64;
                json!({"entities": [{"class": class, "start": start, "end": start + 1 + (p() * 5.0) as u64}]})
            }
            "Transcription" => {
                let words: Vec<&str> = unit
                    .text
                    .as_deref()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                let picked: Vec<usize> = (0..words.len()).filter(|_| p() < 0.3).collect();
                json!({"selectedWords": picked.iter().map(|i| json!({"index": i, "word": words[*i]})).collect::<Vec<_>>()})
            }
            _ => {
                const PHRASES: &[&str] = &[
                    "yes",
                    "no",
                    "looks fine",
                    "not sure",
                    "a cat",
                    "blurry",
                    "clear",
                ];
                json!({"text": PHRASES[(p() * PHRASES.len() as f64) as usize % PHRASES.len()]})
            }
        }
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn segment<'a>(segs: &'a Value, key: &str) -> Option<&'a Value> {
    segs.as_array()?
        .iter()
        .find(|s| s.get("key").and_then(Value::as_str) == Some(key))
}

/// `(name, hosted url, original file name)` of a stored `IAsset`: the name is the source URL,
/// the original file name or the text, as in Rapidata's results.
fn describe(asset: &Value) -> (String, Option<String>, Option<String>) {
    let meta = asset.get("metadata");
    let text = |k: &str, f: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .map(String::from)
    };
    match asset.get("_t").and_then(Value::as_str) {
        Some("FileAsset") => {
            let file = asset.get("fileName").and_then(Value::as_str).unwrap_or("");
            let original = text("originalFilename", "originalFilename");
            let name = text("sourceUrl", "url")
                .or_else(|| original.clone())
                .unwrap_or_else(|| file.to_string());
            (name, Some(format!("{ASSET_HOST}{file}")), original)
        }
        Some("TextAsset") => (
            asset
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            None,
            None,
        ),
        _ => (
            asset
                .get("identifier")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            None,
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, segments: Value) -> SimRow {
        SimRow {
            seq,
            group: None,
            segments: segments.to_string(),
        }
    }

    #[test]
    fn classify_options_come_from_the_datapoint_segment() {
        let task = Task::from_workflow(&json!({"_t": "SimpleWorkflow", "rapid": {"_t": "Classify",
            "asset": {"segment": "asset"}, "title": {"literal": "Cat?"}, "categories": {"segment": "answer_options"},
            "context": {"segment": "context"}}}));
        let units = task.units(&[row(1, json!([
            {"key": "asset", "kind": "Asset", "asset": {"_t": "TextAsset", "text": "I love it", "metadata": {}, "identifier": "I love it"}},
            {"key": "context", "kind": "Text", "originalText": "review", "englishText": "review"},
            {"key": "answer_options", "kind": "OptionList", "options": [{"label": "yes", "value": "yes"}, {"label": "no", "value": "no"}]}]))]);
        assert_eq!(task.info_type(), "Classification");
        assert_eq!(task.instruction, "Cat?");
        assert_eq!(units[0].options, vec!["yes", "no"]);
        assert_eq!(units[0].identifier, "I love it");
        assert_eq!(units[0].context.as_deref(), Some("review"));
    }

    #[test]
    fn ranking_units_are_groups_with_their_assets_as_options() {
        let task =
            Task::from_workflow(&json!({"_t": "GroupedRankingWorkflow", "criteria": "Best?"}));
        let text = |t: &str| {
            json!([{"key": "asset", "kind": "Asset", "asset": {"_t": "TextAsset", "text": t, "metadata": {}, "identifier": t}}]).to_string()
        };
        let rows = [
            SimRow {
                seq: 1,
                group: Some("g1".into()),
                segments: text("a"),
            },
            SimRow {
                seq: 2,
                group: Some("g2".into()),
                segments: text("x"),
            },
            SimRow {
                seq: 3,
                group: Some("g1".into()),
                segments: text("b"),
            },
        ];
        let units = task.units(&rows);
        assert_eq!(
            (task.info_type(), task.instruction.as_str()),
            ("Ranking".to_string(), "Best?")
        );
        assert_eq!(units.len(), 2);
        assert_eq!(
            (units[0].identifier.as_str(), units[0].options.clone()),
            ("g1", vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(units[1].options, vec!["x"]);
    }

    #[test]
    fn compare_options_are_the_assets() {
        let task = Task::from_workflow(&json!({"_t": "SimpleWorkflow", "rapid": {"_t": "Compare",
            "asset": {"segment": "asset"}, "criteria": {"literal": "Better?"}}}));
        let file = |f: &str, o: &str| {
            json!({"_t": "FileAsset", "fileName": f, "identifier": f,
            "metadata": {"originalFilename": {"_t": "OriginalFilenameMetadata", "originalFilename": o}}})
        };
        let units = task.units(&[row(1, json!([{"key": "asset", "kind": "Asset", "asset": {"_t": "MultiAsset",
            "assets": [file("u1.png", "a.png"), file("u2.png", "b.png")], "metadata": {}, "identifier": "x"}}]))]);
        assert_eq!(units[0].options, vec!["a.png", "b.png"]);
        assert_eq!(
            units[0].asset_urls[1],
            ("b.png".to_string(), format!("{ASSET_HOST}u2.png"))
        );
    }
}
