//! Typed decoding of the full content of listed datapoints (`GET /dataset/{id}/datapoints`):
//! every segment's text, options and assets, as `content_identity` and `rapidata import`
//! need them. The plan's own reading (`wire_page`) takes only ids and identity metadata;
//! a page is read with these types only when it holds datapoints made by other tools.

use std::collections::HashMap;

use serde::Deserialize;

use super::content_identity::{ListedAsset, ListedDatapoint};
use super::model::{FINGERPRINT_METADATA, KEY_METADATA};

#[derive(Debug, Deserialize)]
pub(crate) struct ContentItem {
    id: String,
    #[serde(default)]
    segments: Vec<ContentSegment>,
}

#[derive(Debug, Deserialize)]
struct ContentSegment {
    key: String,
    #[serde(default)]
    asset: Option<ContentAsset>,
    /// A `Text` segment's text (`context`, `transcription`).
    #[serde(default, rename = "originalText")]
    original_text: Option<String>,
    /// An `OptionList` segment's options (`answer_options`).
    #[serde(default)]
    options: Option<Vec<ContentOption>>,
}

#[derive(Debug, Deserialize)]
struct ContentOption {
    #[serde(default)]
    label: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
struct ContentAsset {
    #[serde(default, rename = "_t")]
    kind: Option<String>,
    /// `TextAsset`: its text.
    #[serde(default)]
    text: Option<String>,
    /// `FileAsset`: the uploaded file's name.
    #[serde(default, rename = "fileName")]
    file_name: Option<String>,
    /// `MultiAsset`: its parts.
    #[serde(default)]
    assets: Vec<ContentAsset>,
    #[serde(default)]
    metadata: Option<HashMap<String, ContentMetadata>>,
}

#[derive(Debug, Deserialize)]
struct ContentMetadata {
    #[serde(default, rename = "_t")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    /// `SourceUrlMetadataModel`: the URL the server fetched the file from.
    #[serde(default)]
    url: Option<String>,
}

impl ContentAsset {
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
                ListedAsset::Multi(self.assets.iter().map(ContentAsset::listed).collect())
            }
            other => ListedAsset::Other(other.unwrap_or("?").to_string()),
        }
    }

    fn metadata_text(&self, name: &str) -> Option<String> {
        self.metadata.as_ref()?.get(name)?.text.clone()
    }
}

impl From<&ContentItem> for ListedDatapoint {
    fn from(item: &ContentItem) -> Self {
        let mut d = ListedDatapoint {
            id: item.id.clone(),
            ..Default::default()
        };
        for s in &item.segments {
            match s.key.as_str() {
                "asset" => {
                    d.asset = s.asset.as_ref().map(ContentAsset::listed);
                    if let Some(a) = &s.asset {
                        d.key = a.metadata_text(KEY_METADATA);
                        d.fingerprint = a.metadata_text(FINGERPRINT_METADATA);
                    }
                }
                "context" => d.context = s.original_text.clone(),
                "context_asset" => d.context_asset = s.asset.as_ref().map(ContentAsset::listed),
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
}
