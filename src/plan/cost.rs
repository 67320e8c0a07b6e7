//! What the plan costs: per job definition, job and order the datapoints, the responses
//! its referee requires at most, and Rapidata's estimate where Rapidata can price it (fact
//! 14; `rapidata_client/job/cost.py`). An estimate, not a bill.
//!
//! Rapidata prices existing definitions (their latest revision) and jobs. A definition the
//! plan creates or changes is priced shortly after apply made it ("known after apply"); a
//! job the plan assigns to an unchanged definition costs what the definition is priced at.
//! Orders have no cost estimate in contract v2.

use std::collections::HashMap;

use futures::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Plan, ResourcePlan, Step};
use crate::manifest::{LabelingSpec, Project, Resource, ResourceKind};
use crate::remote::progress::CostEstimate;
use crate::remote::{wire_build, Client};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CostStatus {
    /// `estimatedCost` is Rapidata's estimate of what will run.
    Priced,
    /// Rapidata prices it shortly after apply created or changed it.
    KnownAfterApply,
    /// Rapidata cannot price it (orders), or is still pricing it, or the read failed:
    /// `note` says which.
    NotPriced,
}

/// The cost of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceCost {
    /// Datapoints it labels (a job: its definition's).
    pub datapoints: u64,
    /// Responses its referee requires at most: what Rapidata prices.
    pub required_responses: u64,
    pub status: CostStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_response: Option<f64>,
    /// Whether this plan starts the spending: it assigns the job or submits the order.
    #[serde(default)]
    pub starts: bool,
    /// The manifest's `budget:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    /// Why it is not priced, or what the estimate is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ResourceCost {
    pub fn over_budget(&self) -> bool {
        matches!((self.estimated_cost, self.budget), (Some(c), Some(b)) if c > b + 1e-9)
    }
}

/// What the spending this plan starts (jobs it assigns, orders it submits) adds up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostTotal {
    /// Sum of the estimates that are known.
    pub estimated_cost: f64,
    pub required_responses: u64,
    pub priced: usize,
    /// Started, but priced only after apply (or not at all): not in `estimatedCost`.
    pub unpriced: usize,
}

impl CostTotal {
    pub fn of(resources: &[ResourcePlan]) -> Option<CostTotal> {
        let mut t = CostTotal::default();
        let mut any = false;
        for c in resources.iter().filter_map(|r| r.cost.as_ref()) {
            any = true;
            if !c.starts {
                continue;
            }
            t.required_responses += c.required_responses;
            match c.estimated_cost {
                Some(e) => {
                    t.estimated_cost += e;
                    t.priced += 1;
                }
                None => t.unpriced += 1,
            }
        }
        any.then_some(t)
    }
}

/// Responses per datapoint the referee requires at most, as the wire referee says
/// (`NaiveReferee.totalVotes`, `maxVotes` of the others): what Rapidata multiplies by the
/// datapoints. `None` for a referee without a bound.
pub fn responses_per_datapoint(spec: &LabelingSpec) -> Option<u64> {
    let r = wire_build::referee_for(spec);
    ["totalVotes", "maxVotes", "totalBudget"]
        .iter()
        .find_map(|k| r.get(*k).and_then(Value::as_u64))
}

fn base(spec: &LabelingSpec) -> ResourceCost {
    let datapoints = spec.datapoints.len() as u64;
    ResourceCost {
        datapoints,
        required_responses: responses_per_datapoint(spec).unwrap_or(0) * datapoints,
        status: CostStatus::KnownAfterApply,
        estimated_cost: None,
        cost_per_response: None,
        starts: false,
        budget: None,
        note: None,
    }
}

fn priced(mut c: ResourceCost, e: &CostEstimate) -> ResourceCost {
    c.status = CostStatus::Priced;
    c.datapoints = e.datapoint_count;
    c.required_responses = e.required_responses;
    c.estimated_cost = Some(e.estimated_cost);
    c.cost_per_response = Some(e.cost_per_response);
    c
}

/// One estimate read, as the plan shows it.
fn read(c: ResourceCost, r: Result<Option<CostEstimate>, String>) -> ResourceCost {
    match r {
        Ok(Some(e)) => priced(c, &e),
        Ok(None) => ResourceCost {
            status: CostStatus::NotPriced,
            note: Some("Rapidata is still pricing it; plan again shortly".into()),
            ..c
        },
        Err(e) => ResourceCost {
            status: CostStatus::NotPriced,
            note: Some(format!("the estimate could not be read: {e}")),
            ..c
        },
    }
}

