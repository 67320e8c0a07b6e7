//! The datapoint pipeline: upload each distinct asset once (local files as multipart,
//! URLs in batches), create each datapoint as soon as its assets are in, with bounded
//! concurrency. Like the SDK's uploader, but async and without re-sending creates whose
//! outcome is unknown.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt, Shared};
use futures::stream::{self, StreamExt};

use super::cancel::Cancel;
use super::progress::ApplyProgress;
use super::remote::Remote;
use crate::manifest::{Asset, Datapoint, LabelingSpec, ResourceKind};
use crate::plan::datapoints::{asset_key, url_key};
use crate::plan::remote_fingerprint;
use crate::remote::{wire_build, ApiError, Client, FailureClass, UrlUpload};
use crate::report::failures::{asset_source, FailureRecord};

/// URLs per batch-upload request.
const URL_BATCH: usize = 100;

/// Why an asset could not be uploaded; shared by every datapoint that uses the asset.
#[derive(Debug, Clone)]
pub struct AssetFailure {
    pub message: String,
    pub trace_id: Option<String>,
    pub stage: Option<String>,
    pub http_status: Option<u16>,
    pub class: FailureClass,
}

impl From<&ApiError> for AssetFailure {
    fn from(e: &ApiError) -> Self {
        AssetFailure {
            message: e.reason(),
            trace_id: e.trace_id().map(str::to_string),
            stage: e.stage().map(str::to_string),
            http_status: e.http_status(),
            class: e.class(),
        }
    }
}

type AssetResult = Result<String, AssetFailure>;
type SharedAsset = Shared<BoxFuture<'static, AssetResult>>;

/// Assets are known by `plan::datapoints::asset_key` (`file:<blake3>`, `url:<url>`),
/// the key the plan's reuse map and the next pass use too.
type AssetKey = String;

/// What one upload pass achieved.
#[derive(Debug, Default)]
pub struct UploadOutcome {
    pub created: u64,
    /// Keys whose creation outcome is unknown: the next observation decides.
    pub unknown: Vec<String>,
    pub failures: Vec<FailureRecord>,
    /// Assets this pass uploaded (asset key, see `plan::datapoints::asset_key` → remote
    /// file name), for the next pass to reuse.
    pub uploaded: Vec<(String, String)>,
}

pub struct UploadTask<'a, C: Remote = Client> {
    pub client: &'a C,
    pub kind: ResourceKind,
    pub resource: &'a str,
    pub dataset_id: &'a str,
    pub spec: &'a LabelingSpec,
    pub datapoints: Vec<&'a Datapoint>,
    pub parallelism: usize,
    /// Files already uploaded (asset key → remote file name, see
    /// `plan::datapoints::asset_key`): used instead of uploading the bytes again.
    pub reuse: &'a std::collections::BTreeMap<String, String>,
}

