//! The diff: desired state (manifests) against observed state (remote) → [`Plan`].
//!
//! Pure and synchronous, so every rule here is unit-testable without a server.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::identity::remote_fingerprint;
use super::model::*;
use super::observe::{Observation, Observed};
use crate::manifest::{
    Asset, AudienceRef, Datapoint, LabelingSpec, Project, Resource, ResourceKind,
};
use crate::remote::{wire_build, RemoteDatapoint};

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

/// Compare a definition's content with its latest revision.
fn definition_changes(
    spec: &LabelingSpec,
    rev: &crate::remote::RemoteRevision,
) -> (Action, Option<String>, Vec<FieldChange>) {
    let want_workflow = normalize(&wire_build::workflow_for(spec));
    let have_workflow = normalize(&rev.workflow);
    let want_type = workflow_type(&want_workflow);
    let have_type = workflow_type(&have_workflow);
    let mut changes = Vec::new();
    if want_type != have_type {
        changes.push(FieldChange {
            field: "type".into(),
            before: Some(have_type.clone()),
            after: Some(want_type.clone()),
        });
        return (
            Action::Replace,
            Some(format!(
                "the job type changed ({have_type} → {want_type}); a job definition's type is fixed \
                 when it is created, so it is deleted and created again"
            )),
            changes,
        );
    }
    if want_workflow != have_workflow {
        let before = instruction_of(&have_workflow);
        let after = instruction_of(&want_workflow);
        if before != after {
            changes.push(FieldChange {
                field: "instruction".into(),
                before,
                after,
            });
        }
        let mut w1 = want_workflow.clone();
        let mut w2 = have_workflow.clone();
        strip_instruction(&mut w1);
        strip_instruction(&mut w2);
        if w1 != w2 {
            changes.push(FieldChange {
                field: "workflow".into(),
                before: Some(w2.to_string()),
                after: Some(w1.to_string()),
            });
        }
    }
    let want_referee = normalize(&wire_build::referee_for(spec));
    let have_referee = normalize(&rev.referee);
    if want_referee != have_referee {
        changes.push(FieldChange {
            field: "referee".into(),
            before: Some(referee_label(&have_referee)),
            after: Some(referee_label(&want_referee)),
        });
    }
    let have_flags: BTreeMap<String, String> = rev.feature_flags.iter().cloned().collect();
    if have_flags != spec.settings {
        changes.push(FieldChange {
            field: "settings".into(),
            before: Some(format_flags(&have_flags)),
            after: Some(format_flags(&spec.settings)),
        });
    }
    if changes.is_empty() {
        (Action::NoChange, None, changes)
    } else {
        (Action::Update, None, changes)
    }
}

/// A referee in manifest terms (`responsesPerDatapoint: 3`), falling back to its JSON.
pub fn referee_label(r: &Value) -> String {
    let int = |k: &str| r.get(k).and_then(Value::as_u64);
    match r.get("_t").and_then(Value::as_str) {
        Some("NaiveReferee") if int("totalVotes").is_some() => {
            format!(
                "responsesPerDatapoint: {}",
                int("totalVotes").unwrap_or_default()
            )
        }
        Some("QuorumReferee") => format!(
            "quorum: threshold {}, maxVotes {}",
            r.get("threshold").unwrap_or(&Value::Null),
            r.get("maxVotes").unwrap_or(&Value::Null)
        ),
        Some("EarlyStoppingReferee") => format!(
            "earlyStopping: confidenceThreshold {}, maxVotes {}",
            r.get("threshold").unwrap_or(&Value::Null),
            r.get("maxVotes").unwrap_or(&Value::Null)
        ),
        _ => r.to_string(),
    }
}

