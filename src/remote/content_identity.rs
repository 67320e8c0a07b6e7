//! The identity of a datapoint that rapidata did not upload (made with the Python SDK or
//! the web app), derived from what the datapoint listing shows of its content.
//!
//! rapidata stores every datapoint's key and fingerprint as metadata on its asset
//! (`model::KEY_METADATA`); a datapoint made by another tool has none. Its content is listed
//! though (`GET /dataset/{id}/datapoints`: the `asset`, `context`, `context_asset`,
//! `transcription` and `answer_options` segments), and from it this module computes the
//! fingerprint the manifest side computes for the same content written as a manifest
//! datapoint: text as `T`, a file the server fetched from a URL as `U` (its
//! `SourceUrlMetadataModel`), any other uploaded file as `R` + its `fileName` (the
//! `{uploaded: ...}` form, see `manifest::fingerprint`). Its key is then `fp-` + that
//! fingerprint, as for a manifest datapoint without an explicit key, so `rapidata import`
//! (which writes exactly this content, without keys) and `plan` agree on it.
//!
//! The listing does not return `privateMetadata` or `group` (contract fact 7), so they are
//! not part of this identity: the plan matches such datapoints by the content it can see
//! (`plan::adopt`). Content the manifest format cannot write (a context of several images,
//! a `NullAsset`, answer options whose label and value differ) has no identity: the
//! datapoint stays unmanaged and is left alone.

use crate::manifest::fingerprint::{fingerprint, fingerprint_key, with_answer_options, Content};
use crate::manifest::Asset;

/// An asset as a listing shows it (`IAsset`).
#[derive(Debug, Clone, PartialEq)]
pub enum ListedAsset {
    /// `TextAsset`.
    Text(String),
    /// `FileAsset`: an uploaded file; `source_url` when the server fetched it from a URL.
    File {
        file_name: String,
        source_url: Option<String>,
    },
    /// `MultiAsset`: its parts, in order.
    Multi(Vec<ListedAsset>),
    /// `NullAsset`, or a kind this version does not know (its `_t`).
    Other(String),
}

impl ListedAsset {
    /// An `IAsset` as a JSON value (example listings are read as JSON).
    pub fn from_json(v: &serde_json::Value) -> ListedAsset {
        let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        match s("_t") {
            Some("TextAsset") => ListedAsset::Text(s("text").unwrap_or_default().to_string()),
            Some("FileAsset") => ListedAsset::File {
                file_name: s("fileName").unwrap_or_default().to_string(),
                source_url: v
                    .get("metadata")
                    .and_then(serde_json::Value::as_object)
                    .and_then(|m| {
                        m.values()
                            .find(|x| x["_t"] == "SourceUrlMetadataModel")
                            .and_then(|x| x["url"].as_str())
                    })
                    .map(str::to_string),
            },
            Some("MultiAsset") => ListedAsset::Multi(
                v.get("assets")
                    .and_then(serde_json::Value::as_array)
                    .map(|a| a.iter().map(ListedAsset::from_json).collect())
                    .unwrap_or_default(),
            ),
            other => ListedAsset::Other(other.unwrap_or("?").to_string()),
        }
    }

    /// The manifest asset a single (non-multi) listed asset is.
    pub fn single(&self) -> Option<Asset> {
        match self {
            ListedAsset::Text(t) => Some(Asset::Text(t.clone())),
            // As a manifest reads it: only `http://` and `https://` are URLs.
            ListedAsset::File {
                source_url: Some(url),
                ..
            } if url.starts_with("http://") || url.starts_with("https://") => {
                Some(Asset::Url(url.clone()))
            }
            ListedAsset::File { file_name, .. } => Some(Asset::Uploaded(file_name.clone())),
            ListedAsset::Multi(_) | ListedAsset::Other(_) => None,
        }
    }

    /// As a person recognises it: the first words of a text, a file's name, the parts.
    pub fn label(&self) -> String {
        match self {
            ListedAsset::Text(t) => crate::report::plan_text::first_words(t),
            ListedAsset::File {
                source_url: Some(u),
                ..
            } => crate::manifest::redact::mask_url_userinfo(u),
            ListedAsset::File { file_name, .. } => file_name.clone(),
            ListedAsset::Multi(parts) => parts
                .iter()
                .map(ListedAsset::label)
                .collect::<Vec<_>>()
                .join(" vs "),
            ListedAsset::Other(t) => format!("({t})"),
        }
    }

