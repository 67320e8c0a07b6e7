//! Creating a filtered audience (`base:`), as `RapidataAudience.filter`
//! (`rapidata_client/audience/rapidata_audience.py`) does: `POST
//! /audience/{baseAudienceId}/filter` with one filter (several as an `AndFilter`). The API
//! names it like its base, so it is then renamed to the manifest's name (with the
//! description and project marker) by `PATCH /audience/{id}`, which is how the next plan
//! finds it.

use super::error::{StepError, StepResult};
use super::execute::{write, Ctx, Executor, RoundOutcome};
use super::remote::Remote;
use crate::manifest::{Audience, AudienceRef};
use crate::plan::ResourcePlan;
use crate::remote::wire_build;

impl<C: Remote> Executor<'_, C> {
    pub(super) async fn create_filtered(
        &self,
        rp: &ResourcePlan,
        a: &Audience,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let base = match &a.base {
            Some(AudienceRef::Id(id)) => id.clone(),
            Some(AudienceRef::Manifest(n)) => ctx.audiences.get(n).cloned().ok_or_else(|| {
                StepError::wait(format!("its base audience `{n}` does not exist yet"))
            })?,
            None => return Err(StepError::misfit("not a filtered audience")),
        };
        // Not repeated when its answer is lost: a filtered audience carries the base's name
        // until renamed, so no look-up by name can find it; the next plan decides.
        let id = self
            .client
            .create_filtered_audience(&base, &wire_build::filtered_audience_body(a))
            .await
            .map_err(|e| StepError::api("creating the filtered audience", &e))?;
        self.client
            .update_audience(
                &id,
                &wire_build::filtered_audience_update_body(a, self.project_name),
            )
            .await
            .map_err(|e| StepError::api("naming the filtered audience", &e))?;
        write(out, "CreateFilteredAudience", rp);
        self.progress.step(&format!(
            "created filtered Audience {} ({id}) on {base}",
            a.name
        ));
        ctx.audiences.insert(a.name.clone(), id);
        Ok(())
    }
}
