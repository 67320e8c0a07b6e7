//! Filling a dataset: one upload pass of what the plan adds, then the deletions it shows,
//! so nothing is gone before its replacement is in.
//!
//! One retry budget: the pass sends each datapoint's create once; the transport retries
//! a request only while its answer proves it was not processed (429, 503, a connection
//! that never sent it: at most `max_retries` more times, see `remote::RetryPolicy`), and
//! a create whose answer is lost is never re-sent. What is still missing is sent again by
//! the next round, after a fresh observation shows it is missing — never within a round.

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;

use futures::stream::{self, StreamExt};

use super::assets::Assets;
use super::execute::{Executor, RoundOutcome};
use super::gate::Rate;
use super::remote::Remote;
use super::upload::{UploadOutcome, UploadTask};
use crate::manifest::{Asset, Datapoint, JobDefinition, LabelingSpec, ResourceKind};
use crate::plan::DatapointPlan;
use crate::remote::content_identity::{ListedAsset, ListedDatapoint};
use crate::remote::{wire_build, ApiError};
use crate::report::failures::{FailureRecord, StepFailure};

/// Datapoints whose content is in memory at once while uploading (read again from the
/// sources a chunk at a time).
const UPLOAD_CHUNK: usize = 4096;

/// Datapoints the reader hands over at once (a divisor of [`UPLOAD_CHUNK`]).
const READ_BATCH: usize = 256;

/// What a dataset holds of a resource's datapoints after a fill.
#[derive(Debug, Default)]
pub(super) struct Filled {
    pub rate: Rate,
    /// Keys of the datapoints still missing (failed, or not confirmed).
    pub missing: Vec<String>,
}

