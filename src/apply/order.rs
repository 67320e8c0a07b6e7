//! The order reconciler: the order and its datapoints, submitted only once they had their
//! retries and are within tolerance (an order is locked once submitted).

use super::error::{StepError, StepResult};
use super::execute::{misfit, write, Ctx, Executor, RoundOutcome};
use super::gate;
use super::remote::Remote;
use super::settle::Settled;
use crate::manifest::{Order, ResourceKind};
use crate::plan::{ResourcePlan, Step};
use crate::remote::wire_build;

const KIND: ResourceKind = ResourceKind::Order;

impl<C: Remote> Executor<'_, C> {
    pub(super) async fn order_step(
        &self,
        rp: &ResourcePlan,
        step: &Step,
        o: &Order,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        match step {
            Step::CreateOrder | Step::PrepareOrder => self.create_order(rp, o, ctx, out).await,
            Step::EditDataset | Step::FillShard { .. } => {
                let dp = rp.datapoints.as_ref().ok_or_else(|| misfit(rp, step))?;
                let ds = dp
                    .dataset_id
                    .clone()
                    .ok_or_else(|| StepError::wait("the order's dataset is not known"))?;
                write(
                    out,
                    if *step == Step::EditDataset {
                        "EditDataset"
                    } else {
                        "FillShard"
                    },
                    rp,
                );
                let filled = self.fill(KIND, &o.name, &ds, &o.spec, dp, out).await;
                ctx.rates.insert((KIND, o.name.clone()), filled.rate);
                Ok(())
            }
            Step::SubmitOrder => {
                let (id, _) = ctx
                    .orders
                    .get(&o.name)
                    .cloned()
                    .ok_or_else(|| StepError::wait("the order does not exist yet"))?;
                let rate = ctx
                    .rates
                    .get(&(KIND, o.name.clone()))
                    .copied()
                    .unwrap_or_default();
                // Submitted only once its datapoints converged: what failed transiently is
                // retried by the next round first (an order is locked once submitted).
                gate::submit_order(rate)?;
                super::budget::check_order(&self.options.budget, o)?;
                self.client
                    .submit_order(&id)
                    .await
                    .map_err(|e| StepError::api("submitting the order", &e))?;
                write(out, "SubmitOrder", rp);
                self.progress.step(&format!("submitted Order {}", o.name));
                Ok(())
            }
            Step::Pause | Step::Resume => {
                let id = rp
                    .remote_id
                    .clone()
                    .or_else(|| ctx.orders.get(&rp.name).map(|o| o.0.clone()))
                    .ok_or_else(|| StepError::wait("it does not exist yet"))?;
                self.pause_or_resume(rp, *step == Step::Pause, &id, out)
                    .await
            }
            Step::MoveAside { to } => self.move_aside(rp, to, out).await,
            _ => Err(misfit(rp, step)),
        }
    }

    async fn create_order(
        &self,
        rp: &ResourcePlan,
        o: &Order,
        ctx: &mut Ctx,
        out: &mut RoundOutcome,
    ) -> StepResult {
        let name = o.name.as_str();
        let dp = rp
            .datapoints
            .as_ref()
            .ok_or_else(|| misfit(rp, &Step::CreateOrder))?;
        let body = wire_build::order_body(name, &o.spec);
        // Its dataset is recorded as soon as the answer names it (fact 16: nothing else
        // will), before anything else can fail.
        let create = async {
            let r = self.client.create_order(&body).await;
            if let Ok((id, Some(ds))) = &r {
                self.record.update(|rec| {
                    rec.order_datasets.insert(id.clone(), ds.clone());
                });
            }
            r
        };
        let settled = self
            .create_settled(
                (KIND, name),
                "creating the order",
                create,
                |(id, _)| id.as_str(),
                || self.client.find_orders(name),
            )
            .await?;
        let (ours, ds) = match settled {
            Settled::Ours(created) => created,
            // Its dataset is known only from the lost response: the next plan replaces
            // the order.
            Settled::Found(id) => {
                return Err(StepError::wait(format!(
                "the order {id} was created but its answer was lost, so its dataset is unknown; \
                     the next plan makes it again"
            )))
            }
            Settled::Older(kept) => {
                let ds = self.record.get().order_datasets.get(&kept).cloned();
                ctx.orders.insert(name.to_string(), (kept.clone(), ds));
                // Only its creator knows its dataset (fact 16): the order is left to it.
                return Err(StepError::Halt {
                    message: format!(
                        "another apply created this order at the same time; the older one ({kept}) is kept \
                         and left to the apply that created it"
                    ),
                    failure: None,
                });
            }
        };
        out.writes.push(format!("CreateOrder Order/{name}"));
        self.progress
            .step(&format!("created Order {name} ({ours})"));
        let ds = ds.ok_or_else(|| {
            StepError::misfit("the server did not say which dataset the order uses")
        })?;
        ctx.orders
            .insert(name.to_string(), (ours, Some(ds.clone())));
        if rp.steps.contains(&Step::PrepareOrder) {
            // The shards fill it; the final apply submits it.
            return Ok(());
        }
        let filled = self.fill(KIND, name, &ds, &o.spec, dp, out).await;
        ctx.rates.insert((KIND, name.to_string()), filled.rate);
        Ok(())
    }
}
