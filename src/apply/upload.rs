//! The datapoint pipeline: upload each distinct asset once (local files as multipart,
//! URLs in batches), create each datapoint as soon as its assets are in, with bounded
//! concurrency. Like the SDK's uploader, but async and without re-sending creates whose
//! outcome is unknown.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use super::assets::Assets;
use super::cancel::Cancel;
use super::progress::ApplyProgress;
use super::remote::Remote;
use crate::manifest::{Asset, Datapoint, LabelingSpec, ResourceKind};
use crate::plan::datapoints::asset_key;
use crate::plan::remote_fingerprint;
use crate::remote::{wire_build, Client, FailureClass};
use crate::report::failures::{asset_source, FailureRecord};

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
        let assets = Assets::start(
            self.client,
            self.datapoints
                .iter()
                .flat_map(|d| d.assets.iter().chain(d.context_asset.as_ref())),
            self.reuse,
        );
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
        out.uploaded = assets.uploaded();
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

    async fn create_one(&self, dp: &Datapoint, assets: &Assets) -> Result<String, FailureRecord> {
        let mut names: HashMap<String, String> = HashMap::new();
        for a in dp.assets.iter().chain(dp.context_asset.as_ref()) {
            let Some(k) = asset_key(a) else { continue };
            match assets.name(a).await {
                None => {}
                Some(Ok(name)) => {
                    names.insert(k, name);
                }
                Some(Err(e)) => {
                    let f = self.failure(dp, "AssetUploadFailed", String::new(), e.class);
                    return Err(e.attach(f, asset_source(a)));
                }
            }
        }
        let fingerprint = remote_fingerprint(&self.spec.task, dp);
        let lookup = |a: &Asset| asset_key(a).and_then(|k| names.get(&k).cloned());
        let Some(body) =
            wire_build::datapoint_body_json(&self.spec.task, dp, &fingerprint, &lookup)
        else {
            return Err(self.failure(
                dp,
                "InvalidDatapoint",
                "the datapoint does not fit the job type".into(),
                FailureClass::Permanent,
            ));
        };
        self.client
            .create_datapoint(self.dataset_id, body)
            .await
            .map_err(|e| {
                self.failure(dp, e.kind(), e.reason(), e.class())
                    .with_api_details(&e)
            })
    }
}
