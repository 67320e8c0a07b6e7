//! The diff: desired state (manifests) against observed state (remote) → [`Plan`].
//!
//! Pure and synchronous, so every rule here is unit-testable without a server.

use std::collections::BTreeSet;

use serde_json::Value;

use super::audience::{audience_plan, check_job_audiences};
use super::datapoints::{datapoint_plan, new_dataset_plan};
use super::definition::definition_changes;
use super::identity::remote_fingerprint_of;
use super::jobs::job_plans;
use super::model::*;
use super::observe::{Observation, Observed, ShownOptions};
use super::remote_set::RemoteSet;
use crate::manifest::{
    AudienceRef, JobDefinition, LabelingSpec, OnReplace, Order, Project, Resource, ResourceKind,
    Task,
};

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
    /// Datapoints that failed for good earlier in this apply: not a reason to make a new
    /// dataset again (`(kind, resource, key)`).
    pub failed: std::sync::Arc<std::collections::HashSet<(ResourceKind, String, String)>>,
    /// `--relabel NAME`: definitions whose datapoints that failed earlier go into a new
    /// dataset, revision and job even though a job already runs without them.
    pub relabel: Vec<String>,
    /// The validated observation cache (`.rapidata/cache/`); `None` lists every dataset.
    pub cache: Option<std::sync::Arc<super::observation_cache::ObservationCache>>,
    /// An observation that only decides what is left to do (apply's after each round):
    /// what is there only for a person to read — prices, the labels of sampled remote
    /// datapoints — is not read. Steps never depend on it.
    pub decide_only: bool,
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
        // A definition needs its validation set.
        for r in &project.resources {
            if let Resource::JobDefinition(d) = r {
                if let (true, Some(s)) = (
                    selected.contains(&(ResourceKind::JobDefinition, d.name.clone())),
                    &d.spec.validation_set,
                ) {
                    selected.insert((ResourceKind::ValidationSet, s.clone()));
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
                if let Some(b) = &a.base {
                    h.update(format!("base\0{b:?}").as_bytes());
                }
                h.update(super::audience::digest_part(a).as_bytes());
            }
            Resource::Job(j) => {
                h.update(
                    format!(
                        "{}\0{:?}\0{:?}\0{}\0{:?}\0{:?}",
                        j.definition, j.audience, j.revision, j.paused, j.run_after, j.on_replace
                    )
                    .as_bytes(),
                );
            }
            Resource::JobDefinition(d) => hash_spec(&mut h, &d.spec),
            Resource::ValidationSet(s) => {
                let keys: Vec<&str> = s.tasks.iter().map(|t| t.key.as_str()).collect();
                h.update(
                    format!(
                        "{:?}\0{:?}\0{}",
                        s.dimensions,
                        s.should_alert,
                        keys.join(",")
                    )
                    .as_bytes(),
                );
            }
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
    // Only when set, so the digests of manifests without one stay as they were.
    if let Some(s) = &spec.validation_set {
        h.update(format!("validationSet\0{s}\0").as_bytes());
    }
    for dp in spec.datapoints.iter() {
        h.update(dp.key().as_bytes());
        h.update(b"\0");
        h.update(remote_fingerprint_of(&spec.task, &dp.fingerprint()).as_bytes());
        h.update(b"\n");
    }
}

/// Diff the project against what was observed: every step apply will take, in the order
/// it takes them. Creates and updates first (audiences, definitions, orders, jobs), then
/// what they replace (paused or deleted only once the replacement is complete), then
/// deletions.
pub fn diff(project: &Project, observed: &Observed, opts: &PlanOptions, api: &str) -> Plan {
    let selected = opts.selection(project);
    let mut ordered: Vec<&Resource> = project
        .resources
        .iter()
        .filter(|r| selected.contains(&(r.kind(), r.name().to_string())))
        .collect();
    // Filtered audiences after the audiences they filter.
    ordered.sort_by_key(|r| {
        (
            r.kind(),
            matches!(r, Resource::Audience(a) if a.base.is_some()),
        )
    });
    let mut resources = Vec::new();
    let mut after = Vec::new();
    for r in &ordered {
        match r {
            Resource::ValidationSet(s) => {
                let remote = match observed.get(ResourceKind::ValidationSet, &s.name) {
                    Some(Observation::ValidationSet(x)) => x.as_ref(),
                    _ => None,
                };
                let (p, old) = super::validation_set::validation_set_plan(
                    project,
                    r,
                    s,
                    remote,
                    opts.prune || s.prune,
                );
                resources.push(p);
                after.extend(old);
            }
            Resource::Audience(a) if a.base.is_some() => {
                let (p, old) = super::filtered_audience::filtered_audience_plan(
                    project,
                    r,
                    a,
                    observed,
                    &resources,
                    opts.project.as_deref(),
                );
                resources.push(p);
                after.extend(old);
            }
            Resource::Audience(a) => {
                resources.push(audience_plan(r, a, observed.audience(&a.name), opts))
            }
            Resource::JobDefinition(d) => {
                let (p, old) = definition_plan(project, r, d, observed, opts, &resources);
                resources.push(p);
                after.extend(old);
            }
            Resource::Order(o) => {
                let (p, old) = order_plan(r, o, observed, opts);
                resources.push(p);
                after.extend(old);
            }
            Resource::Job(_) => {}
        }
    }
    // Jobs follow their definitions: decided from the definitions' plans.
    let (jobs, replaced) = job_plans(project, &ordered, observed, &resources);
    resources.extend(jobs);
    resources.extend(replaced);
    resources.extend(after);
    check_job_audiences(project, observed, &mut resources);
    renames(observed, &mut resources);
    super::project_marker::adopt_into_project(project, observed, opts, &mut resources);
    let in_scope = |name: &str| {
        !opts.excludes.iter().any(|e| e == name)
            && (opts.targets.is_empty() || opts.targets.iter().any(|t| t == name))
    };
    for d in &observed.duplicates {
        if !in_scope(&d.name) {
            continue;
        }
        resources.push(ResourcePlan {
            action: Action::Delete,
            reason: Some(format!(
                "another remote {} is also named `{}` ({} is the oldest and is kept): made by a \
                 concurrent apply or by hand",
                d.kind, d.name, d.kept
            )),
            steps: vec![Step::Delete],
            ..remote_only(d.kind, &d.name, &d.id)
        });
    }
    let marked = |verb: &str| {
        format!(
            "{verb} by project `{}` and no longer in its manifests",
            opts.project.as_deref().unwrap_or_default()
        )
    };
    // Jobs of the definitions `--prune` deletes come first: a definition is never
    // deleted while a job runs on it.
    let definition_jobs = observed
        .orphan_definition_jobs
        .iter()
        .filter(|(def, j)| in_scope(def) && !opts.excludes.contains(&j.name))
        .map(|(def, j)| {
            let why = format!(
                "a job on JobDefinition `{def}`, which was {}; deleted before it",
                marked("created")
            );
            let kept = format!(
                "a job ({}) on JobDefinition `{def}`, which the manifests no longer have",
                j.state
            );
            (ResourceKind::Job, &j.name, &j.id, why, kept)
        });
    let orphans = observed
        .orphan_jobs
        .iter()
        .map(|j| {
            let why = "a job of a managed definition that no Job manifest names";
            let kept = format!(
                "a job ({}) of a managed definition that no Job manifest names",
                j.state
            );
            (ResourceKind::Job, &j.name, &j.id, why.to_string(), kept)
        })
        .chain(definition_jobs)
        .chain(observed.orphan_audiences.iter().map(|a| {
            let why = marked("marked");
            (ResourceKind::Audience, &a.name, &a.id, why.clone(), why)
        }))
        .chain(observed.orphans.iter().map(|d| {
            let why = marked("created");
            (
                ResourceKind::JobDefinition,
                &d.name,
                &d.id,
                why.clone(),
                why,
            )
        }));
    for (kind, name, id, why, kept) in orphans {
        if in_scope(name) {
            resources.push(orphan(kind, name, id, opts.prune, why, kept));
        }
    }
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        api: api.to_string(),
        desired_digest: desired_digest(project),
        observed_digest: observed.digest(),
        resources,
        cost_total: None,
        notes: Vec::new(),
    }
}

