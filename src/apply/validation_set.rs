//! The validation set reconciler: `POST /validation-set` (through `create_settled`), each
//! missing task with `POST /validation-set/{id}/rapid` as
//! `rapidata_client/validation/rapids/_validation_rapid_uploader.py` sends it (assets
//! uploaded once each through the one asset service), then `PATCH` of `dimensions` and
//! `shouldAlert` (`rapidata_validation_set.py`). A failed task is recorded with its manifest
//! line, like a failed example.

use std::collections::HashMap;

use super::assets::Assets;
use super::error::{StepError, StepResult};
use super::execute::{misfit, write, Ctx, Executor, RoundOutcome};
use super::remote::Remote;
use super::settle::Settled;
use crate::manifest::{Asset, Example, ResourceKind, ValidationSet};
use crate::plan::audience::{asset_key, examples_to_add};
use crate::plan::{ResourcePlan, Step};
use crate::remote::validation_sets::{rapid_body, update_body};
use crate::report::failures::{asset_source, FailureRecord};

fn sources(e: &Example) -> Vec<String> {
    e.assets
        .iter()
        .chain(&e.context_asset)
        .filter_map(asset_source)
        .collect()
}

impl<C: Remote> Executor<'_, C> {
    pub(super) async fn validation_set_step(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        s: &ValidationSet,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let existing = |ctx: &Ctx| {
            ctx.validation_sets
                .get(&s.name)
                .cloned()
                .ok_or_else(|| StepError::wait("the validation set does not exist yet"))
        };
        match step {
            Step::CreateValidationSet => {
                let settled = self
                    .create_settled(
                        (ResourceKind::ValidationSet, &s.name),
                        "creating the validation set",
                        self.client.create_validation_set(&s.name),
                        String::as_str,
                        || self.client.find_validation_sets(&s.name),
                    )
                    .await?;
                let id = settled.id(String::as_str).to_string();
                if let Settled::Ours(_) = settled {
                    self.progress
                        .step(&format!("created ValidationSet {} ({id})", s.name));
                }
                write(out, "CreateValidationSet", rp);
                ctx.validation_sets.insert(s.name.clone(), id);
                Ok(())
            }
            Step::UpdateValidationSet => {
                let id = existing(ctx)?;
                self.client
                    .update_validation_set(
                        &id,
                        &update_body(s.dimensions.as_deref(), s.should_alert),
                    )
                    .await
                    .map_err(|e| StepError::api("updating the validation set", &e))?;
                write(out, "UpdateValidationSet", rp);
                Ok(())
            }
            Step::MoveAside { to } => self.move_aside(rp, to, out).await,
            Step::AddValidationTasks => {
                let id = existing(ctx)?;
                let plan = rp.examples.as_ref().ok_or_else(|| misfit(rp, step))?;
                self.add_tasks(&id, s, &plan.add, out).await?;
                write(out, "AddValidationTasks", rp);
                Ok(())
            }
            _ => Err(misfit(rp, step)),
        }
    }

    async fn add_tasks(
        &self,
        set_id: &str,
        s: &ValidationSet,
        add: &[String],
        out: &mut RoundOutcome,
    ) -> StepResult {
        let plan = crate::plan::ExamplePlan {
            add: add.to_vec(),
            ..Default::default()
        };
        let todo: Vec<&Example> = examples_to_add(&s.tasks, &plan)
            .into_iter()
            .filter(|e| {
                !self
                    .skip
                    .contains(&(ResourceKind::ValidationSet, s.name.clone(), e.key.clone()))
            })
            .collect();
        let assets = Assets::start(
            self.client,
            todo.iter()
                .flat_map(|e| e.assets.iter().chain(&e.context_asset)),
            &Default::default(),
        );
        let mut names: HashMap<String, String> = HashMap::new();
        for e in &todo {
            for x in e.assets.iter().chain(&e.context_asset) {
                if let (Some(k), Some(Ok(n))) = (asset_key(x), assets.name(x).await) {
                    names.insert(k, n);
                }
            }
        }
        let lookup = |x: &Asset| asset_key(x).and_then(|k| names.get(&k).cloned());
        let (mut added, mut failed) = (0, 0);
        for e in todo {
            if self.cancel.is_cancelled() {
                break;
            }
            let result = match rapid_body(e, &lookup) {
                Some(body) => self.client.add_validation_task(set_id, &body).await,
                None => {
                    out.failures.push(FailureRecord::keyed(
                        ResourceKind::ValidationSet,
                        &s.name,
                        &e.key,
                        &e.origin,
                        sources(e),
                        crate::remote::FailureClass::Transient,
                        "AssetUploadFailed",
                        "an asset of the validation task was not uploaded",
                    ));
                    failed += 1;
                    continue;
                }
            };
            match result {
                Ok(()) => added += 1,
                Err(err) => {
                    out.failures.push(
                        FailureRecord::keyed(
                            ResourceKind::ValidationSet,
                            &s.name,
                            &e.key,
                            &e.origin,
                            sources(e),
                            err.class(),
                            err.kind(),
                            err.reason(),
                        )
                        .with_api_details(&err),
                    );
                    failed += 1;
                }
            }
        }
        self.progress.step(&format!(
            "ValidationSet {}: added {added} task(s){}",
            s.name,
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            }
        ));
        if failed > 0 || added < add.len() {
            return Err(StepError::Wait(format!(
                "{} of {} validation task(s) are not in",
                add.len() - added,
                add.len()
            )));
        }
        Ok(())
    }
}
