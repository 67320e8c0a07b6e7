//! The manifest form and identity of a qualification example that rapidata did not add
//! (the SDK's `add_*_example`, the web app), from what `GET /audience/{id}/examples` lists.
//!
//! rapidata keys the examples it adds by their content (`fp-` + the fingerprint of the whole
//! example, `manifest::examples::encode`) and stores the key on the example's asset. An
//! example added by another tool carries no key, but the listing returns all of its content
//! (asset, payload, truth, context, context asset, explanation), so the same example is
//! rebuilt in manifest terms (`audience_example_handler.py` read backwards: box
//! percentages back to ratios, the compare winner's uploaded name back to its asset, the
//! transcription words back to the sentence) and fingerprinted exactly as a manifest
//! example. `rapidata import` writes this form, and `plan` recognises the example by it.

use serde_json::Value;

use super::content_identity::ListedAsset;
use crate::manifest::fingerprint::fingerprint_key;
use crate::manifest::{example_fingerprint, Asset, Example, ExampleTask, Origin, TruthBox};

/// A listed example in manifest terms, with what it sets that the manifest format does
/// not manage (kept on the remote as it is, but not written).
#[derive(Debug, Clone)]
pub struct ExampleContent {
    /// `key` and `fingerprint` filled in; `origin` is empty.
    pub example: Example,
    pub unmanaged: Vec<String>,
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn single(v: &Value, what: &str) -> Result<Asset, String> {
    let a = ListedAsset::from_json(v);
    a.single().ok_or_else(|| match a {
        ListedAsset::Multi(parts) => format!(
            "its {what} is {} assets (the SDK's `media_context` list); a manifest example's {what} is one asset",
            parts.len()
        ),
        ListedAsset::Other(t) => format!("its {what} is a `{t}`"),
        _ => format!("its {what} cannot be written in a manifest"),
    })
}

/// `Box.to_example_model` backwards: percentages to ratios.
fn boxes(truth: &Value) -> Result<Vec<TruthBox>, String> {
    let list = truth
        .get("boundingBoxes")
        .and_then(Value::as_array)
        .ok_or("its truth has no `boundingBoxes`")?;
    list.iter()
        .map(|b| {
            let n = |k: &str| {
                b.get(k)
                    .and_then(Value::as_f64)
                    .map(|x| x / 100.0)
                    .ok_or_else(|| format!("a truth box has no number `{k}`"))
            };
            Ok(TruthBox {
                x_min: n("xMin")?,
                y_min: n("yMin")?,
                x_max: n("xMax")?,
                y_max: n("yMax")?,
            })
        })
        .collect()
}

/// `requiredPrecision` / `requiredCompleteness` the manifest does not send otherwise.
fn required(truth: &Value, default: Option<f64>, out: &mut Vec<String>) {
    for k in ["requiredPrecision", "requiredCompleteness"] {
        let have = truth.get(k).and_then(Value::as_f64);
        if have != default {
            out.push(format!(
                "`{k}: {}` (a manifest example sends {})",
                truth.get(k).unwrap_or(&Value::Null),
                default.map_or("none".to_string(), |d| d.to_string())
            ));
        }
    }
}

/// The manifest form of a listed example, or why the manifest format cannot write it.
pub fn example_content(v: &Value) -> Result<ExampleContent, String> {
    let payload = v.get("payload").ok_or("it has no payload")?;
    let truth = v.get("truth").filter(|t| !t.is_null());
    let need_truth = || truth.ok_or_else(|| "it has no truth".to_string());
    let listed = ListedAsset::from_json(v.get("asset").unwrap_or(&Value::Null));
    let mut unmanaged = Vec::new();
    let instruction = |k: &str| {
        s(payload, k)
            .map(str::to_string)
            .ok_or_else(|| format!("its payload has no `{k}`"))
    };
    let (task, assets) = match s(payload, "_t") {
        Some("ClassifyExamplePayload") => {
            let mut options = Vec::new();
            for c in payload
                .get("categories")
                .and_then(Value::as_array)
                .ok_or("its payload has no `categories`")?
            {
                let (label, value) = (s(c, "label"), s(c, "value"));
                if label != value {
                    return Err(format!(
                        "an answer option's label {label:?} differs from its value {value:?}"
                    ));
                }
                options.push(label.unwrap_or_default().to_string());
            }
            let correct = need_truth()?
                .get("correctCategories")
                .and_then(Value::as_array)
                .ok_or("its truth has no `correctCategories`")?
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("its truth lists something other than answer options")?;
            (
                ExampleTask::Classify {
                    instruction: instruction("title")?,
                    answer_options: options,
                    truth: correct,
                },
                vec![single(v.get("asset").unwrap_or(&Value::Null), "asset")?],
            )
        }
        Some("CompareExamplePayload") => {
            let ListedAsset::Multi(parts) = &listed else {
                return Err("a compare example's asset is not two assets".into());
            };
            let assets = parts
                .iter()
                .map(ListedAsset::single)
                .collect::<Option<Vec<_>>>()
                .ok_or("a compare example's assets are neither text nor files")?;
            let winner = s(need_truth()?, "winnerId").ok_or("its truth has no `winnerId`")?;
            // The SDK's winner is the uploaded name of a media asset, or the text itself.
            let index = parts
                .iter()
                .position(|p| match p {
                    ListedAsset::Text(t) => t == winner,
                    ListedAsset::File { file_name, .. } => file_name == winner,
                    _ => false,
                })
                .ok_or_else(|| format!("its winner `{winner}` is none of its assets"))?;
            (
                ExampleTask::Compare {
                    instruction: instruction("criteria")?,
                    truth: index,
                },
                assets,
            )
        }
        Some(t @ ("LocateExamplePayload" | "LineExamplePayload")) => {
            let truth = need_truth()?;
            let b = boxes(truth)?;
            required(truth, None, &mut unmanaged);
            let instruction = instruction("target")?;
            let task = if t == "LocateExamplePayload" {
                ExampleTask::Locate {
                    instruction,
                    truth: b,
                }
            } else {
                ExampleTask::Draw {
                    instruction,
                    truth: b,
                }
            };
            (
                task,
                vec![single(v.get("asset").unwrap_or(&Value::Null), "asset")?],
            )
        }
        Some("TranscriptionExamplePayload") => {
            let mut words: Vec<(u64, String)> = payload
                .get("transcription")
                .and_then(Value::as_array)
                .ok_or("its payload has no `transcription`")?
                .iter()
                .map(|w| Some((w.get("wordIndex")?.as_u64()?, s(w, "word")?.to_string())))
                .collect::<Option<Vec<_>>>()
                .ok_or("its transcription has words without `word` or `wordIndex`")?;
            words.sort_by_key(|w| w.0);
            if words.iter().enumerate().any(|(i, w)| w.0 != i as u64) {
                return Err("its transcription's word indices are not 0, 1, 2, ...".into());
            }
            let truth = need_truth()?;
            let correct = truth
                .get("correctWords")
                .and_then(Value::as_array)
                .ok_or("its truth has no `correctWords`")?
                .iter()
                .map(|w| {
                    w.get("wordIndex")
                        .and_then(Value::as_u64)
                        .map(|i| i as usize)
                })
                .collect::<Option<Vec<_>>>()
                .ok_or("its truth has words without `wordIndex`")?;
            required(truth, Some(1.0), &mut unmanaged);
            (
                ExampleTask::SelectWords {
                    instruction: instruction("title")?,
                    sentence: words.into_iter().map(|w| w.1).collect::<Vec<_>>().join(" "),
                    truth: correct,
                },
                vec![single(v.get("asset").unwrap_or(&Value::Null), "asset")?],
            )
        }
        Some(other) => {
            return Err(format!(
                "it is a `{other}` example, which the manifest format has no type for"
            ))
        }
        None => return Err("its payload has no `_t`".into()),
    };
    let context_asset = match v.get("contextAsset").filter(|a| !a.is_null()) {
        Some(a) => Some(single(a, "context asset")?),
        None => None,
    };
    for (k, default) in [("isCommonSense", false), ("flagIfIncorrect", false)] {
        if v.get(k).and_then(Value::as_bool).unwrap_or(default) != default {
            unmanaged.push(format!("`{k}: true`"));
        }
    }
    if let Some(vis) = s(v, "visibility").filter(|x| *x != "Private") {
        unmanaged.push(format!("`visibility: {vis}`"));
    }
    let mut example = Example {
        key: String::new(),
        fingerprint: String::new(),
        origin: Origin {
            file: std::path::Path::new("").into(),
            line: 0,
            column: 0,
        },
        task,
        assets,
        context: s(v, "context").map(str::to_string),
        context_asset,
        explanation: s(v, "explanation").map(str::to_string),
    };
    example.fingerprint = example_fingerprint(&example);
    example.key = fingerprint_key(&example.fingerprint);
    Ok(ExampleContent { example, unmanaged })
}

/// `(key, fingerprint)` of an example rapidata did not add, as a manifest example with
/// the same content has them; `None` when the manifest format cannot write it.
pub fn identity(v: &Value) -> Option<(String, String)> {
    let e = example_content(v).ok()?.example;
    Some((e.key, e.fingerprint))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn file(name: &str) -> Value {
        json!({"_t": "FileAsset", "fileName": name, "metadata": {}, "identifier": name})
    }

    #[test]
    fn sdk_examples_read_back_as_the_manifest_wrote_them() {
        // add_locate_example(truths=[Box(0.1, 0.2, 0.5, 0.6)]): percentages on the wire.
        let locate = json!({
            "id": "e1", "asset": file("ab_cat.png"),
            "payload": {"_t": "LocateExamplePayload", "target": "Tap the cat"},
            "truth": {"_t": "LocateExampleTruth", "boundingBoxes": [
                {"xMin": 10.0, "yMin": 20.0, "xMax": 50.0, "yMax": 60.0}],
                "requiredPrecision": null, "requiredCompleteness": null},
            "context": null, "contextAsset": null, "explanation": "the ears",
            "correctCount": 0, "incorrectCount": 0
        });
        let c = example_content(&locate).unwrap();
        assert!(c.unmanaged.is_empty(), "{:?}", c.unmanaged);
        assert_eq!(c.example.assets, vec![Asset::Uploaded("ab_cat.png".into())]);
        let ExampleTask::Locate { truth, .. } = &c.example.task else {
            panic!("{:?}", c.example.task)
        };
        assert_eq!((truth[0].x_min, truth[0].y_max), (0.1, 0.6));
        assert_eq!(
            c.example.key,
            fingerprint_key(&example_fingerprint(&c.example))
        );

        // add_compare_example with media: the winner is the uploaded name.
        let compare = json!({
            "id": "e2",
            "asset": {"_t": "MultiAsset", "assets": [file("u1_a.png"), file("u2_b.png")],
                      "metadata": {}, "identifier": "x"},
            "payload": {"_t": "CompareExamplePayload", "criteria": "Which is sharper?"},
            "truth": {"_t": "CompareExampleTruth", "winnerId": "u2_b.png"},
            "correctCount": 0, "incorrectCount": 0
        });
        let c = example_content(&compare).unwrap();
        assert!(matches!(
            c.example.task,
            ExampleTask::Compare { truth: 1, .. }
        ));

        // add_select_words_example: the words back to the sentence.
        let words = json!({
            "id": "e3", "asset": file("u3_c.png"),
            "payload": {"_t": "TranscriptionExamplePayload", "title": "Pick the animals",
                "transcription": [{"word": "cat", "wordIndex": 0}, {"word": "and", "wordIndex": 1},
                                  {"word": "dog", "wordIndex": 2}]},
            "truth": {"_t": "TranscriptionExampleTruth", "correctWords": [
                {"word": "cat", "wordIndex": 0}, {"word": "dog", "wordIndex": 2}],
                "requiredPrecision": 0.5, "requiredCompleteness": 1},
            "correctCount": 0, "incorrectCount": 0
        });
        let c = example_content(&words).unwrap();
        let ExampleTask::SelectWords {
            sentence, truth, ..
        } = &c.example.task
        else {
            panic!()
        };
        assert_eq!(
            (sentence.as_str(), truth.clone()),
            ("cat and dog", vec![0, 2])
        );
        // A precision the manifest cannot set is reported, not dropped.
        assert_eq!(c.unmanaged.len(), 1, "{:?}", c.unmanaged);
        assert!(c.unmanaged[0].contains("requiredPrecision"));
    }

    #[test]
    fn what_a_manifest_cannot_write_is_said() {
        let media_context = json!({
            "id": "e4", "asset": {"_t": "TextAsset", "text": "hi", "metadata": {}, "identifier": "hi"},
            "payload": {"_t": "ClassifyExamplePayload", "title": "Q",
                "categories": [{"label": "a", "value": "a"}, {"label": "b", "value": "b"}]},
            "truth": {"_t": "ClassifyExampleTruth", "correctCategories": ["a"]},
            "contextAsset": {"_t": "MultiAsset", "assets": [file("x.png")], "metadata": {}, "identifier": "x"},
            "correctCount": 0, "incorrectCount": 0
        });
        assert!(example_content(&media_context)
            .unwrap_err()
            .contains("media_context"));
        assert_eq!(identity(&media_context), None);
        let scrub = json!({"id": "e5", "asset": file("v.mp4"),
            "payload": {"_t": "ScrubExamplePayload", "target": "x"}, "correctCount": 0, "incorrectCount": 0});
        assert!(example_content(&scrub)
            .unwrap_err()
            .contains("ScrubExamplePayload"));
    }
}