impl<C: Remote> Executor<'_, C> {
    pub(super) async fn fill(
        &self,
        kind: ResourceKind,
        name: &str,
        dataset_id: &str,
        spec: &LabelingSpec,
        dp: &DatapointPlan,
        out: &mut RoundOutcome,
    ) -> Filled {
        // What is to upload, by manifest position (a bit per datapoint, not a set of a
        // million keys); failures are few and kept by key.
        let mut todo = vec![false; spec.datapoints.len()];
        let mut missing: Vec<String> = Vec::new();
        for k in &dp.add {
            if !self.skip.is_empty() && self.skip.contains(&(kind, name.to_string(), k.to_string()))
            {
                missing.push(k.clone());
            } else if let Some(p) = spec.datapoints.position(k) {
                todo[p] = true;
            }
        }
        let mut failures: Vec<FailureRecord> = Vec::new();
        if todo.contains(&true) && !self.cancel.is_cancelled() {
            let adding = spec.datapoints.has_groups().then(|| todo.clone());
            let o = self
                .upload_pass(kind, name, dataset_id, spec, dp, todo, out)
                .await;
            failures = o.failures;
            // Groups once their datapoints exist, as the SDK's `add_datapoints` does.
            if let (Some(adding), false) = (adding, self.cancel.is_cancelled()) {
                self.create_groups(kind, name, dataset_id, spec, &dp.add, &adding, out)
                    .await;
            }
        }
        missing.extend(failures.iter().filter_map(|f| f.item.key.clone()));
        let retryable = failures.iter().any(|f| !f.permanent);
        out.failures.extend(failures);
        self.delete_datapoints(kind, name, dp, out).await;
        Filled {
            rate: Rate {
                missing: missing.len() as u64,
                total: spec.datapoints.len() as u64,
                tolerance: spec.failure_tolerance,
                retryable,
            },
            missing,
        }
    }

    /// The content of the datapoints to upload, read again from the sources in manifest
    /// order and uploaded a chunk at a time: memory holds one chunk, however many there
    /// are (issue #14). Files uploaded by one chunk are reused by the next, like those the
    /// plan found remotely.
    #[allow(clippy::too_many_arguments)]
    async fn upload_pass(
        &self,
        kind: ResourceKind,
        name: &str,
        dataset_id: &str,
        spec: &LabelingSpec,
        dp: &DatapointPlan,
        todo: Vec<bool>,
        out: &mut RoundOutcome,
    ) -> UploadOutcome {
        let count = todo.iter().filter(|t| **t).count();
        self.progress
            .uploads_started(name, count as u64, dp.upload_assets);
        let mut reuse = dp.reuse.clone();
        let mut outcome = UploadOutcome::default();
        let mut content = spec.datapoints.stream(todo, READ_BATCH);
        let mut unreadable = None;
        loop {
            let mut chunk = Vec::with_capacity(UPLOAD_CHUNK);
            while chunk.len() < UPLOAD_CHUNK {
                match content.recv().await {
                    Some(Ok(batch)) => chunk.extend(batch),
                    Some(Err(e)) => {
                        unreadable = Some(e);
                        break;
                    }
                    None => break,
                }
            }
            // A source that changed since the plan: this chunk is not uploaded (the
            // chunks before it were exactly what the plan showed).
            if chunk.is_empty() || unreadable.is_some() {
                break;
            }
            let o = self
                .upload_chunk(kind, name, dataset_id, spec, &chunk, &reuse)
                .await;
            reuse.extend(o.uploaded);
            outcome.created += o.created;
            outcome.unknown.extend(o.unknown);
            outcome.failures.extend(o.failures);
            if self.cancel.is_cancelled() {
                break;
            }
        }
        self.progress.uploads_finished(name);
        if let Some(e) = unreadable {
            // Nothing is uploaded from a source that changed since the plan read it.
            self.fail(out, kind, name, reread_failure(&e));
        }
        outcome
    }

    async fn upload_chunk(
        &self,
        kind: ResourceKind,
        name: &str,
        dataset_id: &str,
        spec: &LabelingSpec,
        chunk: &[Datapoint],
        reuse: &BTreeMap<String, String>,
    ) -> UploadOutcome {
        UploadTask {
            client: self.client,
            kind,
            resource: name,
            dataset_id,
            spec,
            datapoints: chunk.iter().collect(),
            parallelism: self.options.parallelism,
            reuse,
        }
        .run(self.progress, self.cancel)
        .await
    }

    /// The remote datapoints the plan deletes (removed with prune, changed, duplicates).
    async fn delete_datapoints(
        &self,
        kind: ResourceKind,
        name: &str,
        dp: &DatapointPlan,
        out: &mut RoundOutcome,
    ) {
        let deletions: Vec<&str> = dp.deletions().map(|r| r.id.as_str()).collect();
        if deletions.is_empty() || self.cancel.is_cancelled() {
            return;
        }
        let results: Vec<Result<(), ApiError>> = stream::iter(deletions.iter().copied())
            .map(|id| self.client.delete_datapoint(id))
            .buffer_unordered(self.options.parallelism.max(1))
            .collect()
            .await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        self.progress.step(&format!(
            "{kind} {name}: removed {} datapoints{}",
            deletions.len() - failed,
            if failed > 0 {
                format!(" ({failed} removals failed; retried next round)")
            } else {
                String::new()
            }
        ));
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            let doing = format!("removing {failed} datapoint(s)");
            self.fail(out, kind, name, StepFailure::api(&doing, e));
        }
    }

    /// A new dataset keeps the remote datapoints the manifests no longer list unless
    /// prune is on — what removal means without a job too. They are copied from the
    /// current dataset with the files they already use; nothing is uploaded again.
    pub(super) async fn carry_over(
        &self,
        d: &JobDefinition,
        dataset_id: &str,
        dp: &DatapointPlan,
        filled: &mut Filled,
        out: &mut RoundOutcome,
    ) {
        let Some(from) = dp.keep_from.as_deref() else {
            return;
        };
        if dp.keep.is_empty() || self.cancel.is_cancelled() {
            return;
        }
        let kind = ResourceKind::JobDefinition;
        let name = d.name.as_str();
        let listed = match self.client.list_datapoint_contents(from).await {
            Ok(l) => l,
            Err(e) => {
                let doing = "reading the datapoints to carry over";
                self.fail(out, kind, name, StepFailure::api(doing, &e));
                filled.rate.retryable = true;
                filled.missing.extend(dp.keep.iter().map(|r| r.key.clone()));
                return;
            }
        };
        let wanted: HashSet<&str> = dp.keep.iter().map(|r| r.id.as_str()).collect();
        let copies: Vec<Datapoint> = listed
            .iter()
            .filter(|l| wanted.contains(l.id.as_str()))
            .filter_map(|l| copy_of(l, &d.origin))
            .collect();
        let o = self
            .upload_chunk(kind, name, dataset_id, &d.spec, &copies, &BTreeMap::new())
            .await;
        self.progress.step(&format!(
            "JobDefinition {name}: carried over {} of {} datapoint(s) the manifests no longer list (prune is off)",
            o.created,
            dp.keep.len()
        ));
        let not_copied = dp.keep.len() as u64 - o.created;
        if not_copied > 0 {
            filled.rate.retryable |= o.failures.iter().any(|f| !f.permanent);
            self.fail(
                out,
                kind,
                name,
                StepFailure::from(format!(
                    "{not_copied} datapoint(s) the manifests no longer list were not carried over to the new dataset"
                )),
            );
        }
    }

    /// Register each group whose datapoints are all new, after its datapoints were sent:
    /// the SDK's `_create_dataset_groups` (`dataset/_rapidata_dataset.py`), every group of
    /// the batch, its context (that of its first datapoint) on the group, empty segments
    /// when it has none. A group that already has datapoints remotely already exists.
    #[allow(clippy::too_many_arguments)]
    async fn create_groups(
        &self,
        kind: ResourceKind,
        name: &str,
        dataset_id: &str,
        spec: &LabelingSpec,
        add: &[String],
        adding: &[bool],
        out: &mut RoundOutcome,
    ) {
        if !spec.datapoints.has_groups() {
            return;
        }
        // One pass over the content: each group's first datapoint being added, and the
        // groups some of whose datapoints are not new (those exist remotely already).
        let wanted: HashSet<&str> = add.iter().map(String::as_str).collect();
        let mut firsts: BTreeMap<String, Datapoint> = BTreeMap::new();
        let mut not_all_new: HashSet<String> = HashSet::new();
        let read = spec.datapoints.for_each(|i, d| {
            if let Some(g) = &d.group {
                if !wanted.contains(d.key.as_str()) {
                    not_all_new.insert(g.clone());
                }
                if adding.get(i).copied().unwrap_or(false) && !firsts.contains_key(g) {
                    firsts.insert(g.clone(), d.clone());
                }
            }
            ControlFlow::Continue(())
        });
        if let Err(e) = read {
            self.fail(out, kind, name, reread_failure(&e));
            return;
        }
        let firsts: Vec<(String, Datapoint)> = firsts
            .into_iter()
            .filter(|(g, _)| !not_all_new.contains(g))
            .collect();
        let assets = Assets::start(
            self.client,
            firsts.iter().filter_map(|(_, f)| f.context_asset.as_ref()),
            &BTreeMap::new(),
        );
        for (group, first) in &firsts {
            let context_asset = match &first.context_asset {
                Some(a) => match assets.name(a).await {
                    None => None,
                    Some(Ok(n)) => Some(n),
                    Some(Err(e)) => {
                        let f = StepFailure {
                            message: format!(
                                "uploading the context asset of group `{group}` failed: {}",
                                e.message
                            ),
                            error_type: "AssetUploadFailed".into(),
                            class: e.class,
                            trace_id: e.trace_id,
                            http_status: e.http_status,
                        };
                        self.fail(out, kind, name, f);
                        continue;
                    }
                },
                None => None,
            };
            let lookup = |_: &Asset| context_asset.clone();
            let Some(body) = wire_build::group_body(group, first, &lookup) else {
                continue;
            };
            match self.client.create_dataset_group(dataset_id, &body).await {
                Ok(()) => {}
                // Made by an earlier, interrupted run.
                Err(e) if e.is_conflict_on("group") => {}
                Err(e) => {
                    let doing = format!("creating the context of group `{group}`");
                    self.fail(out, kind, name, StepFailure::api(&doing, &e));
                }
            }
        }
    }
}