/// `renamedFrom`: a manifest resource found under a name it had before is renamed in
/// place, first, whatever else its plan does (nothing else when only the name changed).
/// Not when it is created or replaced: then the old one is left or moved aside.
fn renames(observed: &Observed, resources: &mut [ResourcePlan]) {
    for p in resources.iter_mut().filter(|p| p.origin.is_some()) {
        let Some(old) = observed.renamed.get(&(p.kind, p.name.clone())) else {
            continue;
        };
        if matches!(p.action, Action::Create | Action::Replace | Action::Blocked) {
            continue;
        }
        p.steps.insert(0, Step::Rename { from: old.clone() });
        p.changes.insert(
            0,
            FieldChange {
                field: "name".into(),
                before: Some(old.clone()),
                after: Some(p.name.clone()),
            },
        );
        if p.action == Action::NoChange {
            p.action = Action::Update;
        }
    }
}

/// Why the remote definition (or order) a manifest names is adopted: none of its
/// datapoints was uploaded by rapidata (none carries its key), so something else made it.
fn adopted_dataset(d: &DatapointPlan) -> Option<String> {
    let outside = d.adopted + d.unmanaged;
    (d.managed() == 0 && outside > 0).then(|| {
        format!(
            "made outside rapidata: none of its {outside} datapoint(s) carries a rapidata key; {}",
            recognised(d.adopted, d.unmanaged)
        )
    })
}