/// Fill in `cost` on every definition, job and order of the plan, and the plan's total.
/// Reads one estimate per existing definition and job; never fails the plan (a failed read
/// is shown as not priced).
pub async fn annotate(client: &Client, project: &Project, plan: &mut Plan) {
    let find = |kind: ResourceKind, name: &str| {
        project
            .resources
            .iter()
            .find(|r| r.kind() == kind && r.name() == name)
    };
    // Definitions: priced when they exist and the plan leaves them as they are; a
    // changing one's current price per response prices what its new job labels again.
    let defs: Vec<(usize, String)> = plan
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == ResourceKind::JobDefinition && r.origin.is_some())
        .filter_map(|(i, r)| r.remote_id.clone().map(|id| (i, id)))
        .collect();
    let def_reads = join_all(defs.iter().map(|(_, id)| async move {
        client
            .definition_cost_estimate(id)
            .await
            .map_err(|e| e.to_string())
    }))
    .await;
    let mut def_read: HashMap<usize, Result<Option<CostEstimate>, String>> =
        defs.iter().map(|(i, _)| *i).zip(def_reads).collect();
    // Jobs that exist and that the plan does not assign anew.
    let jobs: Vec<(usize, String)> = plan
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.kind == ResourceKind::Job && r.origin.is_some() && !r.steps.contains(&Step::CreateJob)
        })
        .filter_map(|(i, r)| r.remote_id.clone().map(|id| (i, id)))
        .collect();
    let job_reads = join_all(jobs.iter().map(|(_, id)| async move {
        client
            .job_cost_estimate(id)
            .await
            .map_err(|e| e.to_string())
    }))
    .await;
    let mut job_read: HashMap<usize, Result<Option<CostEstimate>, String>> =
        jobs.iter().map(|(i, _)| *i).zip(job_reads).collect();

    let mut per_response: HashMap<String, f64> = HashMap::new();
    for (i, _) in &defs {
        let rp = &plan.resources[*i];
        if let Some(Ok(Some(e))) = def_read.get(i) {
            per_response.insert(rp.name.clone(), e.cost_per_response);
        }
        // Adopting it into the project changes nothing that is priced.
        if rp
            .steps
            .iter()
            .any(|s| !matches!(s, Step::AdoptIntoProject { .. }))
        {
            def_read.remove(i);
        }
    }
    let mut def_costs: HashMap<String, (ResourceCost, Option<u32>)> = HashMap::new();
    for i in 0..plan.resources.len() {
        let rp = &plan.resources[i];
        if rp.origin.is_none() {
            continue;
        }
        let cost = match find(rp.kind, &rp.name) {
            Some(Resource::JobDefinition(d)) => {
                let c = base(&d.spec);
                let c = match def_read.remove(&i) {
                    Some(r) => read(c, r),
                    None if rp.remote_id.is_none() => ResourceCost {
                        note: Some("priced shortly after apply creates it".into()),
                        ..c
                    },
                    None => ResourceCost {
                        note: Some(
                            "priced shortly after apply saved the change (a new revision or datapoints)"
                                .into(),
                        ),
                        ..c
                    },
                };
                def_costs.insert(d.name.clone(), (c.clone(), rp.revision));
                c
            }
            Some(Resource::Job(j)) => {
                let Some(Resource::JobDefinition(d)) =
                    find(ResourceKind::JobDefinition, &j.definition)
                else {
                    continue;
                };
                let starts = rp.steps.contains(&Step::CreateJob);
                let mut c = base(&d.spec);
                if let Some(r) = job_read.remove(&i) {
                    c = read(c, r);
                } else if let Some((dc, latest)) = def_costs.get(&j.definition) {
                    let pinned_other = j.revision.is_some_and(|n| Some(n) != *latest);
                    if dc.status == CostStatus::Priced && !pinned_other {
                        c = dc.clone();
                        c.note = Some(format!("as JobDefinition `{}` is priced", j.definition));
                    } else {
                        c.note = Some(format!(
                            "priced once JobDefinition `{}` is priced",
                            j.definition
                        ));
                    }
                }
                c.starts = starts;
                c.budget = j.budget;
                let price = c
                    .cost_per_response
                    .or_else(|| per_response.get(&j.definition).copied());
                if let (Some(r), Some(price)) = (plan.resources[i].relabel.as_mut(), price) {
                    r.estimated_cost = Some(r.responses as f64 * price);
                }
                c
            }
            Some(Resource::Order(o)) => {
                let mut c = base(&o.spec);
                c.status = CostStatus::NotPriced;
                c.note = Some("Rapidata has no cost estimate for orders".into());
                c.starts = rp.steps.contains(&Step::SubmitOrder);
                c.budget = o.budget;
                c
            }
            _ => continue,
        };
        plan.resources[i].cost = Some(cost);
    }
    plan.cost_total = CostTotal::of(&plan.resources);
}

/// `12.50` for an amount (estimates are in the account's billing currency).
pub fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// How a person reads a resource's cost, on one line.
pub fn describe(c: &ResourceCost) -> String {
    let counts = format!(
        "{} datapoints, {} responses at most",
        c.datapoints, c.required_responses
    );
    let mut s = match (c.status, c.estimated_cost) {
        (CostStatus::Priced, Some(e)) => format!(
            "estimated {} ({counts}{})",
            money(e),
            c.cost_per_response
                .map(|p| format!(" × {p}"))
                .unwrap_or_default()
        ),
        (CostStatus::KnownAfterApply, _) => format!("known after apply ({counts})"),
        _ => format!("not priced ({counts})"),
    };
    if let Some(n) = &c.note {
        s.push_str(&format!("; {n}"));
    }
    if let Some(b) = c.budget {
        if c.over_budget() {
            s.push_str(&format!(
                "; OVER the budget of {}: apply will not start it",
                money(b)
            ));
        } else {
            s.push_str(&format!("; budget {}", money(b)));
        }
    }
    s
}

/// The plan's total, on one line.
pub fn total_line(t: &CostTotal) -> String {
    if t.priced == 0 && t.unpriced == 0 {
        return "Cost: this plan starts no job or order.".into();
    }
    if t.priced == 0 {
        return format!(
            "Cost: not known yet for what this plan starts ({}, {} at most): priced after apply, or not priced.",
            crate::report::style::plural(t.unpriced as u64, "job or order", "jobs or orders"),
            crate::report::style::plural(t.required_responses, "response", "responses")
        );
    }
    let mut s = format!(
        "Cost: {} estimated for what this plan starts ({} priced, {} responses at most)",
        money(t.estimated_cost),
        t.priced,
        t.required_responses
    );
    if t.unpriced > 0 {
        s.push_str(&format!(
            ", plus {} priced after apply or not priced",
            t.unpriced
        ));
    }
    s.push_str(". An estimate, not a bill.");
    s
}
