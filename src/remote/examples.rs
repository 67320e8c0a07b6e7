//! Qualification examples and recruiting of a custom audience: the request bodies
//! `rapidata_client/audience/audience_example_handler.py` sends for each `add_*_example`,
//! and the calls of `rapidata_audience.py` (`get_examples`, `delete_example`,
//! `start_recruiting`, `get_recruiting_metrics`).
//!
//! One addition to what the SDK sends: the example's key and fingerprint ride along as
//! customer-only metadata on its top-level asset (as datapoints do, see
//! [`super::wire_build::datapoint_body`]); the example listing returns asset metadata, so
//! `plan` recognises the examples it manages.

use reqwest::Method;
use serde_json::{json, Value};

use super::client::Client;
use super::error::ApiError;
use super::model::{RemoteAudience, RemoteExample, FINGERPRINT_METADATA, KEY_METADATA};
use super::transport::{seg, Request, Safety};
use super::wire_build::{answer_option_list, asset_input, identified_asset};
use super::wire_read;
use crate::manifest::model::{Asset, Example, ExampleTask, TruthBox};

/// Page size for example listings.
const EXAMPLE_PAGE_SIZE: u64 = 100;

/// `Box.to_example_model`: ratios become percentages.
fn box_shape(b: &TruthBox) -> Value {
    json!({
        "xMin": b.x_min * 100.0,
        "yMin": b.y_min * 100.0,
        "xMax": b.x_max * 100.0,
        "yMax": b.y_max * 100.0,
    })
}

