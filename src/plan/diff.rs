//! The diff: desired state (manifests) against observed state (remote) → [`Plan`].
//!
//! Pure and synchronous, so every rule here is unit-testable without a server.

use std::collections::BTreeSet;

use serde_json::Value;

use super::datapoints::datapoint_plan;
use super::definition::{definition_changes, normalize_list};
use super::identity::remote_fingerprint;
use super::model::*;
use super::observe::{Observation, Observed};
use crate::manifest::{AudienceRef, LabelingSpec, Project, Resource, ResourceKind};

/// Options that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Remove remote datapoints no longer in the manifests, for every resource (a resource
    /// can also say `prune: true`).
    pub prune: bool,
    /// Limit the plan to these resource names (and what they depend on).
    pub targets: Vec<String>,
    /// Leave these resource names out.
    pub excludes: Vec<String>,
    /// The project name rapidata marks what it creates with (in the dataset name). With
    /// `prune`, remote job definitions of this project that are no longer in the manifests
    /// are deleted; without a project nothing remote is ever attributed to the manifests.
    pub project: Option<String>,
}

/// The dataset name of a definition: the SDK's `{name}_dataset`, plus the project marker.
pub fn dataset_name(definition: &str, project: Option<&str>) -> String {
    match project {
        Some(p) => format!("{definition}_dataset{PROJECT_MARKER}{p}"),
        None => format!("{definition}_dataset"),
    }
}

/// Separates the definition's dataset name from the project that created it.
pub const PROJECT_MARKER: &str = " #rapidata-project=";

impl PlanOptions {
    /// Which manifest resources the plan covers: the targets (all when none) and their
    /// dependencies, minus the excludes.
    pub fn selection(&self, project: &Project) -> BTreeSet<(ResourceKind, String)> {
        let mut selected: BTreeSet<(ResourceKind, String)> = project
            .resources
            .iter()
            .filter(|r| self.targets.is_empty() || self.targets.iter().any(|t| t == r.name()))
            .map(|r| (r.kind(), r.name().to_string()))
            .collect();
        // A Job needs its definition and its manifest audience.
        for r in &project.resources {
            if let Resource::Job(j) = r {
                if selected.contains(&(ResourceKind::Job, j.name.clone())) {
                    selected.insert((ResourceKind::JobDefinition, j.definition.clone()));
                    if let AudienceRef::Manifest(a) = &j.audience {
                        selected.insert((ResourceKind::Audience, a.clone()));
                    }
                }
            }
        }
        selected.retain(|(_, name)| !self.excludes.iter().any(|e| e == name));
        selected
    }
}

/// Digest of the desired state, so a saved plan can tell whether the manifests moved.
pub fn desired_digest(project: &Project) -> String {
    let mut h = blake3::Hasher::new();
    for r in &project.resources {
        h.update(format!("{}\0{}\0", r.kind(), r.name()).as_bytes());
        match r {
            Resource::Audience(a) => {
                h.update(Value::Array(a.filters.clone()).to_string().as_bytes());
                h.update(a.description.as_deref().unwrap_or("").as_bytes());
            }
            Resource::Job(j) => {
                h.update(
                    format!("{}\0{:?}\0{:?}", j.definition, j.audience, j.revision).as_bytes(),
                );
            }
            Resource::JobDefinition(d) => hash_spec(&mut h, &d.spec),
            Resource::Order(o) => {
                hash_spec(&mut h, &o.spec);
                h.update(if o.run { b"run" } else { b"norun" });
            }
        }
        h.update(b"\n");
    }
    h.finalize().to_hex().to_string()
}

fn hash_spec(h: &mut blake3::Hasher, spec: &LabelingSpec) {
    h.update(
        serde_json::to_string(&spec.task)
            .unwrap_or_default()
            .as_bytes(),
    );
    h.update(
        serde_json::to_string(&spec.referee)
            .unwrap_or_default()
            .as_bytes(),
    );
    h.update(
        format!(
            "{:?}\0{}\0{}\0",
            spec.settings, spec.failure_tolerance, spec.prune
        )
        .as_bytes(),
    );
    for dp in &spec.datapoints {
        h.update(format!("{}\0{}\n", dp.key, remote_fingerprint(&spec.task, dp)).as_bytes());
    }
}