impl<C: Remote> UploadTask<'_, C> {
    pub async fn run(&self, progress: &dyn ApplyProgress, cancel: &Cancel) -> UploadOutcome {
        let assets = self.asset_futures(progress);
        let assets = &assets;
        // Folded as they finish, not collected: a million successes leave nothing behind
        // but a count; only failures are kept (issue #14, memory flat in N).
        let out = stream::iter(self.datapoints.iter().copied())
            .take_while(|_| futures::future::ready(!cancel.is_cancelled()))
            .map(|dp| async move {
                let r = self.create_one(dp, assets).await;
                progress.datapoint_done(r.is_ok());
                (dp, r.map(drop))
            })
            .buffer_unordered(self.parallelism.max(1))
            .fold(UploadOutcome::default(), |mut out, (dp, r)| {
                match r {
                    Ok(()) => out.created += 1,
                    Err(f) if f.class == FailureClass::OutcomeUnknown => {
                        out.unknown.push(dp.key.clone());
                        out.failures.push(f);
                    }
                    Err(f) => out.failures.push(f),
                }
                futures::future::ready(out)
            })
            .await;
        let mut out = out;
        for (k, fut) in assets {
            if let Some(Ok(name)) = fut.peek() {
                out.uploaded.push((k.clone(), name.clone()));
            }
        }
        out
    }

    fn failure(
        &self,
        dp: &Datapoint,
        error_type: &str,
        message: String,
        class: FailureClass,
    ) -> FailureRecord {
        FailureRecord::datapoint(self.kind, self.resource, dp, class, error_type, message)
    }

    async fn create_one(
        &self,
        dp: &Datapoint,
        assets: &HashMap<AssetKey, SharedAsset>,
    ) -> Result<String, FailureRecord> {
        let mut names: HashMap<AssetKey, String> = HashMap::new();
        for a in dp.assets.iter().chain(dp.context_asset.as_ref()) {
            let Some(k) = asset_key(a) else { continue };
            let Some(fut) = assets.get(&k) else { continue };
            match fut.clone().await {
                Ok(name) => {
                    names.insert(k, name);
                }
                Err(e) => {
                    let mut f = self.failure(dp, "AssetUploadFailed", e.message, e.class);
                    f.trace_id = e.trace_id;
                    f.stage = e.stage;
                    f.http_status = e.http_status;
                    f.asset = asset_source(a);
                    return Err(f);
                }
            }
        }
        let mut uploaded = dp.clone();
        uploaded.fingerprint = remote_fingerprint(&self.spec.task, dp);
        let lookup = |a: &Asset| asset_key(a).and_then(|k| names.get(&k).cloned());
        let Some(body) = wire_build::datapoint_body(&self.spec.task, &uploaded, &lookup) else {
            return Err(self.failure(
                dp,
                "InvalidDatapoint",
                "the datapoint does not fit the job type".into(),
                FailureClass::Permanent,
            ));
        };
        self.client
            .create_datapoint(self.dataset_id, &body)
            .await
            .map_err(|e| {
                self.failure(dp, e.kind(), e.reason(), e.class())
                    .with_api_details(&e)
            })
    }

    /// One shared future per distinct asset: awaited by every datapoint that uses it,
    /// run once.
    fn asset_futures(&self, progress: &dyn ApplyProgress) -> HashMap<AssetKey, SharedAsset> {
        let _ = progress;
        let mut files: HashMap<AssetKey, SharedAsset> = HashMap::new();
        let mut urls: Vec<String> = Vec::new();
        let mut url_seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for dp in &self.datapoints {
            for a in dp.assets.iter().chain(dp.context_asset.as_ref()) {
                // Text and files only on Rapidata are not uploaded.
                let Some(key) = asset_key(a) else { continue };
                if let Some(name) = self.reuse.get(&key) {
                    let name = name.clone();
                    files
                        .entry(key)
                        .or_insert_with(|| futures::future::ready(Ok(name)).boxed().shared());
                    continue;
                }
                match a {
                    Asset::File {
                        path, file_name, ..
                    } => {
                        if files.contains_key(&key) {
                            continue;
                        }
                        let client = self.client.clone();
                        let path = path.clone();
                        let file_name = file_name.clone();
                        let fut = async move {
                            client
                                .upload_file(&path, &file_name)
                                .await
                                .map_err(|e| match e {
                                    // Deleted or unreadable since validation: permanent.
                                    ApiError::Io { path, source } => AssetFailure {
                                        message: format!(
                                            "cannot read {}: {source}",
                                            path.display()
                                        ),
                                        trace_id: None,
                                        stage: None,
                                        http_status: None,
                                        class: FailureClass::Permanent,
                                    },
                                    other => AssetFailure::from(&other),
                                })
                        }
                        .boxed()
                        .shared();
                        files.insert(key, fut);
                    }
                    Asset::Url(u) => {
                        if !files.contains_key(&key) && url_seen.insert(u.as_str()) {
                            urls.push(u.clone());
                        }
                    }
                    Asset::Text(_) | Asset::Uploaded(_) => {}
                }
            }
        }
        for batch in urls.chunks(URL_BATCH) {
            let client = self.client.clone();
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
                        Err(e) => Err(e.clone()),
                        Ok(items) => match items.iter().find(|(x, _)| *x == url).map(|(_, r)| r) {
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
                        },
                    }
                }
                .boxed()
                .shared();
                files.insert(url_key(u), fut);
            }
        }
        files
    }
}
