//! Typed decoding of the big list responses. A plan reads every datapoint of a dataset; a
//! generic JSON tree per page costs a full copy of every segment (hundreds of MB for
//! 100,000 datapoints). These types read only what the diff needs (id, and the identity
//! metadata of the `asset` segment, or for a datapoint without it the content its identity
//! is derived from: see `content_identity`) and let serde skip the rest.

use std::collections::HashMap;

use serde::Deserialize;

use super::content_identity::{self, ListedAsset, ListedDatapoint};
use super::model::{RemoteDatapoint, FINGERPRINT_METADATA, KEY_METADATA};

/// One page of a paged result.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub page_size: Option<u64>,
    #[serde(default)]
    pub total_pages: Option<u64>,
}

impl<T> Page<T> {
    /// How many pages there are: `totalPages`, else `total` over the `pageSize` the server
    /// actually used (it may serve fewer than asked).
    pub fn count(&self) -> u64 {
        if let Some(n) = self.total_pages {
            return n;
        }
        match (self.total, self.page_size) {
            (Some(total), Some(size)) if size > 0 => total.div_ceil(size),
            _ => 1,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DatapointItem {
    id: String,
    #[serde(default)]
    segments: Vec<SegmentItem>,
}

#[derive(Debug, Deserialize)]
struct SegmentItem {
    key: String,
    #[serde(default)]
    asset: Option<AssetItem>,
    /// A `Text` segment's text (`context`, `transcription`).
    #[serde(default, rename = "originalText")]
    original_text: Option<String>,
    /// An `OptionList` segment's options (`answer_options`).
    #[serde(default)]
    options: Option<Vec<OptionItem>>,
}

#[derive(Debug, Deserialize)]
struct OptionItem {
    #[serde(default)]
    label: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
struct AssetItem {
    #[serde(default, rename = "_t")]
    kind: Option<String>,
    /// `TextAsset`: its text.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    metadata: Option<HashMap<String, MetadataItem>>,
    /// `FileAsset`: the uploaded file's name (reusable in a new dataset).
    #[serde(default, rename = "fileName")]
    file_name: Option<String>,
    /// `MultiAsset`: its parts.
    #[serde(default)]
    assets: Vec<AssetItem>,
}

impl AssetItem {
    fn files(&self, out: &mut Vec<String>) {
        if let Some(f) = &self.file_name {
            out.push(f.clone());
        }
        for a in &self.assets {
            a.files(out);
        }
    }

    fn listed(&self) -> ListedAsset {
        match self.kind.as_deref() {
            Some("TextAsset") => ListedAsset::Text(self.text.clone().unwrap_or_default()),
            Some("FileAsset") => ListedAsset::File {
                file_name: self.file_name.clone().unwrap_or_default(),
                source_url: self.metadata.as_ref().and_then(|m| {
                    m.values()
                        .find(|v| v.kind.as_deref() == Some("SourceUrlMetadataModel"))
                        .and_then(|v| v.url.clone())
                }),
            },
            Some("MultiAsset") => {
                ListedAsset::Multi(self.assets.iter().map(AssetItem::listed).collect())
            }
            other => ListedAsset::Other(other.unwrap_or("?").to_string()),
        }
    }

    fn metadata_text(&self, name: &str) -> Option<String> {
        self.metadata.as_ref()?.get(name)?.text.clone()
    }
}

#[derive(Debug, Deserialize)]
struct MetadataItem {
    #[serde(default, rename = "_t")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    /// `SourceUrlMetadataModel`: the URL the server fetched the file from.
    #[serde(default)]
    url: Option<String>,
}

impl DatapointItem {
    /// Everything the listing shows of the datapoint's content (for `rapidata import` and
    /// for the identity of datapoints made by other tools).
    pub(crate) fn listed(&self) -> ListedDatapoint {
        let mut d = ListedDatapoint {
            id: self.id.clone(),
            ..Default::default()
        };
        for s in &self.segments {
            match s.key.as_str() {
                "asset" => {
                    d.asset = s.asset.as_ref().map(AssetItem::listed);
                    if let Some(a) = &s.asset {
                        d.key = a.metadata_text(KEY_METADATA);
                        d.fingerprint = a.metadata_text(FINGERPRINT_METADATA);
                    }
                }
                "context" => d.context = s.original_text.clone(),
                "context_asset" => d.context_asset = s.asset.as_ref().map(AssetItem::listed),
                "transcription" => d.sentence = s.original_text.clone(),
                "answer_options" => {
                    d.answer_options = s.options.as_ref().map(|o| {
                        o.iter()
                            .map(|x| (x.label.clone(), x.value.clone()))
                            .collect()
                    })
                }
                other => d.other_segments.push(other.to_string()),
            }
        }
        d
    }

    fn has_key_metadata(&self) -> bool {
        self.segments
            .iter()
            .find(|s| s.key == "asset")
            .and_then(|s| s.asset.as_ref())
            .is_some_and(|a| a.metadata_text(KEY_METADATA).is_some())
    }
}

impl From<DatapointItem> for RemoteDatapoint {
    fn from(item: DatapointItem) -> Self {
        // Made by another tool (no key metadata): its identity comes from its content, and
        // the plan matches it by content (`plan::adopt`); `None` when a manifest cannot
        // write that content (then it stays unmanaged).
        let adopted = if item.has_key_metadata() {
            None
        } else {
            content_identity::identity(&item.listed())
        };
        // Uploaded files in the order the datapoint names its assets: the `asset`
        // segment (all parts of a MultiAsset), then the `context_asset` segment.
        let mut files = Vec::new();
        let mut metadata = None;
        for key in ["asset", "context_asset"] {
            if let Some(a) = item
                .segments
                .iter()
                .find(|s| s.key == key)
                .and_then(|s| s.asset.as_ref())
            {
                a.files(&mut files);
            }
        }
        if let Some(seg) = item.segments.into_iter().find(|s| s.key == "asset") {
            metadata = seg.asset.and_then(|a| a.metadata);
        }
        let mut metadata = metadata.unwrap_or_default();
        let mut text = |name: &str| metadata.remove(name).and_then(|m| m.text);
        let mut key = text(KEY_METADATA);
        let mut fingerprint = text(FINGERPRINT_METADATA);
        let is_adopted = adopted.is_some();
        if let Some((k, f)) = adopted {
            key = Some(k);
            fingerprint = Some(f);
        }
        RemoteDatapoint {
            id: item.id,
            key,
            fingerprint,
            files,
            adopted: is_adopted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_identity_and_skips_everything_else() {
        let body = serde_json::json!({
            "total": 2501, "page": 1, "pageSize": 1000,
            "items": [
                {"id": "a", "datasetId": "d", "segments": [
                    {"key": "answer_options", "kind": "OptionList", "options": [{"label": "x", "value": "x"}]},
                    {"key": "asset", "kind": "Asset", "asset": {"_t": "FileAsset", "fileName": "f.png", "identifier": "f.png",
                        "metadata": {
                            "rapidata-key": {"_t": "TextMetadata", "text": "k1"},
                            "rapidata-fingerprint": {"_t": "TextMetadata", "text": "fp1"},
                            "originalFilename": {"_t": "OriginalFilenameMetadata", "originalFilename": "f.png"}}}}
                ]},
                {"id": "b", "datasetId": "d", "segments": [
                    {"key": "asset", "kind": "Asset", "asset": {"_t": "TextAsset", "text": "t", "identifier": "t", "metadata": {}}}
                ]}
            ]
        });
        let page: Page<DatapointItem> = serde_json::from_value(body).unwrap();
        assert_eq!(page.count(), 3);
        let dps: Vec<RemoteDatapoint> = page.items.into_iter().map(Into::into).collect();
        assert_eq!(
            dps[0],
            RemoteDatapoint {
                id: "a".into(),
                key: Some("k1".into()),
                fingerprint: Some("fp1".into()),
                files: vec!["f.png".into()],
                adopted: false,
            }
        );
        // No key metadata: identified by its content, the text `t`.
        let (key, fp) = content_identity::identity(&ListedDatapoint {
            id: "b".into(),
            asset: Some(ListedAsset::Text("t".into())),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            dps[1],
            RemoteDatapoint {
                id: "b".into(),
                key: Some(key),
                fingerprint: Some(fp),
                files: Vec::new(),
                adopted: true,
            }
        );
    }
}