    /// Names of the uploaded files it uses (reusable in a new dataset).
    pub fn files(&self, out: &mut Vec<String>) {
        match self {
            ListedAsset::File { file_name, .. } => out.push(file_name.clone()),
            ListedAsset::Multi(parts) => parts.iter().for_each(|p| p.files(out)),
            _ => {}
        }
    }
}

/// What the datapoint listing shows of one datapoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedDatapoint {
    pub id: String,
    /// The `asset` segment.
    pub asset: Option<ListedAsset>,
    /// The `context` segment's text.
    pub context: Option<String>,
    /// The `context_asset` segment.
    pub context_asset: Option<ListedAsset>,
    /// The `transcription` segment's text (the sentence of a select-words datapoint).
    pub sentence: Option<String>,
    /// The `answer_options` segment: `(label, value)` pairs.
    pub answer_options: Option<Vec<(String, String)>>,
    /// Keys of segments this version does not know.
    pub other_segments: Vec<String>,
    /// rapidata's identity metadata on the asset, when rapidata uploaded it.
    pub key: Option<String>,
    pub fingerprint: Option<String>,
}

/// A listed datapoint's content in manifest terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestContent {
    /// One asset, or the parts of a multi-asset (compare).
    pub assets: Vec<Asset>,
    pub multi: bool,
    pub context: Option<String>,
    pub context_asset: Option<Asset>,
    pub sentence: Option<String>,
    pub answer_options: Option<Vec<String>>,
}

impl ManifestContent {
    /// The fingerprint of this content as a manifest datapoint without private metadata
    /// and group (`manifest::fingerprint`).
    pub fn fingerprint(&self) -> String {
        let none = std::collections::BTreeMap::new();
        fingerprint(&Content {
            assets: &self.assets,
            context: self.context.as_deref(),
            context_asset: self.context_asset.as_ref(),
            private_metadata: &none,
            group: None,
            sentence: self.sentence.as_deref(),
        })
    }

    /// The fingerprint rapidata would have stored for it: with its answer options, when it
    /// carries them (`plan::identity::remote_fingerprint`).
    pub fn stored_fingerprint(&self) -> String {
        let fp = self.fingerprint();
        match &self.answer_options {
            Some(options) => with_answer_options(&fp, options),
            None => fp,
        }
    }
}

/// The manifest form of a listed datapoint, or why the manifest format cannot write it.
pub fn manifest_content(d: &ListedDatapoint) -> Result<ManifestContent, String> {
    let (assets, multi) = match &d.asset {
        None => return Err("it has no `asset` segment".into()),
        Some(ListedAsset::Multi(parts)) => {
            if parts.len() < 2 {
                return Err(format!(
                    "its asset is a multi-asset of {} part(s); a manifest writes one asset or at least two",
                    parts.len()
                ));
            }
            let assets = parts
                .iter()
                .map(ListedAsset::single)
                .collect::<Option<Vec<_>>>()
                .ok_or("its asset has parts that are neither text nor files")?;
            (assets, true)
        }
        Some(a) => (
            vec![a.single().ok_or_else(|| unknown_asset(a, "its asset"))?],
            false,
        ),
    };
    let context_asset = match &d.context_asset {
        None => None,
        Some(ListedAsset::Multi(parts)) => {
            return Err(format!(
                "its context is a list of {} media asset(s) (the SDK's `media_context`); a manifest's `contextAsset` is one asset",
                parts.len()
            ))
        }
        Some(a) => Some(
            a.single()
                .ok_or_else(|| unknown_asset(a, "its context asset"))?,
        ),
    };
    if let Some(k) = d.other_segments.first() {
        return Err(format!(
            "it has a segment `{k}` the manifest format has no field for"
        ));
    }
    let answer_options = match &d.answer_options {
        None => None,
        Some(pairs) => {
            if let Some((l, v)) = pairs.iter().find(|(l, v)| l != v) {
                return Err(format!(
                    "an answer option has the label `{l}` but the value `{v}`; a manifest's options are both"
                ));
            }
            Some(pairs.iter().map(|(l, _)| l.clone()).collect())
        }
    };
    Ok(ManifestContent {
        assets,
        multi,
        context: d.context.clone(),
        context_asset,
        sentence: d.sentence.clone(),
        answer_options,
    })
}

