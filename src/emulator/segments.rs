//! Datapoint segments: checked against the dataset's schema on the way in, turned into the
//! output shape (`DatasetSegment` with `originalText`/`englishText`, assets as `IAsset` with
//! `metadata` and `identifier`) once, at write time, so reads only copy stored JSON.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::http::{opt, opt_str, ApiError, ApiResult};

/// The schema a dataset gets when none is posted (and the one `POST /order` gives its
/// dataset): the SDK's default segments plus the optional transcription segment.
pub(crate) fn default_schema() -> Value {
    json!([
        {"key": "asset", "kind": "Asset", "label": "Asset", "required": true, "maxLength": null},
        {"key": "context", "kind": "Text", "label": "Context", "required": false, "maxLength": 400},
        {"key": "context_asset", "kind": "Asset", "label": "Context asset", "required": false, "maxLength": null},
        {"key": "answer_options", "kind": "OptionList", "label": "Answer options", "required": false, "maxLength": null},
        {"key": "transcription", "kind": "Text", "label": "Transcription", "required": false, "maxLength": null}
    ])
}

/// Output segments plus the asset file names they reference (to be checked against the
/// assets the emulator issued).
pub(crate) struct Converted {
    pub segments: Value,
    pub asset_names: Vec<(String, String)>,
}

/// Checks `segments` (already valid `DatasetSegmentInput`s) against the dataset `schema` and
/// converts them. `path` prefixes error keys (`segments`).
pub(crate) fn convert(schema: &Value, segments: &[Value], path: &str) -> ApiResult<Converted> {
    let defs = schema.as_array().cloned().unwrap_or_default();
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(segments.len());
    let mut asset_names = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let key = opt_str(seg, "key").unwrap_or_default();
        let kind = opt_str(seg, "kind").unwrap_or_default();
        if !seen.insert(key.to_string()) {
            errors.push((
                format!("{p}.key"),
                format!("Segment '{key}' appears more than once."),
            ));
            continue;
        }
        let Some(def) = defs.iter().find(|d| opt_str(d, "key") == Some(key)) else {
            let known: Vec<&str> = defs.iter().filter_map(|d| opt_str(d, "key")).collect();
            errors.push((
                format!("{p}.key"),
                format!(
                    "Segment '{key}' is not in the dataset schema ({}).",
                    known.join(", ")
                ),
            ));
            continue;
        };
        let want_kind = opt_str(def, "kind").unwrap_or_default();
        if kind != want_kind {
            errors.push((
                format!("{p}.kind"),
                format!("Segment '{key}' has kind {want_kind} in the dataset schema, not {kind}."),
            ));
            continue;
        }
        let mut o = Map::new();
        o.insert("key".into(), Value::from(key));
        o.insert("kind".into(), Value::from(kind));
        match kind {
            "Text" => match opt_str(seg, "text") {
                Some(text) => {
                    if let Some(max) = opt(def, "maxLength").and_then(Value::as_u64) {
                        if text.chars().count() as u64 > max {
                            errors.push((
                                format!("{p}.text"),
                                format!("Text is longer than {max} characters."),
                            ));
                        }
                    }
                    o.insert("originalText".into(), Value::from(text));
                    o.insert("englishText".into(), Value::from(text));
                }
                None => errors.push((format!("{p}.text"), "A Text segment needs 'text'.".into())),
            },
            "Asset" => match opt(seg, "asset") {
                Some(asset) => {
                    let converted = convert_asset(asset, &format!("{p}.asset"), &mut asset_names);
                    o.insert("asset".into(), converted);
                }
                None => errors.push((
                    format!("{p}.asset"),
                    "An Asset segment needs 'asset'.".into(),
                )),
            },
            _ => match opt(seg, "options").and_then(Value::as_array) {
                Some(options) if !options.is_empty() => {
                    o.insert("options".into(), Value::Array(options.clone()));
                }
                _ => errors.push((
                    format!("{p}.options"),
                    "An OptionList segment needs at least one option.".into(),
                )),
            },
        }
        out.push(Value::Object(o));
    }
    for def in &defs {
        let key = opt_str(def, "key").unwrap_or_default();
        if def.get("required").and_then(Value::as_bool) == Some(true) && !seen.contains(key) {
            errors.push((
                path.to_string(),
                format!("The required segment '{key}' is missing."),
            ));
        }
    }
    if errors.is_empty() {
        Ok(Converted {
            segments: Value::Array(out),
            asset_names,
        })
    } else {
        Err(ApiError::validation(errors))
    }
}