/// `3 recognised by their content, 1 left alone`.
pub(super) fn recognised(adopted: u64, unmanaged: u64) -> String {
    let mut s = format!("{adopted} recognised by their content");
    if unmanaged > 0 {
        s.push_str(&format!(
            ", {unmanaged} left alone (no manifest entry has their content)"
        ));
    }
    s
}

/// A remote object the manifests no longer have: deleted with prune, else kept and shown.
fn orphan(
    kind: ResourceKind,
    name: &str,
    id: &str,
    prune: bool,
    why: String,
    kept: String,
) -> ResourcePlan {
    let mut p = remote_only(kind, name, id);
    if prune {
        p.action = Action::Delete;
        p.steps = vec![Step::Delete];
        p.reason = Some(why);
    } else {
        p.notes.push(format!("{kept}; kept (`--prune` deletes it)"));
    }
    p
}

/// A plan entry for a remote object no manifest describes (an old job, a duplicate, an
/// orphan).
pub(super) fn remote_only(kind: ResourceKind, name: &str, id: &str) -> ResourcePlan {
    ResourcePlan {
        kind,
        name: name.to_string(),
        origin: None,
        action: Action::NoChange,
        remote_id: Some(id.to_string()),
        revision: None,
        reason: None,
        adopt: None,
        changes: Vec::new(),
        datapoints: None,
        examples: None,
        steps: Vec::new(),
        notes: Vec::new(),
        requires: None,
        cost: None,
        relabel: None,
    }
}

/// The name a definition or order is moved aside to while its replacement is created.
pub fn aside_name(name: &str, id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    format!("{name} (replaced, {short})")
}

