//! Typed decoding of the big list responses. A plan reads every datapoint of a dataset; a
//! generic JSON tree per page costs a full copy of every segment (hundreds of MB for
//! 100,000 datapoints). These types read only what the diff needs (id, and the identity
//! metadata of the `asset` segment) and let serde skip the rest. A page that holds
//! datapoints made by other tools (no identity metadata) is read a second time, for their
//! content (`wire_content`), from which their identity is derived (`content_identity`):
//! a dataset rapidata filled costs nothing more.

use serde::Deserialize;

use super::content_identity::{self, ListedDatapoint};
use super::model::{RemoteDatapoint, FINGERPRINT_METADATA, KEY_METADATA};
use super::wire_content::ContentItem;

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
    /// An `OptionList` segment's options (`answer_options`).
    #[serde(default)]
    options: Option<Vec<OptionItem>>,
}

#[derive(Debug, Deserialize)]
struct OptionItem {
    label: String,
}

#[derive(Debug, Deserialize)]
struct AssetItem {
    #[serde(default)]
    metadata: Option<IdentityMetadata>,
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
}

#[derive(Debug, Deserialize)]
struct MetadataItem {
    #[serde(default)]
    text: Option<String>,
}

/// The texts of the two identity entries of an asset's metadata map: every entry is read as
/// a [`MetadataItem`] (as a map of them would be), but only these two are kept, without a
/// map or a key string per entry (issue #24: a plan reads a million of these).
#[derive(Debug, Default)]
struct IdentityMetadata {
    key: Option<String>,
    fingerprint: Option<String>,
}

enum MetadataName {
    Key,
    Fingerprint,
    Other,
}

impl<'de> Deserialize<'de> for MetadataName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = MetadataName;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a metadata name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MetadataName, E> {
                Ok(match v {
                    KEY_METADATA => MetadataName::Key,
                    FINGERPRINT_METADATA => MetadataName::Fingerprint,
                    _ => MetadataName::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for IdentityMetadata {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = IdentityMetadata;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a metadata map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<IdentityMetadata, A::Error> {
                // A name given twice: the last one counts, as in a map.
                let mut out = IdentityMetadata::default();
                while let Some(name) = map.next_key::<MetadataName>()? {
                    let item: MetadataItem = map.next_value()?;
                    match name {
                        MetadataName::Key => out.key = item.text,
                        MetadataName::Fingerprint => out.fingerprint = item.text,
                        MetadataName::Other => {}
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

impl From<DatapointItem> for RemoteDatapoint {
    fn from(item: DatapointItem) -> Self {
        // Uploaded files in the order the datapoint names its assets: the `asset`
        // segment (all parts of a MultiAsset), then the `context_asset` segment.
        let mut files = Vec::new();
        let mut metadata = None;
        let answer_options = item
            .segments
            .iter()
            .find(|s| s.key == "answer_options")
            .and_then(|s| s.options.as_ref())
            .map(|o| o.iter().map(|x| x.label.clone()).collect());
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
        let metadata = metadata.unwrap_or_default();
        let key = metadata.key;
        let fingerprint = metadata.fingerprint.map(Into::into);
        RemoteDatapoint {
            id: item.id,
            key,
            fingerprint,
            files,
            adopted: false,
            answer_options,
        }
    }
}

/// One page of `GET /dataset/{id}/datapoints` as the plan reads it. A datapoint without
/// rapidata's key metadata (made with the SDK or the web app) gets the identity of its
/// content (`content_identity`) and `adopted: true`; the page is read a second time for
/// that content, only when it holds such a datapoint. One whose content no manifest can
/// write keeps no key (unmanaged).
pub(crate) fn datapoint_page(body: &[u8]) -> Result<Page<RemoteDatapoint>, String> {
    let page: Page<DatapointItem> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut items: Vec<RemoteDatapoint> = page.items.into_iter().map(Into::into).collect();
    // The datapoints of a dataset carry the same options, as a rule: one copy per run.
    let mut last: Option<std::sync::Arc<[String]>> = None;
    for d in &mut items {
        if let Some(o) = &mut d.answer_options {
            match &last {
                Some(l) if l == o => *o = l.clone(),
                _ => last = Some(o.clone()),
            }
        }
    }
    if items.iter().any(|d| d.key.is_none()) {
        let full: Page<ContentItem> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        for (d, c) in items.iter_mut().zip(&full.items) {
            if d.key.is_some() {
                continue;
            }
            if let Some((key, fingerprint)) = content_identity::identity(&ListedDatapoint::from(c))
            {
                d.key = Some(key);
                d.fingerprint = Some(fingerprint.into());
                d.adopted = true;
            }
        }
    }
    Ok(Page {
        items,
        total: page.total,
        page_size: page.page_size,
        total_pages: page.total_pages,
    })
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
        let page = datapoint_page(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(page.count(), 3);
        let dps = page.items;
        assert_eq!(
            dps[0],
            RemoteDatapoint {
                id: "a".into(),
                key: Some("k1".into()),
                fingerprint: Some("fp1".into()),
                files: vec!["f.png".into()],
                adopted: false,
                answer_options: Some(["x".to_string()].into()),
            }
        );
        // No key metadata: identified by its content, the text `t`.
        let (key, fp) = content_identity::identity(&ListedDatapoint {
            id: "b".into(),
            asset: Some(content_identity::ListedAsset::Text("t".into())),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            dps[1],
            RemoteDatapoint {
                id: "b".into(),
                key: Some(key),
                fingerprint: Some(fp.into()),
                files: Vec::new(),
                adopted: true,
                answer_options: None,
            }
        );
    }
}