/// A listed remote datapoint as a datapoint to create again with the same content and
/// key: its files by their remote names (`{uploaded: name}`), so nothing is uploaded.
fn copy_of(l: &ListedDatapoint, origin: &crate::manifest::Origin) -> Option<Datapoint> {
    fn asset(a: &ListedAsset) -> Option<Asset> {
        match a {
            ListedAsset::Text(t) => Some(Asset::Text(t.clone())),
            ListedAsset::File { file_name, .. } => Some(Asset::Uploaded(file_name.clone())),
            ListedAsset::Multi(_) | ListedAsset::Other(_) => None,
        }
    }
    let assets = match l.asset.as_ref()? {
        ListedAsset::Multi(parts) => parts.iter().map(asset).collect::<Option<Vec<_>>>()?,
        a => vec![asset(a)?],
    };
    let key = l.key.clone()?;
    Some(Datapoint {
        fingerprint: l.fingerprint.clone().unwrap_or_default(),
        explicit_key: !key.starts_with("fp-"),
        key,
        origin: origin.clone(),
        assets,
        context: l.context.clone(),
        context_asset: l.context_asset.as_ref().and_then(asset),
        private_metadata: Default::default(),
        group: None,
        sentence: l.sentence.clone(),
    })
}

/// The datapoints' content could not be read again as the plan read it.
fn reread_failure(e: &crate::manifest::ReplayError) -> StepFailure {
    StepFailure::from(format!("reading the datapoints again: {e}"))
}