/// `IAssetInput` → `IAsset`. Input metadata (`TextMetadataInput`) is kept under the same keys
/// as `TextMetadata`; that is where clients keep their own identity of a datapoint.
fn convert_asset(asset: &Value, path: &str, names: &mut Vec<(String, String)>) -> Value {
    let mut metadata = Map::new();
    if let Some(meta) = opt(asset, "metadata").and_then(Value::as_object) {
        for (k, v) in meta {
            metadata.insert(k.clone(), json!({"_t": "TextMetadata", "text": v.get("text").cloned().unwrap_or(Value::Null)}));
        }
    }
    let identifier = opt_str(asset, "identifier").map(str::to_string);
    match opt_str(asset, "_t").unwrap_or_default() {
        "ExistingAssetInput" => {
            let name = opt_str(asset, "name").unwrap_or_default().to_string();
            names.push((format!("{path}.name"), name.clone()));
            // Filled in by the caller once it knows the asset: originalFilename, sourceUrl.
            json!({"_t": "FileAsset", "fileName": name, "metadata": metadata, "identifier": identifier.unwrap_or(name.clone())})
        }
        "TextAssetInput" => {
            let text = opt_str(asset, "text").unwrap_or_default().to_string();
            json!({"_t": "TextAsset", "text": text, "metadata": metadata, "identifier": identifier.unwrap_or(text.clone())})
        }
        _ => {
            let children: Vec<Value> = opt(asset, "assets")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .enumerate()
                        .map(|(i, a)| convert_asset(a, &format!("{path}.assets[{i}]"), names))
                        .collect()
                })
                .unwrap_or_default();
            let joined = children
                .iter()
                .filter_map(|c| c.get("identifier").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(",");
            json!({"_t": "MultiAsset", "assets": children, "metadata": metadata, "identifier": identifier.unwrap_or(joined)})
        }
    }
}

/// `IAssetInput` → `IAsset` outside a datapoint (audience examples), with the file names it
/// references as `(error path, name)`.
pub(crate) fn convert_asset_input(asset: &Value, path: &str) -> (Value, Vec<(String, String)>) {
    let mut names = Vec::new();
    let out = convert_asset(asset, path, &mut names);
    (out, names)
}

/// Finds `(original name, source url)` of an issued file name.
pub(crate) type AssetLookup<'a> = dyn FnMut(&str) -> Option<(String, Option<String>)> + 'a;

/// Adds the upload metadata of issued file assets (`originalFilename`, `sourceUrl`) to every
/// `FileAsset` in `segments`. `lookup` returns `(original name, source url)` of a file name.
pub(crate) fn enrich_file_assets(segments: &mut Value, lookup: &mut AssetLookup<'_>) {
    fn walk(asset: &mut Value, lookup: &mut AssetLookup<'_>) {
        match asset.get("_t").and_then(Value::as_str) {
            Some("FileAsset") => {
                let name = asset
                    .get("fileName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if let (Some((original, url)), Some(meta)) = (
                    lookup(&name),
                    asset.get_mut("metadata").and_then(Value::as_object_mut),
                ) {
                    meta.entry("originalFilename").or_insert_with(
                        || json!({"_t": "OriginalFilenameMetadata", "originalFilename": original}),
                    );
                    if let Some(url) = url {
                        meta.entry("sourceUrl")
                            .or_insert_with(|| json!({"_t": "SourceUrlMetadataModel", "url": url}));
                    }
                }
            }
            Some("MultiAsset") => {
                if let Some(children) = asset.get_mut("assets").and_then(Value::as_array_mut) {
                    for c in children {
                        walk(c, lookup);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(list) = segments.as_array_mut() {
        for seg in list {
            if let Some(asset) = seg.get_mut("asset") {
                walk(asset, lookup);
            }
        }
    }
}
