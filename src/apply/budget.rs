//! The budget gate: a job is not assigned, and an order not submitted, when Rapidata's
//! estimate is above its budget (`budget:` in the manifest, `--max-cost` on apply).
//!
//! The definition is created first (as with the failure tolerance); its price is then
//! awaited the way the SDK awaits it (`rapidata_client/job/cost.py`,
//! `_poll_for_cost_estimate`: every 5 s, up to 300 s). Over budget, or not priced in time,
//! the job is not assigned, the definition stays, and the resource is not tried again in
//! this run: apply exits non-zero and says why.

use std::time::Duration;

use crate::manifest::{Job, Order};
use crate::plan::cost::money;
use crate::remote::progress::{CostEstimate, ESTIMATE_POLL_INTERVAL, ESTIMATE_TIMEOUT};

#[derive(Debug, Clone)]
pub struct BudgetOptions {
    /// `--max-cost`: the budget of every job and order without a smaller one of its own.
    pub max_cost: Option<f64>,
    /// How often the estimate is read while Rapidata prices the definition.
    pub poll_interval: Duration,
    /// How long to wait for the price at most.
    pub timeout: Duration,
}

impl Default for BudgetOptions {
    fn default() -> Self {
        BudgetOptions {
            max_cost: None,
            poll_interval: ESTIMATE_POLL_INTERVAL,
            timeout: ESTIMATE_TIMEOUT,
        }
    }
}

/// Why the gate stopped a job or an order. `halt`: not tried again in this run (the
/// answer would be the same); otherwise a later round may retry.
#[derive(Debug)]
pub struct BudgetStop {
    pub message: String,
    pub halt: bool,
}

/// The budget that applies and where it comes from: the smaller of the manifest's and
/// `--max-cost`.
fn limit(manifest: Option<f64>, max_cost: Option<f64>, of: &str) -> Option<(f64, String)> {
    match (manifest, max_cost) {
        (Some(b), Some(m)) if m < b => Some((m, "--max-cost".into())),
        (Some(b), _) => Some((b, format!("the `budget:` of {of}"))),
        (None, Some(m)) => Some((m, "--max-cost".into())),
        (None, None) => None,
    }
}

/// Before `POST /job`: the definition's estimate (its latest revision, which the job
/// runs) against the job's budget. `Ok(Some)` with the estimate when within it.
pub async fn check_job(
    client: &impl super::remote::Remote,
    opts: &BudgetOptions,
    job: &Job,
    definition_id: &str,
) -> Result<Option<CostEstimate>, BudgetStop> {
    let Some((budget, source)) = limit(job.budget, opts.max_cost, &format!("Job `{}`", job.name))
    else {
        return Ok(None);
    };
    let def = format!("JobDefinition `{}`", job.definition);
    let estimate = client
        .wait_definition_cost_estimate(definition_id, opts.poll_interval, opts.timeout)
        .await
        .map_err(|e| BudgetStop {
            message: format!("not assigned: reading the cost estimate of {def} failed: {e}"),
            halt: false,
        })?;
    let Some(e) = estimate else {
        return Err(BudgetStop {
            message: format!(
                "not assigned: Rapidata did not price {def} within {:?}, so the budget of {} ({source}) cannot be checked; the definition stays. Apply again later.",
                opts.timeout,
                money(budget)
            ),
            halt: true,
        });
    };
    if e.estimated_cost > budget + 1e-9 {
        return Err(BudgetStop {
            message: format!(
                "not assigned: {def} is estimated at {} ({} datapoints, {} responses × {}), over the budget of {} ({source}). The definition stays; raise the budget, or ask for fewer datapoints or responses, then apply again.",
                money(e.estimated_cost),
                e.datapoint_count,
                e.required_responses,
                e.cost_per_response,
                money(budget)
            ),
            halt: true,
        });
    }
    Ok(Some(e))
}

/// Before `POST /order/{id}/submit`: contract v2 has no cost estimate for orders, so a
/// budget on one cannot be checked, and an unchecked budget is not a budget: the order
/// is not submitted.
pub fn check_order(opts: &BudgetOptions, order: &Order) -> Result<(), BudgetStop> {
    match limit(
        order.budget,
        opts.max_cost,
        &format!("Order `{}`", order.name),
    ) {
        None => Ok(()),
        Some((budget, source)) => Err(BudgetStop {
            message: format!(
                "not submitted: it has a budget of {} ({source}), and Rapidata has no cost estimate for orders to check it against. Remove the budget to submit it unchecked, or run the work as a JobDefinition and a Job, which Rapidata prices.",
                money(budget)
            ),
            halt: true,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smaller_budget_applies() {
        assert_eq!(limit(None, None, "x"), None);
        assert_eq!(limit(Some(5.0), None, "x").unwrap().0, 5.0);
        assert_eq!(limit(Some(5.0), Some(3.0), "x").unwrap().1, "--max-cost");
        assert_eq!(limit(Some(2.0), Some(3.0), "x").unwrap().0, 2.0);
        assert_eq!(limit(None, Some(3.0), "x").unwrap().0, 3.0);
    }
}