fn definition_plan(
    project: &Project,
    r: &Resource,
    d: &JobDefinition,
    observed: &Observed,
    opts: &PlanOptions,
    planned: &[ResourcePlan],
) -> (ResourcePlan, Vec<ResourcePlan>) {
    let prune = opts.prune || d.spec.prune;
    let remote = observed.definition(&d.name);
    let pending = observed.pending.get(&d.name);
    let mut p = base(r, remote.map(|o| o.definition.id.clone()));
    let mut after = Vec::new();
    // A fresh dataset, or the one an interrupted apply was filling for it.
    let fresh = |base_revision: Option<u32>| match pending {
        Some(pd) if pd.base_revision == base_revision => {
            datapoint_plan(&d.spec, &pd.datapoints, Some(pd.dataset_id.clone()), true)
        }
        _ => datapoint_plan(&d.spec, &RemoteSet::empty(), None, true),
    };
    let Some(o) = remote else {
        p.action = Action::Create;
        p.steps = vec![Step::CreateDefinition];
        // `POST /job/definition` takes no validation set: the first revision after it does.
        if d.spec.validation_set.is_some() {
            p.steps.push(Step::NewRevision {
                base_revision: 1,
                literal_options: false,
            });
        }
        p.datapoints = Some(fresh(None));
        return (p, after);
    };
    p.revision = Some(o.revision.number);
    let (mut action, reason, mut changes) = definition_changes(&d.spec, &o.revision);
    if let Some(c) =
        super::validation_set::reference_change(&d.spec, observed, planned, &o.revision)
    {
        changes.push(c);
        if action == Action::NoChange {
            action = Action::Update;
        }
    }
    // A classification's answer options are the revision's: a revision that binds the
    // manifest's literally, on the same datapoints (`_revision_body._with_answer_options`).
    // Once bound, later revisions keep binding them.
    let mut literal_options = matches!(o.answer_options, Some(ShownOptions::Literal(_)));
    if let (Task::Classify { answer_options, .. }, Some(have)) = (&d.spec.task, &o.answer_options) {
        if !have.shows(answer_options) {
            changes.push(FieldChange {
                field: "answerOptions".into(),
                before: Some(have.describe()),
                after: Some(answer_options.join(", ")),
            });
            literal_options = true;
            if action == Action::NoChange {
                action = Action::Update;
            }
        }
    }
    p.changes = changes;
    p.reason = reason;
    if action == Action::Replace {
        let id = &o.definition.id;
        p.action = Action::Replace;
        p.steps = vec![
            Step::MoveAside {
                to: aside_name(&d.name, id),
            },
            Step::CreateDefinition,
        ];
        if d.spec.validation_set.is_some() {
            p.steps.push(Step::NewRevision {
                base_revision: 1,
                literal_options: false,
            });
        }
        p.datapoints = Some(fresh(None));
        // The old one goes once the new one and its jobs are in place, unless a job on
        // it is kept (its results with it).
        let keeps_jobs = o
            .jobs
            .iter()
            .any(|j| job_on_replace(project, &j.name) != Some(OnReplace::Delete));
        let mut old = remote_only(ResourceKind::JobDefinition, &aside_name(&d.name, id), id);
        if keeps_jobs {
            old.notes.push(format!(
                "the replaced definition of `{}` is kept (renamed) because jobs on it keep their results",
                d.name
            ));
        } else {
            old.action = Action::Delete;
            old.steps = vec![Step::Delete];
            old.reason = Some(format!("replaced by the new `{}`", d.name));
            old.requires = Some(ResourceRef {
                kind: ResourceKind::JobDefinition,
                name: d.name.clone(),
            });
        }
        after.push(old);
        return (p, after);
    }
    let dp = datapoint_plan(
        &d.spec,
        &o.datapoints,
        Some(o.revision.dataset_id.clone()),
        prune,
    );
    p.adopt = adopted_dataset(&dp);
    // Datapoints a job on this dataset was assigned without (they failed, within
    // tolerance), and those that failed for good earlier in this apply: by themselves
    // never a reason for a new dataset, revision and job, which would label everything
    // again.
    let started_without = observed.started_without.get(&o.revision.dataset_id);
    let failed_earlier = |k: &String| {
        started_without.is_some_and(|s| s.contains(k))
            || opts
                .failed
                .contains(&(ResourceKind::JobDefinition, d.name.clone(), k.clone()))
    };
    let worth_a_new_dataset = opts.relabel.contains(&d.name)
        || dp.deletions().next().is_some()
        || dp.add.iter().any(|k| !failed_earlier(k));
    if dp.has_changes() && o.dataset_in_use && !worth_a_new_dataset {
        let mut dp = dp;
        dp.failed_earlier = std::mem::take(&mut dp.add);
        let n = dp.failed_earlier.len();
        let total = d.spec.datapoints.len().max(1);
        p.notes.push(format!(
            "{n} datapoint(s) failed to upload earlier and are not in the dataset the job of \
             JobDefinition `{}` runs on ({:.1}% missing, failure tolerance {:.1}%); it runs without \
             them. To label them too, apply with `--relabel {}`: a new dataset, revision and job \
             label all {} datapoints again",
            d.name,
            n as f64 * 100.0 / total as f64,
            d.spec.failure_tolerance * 100.0,
            d.name,
            d.spec.datapoints.len()
        ));
        p.datapoints = Some(dp);
        p.action = if p.changes.is_empty() {
            Action::NoChange
        } else {
            Action::Update
        };
        if action == Action::Update {
            p.steps.push(Step::NewRevision {
                base_revision: o.revision.number,
                literal_options,
            });
        }
        return (p, after);
    }
    if dp.has_changes() && o.dataset_in_use {
        // set_datapoints + save: a new dataset, then a revision pointing at it.
        p.steps.push(Step::NewDataset);
        p.steps.push(Step::NewRevision {
            base_revision: o.revision.number,
            literal_options,
        });
        p.reason.get_or_insert_with(|| {
            "a job runs on the current dataset, which is never edited: the datapoints go to a new \
             dataset and a new revision points at it"
                .into()
        });
        let resumed = pending.filter(|pd| pd.base_revision == Some(o.revision.number));
        p.datapoints = Some(new_dataset_plan(&d.spec, o, &dp, resumed));
        p.action = Action::Update;
    } else {
        if dp.has_changes() {
            p.steps.push(Step::EditDataset);
        }
        if action == Action::Update {
            p.steps.push(Step::NewRevision {
                base_revision: o.revision.number,
                literal_options,
            });
        }
        p.action = if p
            .steps
            .iter()
            .any(|s| matches!(s, Step::NewRevision { .. }))
        {
            Action::Update
        } else if dp.has_changes() {
            Action::UpdateData
        } else {
            Action::NoChange
        };
        p.datapoints = Some(dp);
    }
    (p, after)
}