/// `calculate_boxes_coverage` (`validation/rapids/box.py`): the share of the asset the
/// union of the boxes covers, by a sweep over x.
pub fn boxes_coverage(boxes: &[TruthBox]) -> f64 {
    if boxes.is_empty() {
        return 0.0;
    }
    // (x, is_end, box): starts sort before ends at the same x.
    let mut events: Vec<(f64, bool, usize)> = Vec::with_capacity(boxes.len() * 2);
    for (i, b) in boxes.iter().enumerate() {
        events.push((b.x_min, false, i));
        events.push((b.x_max, true, i));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut total = 0.0;
    let mut active: Vec<usize> = Vec::new();
    let mut prev_x = 0.0;
    for (x, is_end, id) in events {
        if !active.is_empty() && x > prev_x {
            let mut ys: Vec<(f64, f64)> = active
                .iter()
                .map(|i| (boxes[*i].y_min, boxes[*i].y_max))
                .collect();
            ys.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
            let mut merged: Vec<(f64, f64)> = Vec::new();
            for (s, e) in ys {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            total += (x - prev_x) * merged.iter().map(|(s, e)| e - s).sum::<f64>();
        }
        if is_end {
            active.retain(|a| *a != id);
        } else {
            active.push(id);
        }
        prev_x = x;
    }
    total
}

/// `POST /audience/{id}/example` for one example, as the SDK's `add_*_example` builds it.
/// `None` when an asset has not been uploaded.
pub fn example_body(e: &Example, uploaded: &dyn Fn(&Asset) -> Option<String>) -> Option<Value> {
    if e.assets.is_empty() {
        return None;
    }
    // build_asset_input_with_names(list): a MultiAssetInput of both for a comparison.
    let multi = matches!(e.task, ExampleTask::Compare { .. });
    let asset = identified_asset(&e.assets, multi, &e.key, &e.fingerprint, uploaded)?;
    let (payload, truth, random_correct) = match &e.task {
        ExampleTask::Classify {
            instruction,
            answer_options,
            truth,
        } => (
            json!({
                "_t": "ClassifyExamplePayload",
                "categories": answer_option_list(answer_options),
                "title": instruction,
            }),
            json!({ "_t": "ClassifyExampleTruth", "correctCategories": truth }),
            truth.len() as f64 / answer_options.len().max(1) as f64,
        ),
        ExampleTask::Compare { instruction, truth } => {
            // The winner is the uploaded name of a media asset, or the text itself.
            let winner = match e.assets.get(*truth)? {
                Asset::Text(t) => t.clone(),
                Asset::Uploaded(name) => name.clone(),
                a => uploaded(a)?,
            };
            (
                json!({ "_t": "CompareExamplePayload", "criteria": instruction }),
                json!({ "_t": "CompareExampleTruth", "winnerId": winner }),
                0.5,
            )
        }
        ExampleTask::Locate { instruction, truth } => (
            json!({ "_t": "LocateExamplePayload", "target": instruction }),
            json!({
                "_t": "LocateExampleTruth",
                "boundingBoxes": truth.iter().map(box_shape).collect::<Vec<_>>(),
                "requiredPrecision": null,
                "requiredCompleteness": null,
            }),
            boxes_coverage(truth),
        ),
        ExampleTask::Draw { instruction, truth } => (
            json!({ "_t": "LineExamplePayload", "target": instruction }),
            json!({
                "_t": "LineExampleTruth",
                "boundingBoxes": truth.iter().map(box_shape).collect::<Vec<_>>(),
                "requiredPrecision": null,
                "requiredCompleteness": null,
            }),
            boxes_coverage(truth),
        ),
        ExampleTask::SelectWords {
            instruction,
            sentence,
            truth,
        } => {
            let words: Vec<&str> = sentence.split(' ').collect();
            let transcription: Vec<Value> = words
                .iter()
                .enumerate()
                .map(|(i, w)| json!({ "word": w, "wordIndex": i }))
                .collect();
            let correct: Vec<Value> = truth
                .iter()
                .map(|i| json!({ "word": words.get(*i).copied().unwrap_or_default(), "wordIndex": i }))
                .collect();
            let rcp = correct.len() as f64 / words.len().max(1) as f64;
            (
                json!({
                    "_t": "TranscriptionExamplePayload",
                    "title": instruction,
                    "transcription": transcription,
                }),
                json!({
                    "_t": "TranscriptionExampleTruth",
                    "correctWords": correct,
                    "requiredPrecision": 1,
                    "requiredCompleteness": 1,
                }),
                rcp,
            )
        }
    };
    let mut body = json!({
        "asset": asset,
        "payload": payload,
        "truth": truth,
        "randomCorrectProbability": random_correct,
        "explanation": e.explanation,
    });
    // add_select_words_example sends no context; the others always set `context`.
    if !matches!(e.task, ExampleTask::SelectWords { .. }) {
        body["context"] = json!(e.context);
        if let Some(ca) = &e.context_asset {
            body["contextAsset"] = asset_input(ca, uploaded)?;
        }
    }
    body["featureFlags"] = Value::Null;
    Some(body)
}

/// The identity an example carries in its asset's metadata.
fn remote_example(v: &Value) -> Result<RemoteExample, String> {
    let meta = |k: &str| {
        v.pointer(&format!("/asset/metadata/{k}/text"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (mut key, mut fingerprint) = (meta(KEY_METADATA), meta(FINGERPRINT_METADATA));
    // Added by another tool: identified by its content, as a manifest example is.
    let adopted = match key {
        Some(_) => None,
        None => super::example_identity::identity(v),
    };
    let is_adopted = adopted.is_some();
    if let Some((k, f)) = adopted {
        key = Some(k);
        fingerprint = Some(f);
    }
    Ok(RemoteExample {
        id: wire_read::req_str(v, "id")?,
        key,
        fingerprint,
        adopted: is_adopted,
    })
}

impl Client {
    /// `AudienceExampleHandler.add_*_example`: `POST /audience/{id}/example`. Not repeated
    /// by the transport: a lost response is decided by the next listing.
    pub async fn add_example(&self, audience_id: &str, body: &Value) -> Result<(), ApiError> {
        let req = Request::new(
            Method::POST,
            "/audience/{audienceId}/example",
            format!("/audience/{}/example", seg(audience_id)),
            Safety::Create,
        )
        .json_ref(body);
        self.call(req).await.map(|_| ())
    }

    /// `RapidataAudience.get_examples`, every page.
    pub async fn list_examples(&self, audience_id: &str) -> Result<Vec<RemoteExample>, ApiError> {
        let items = self.list_example_items(audience_id).await?;
        Self::decode(
            "GET /audience/{audienceId}/examples",
            items.iter().map(remote_example).collect(),
        )
    }

    /// Every qualification example of an audience, as listed (`QueryExamplesForAudience
    /// EndpointOutput` objects).
    pub async fn list_example_items(&self, audience_id: &str) -> Result<Vec<Value>, ApiError> {
        let path = format!("/audience/{}/examples", seg(audience_id));
        self.all_pages(|p| {
            Request::new(
                Method::GET,
                "/audience/{audienceId}/examples",
                path.clone(),
                Safety::Repeatable,
            )
            .query("page", p)
            .query("page_size", EXAMPLE_PAGE_SIZE)
        })
        .await
    }

    /// `RapidataAudience.delete_example`; an example already gone counts as deleted.
    pub async fn delete_example(&self, example_id: &str) -> Result<(), ApiError> {
        self.delete(Request::new(
            Method::DELETE,
            "/audience/example/{exampleId}",
            format!("/audience/example/{}", seg(example_id)),
            Safety::Repeatable,
        ))
        .await
    }

    /// `RapidataAudience.start_recruiting`: `POST /audience/{id}/recruit` (a second call is
    /// a no-op on the server).
    pub async fn start_recruiting(&self, audience_id: &str) -> Result<(), ApiError> {
        let req = Request::new(
            Method::POST,
            "/audience/{audienceId}/recruit",
            format!("/audience/{}/recruit", seg(audience_id)),
            Safety::Repeatable,
        );
        self.call(req).await.map(|_| ())
    }

    /// `GET /audience/{id}` (`get_audience_by_id`); `None` when there is no such audience.
    pub async fn get_audience(&self, id: &str) -> Result<Option<RemoteAudience>, ApiError> {
        let req = Request::new(
            Method::GET,
            "/audience/{audienceId}",
            format!("/audience/{}", seg(id)),
            Safety::Repeatable,
        );
        match self.call(req).await {
            Ok(v) => Self::decode("GET /audience/{audienceId}", wire_read::audience(&v)).map(Some),
            Err(ApiError::Problem { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x_min: f64, y_min: f64, x_max: f64, y_max: f64) -> TruthBox {
        TruthBox {
            x_min,
            y_min,
            x_max,
            y_max,
        }
    }

    #[test]
    fn coverage_is_the_area_of_the_union_as_in_the_sdk() {
        assert_eq!(boxes_coverage(&[]), 0.0);
        assert!((boxes_coverage(&[b(0.1, 0.2, 0.5, 0.6)]) - 0.16).abs() < 1e-12);
        // Overlapping boxes count their intersection once: 0.25 + 0.25 - 0.0625.
        let two = [b(0.0, 0.0, 0.5, 0.5), b(0.25, 0.25, 0.75, 0.75)];
        assert!((boxes_coverage(&two) - 0.4375).abs() < 1e-12);
        // Disjoint in y at the same x range.
        let stacked = [b(0.0, 0.0, 1.0, 0.1), b(0.0, 0.9, 1.0, 1.0)];
        assert!((boxes_coverage(&stacked) - 0.2).abs() < 1e-12);
        // A box inside another adds nothing.
        let nested = [b(0.0, 0.0, 1.0, 1.0), b(0.2, 0.2, 0.3, 0.3)];
        assert!((boxes_coverage(&nested) - 1.0).abs() < 1e-12);
    }
}
