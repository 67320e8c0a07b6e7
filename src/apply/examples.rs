//! Applying an audience's qualification examples and starting its recruiting.
//!
//! Each missing example is sent as `audience_example_handler.py` sends it; every media
//! asset is uploaded once however many examples use it. A failed example is recorded like
//! a failed datapoint (a [`FailureRecord`] with its manifest line); an example whose
//! outcome is unknown is not re-sent (the next observation decides). Recruiting is a step
//! of its own, taken only when every example step succeeded.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use super::assets::{AssetFailure, Assets};
use super::error::StepError;
use super::execute::{Executor, RoundOutcome};
use crate::manifest::{Asset, Audience, Example, ResourceKind};
use crate::plan::audience::{asset_key, examples_to_add};
use crate::plan::ExamplePlan;
use crate::remote::examples::example_body;
use crate::remote::ApiError;
use crate::report::failures::{asset_source, FailureRecord};

fn sources(e: &Example) -> Vec<String> {
    e.assets
        .iter()
        .chain(&e.context_asset)
        .filter_map(asset_source)
        .collect()
}

fn failure(a: &Audience, e: &Example, err: &ApiError) -> FailureRecord {
    FailureRecord::keyed(
        ResourceKind::Audience,
        &a.name,
        &e.key,
        &e.origin,
        sources(e),
        err.class(),
        err.kind(),
        err.reason(),
    )
    .with_api_details(err)
}

impl<C: super::remote::Remote> Executor<'_, C> {
    /// Uploads the assets of the missing examples (each once), then adds the examples.
    /// `Err` when any example is missing afterwards, so recruiting waits.
    pub(super) async fn add_examples(
        &self,
        audience_id: &str,
        a: &Audience,
        plan: &ExamplePlan,
        out: &mut RoundOutcome,
    ) -> Result<usize, StepError> {
        let todo: Vec<&Example> = examples_to_add(&a.examples, plan)
            .into_iter()
            .filter(|e| {
                !self
                    .skip
                    .contains(&(ResourceKind::Audience, a.name.clone(), e.key.clone()))
            })
            .collect();
        // Every distinct media asset once, through the one asset service.
        let assets = Assets::start(
            self.client,
            todo.iter()
                .flat_map(|e| e.assets.iter().chain(&e.context_asset)),
            &Default::default(),
        );
        let mut names: HashMap<String, String> = HashMap::new();
        let mut failed_assets: HashMap<String, (AssetFailure, Option<String>)> = HashMap::new();
        for e in &todo {
            for x in e.assets.iter().chain(&e.context_asset) {
                let Some(k) = asset_key(x) else { continue };
                match assets.name(x).await {
                    Some(Ok(n)) => {
                        names.insert(k, n);
                    }
                    Some(Err(f)) => {
                        failed_assets.insert(k, (f, asset_source(x)));
                    }
                    None => {}
                }
            }
        }
        let lookup = |x: &Asset| asset_key(x).and_then(|k| names.get(&k).cloned());
        let mut added = 0;
        let mut failed = 0;
        // One at a time, in manifest order: the serving order (`sortIndex`) follows it.
        for e in todo {
            if self.cancel.is_cancelled() {
                break;
            }
            let Some(body) = example_body(e, &lookup) else {
                // An asset did not upload: record why.
                let base = FailureRecord::keyed(
                    ResourceKind::Audience,
                    &a.name,
                    &e.key,
                    &e.origin,
                    sources(e),
                    crate::remote::FailureClass::Transient,
                    "AssetUploadFailed",
                    "an asset of the example was not uploaded",
                );
                let why = e
                    .assets
                    .iter()
                    .chain(&e.context_asset)
                    .find_map(|x| failed_assets.get(&asset_key(x)?));
                out.failures.push(match why {
                    Some((f, source)) => f.clone().attach(base, source.clone()),
                    None => base,
                });
                failed += 1;
                continue;
            };
            match self.client.add_example(audience_id, &body).await {
                Ok(()) => added += 1,
                Err(err) => {
                    out.failures.push(failure(a, e, &err));
                    failed += 1;
                }
            }
        }
        self.progress.step(&format!(
            "Audience {}: added {added} qualification example(s){}",
            a.name,
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            }
        ));
        if failed > 0 || added < plan.add.len() {
            return Err(StepError::Wait(format!(
                "{} of {} qualification example(s) are not in; recruiting waits until every example is",
                plan.add.len() - added,
                plan.add.len()
            )));
        }
        Ok(added)
    }

    /// Removes the examples the plan names (prune, duplicates).
    pub(super) async fn remove_examples(
        &self,
        a: &Audience,
        plan: &ExamplePlan,
    ) -> Result<usize, StepError> {
        let ids: Vec<&str> = plan.deletions().map(|r| r.id.as_str()).collect();
        let results: Vec<Result<(), ApiError>> = stream::iter(ids.iter().copied())
            .map(|id| self.client.delete_example(id))
            .buffer_unordered(self.options.parallelism.max(1))
            .collect()
            .await;
        let failed: Vec<&ApiError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        self.progress.step(&format!(
            "Audience {}: removed {} qualification example(s)",
            a.name,
            ids.len() - failed.len()
        ));
        match failed.first() {
            Some(e) => Err(StepError::api(
                &format!("removing {} example(s)", failed.len()),
                e,
            )),
            None => Ok(ids.len()),
        }
    }
}