fn unknown_asset(a: &ListedAsset, what: &str) -> String {
    match a {
        ListedAsset::Other(t) => format!("{what} is a `{t}`"),
        _ => format!("{what} cannot be written in a manifest"),
    }
}

/// `(key, fingerprint)` of a datapoint rapidata did not upload: `fp-` + the fingerprint of
/// its content as a manifest datapoint, and the fingerprint rapidata would have stored for
/// it (with its answer options). `None` when the manifest format cannot write it.
pub fn identity(d: &ListedDatapoint) -> Option<(String, String)> {
    let content = manifest_content(d).ok()?;
    Some((
        fingerprint_key(&content.fingerprint()),
        content.stored_fingerprint(),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn listed(asset: ListedAsset) -> ListedDatapoint {
        ListedDatapoint {
            id: "d1".into(),
            asset: Some(asset),
            ..Default::default()
        }
    }

    fn manifest_fp(assets: &[Asset], context: Option<&str>) -> String {
        fingerprint(&Content {
            assets,
            context,
            context_asset: None,
            private_metadata: &BTreeMap::new(),
            group: None,
            sentence: None,
        })
    }

    #[test]
    fn the_identity_is_what_the_manifest_form_fingerprints_to() {
        // An SDK upload is `{uploaded: fileName}`; a URL fetch is the URL; text is text.
        let file = listed(ListedAsset::File {
            file_name: "ab_cat.png".into(),
            source_url: None,
        });
        let (key, fp) = identity(&file).unwrap();
        let want = manifest_fp(&[Asset::Uploaded("ab_cat.png".into())], None);
        assert_eq!((key, fp), (fingerprint_key(&want), want));

        let mut url = listed(ListedAsset::File {
            file_name: "cd_x.jpg".into(),
            source_url: Some("https://e.com/x.jpg".into()),
        });
        url.context = Some("look".into());
        let want = manifest_fp(&[Asset::Url("https://e.com/x.jpg".into())], Some("look"));
        assert_eq!(identity(&url).unwrap().1, want);

        // The answer options a datapoint carries are in its stored fingerprint, as in
        // `remote_fingerprint`: only the key is the content's.
        let mut text = listed(ListedAsset::Text("I love it".into()));
        text.answer_options = Some(vec![
            ("yes".into(), "yes".into()),
            ("no".into(), "no".into()),
        ]);
        let plain = manifest_fp(&[Asset::Text("I love it".into())], None);
        let (key, stored) = identity(&text).unwrap();
        assert_eq!(key, fingerprint_key(&plain));
        assert_eq!(
            stored,
            with_answer_options(&plain, &["yes".into(), "no".into()])
        );
    }

    #[test]
    fn what_a_manifest_cannot_write_has_no_identity() {
        let img = |n: &str| ListedAsset::File {
            file_name: n.into(),
            source_url: None,
        };
        let mut d = listed(img("a.png"));
        d.context_asset = Some(ListedAsset::Multi(vec![img("b.png")]));
        assert!(manifest_content(&d).unwrap_err().contains("media_context"));
        assert_eq!(identity(&d), None);
        assert_eq!(
            identity(&listed(ListedAsset::Other("NullAsset".into()))),
            None
        );
        assert_eq!(
            identity(&listed(ListedAsset::Multi(vec![img("a.png")]))),
            None
        );
        let mut options = listed(img("a.png"));
        options.answer_options = Some(vec![("Yes".into(), "yes".into())]);
        assert_eq!(identity(&options), None);
        // Two parts: a compare datapoint.
        let pair = manifest_content(&listed(ListedAsset::Multi(vec![img("a"), img("b")]))).unwrap();
        assert!(pair.multi);
        assert_eq!(pair.assets.len(), 2);
    }
}