/// Diff the project against what was observed.
pub fn diff(project: &Project, observed: &Observed, opts: &PlanOptions, api: &str) -> Plan {
    let selected = opts.selection(project);
    let mut resources = Vec::new();
    // Dependency order: audiences, definitions, orders, then jobs.
    let mut ordered: Vec<&Resource> = project
        .resources
        .iter()
        .filter(|r| selected.contains(&(r.kind(), r.name().to_string())))
        .collect();
    ordered.sort_by_key(|r| r.kind());
    for r in ordered {
        let obs = observed.get(r.kind(), r.name());
        resources.push(match r {
            Resource::Audience(a) => {
                let remote = match obs {
                    Some(Observation::Audience(a)) => a.as_ref(),
                    _ => None,
                };
                let mut p = base(r, remote.map(|a| a.id.clone()));
                match remote {
                    None => p.action = Action::Create,
                    Some(ra) => {
                        if normalize_list(&ra.filters) != normalize_list(&a.filters) {
                            p.action = Action::Blocked;
                            p.reason = Some(
                                "the audience's filters differ from the manifest, and the API cannot \
                                 change an audience's filters; give the Audience a new name to create \
                                 a new one (and point the Jobs at it)"
                                    .into(),
                            );
                            p.changes.push(FieldChange {
                                field: "filters".into(),
                                before: Some(Value::Array(ra.filters.clone()).to_string()),
                                after: Some(Value::Array(a.filters.clone()).to_string()),
                            });
                        }
                    }
                }
                p
            }
            Resource::JobDefinition(d) => {
                let remote = match obs {
                    Some(Observation::JobDefinition(d)) => d.as_ref(),
                    _ => None,
                };
                let prune = opts.prune || d.spec.prune;
                let mut p = base(r, remote.map(|o| o.definition.id.clone()));
                match remote {
                    None => {
                        p.action = Action::Create;
                        p.datapoints = Some(datapoint_plan(&d.spec, &[], None, prune));
                    }
                    Some(o) => {
                        p.revision = Some(o.revision.number);
                        let (action, reason, changes) = definition_changes(&d.spec, &o.revision);
                        p.action = action;
                        p.reason = reason;
                        p.changes = changes;
                        p.datapoints = Some(datapoint_plan(
                            &d.spec,
                            &o.datapoints,
                            Some(o.revision.dataset_id.clone()),
                            prune,
                        ));
                        if p.action == Action::Replace {
                            // A replacement starts from an empty dataset.
                            p.datapoints = Some(datapoint_plan(&d.spec, &[], None, prune));
                        } else if p.action == Action::NoChange
                            && p.datapoints.as_ref().is_some_and(DatapointPlan::has_changes)
                        {
                            p.action = Action::UpdateData;
                        }
                    }
                }
                p
            }
            Resource::Order(o) => {
                let remote = match obs {
                    Some(Observation::Order(o)) => o.as_ref(),
                    _ => None,
                };
                let prune = opts.prune || o.spec.prune;
                let mut p = base(r, remote.map(|x| x.order.id.clone()));
                match remote {
                    None => {
                        p.action = Action::Create;
                        p.datapoints = Some(datapoint_plan(&o.spec, &[], None, prune));
                    }
                    Some(ro) => {
                        let submitted = order_is_submitted(&ro.order.state);
                        match &ro.datapoints {
                            Some(dps) => {
                                let dp = datapoint_plan(&o.spec, dps, ro.order.dataset_id.clone(), prune);
                                if submitted && dp.has_changes() {
                                    p.action = Action::Blocked;
                                    p.reason = Some(format!(
                                        "the order is already {} and its datapoints cannot change any \
                                         more; create a new Order (a new name) for the new data",
                                        ro.order.state
                                    ));
                                } else if dp.has_changes() {
                                    p.action = Action::UpdateData;
                                }
                                p.datapoints = Some(dp);
                            }
                            None => {
                                p.reason = Some(
                                    "the server does not say which dataset this order uses, so its \
                                     datapoints cannot be compared"
                                        .into(),
                                );
                            }
                        }
                        if o.run && !submitted && p.action != Action::Blocked {
                            p.action = Action::Update;
                            p.changes.push(FieldChange {
                                field: "state".into(),
                                before: Some(ro.order.state.clone()),
                                after: Some("Submitted".into()),
                            });
                        }
                    }
                }
                p
            }
            Resource::Job(j) => {
                let remote = match obs {
                    Some(Observation::Job(j)) => j.as_ref(),
                    _ => None,
                };
                let mut p = base(r, remote.map(|x| x.id.clone()));
                match remote {
                    None => p.action = Action::Create,
                    Some(rj) => {
                        let want_audience = match &j.audience {
                            AudienceRef::Id(id) => Some(id.clone()),
                            AudienceRef::Manifest(n) => observed.audience(n).map(|a| a.id.clone()),
                        };
                        let mut reasons = Vec::new();
                        if want_audience.as_deref() != Some(rj.audience_id.as_str()) {
                            p.changes.push(FieldChange {
                                field: "audience".into(),
                                before: Some(rj.audience_id.clone()),
                                after: Some(want_audience.unwrap_or_else(|| audience_label(&j.audience))),
                            });
                            reasons.push("its audience");
                        }
                        if let Some(rev) = j.revision {
                            if rev != rj.revision_number {
                                p.changes.push(FieldChange {
                                    field: "revision".into(),
                                    before: Some(rj.revision_number.to_string()),
                                    after: Some(rev.to_string()),
                                });
                                reasons.push("its revision");
                            }
                        }
                        if !reasons.is_empty() {
                            p.action = Action::Blocked;
                            p.reason = Some(format!(
                                "a job cannot change {} once assigned, and the API cannot delete jobs; \
                                 give the Job a new name to assign a new one",
                                reasons.join(" or ")
                            ));
                        }
                    }
                }
                p
            }
        });
    }
    if opts.prune {
        for orphan in &observed.orphans {
            let excluded = opts.excludes.iter().any(|e| e == &orphan.name);
            let targeted =
                opts.targets.is_empty() || opts.targets.iter().any(|t| t == &orphan.name);
            if excluded || !targeted {
                continue;
            }
            resources.push(ResourcePlan {
                kind: ResourceKind::JobDefinition,
                name: orphan.name.clone(),
                origin: None,
                action: Action::Delete,
                remote_id: Some(orphan.id.clone()),
                revision: None,
                reason: Some(format!(
                    "created by project `{}` and no longer in its manifests",
                    opts.project.as_deref().unwrap_or_default()
                )),
                changes: Vec::new(),
                datapoints: None,
            });
        }
    }
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        api: api.to_string(),
        desired_digest: desired_digest(project),
        observed_digest: observed.digest(),
        resources,
    }
}

fn audience_label(a: &AudienceRef) -> String {
    match a {
        AudienceRef::Id(id) => id.clone(),
        AudienceRef::Manifest(n) => format!("(audience `{n}`, to be created)"),
    }
}

/// Order states after which the order's data is fixed.
pub fn order_is_submitted(state: &str) -> bool {
    !matches!(state, "Created" | "Draft" | "Preview")
}

fn base(r: &Resource, remote_id: Option<String>) -> ResourcePlan {
    ResourcePlan {
        kind: r.kind(),
        name: r.name().to_string(),
        origin: Some(r.origin().clone()),
        action: Action::NoChange,
        remote_id,
        revision: None,
        reason: None,
        changes: Vec::new(),
        datapoints: None,
    }
}