fn format_flags(f: &BTreeMap<String, String>) -> String {
    if f.is_empty() {
        return "{}".into();
    }
    f.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rapid type (or the workflow type when it has no rapid).
fn workflow_type(w: &Value) -> String {
    w.pointer("/rapid/_t")
        .or_else(|| w.get("_t"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

const INSTRUCTION_FIELDS: [&str; 4] = ["title", "criteria", "question", "target"];

/// The instruction as the SDK derives it: the literal of the rapid's title (or its
/// criteria/question/target), or a ranking workflow's criteria.
pub fn instruction_of(w: &Value) -> Option<String> {
    if let Some(rapid) = w.get("rapid") {
        for f in INSTRUCTION_FIELDS {
            if let Some(s) = rapid
                .get(f)
                .and_then(|b| b.get("literal"))
                .and_then(Value::as_str)
            {
                return Some(s.to_string());
            }
        }
    }
    w.get("criteria")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn strip_instruction(w: &mut Value) {
    if let Some(rapid) = w.get_mut("rapid").and_then(Value::as_object_mut) {
        for f in INSTRUCTION_FIELDS {
            rapid.remove(f);
        }
    }
    if let Some(o) = w.as_object_mut() {
        o.remove("criteria");
    }
}

/// Drop explicit nulls and empty objects/arrays the server may echo back, so that
/// "absent" and "null" compare equal (the SDK sends both).
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn normalize_list(v: &[Value]) -> Vec<Value> {
    v.iter().map(normalize).collect()
}

/// The datapoint diff of one dataset.
pub fn datapoint_plan(
    spec: &LabelingSpec,
    remote: &[RemoteDatapoint],
    dataset_id: Option<String>,
    prune: bool,
) -> DatapointPlan {
    let mut plan = DatapointPlan {
        dataset_id,
        ..Default::default()
    };
    let desired: HashMap<&str, (String, &Datapoint)> = spec
        .datapoints
        .iter()
        .map(|dp| (dp.key.as_str(), (remote_fingerprint(&spec.task, dp), dp)))
        .collect();
    let mut by_key: BTreeMap<&str, Vec<&RemoteDatapoint>> = BTreeMap::new();
    for r in remote {
        match &r.key {
            Some(k) => by_key.entry(k.as_str()).or_default().push(r),
            None => plan.unmanaged += 1,
        }
    }
    let rref = |r: &RemoteDatapoint, k: &str| RemoteRef {
        id: r.id.clone(),
        key: k.to_string(),
    };
    let mut present: BTreeSet<&str> = BTreeSet::new();
    for (key, mut copies) in by_key {
        copies.sort_by(|a, b| a.id.cmp(&b.id));
        match desired.get(key) {
            Some((fp, _)) => {
                let (same, other): (Vec<_>, Vec<_>) = copies
                    .into_iter()
                    .partition(|r| r.fingerprint.as_deref() == Some(fp.as_str()));
                if let Some((keep, extra)) = same.split_first() {
                    let _ = keep;
                    plan.unchanged += 1;
                    present.insert(key);
                    plan.duplicates.extend(extra.iter().map(|r| rref(r, key)));
                    plan.duplicates.extend(other.iter().map(|r| rref(r, key)));
                } else {
                    plan.changed.extend(other.iter().map(|r| rref(r, key)));
                }
            }
            None => {
                let (first, extra) = copies
                    .split_first()
                    .map_or((None, &[][..]), |(f, e)| (Some(*f), e));
                plan.duplicates.extend(extra.iter().map(|r| rref(r, key)));
                if let Some(first) = first {
                    if prune {
                        plan.remove.push(rref(first, key));
                    } else {
                        plan.orphaned += 1;
                    }
                }
            }
        }
    }
    let mut assets: BTreeMap<String, u64> = BTreeMap::new();
    for dp in &spec.datapoints {
        if present.contains(dp.key.as_str()) {
            continue;
        }
        plan.add.push(dp.key.clone());
        for a in dp.assets.iter().chain(dp.context_asset.as_ref()) {
            match a {
                Asset::File {
                    content_hash, size, ..
                } => {
                    assets.insert(format!("file:{content_hash}"), *size);
                }
                Asset::Url(u) => {
                    assets.insert(format!("url:{u}"), 0);
                }
                Asset::Text(_) => {}
            }
        }
    }
    plan.upload_assets = assets.len() as u64;
    plan.upload_bytes = assets.values().sum();
    plan
}
