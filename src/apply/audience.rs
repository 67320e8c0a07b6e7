//! The audience reconciler: create or update it, its qualification examples
//! (`examples.rs`), then recruiting.

use super::error::{StepError, StepResult};
use super::execute::{misfit, write, Ctx, Executor, RoundOutcome};
use super::remote::Remote;
use super::settle::Settled;
use crate::manifest::{Audience, ResourceKind};
use crate::plan::{ResourcePlan, Step};
use crate::remote::wire_build;

impl<C: Remote> Executor<'_, C> {
    pub(super) async fn audience_step(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        a: &Audience,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let existing = |ctx: &Ctx| {
            ctx.audiences
                .get(&a.name)
                .cloned()
                .ok_or_else(|| StepError::wait("the audience does not exist yet"))
        };
        match step {
            Step::CreateAudience => {
                let body = wire_build::audience_body_for(a, self.project_name);
                let settled = self
                    .create_settled(
                        (ResourceKind::Audience, &a.name),
                        "creating the audience",
                        self.client.create_audience(&body),
                        String::as_str,
                        || self.client.find_audiences(&a.name),
                    )
                    .await?;
                let id = settled.id(String::as_str).to_string();
                if let Settled::Ours(_) = settled {
                    self.progress
                        .step(&format!("created Audience {} ({id})", a.name));
                }
                write(out, "CreateAudience", rp);
                ctx.audiences.insert(a.name.clone(), id);
                Ok(())
            }
            Step::CreateFilteredAudience => self.create_filtered(rp, a, ctx, out).await,
            Step::MoveAside { to } => self.move_aside(rp, to, out).await,
            Step::UpdateAudience => {
                let id = rp
                    .remote_id
                    .as_deref()
                    .ok_or_else(|| StepError::wait("the audience was not observed"))?;
                let body = match a.base {
                    Some(_) => wire_build::filtered_audience_update_body(a, self.project_name),
                    None => wire_build::audience_update_body_for(a, self.project_name),
                };
                self.client
                    .update_audience(id, &body)
                    .await
                    .map_err(|e| StepError::api("updating the audience", &e))?;
                write(out, "UpdateAudience", rp);
                self.progress.step(&format!("updated Audience {}", a.name));
                Ok(())
            }
            Step::AddExamples => {
                let id = existing(ctx)?;
                let plan = rp.examples.as_ref().ok_or_else(|| misfit(rp, step))?;
                self.add_examples(&id, a, plan, out).await?;
                write(out, "AddExamples", rp);
                Ok(())
            }
            Step::RemoveExamples => {
                let plan = rp.examples.as_ref().ok_or_else(|| misfit(rp, step))?;
                self.remove_examples(a, plan).await?;
                write(out, "RemoveExamples", rp);
                Ok(())
            }
            Step::StartRecruiting => {
                let id = existing(ctx)?;
                self.client
                    .start_recruiting(&id)
                    .await
                    .map_err(|e| StepError::api("starting recruiting", &e))?;
                write(out, "StartRecruiting", rp);
                self.progress
                    .step(&format!("Audience {}: recruiting started", a.name));
                Ok(())
            }
            Step::Rename { from } => self.rename(rp, from, ctx, out).await,
            Step::AdoptIntoProject { .. } => self.adopt_into_project(rp, step, out).await,
            _ => Err(misfit(rp, step)),
        }
    }
}
