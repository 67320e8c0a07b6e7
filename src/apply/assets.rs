//! The one asset upload service of apply: datapoints, qualification examples and group
//! contexts all upload their media through it, so every asset is uploaded once per pass
//! (local files as multipart, URLs in batches of [`URL_BATCH`]) and every failure maps to
//! the same [`AssetFailure`] with the class of the API error behind it.
//!
//! Files already on Rapidata (the plan's `reuse`, or `{uploaded: name}` in a manifest) are
//! not uploaded again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt, Shared};

use super::remote::Remote;
use crate::manifest::Asset;
use crate::plan::datapoints::{asset_key, url_key};
use crate::remote::{ApiError, FailureClass, UrlUpload};
use crate::report::failures::FailureRecord;

/// URLs per batch-upload request.
const URL_BATCH: usize = 100;

/// Why an asset could not be uploaded; shared by everything that uses the asset.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetFailure {
    pub message: String,
    pub trace_id: Option<String>,
    pub stage: Option<String>,
    pub http_status: Option<u16>,
    pub class: FailureClass,
}

impl From<&ApiError> for AssetFailure {
    fn from(e: &ApiError) -> Self {
        match e {
            // Deleted or unreadable since validation: permanent.
            ApiError::Io { path, source } => AssetFailure {
                message: format!("cannot read {}: {source}", path.display()),
                trace_id: None,
                stage: None,
                http_status: None,
                class: FailureClass::Permanent,
            },
            other => AssetFailure {
                message: other.reason(),
                trace_id: other.trace_id().map(str::to_string),
                stage: other.stage().map(str::to_string),
                http_status: other.http_status(),
                class: other.class(),
            },
        }
    }
}

impl AssetFailure {
    /// The failure of something that needs this asset (`source` names the asset).
    pub fn attach(self, mut f: FailureRecord, source: Option<String>) -> FailureRecord {
        f.error_type = "AssetUploadFailed".into();
        f.error_message = self.message;
        f.class = self.class;
        f.permanent = self.class == FailureClass::Permanent;
        f.trace_id = self.trace_id;
        f.stage = self.stage;
        f.http_status = self.http_status;
        f.asset = source;
        f
    }
}

type AssetResult = Result<String, AssetFailure>;
type SharedAsset = Shared<BoxFuture<'static, AssetResult>>;

/// The uploads of one pass, by asset key (`plan::datapoints::asset_key`: `file:<blake3>`,
/// `url:<url>`): started when the pass starts, awaited by whatever needs them.
#[derive(Default)]
pub struct Assets {
    uploads: HashMap<String, SharedAsset>,
}

impl Assets {
    /// Starts (lazily: a shared future runs when first awaited) the upload of every
    /// distinct asset in `assets` that `reuse` does not already name.
    pub fn start<'a, C: Remote>(
        client: &C,
        assets: impl IntoIterator<Item = &'a Asset>,
        reuse: &BTreeMap<String, String>,
    ) -> Assets {
        let mut uploads: HashMap<String, SharedAsset> = HashMap::new();
        let mut urls: Vec<String> = Vec::new();
        let mut url_seen: HashSet<String> = HashSet::new();
        for a in assets {
            // Text and files only on Rapidata are not uploaded.
            let Some(key) = asset_key(a) else { continue };
            if uploads.contains_key(&key) {
                continue;
            }
            if let Some(name) = reuse.get(&key) {
                let name = name.clone();
                uploads.insert(key, futures::future::ready(Ok(name)).boxed().shared());
                continue;
            }
            match a {
                Asset::File {
                    path, file_name, ..
                } => {
                    let client = client.clone();
                    let path = path.clone();
                    let file_name = file_name.clone();
                    let fut = async move {
                        client
                            .upload_file(&path, &file_name)
                            .await
                            .map_err(|e| AssetFailure::from(&e))
                    };
                    uploads.insert(key, fut.boxed().shared());
                }
                Asset::Url(u) => {
                    if url_seen.insert(u.clone()) {
                        urls.push(u.clone());
                    }
                }
                Asset::Text(_) | Asset::Uploaded(_) => {}
            }
        }
        for batch in urls.chunks(URL_BATCH) {
            let client = client.clone();
            let batch_urls: Vec<String> = batch.to_vec();
            let batch_fut = async move {
                let r = client.upload_urls(&batch_urls).await;
                Arc::new(r.map_err(|e| AssetFailure::from(&e)))
            }
            .boxed()
            .shared();
            for u in batch {
                let b = batch_fut.clone();
                let url = u.clone();
                let fut = async move {
                    match &*b.await {
                        // The batch request failed: each URL fails as it did (a transient
                        // failure stays transient).
                        Err(e) => Err(e.clone()),
                        Ok(items) => url_outcome(items.iter().find(|(x, _)| *x == url)),
                    }
                };
                uploads.insert(url_key(u), fut.boxed().shared());
            }
        }
        Assets { uploads }
    }

    /// The remote file name of `a`: `None` for what is not uploaded (text), the name
    /// of a file already on Rapidata, or the upload's outcome.
    pub async fn name(&self, a: &Asset) -> Option<AssetResult> {
        if let Asset::Uploaded(name) = a {
            return Some(Ok(name.clone()));
        }
        let fut = self.uploads.get(&asset_key(a)?)?.clone();
        Some(fut.await)
    }

    /// The names of every asset uploaded so far (asset key → file name), for the next
    /// pass to reuse.
    pub fn uploaded(&self) -> Vec<(String, String)> {
        self.uploads
            .iter()
            .filter_map(|(k, f)| match f.peek() {
                Some(Ok(name)) => Some((k.clone(), name.clone())),
                _ => None,
            })
            .collect()
    }
}

fn url_outcome(item: Option<&(String, UrlUpload)>) -> AssetResult {
    match item.map(|(_, r)| r) {
        Some(UrlUpload::Completed { file_name }) => Ok(file_name.clone()),
        Some(UrlUpload::Failed {
            message,
            stage,
            upstream_http_status,
            trace_id,
        }) => Err(AssetFailure {
            message: message.clone(),
            trace_id: trace_id.clone(),
            stage: stage.clone(),
            http_status: *upstream_http_status,
            class: FailureClass::Permanent,
        }),
        None => Err(AssetFailure {
            message: "the batch upload did not report this URL".into(),
            trace_id: None,
            stage: None,
            http_status: None,
            class: FailureClass::Transient,
        }),
    }
}
