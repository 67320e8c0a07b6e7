//! `AdoptIntoProject` (`plan::project_marker`): the project's marker written on a remote
//! resource made outside it, exactly as the plan computed it, and nothing else.

use serde_json::json;

use super::error::{StepError, StepResult};
use super::execute::{misfit, write, Executor, RoundOutcome};
use super::remote::Remote;
use crate::manifest::ResourceKind;
use crate::plan::{ResourcePlan, Step};

impl<C: Remote> Executor<'_, C> {
    /// An audience: `PATCH /audience/{id}` with only `description` (a field left out of
    /// the patch is left as it is: its filters, name and admission bar are untouched). A
    /// definition: `PATCH /dataset/{id}/name` of the dataset the plan saw.
    pub(super) async fn adopt_into_project(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let Step::AdoptIntoProject { project, to } = step else {
            return Err(misfit(rp, step));
        };
        let id = rp
            .remote_id
            .as_deref()
            .ok_or_else(|| StepError::wait("the resource to adopt was not observed"))?;
        let doing = format!(
            "adopting {} `{}` into project `{project}`",
            rp.kind, rp.name
        );
        let done = match rp.kind {
            ResourceKind::Audience => {
                self.client
                    .update_audience(id, &json!({ "description": to }))
                    .await
            }
            ResourceKind::JobDefinition => {
                let ds = rp
                    .datapoints
                    .as_ref()
                    .and_then(|d| d.dataset_id.as_deref())
                    .ok_or_else(|| misfit(rp, step))?;
                self.client.rename_dataset(ds, to).await
            }
            _ => return Err(misfit(rp, step)),
        };
        done.map_err(|e| StepError::api(&doing, &e))?;
        write(out, "AdoptIntoProject", rp);
        self.progress.step(&format!(
            "adopted {} `{}` into project `{project}`",
            rp.kind, rp.name
        ));
        Ok(())
    }
}