/// `onReplace` of the Job manifest named `name`, if any.
fn job_on_replace(project: &Project, name: &str) -> Option<OnReplace> {
    project.resources.iter().find_map(|r| match r {
        Resource::Job(j) if j.name == name => Some(j.on_replace),
        _ => None,
    })
}

fn order_plan(
    r: &Resource,
    o: &Order,
    observed: &Observed,
    opts: &PlanOptions,
) -> (ResourcePlan, Vec<ResourcePlan>) {
    let prune = opts.prune || o.spec.prune;
    let remote = match observed.get(ResourceKind::Order, &o.name) {
        Some(Observation::Order(x)) => x.as_ref(),
        _ => None,
    };
    let mut p = base(r, remote.map(|x| x.order.id.clone()));
    let mut after = Vec::new();
    let create_steps = |p: &mut ResourcePlan| {
        p.steps.push(Step::CreateOrder);
        if o.run {
            p.steps.push(Step::SubmitOrder);
        }
        p.datapoints = Some(datapoint_plan(&o.spec, &RemoteSet::empty(), None, true));
    };
    let Some(ro) = remote else {
        p.action = Action::Create;
        create_steps(&mut p);
        return (p, after);
    };
    let submitted = order_is_submitted(&ro.order.state);
    match (&ro.datapoints, submitted) {
        (Some(dps), _) => {
            let dp = datapoint_plan(&o.spec, dps, ro.order.dataset_id.clone(), prune);
            if submitted && dp.has_changes() {
                p.action = Action::Blocked;
                p.reason = Some(format!(
                    "the order is already {} and its datapoints cannot change any more; create a \
                     new Order (a new name) for the new data, or restore the manifest",
                    ro.order.state
                ));
            } else if dp.has_changes() {
                p.action = Action::UpdateData;
                p.steps.push(Step::EditDataset);
            }
            p.datapoints = Some(dp);
        }
        (None, false) => {
            // Not observable and still changeable: made again, so its datapoints are
            // known to be exactly the manifest's.
            let id = ro.order.id.clone();
            p.action = Action::Replace;
            p.reason = Some(
                "the API does not say which dataset an order uses and this machine did not \
                 record it, so its datapoints cannot be compared: the unsubmitted order is \
                 made again"
                    .into(),
            );
            p.steps.push(Step::MoveAside {
                to: aside_name(&o.name, &id),
            });
            create_steps(&mut p);
            let mut old = remote_only(ResourceKind::Order, &aside_name(&o.name, &id), &id);
            old.action = Action::Delete;
            old.steps = vec![Step::Delete];
            old.reason = Some(format!("replaced by the new `{}`", o.name));
            old.requires = Some(ResourceRef {
                kind: ResourceKind::Order,
                name: o.name.clone(),
            });
            after.push(old);
            return (p, after);
        }
        (None, true) => {
            p.notes.push(format!(
                "the order is {}; its datapoints cannot be observed (the API does not say which \
                 dataset an order uses) and can no longer change",
                ro.order.state
            ));
        }
    }
    if o.run && !submitted && p.action != Action::Blocked {
        if p.action == Action::NoChange {
            p.action = Action::Update;
        }
        p.changes.push(FieldChange {
            field: "state".into(),
            before: Some(ro.order.state.clone()),
            after: Some("Submitted".into()),
        });
        p.steps.push(Step::SubmitOrder);
    }
    (p, after)
}

/// Order states after which the order's data is fixed.
pub fn order_is_submitted(state: &str) -> bool {
    !matches!(state, "Created" | "Draft" | "Preview")
}

pub(super) fn base(r: &Resource, remote_id: Option<String>) -> ResourcePlan {
    ResourcePlan {
        kind: r.kind(),
        name: r.name().to_string(),
        origin: Some(r.origin().clone()),
        action: Action::NoChange,
        remote_id,
        revision: None,
        reason: None,
        adopt: None,
        changes: Vec::new(),
        datapoints: None,
        examples: None,
        steps: Vec::new(),
        notes: Vec::new(),
        requires: None,
        cost: None,
        relabel: None,
    }
}

/// Whether the plan of a definition gives it a new latest revision (or a new definition).
pub(super) fn definition_moves(p: &ResourcePlan) -> bool {
    p.steps
        .iter()
        .any(|s| matches!(s, Step::NewRevision { .. } | Step::CreateDefinition))
}
