//! Observation: find every manifest resource on the remote by its name, and read what the
//! diff needs. There is no state file; the remote is the state, so a fresh CI checkout
//! plans exactly like the machine that applied last.

use std::collections::BTreeMap;

use futures::future::try_join_all;

use super::observation_cache::{Loaded, ObservationCache};
use super::recorded::Recorded;
use super::remote_set::{Carried, RemoteSet};
use crate::manifest::{LabelingSpec, Project, Resource, ResourceKind};
use crate::remote::{
    ApiError, Client, RemoteAudience, RemoteJob, RemoteJobDefinition, RemoteOrder, RemoteRevision,
};

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("observing {kind} `{name}`: {source}")]
    Api {
        kind: ResourceKind,
        name: String,
        #[source]
        source: ApiError,
    },
}

/// A job definition as found: its latest revision and the datapoints of that revision's
/// dataset.
#[derive(Debug, Clone)]
pub struct ObservedDefinition {
    pub definition: RemoteJobDefinition,
    pub revision: RemoteRevision,
    pub datapoints: RemoteSet,
    /// Every job of the definition, whatever its name.
    pub jobs: Vec<RemoteJob>,
    /// Whether a job runs on a revision that uses the latest revision's dataset: then the
    /// dataset is never edited (fact 18); changes go to a new dataset and revision.
    pub dataset_in_use: bool,
    /// The answer options labelers of a classification's latest revision see; `None` for
    /// other tasks and for a revision bound to the datapoints' options when none carry any.
    pub answer_options: Option<ShownOptions>,
}

/// Where a classification revision's answer options come from (`categories`).
#[derive(Debug, Clone, PartialEq)]
pub enum ShownOptions {
    /// Bound on the revision (`categories.literal`), as the SDK's `edit` + `save` does.
    Literal(Vec<String>),
    /// Each datapoint's `answer_options` segment (`categories.segment`, how the SDK creates
    /// one), and every datapoint carries these.
    Carried(Vec<String>),
    /// Each datapoint's segment, and the datapoints carry different options.
    Mixed,
}

impl ShownOptions {
    /// Of a classification revision's workflow and the options its dataset's datapoints
    /// carry (`_revision_body._get_answer_options`: the literal labels, when bound).
    pub fn of(workflow: &serde_json::Value, carried: &Carried) -> Option<ShownOptions> {
        let rapid = workflow.get("rapid")?;
        if rapid.get("_t")?.as_str()? != "Classify" {
            return None;
        }
        if let Some(literal) = rapid
            .get("categories")
            .and_then(|c| c.get("literal"))
            .and_then(serde_json::Value::as_array)
        {
            return Some(ShownOptions::Literal(
                literal
                    .iter()
                    .filter_map(|o| o.get("label").and_then(serde_json::Value::as_str))
                    .map(str::to_string)
                    .collect(),
            ));
        }
        match carried {
            Carried::None => None,
            Carried::Same(o) => Some(ShownOptions::Carried(o.to_vec())),
            Carried::Mixed => Some(ShownOptions::Mixed),
        }
    }

    /// Whether labelers see exactly `options`.
    pub fn shows(&self, options: &[String]) -> bool {
        match self {
            ShownOptions::Literal(o) | ShownOptions::Carried(o) => o == options,
            ShownOptions::Mixed => false,
        }
    }

    /// For the plan's `answerOptions` change.
    pub fn describe(&self) -> String {
        match self {
            ShownOptions::Literal(o) | ShownOptions::Carried(o) => o.join(", "),
            ShownOptions::Mixed => "different per datapoint".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ObservedOrder {
    pub order: RemoteOrder,
    /// `None` when its dataset is not known (not recorded by this machine at create).
    pub datapoints: Option<RemoteSet>,
}

/// What was found for one manifest resource; `None` inside means "does not exist".
#[derive(Debug, Clone)]
pub enum Observation {
    Audience(Option<RemoteAudience>),
    JobDefinition(Option<Box<ObservedDefinition>>),
    Order(Option<ObservedOrder>),
    /// Every remote job with the manifest's name, on any definition: the one that
    /// matches the manifest is kept, the others were replaced (or are duplicates).
    Job(Vec<RemoteJob>),
    ValidationSet(Option<crate::remote::validation_sets::RemoteValidationSet>),
}

/// A remote object with the same name as the one kept (the oldest): made by a concurrent
/// apply, or by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    pub kind: ResourceKind,
    pub name: String,
    pub id: String,
    /// The id kept.
    pub kept: String,
}

/// A dataset being filled for a definition or revision that does not exist yet (recorded
/// by an interrupted apply on this machine), with what it holds.
#[derive(Debug, Clone)]
pub struct PendingObserved {
    pub dataset_id: String,
    pub base_revision: Option<u32>,
    pub datapoints: RemoteSet,
}

/// Observations keyed by (kind, manifest name).
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub resources: BTreeMap<(ResourceKind, String), Observation>,
    /// Job definitions the project created that are no longer in its manifests (looked
    /// for when a project name is given).
    pub orphans: Vec<RemoteJobDefinition>,
    /// Jobs on the manifests' definitions that no Job manifest names.
    pub orphan_jobs: Vec<RemoteJob>,
    /// Audiences the project marked (in their description) that its manifests no longer have.
    pub orphan_audiences: Vec<RemoteAudience>,
    /// Extra remote objects with a manifest resource's name.
    pub duplicates: Vec<Duplicate>,
    /// Datasets an interrupted apply was filling, by definition name.
    pub pending: BTreeMap<String, PendingObserved>,
    /// Remote audiences jobs name by id (not an Audience manifest): `None` when there is
    /// no such audience.
    pub remote_audiences: BTreeMap<String, Option<RemoteAudience>>,
    /// Dataset id → datapoint keys a job on it was assigned without (recorded by the
    /// apply that assigned it).
    pub started_without: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Jobs on the definitions that `--prune` deletes (orphans): deleted first.
    pub orphan_definition_jobs: Vec<(String, RemoteJob)>,
    /// Manifest resources found under a `renamedFrom` name: (kind, manifest name) → the
    /// old name.
    pub renamed: BTreeMap<(ResourceKind, String), String>,
    /// With a project: the name of each observed definition's dataset (by definition
    /// name), which carries the project's marker (`plan::project_marker`).
    pub dataset_names: BTreeMap<String, String>,
}

impl Observed {
    pub fn get(&self, kind: ResourceKind, name: &str) -> Option<&Observation> {
        self.resources.get(&(kind, name.to_string()))
    }

    pub fn definition(&self, name: &str) -> Option<&ObservedDefinition> {
        match self.get(ResourceKind::JobDefinition, name) {
            Some(Observation::JobDefinition(d)) => d.as_deref(),
            _ => None,
        }
    }

    pub fn audience(&self, name: &str) -> Option<&RemoteAudience> {
        match self.get(ResourceKind::Audience, name) {
            Some(Observation::Audience(a)) => a.as_ref(),
            _ => None,
        }
    }

    pub fn jobs(&self, name: &str) -> &[RemoteJob] {
        match self.get(ResourceKind::Job, name) {
            Some(Observation::Job(j)) => j,
            _ => &[],
        }
    }

    /// A canonical digest of everything observed, so a saved plan can tell whether the
    /// remote moved since.
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        for ((kind, name), obs) in &self.resources {
            h.update(format!("{kind}\0{name}\0").as_bytes());
            match obs {
                Observation::ValidationSet(s) => {
                    if let Some(s) = s {
                        h.update(format!("{}\0{:?}\0", s.id, s.dimensions).as_bytes());
                        for t in &s.tasks {
                            h.update(format!("{}\0{:?}\n", t.id, t.key).as_bytes());
                        }
                    }
                }
                Observation::Audience(a) => {
                    if let Some(a) = a {
                        h.update(a.id.as_bytes());
                        h.update(
                            serde_json::Value::Array(a.filters.clone())
                                .to_string()
                                .as_bytes(),
                        );
                        h.update(a.description.as_deref().unwrap_or("").as_bytes());
                        h.update(
                            format!(
                                "{}\0{}\0{}\0",
                                a.recruiting_started(),
                                a.is_distilling,
                                a.graduation_rule
                            )
                            .as_bytes(),
                        );
                        for e in &a.examples {
                            h.update(format!("{}\0{:?}\n", e.id, e.key).as_bytes());
                        }
                    }
                }
                Observation::Job(jobs) => {
                    for j in jobs {
                        h.update(
                            format!(
                                "{}\0{}\0{}\0{}\0{}\n",
                                j.id, j.definition_id, j.audience_id, j.revision_number, j.state
                            )
                            .as_bytes(),
                        );
                    }
                }
                Observation::JobDefinition(d) => {
                    if let Some(d) = d {
                        h.update(
                            format!(
                                "{}\0{}\0{}\0{}\0",
                                d.definition.id,
                                d.revision.number,
                                d.revision.dataset_id,
                                d.dataset_in_use
                            )
                            .as_bytes(),
                        );
                        hash_datapoints(&mut h, &d.datapoints);
                    }
                }
                Observation::Order(o) => {
                    if let Some(o) = o {
                        h.update(format!("{}\0{}\0", o.order.id, o.order.state).as_bytes());
                        if let Some(dps) = &o.datapoints {
                            hash_datapoints(&mut h, dps);
                        }
                    }
                }
            }
            h.update(b"\n");
        }
        for o in &self.orphans {
            h.update(format!("orphan\0{}\0{}\n", o.id, o.name).as_bytes());
        }
        for a in &self.orphan_audiences {
            h.update(format!("orphan-audience\0{}\n", a.id).as_bytes());
        }
        for j in &self.orphan_jobs {
            h.update(format!("orphan-job\0{}\0{}\n", j.id, j.state).as_bytes());
        }
        for d in &self.duplicates {
            h.update(format!("dup\0{}\0{}\n", d.kind, d.id).as_bytes());
        }
        for (name, p) in &self.pending {
            h.update(format!("pending\0{name}\0{}\n", p.dataset_id).as_bytes());
            hash_datapoints(&mut h, &p.datapoints);
        }
        for (d, j) in &self.orphan_definition_jobs {
            h.update(format!("orphan-definition-job\0{d}\0{}\0{}\n", j.id, j.state).as_bytes());
        }
        for ((kind, name), old) in &self.renamed {
            h.update(format!("renamed\0{kind}\0{name}\0{old}\n").as_bytes());
        }
        for (ds, keys) in &self.started_without {
            h.update(format!("started-without\0{ds}\0{}\n", keys.len()).as_bytes());
        }
        for (name, ds) in &self.dataset_names {
            h.update(format!("dataset-name\0{name}\0{ds}\n").as_bytes());
        }
        h.finalize().to_hex().to_string()
    }
}

fn hash_datapoints(h: &mut blake3::Hasher, dps: &RemoteSet) {
    // Independent of the listing order (see `RemoteSet::digest`).
    h.update(&dps.len().to_le_bytes());
    for lane in dps.digest() {
        h.update(&lane.to_le_bytes());
    }
}

/// A dataset's datapoints, reduced against `spec` as the pages arrive — or as the
/// validated cache replays them, when the dataset's total and newest datapoint are what
/// the cache was written with (`observation_cache`).
async fn observe_datapoints(
    client: &Client,
    dataset_id: &str,
    spec: &LabelingSpec,
    cache: Option<&ObservationCache>,
) -> Result<RemoteSet, ApiError> {
    let mut set = RemoteSet::empty();
    let Some(cache) = cache else {
        client
            .scan_datapoints(dataset_id, |d| set.push(spec, d))
            .await?;
        set.finish();
        return Ok(set);
    };
    let head = client.dataset_head(dataset_id).await?;
    match cache.load(dataset_id, &head, |d| set.push(spec, d)) {
        Loaded::Hit => {
            set.finish();
            return Ok(set);
        }
        Loaded::Miss => {}
        Loaded::Damaged => set = RemoteSet::empty(),
    }
    let mut writer = cache.writer(dataset_id, &head);
    client
        .scan_datapoints(dataset_id, |d| {
            writer.write(&d);
            set.push(spec, d)
        })
        .await?;
    writer.finish();
    set.finish();
    Ok(set)
}

/// Of several remote objects with one name, the oldest is the one the manifests mean
/// (ties by id): a deterministic rule every concurrent apply agrees on, so the loser of a
/// create race removes its own copy and any later apply heals what is left.
pub fn pick_oldest<T>(
    kind: ResourceKind,
    name: &str,
    mut found: Vec<T>,
    id: impl Fn(&T) -> &str,
    created: impl Fn(&T) -> &str,
) -> (Option<T>, Vec<Duplicate>) {
    found.sort_by(|a, b| (created(a), id(a)).cmp(&(created(b), id(b))));
    let mut it = found.into_iter();
    let Some(kept) = it.next() else {
        return (None, Vec::new());
    };
    let dups = it
        .map(|t| Duplicate {
            kind,
            name: name.to_string(),
            id: id(&t).to_string(),
            kept: id(&kept).to_string(),
        })
        .collect();
    (Some(kept), dups)
}

fn api(kind: ResourceKind, name: &str) -> impl Fn(ApiError) -> ObserveError + '_ {
    move |source| ObserveError::Api {
        kind,
        name: name.to_string(),
        source,
    }
}

/// Observe one job definition by name: the oldest of that name, its latest revision,
/// its dataset's datapoints and its jobs.
pub async fn observe_definition(
    client: &Client,
    name: &str,
    spec: &LabelingSpec,
    cache: Option<&ObservationCache>,
) -> Result<(Option<ObservedDefinition>, Vec<Duplicate>), ObserveError> {
    let kind = ResourceKind::JobDefinition;
    let found = client
        .find_job_definitions(name)
        .await
        .map_err(api(kind, name))?;
    let (kept, dups) = pick_oldest(kind, name, found, |d| &d.id, |d| &d.created_at);
    let Some(definition) = kept else {
        return Ok((None, dups));
    };
    let (revision, jobs) = futures::try_join!(
        client.latest_revision(&definition.id),
        client.find_jobs(&definition.id)
    )
    .map_err(api(kind, name))?;
    let datapoints = observe_datapoints(client, &revision.dataset_id, spec, cache)
        .await
        .map_err(api(kind, name))?;
    let mut dataset_in_use = jobs.iter().any(|j| j.revision_number == revision.number);
    if !dataset_in_use {
        let mut older: Vec<u32> = jobs.iter().map(|j| j.revision_number).collect();
        older.sort_unstable();
        older.dedup();
        for n in older {
            let r = client
                .revision(&definition.id, n)
                .await
                .map_err(api(kind, name))?;
            if r.dataset_id == revision.dataset_id {
                dataset_in_use = true;
                break;
            }
        }
    }
    let answer_options = ShownOptions::of(&revision.workflow, datapoints.carried_options());
    Ok((
        Some(ObservedDefinition {
            definition,
            revision,
            datapoints,
            jobs,
            dataset_in_use,
            answer_options,
        }),
        dups,
    ))
}

/// Observe one order by name. Its datapoints are read only when this machine recorded
/// its dataset at create (`GET /order/{id}` does not say, fact 16).
pub async fn observe_order(
    client: &Client,
    name: &str,
    spec: &LabelingSpec,
    recorded: &Recorded,
) -> Result<(Option<ObservedOrder>, Vec<Duplicate>), ObserveError> {
    let kind = ResourceKind::Order;
    let found = client.find_orders(name).await.map_err(api(kind, name))?;
    let (kept, dups) = pick_oldest(kind, name, found, |o| &o.id, |o| &o.created_at);
    let Some(mut order) = kept else {
        return Ok((None, dups));
    };
    order.dataset_id = recorded.order_datasets.get(&order.id).cloned();
    let datapoints = match &order.dataset_id {
        Some(ds) => Some(
            observe_datapoints(client, ds, spec, None)
                .await
                .map_err(api(kind, name))?,
        ),
        None => None,
    };
    Ok((Some(ObservedOrder { order, datapoints }), dups))
}

/// `filtered`: the manifest is a filtered audience (`base:`), whose base only
/// `GET /audience/{id}` says and which has no examples or recruiting of its own.
pub async fn observe_audience(
    client: &Client,
    name: &str,
    filtered: bool,
) -> Result<(Option<RemoteAudience>, Vec<Duplicate>), ObserveError> {
    let kind = ResourceKind::Audience;
    let found = client.find_audiences(name).await.map_err(api(kind, name))?;
    let (kept, dups) = pick_oldest(kind, name, found, |a| &a.id, |a| &a.created_at);
    let kept = match kept {
        Some(a) if filtered => {
            let got = client.get_audience(&a.id).await.map_err(api(kind, name))?;
            Some(RemoteAudience {
                base_audience_id: got.and_then(|g| g.base_audience_id),
                ..a
            })
        }
        Some(a) => Some(audience_details(client, a).await.map_err(api(kind, name))?),
        None => None,
    };
    Ok((kept, dups))
}

/// The examples of a custom audience, and its recruiting funnel once recruiting started
/// (`get_examples`, `get_recruiting_metrics`).
async fn audience_details(
    client: &Client,
    mut a: RemoteAudience,
) -> Result<RemoteAudience, ApiError> {
    if a.is_public {
        return Ok(a);
    }
    a.examples = client.list_examples(&a.id).await?;
    if a.recruiting_started() {
        a.metrics = client.recruiting_metrics(&a.id).await?;
    }
    Ok(a)
}

/// A remote audience a job names by id: `None` when it does not exist.
pub async fn observe_remote_audience(
    client: &Client,
    id: &str,
) -> Result<Option<RemoteAudience>, ObserveError> {
    let kind = ResourceKind::Audience;
    match client.get_audience(id).await.map_err(api(kind, id))? {
        Some(mut a) if !a.is_public && a.recruiting_started() => {
            a.metrics = client.recruiting_metrics(id).await.map_err(api(kind, id))?;
            Ok(Some(a))
        }
        other => Ok(other),
    }
}

/// Every job named `name`, on any definition.
pub async fn observe_jobs(client: &Client, name: &str) -> Result<Vec<RemoteJob>, ObserveError> {
    let mut jobs = client
        .find_jobs_named(name)
        .await
        .map_err(api(ResourceKind::Job, name))?;
    jobs.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    Ok(jobs)
}

/// Observe every resource of the project (those `selected` says), concurrently.
pub async fn observe(
    client: &Client,
    project: &Project,
    selected: &dyn Fn(&Resource) -> bool,
    recorded: &Recorded,
    cache: Option<&ObservationCache>,
) -> Result<Observed, ObserveError> {
    let resources: Vec<&Resource> = project.resources.iter().filter(|r| selected(r)).collect();
    let found = try_join_all(resources.iter().map(|r| {
        let key = (r.kind(), r.name().to_string());
        async move {
            let (obs, dups, renamed) = match r {
                Resource::ValidationSet(s) => {
                    let kind = ResourceKind::ValidationSet;
                    let found = client
                        .find_validation_sets(&s.name)
                        .await
                        .map_err(api(kind, &s.name))?;
                    let (kept, dups) =
                        pick_oldest(kind, &s.name, found, |x| &x.id, |x| &x.created_at);
                    (Observation::ValidationSet(kept), dups, None)
                }
                Resource::Audience(a) => {
                    let filtered = a.base.is_some();
                    let mut found = observe_audience(client, &a.name, filtered).await?;
                    let mut renamed = None;
                    for old in &a.renamed_from {
                        if found.0.is_some() {
                            break;
                        }
                        found = observe_audience(client, old, filtered).await?;
                        renamed = found.0.is_some().then(|| old.clone());
                    }
                    (Observation::Audience(found.0), found.1, renamed)
                }
                Resource::JobDefinition(d) => {
                    let mut found = observe_definition(client, &d.name, &d.spec, cache).await?;
                    let mut renamed = None;
                    for old in &d.renamed_from {
                        if found.0.is_some() {
                            break;
                        }
                        found = observe_definition(client, old, &d.spec, cache).await?;
                        renamed = found.0.is_some().then(|| old.clone());
                    }
                    (
                        Observation::JobDefinition(found.0.map(Box::new)),
                        found.1,
                        renamed,
                    )
                }
                Resource::Order(o) => {
                    let (x, d) = observe_order(client, &o.name, &o.spec, recorded).await?;
                    (Observation::Order(x), d, None)
                }
                Resource::Job(j) => {
                    let mut found = observe_jobs(client, &j.name).await?;
                    let mut renamed = None;
                    for old in &j.renamed_from {
                        if !found.is_empty() {
                            break;
                        }
                        found = observe_jobs(client, old).await?;
                        renamed = (!found.is_empty()).then(|| old.clone());
                    }
                    (Observation::Job(found), Vec::new(), renamed)
                }
            };
            Ok::<_, ObserveError>((key, obs, dups, renamed))
        }
    }))
    .await?;
    let mut observed = Observed::default();
    for (key, obs, dups, renamed) in found {
        observed.duplicates.extend(dups);
        if let Some(old) = renamed {
            observed.renamed.insert(key.clone(), old);
        }
        observed.resources.insert(key, obs);
    }
    // Audiences jobs name by id: they must exist. `global` is the public, ready-to-go
    // audience the SDK points to; it needs no check.
    let ids: std::collections::BTreeSet<&str> = resources
        .iter()
        .filter_map(|r| match r {
            Resource::Job(j) => match &j.audience {
                crate::manifest::AudienceRef::Id(id) if id != "global" => Some(id.as_str()),
                _ => None,
            },
            // The base of a filtered audience, named by id, must exist too.
            Resource::Audience(a) => match &a.base {
                Some(crate::manifest::AudienceRef::Id(id)) if id != "global" => Some(id.as_str()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let remote = try_join_all(ids.into_iter().map(|id| async move {
        Ok::<_, ObserveError>((id.to_string(), observe_remote_audience(client, id).await?))
    }))
    .await?;
    observed.remote_audiences.extend(remote);
    // Datasets an interrupted apply was filling: resumed, not started again.
    for (key, p) in &recorded.pending_datasets {
        let Some(name) = key.strip_prefix("JobDefinition/") else {
            continue;
        };
        if !observed
            .resources
            .contains_key(&(ResourceKind::JobDefinition, name.to_string()))
        {
            continue;
        }
        let Some(spec) = project.resources.iter().find_map(|r| match r {
            Resource::JobDefinition(d) if d.name == name => Some(&d.spec),
            _ => None,
        }) else {
            continue;
        };
        // A dataset that is gone (or unreadable) is simply not resumed.
        if let Ok(datapoints) = observe_datapoints(client, &p.dataset_id, spec, cache).await {
            observed.pending.insert(
                name.to_string(),
                PendingObserved {
                    dataset_id: p.dataset_id.clone(),
                    base_revision: p.base_revision,
                    datapoints,
                },
            );
        }
    }
    observed.started_without = recorded.started_without.clone();
    // Jobs on the manifests' definitions that no Job manifest names.
    let job_names: std::collections::BTreeSet<&str> = project
        .resources
        .iter()
        .filter(|r| r.kind() == ResourceKind::Job)
        .map(|r| r.name())
        .collect();
    for obs in observed.resources.values() {
        if let Observation::JobDefinition(Some(d)) = obs {
            observed.orphan_jobs.extend(
                d.jobs
                    .iter()
                    .filter(|j| !job_names.contains(j.name.as_str()))
                    .cloned(),
            );
        }
    }
    Ok(observed)
}

/// Job definitions created by `project` (marked in their dataset's name) whose names are
/// not among `keep`. Costs one listing plus two reads per unknown definition, so it only
/// runs when a project name is given.
pub async fn find_orphans(
    client: &Client,
    project: &str,
    keep: &std::collections::BTreeSet<String>,
) -> Result<Vec<RemoteJobDefinition>, ObserveError> {
    let kind = ResourceKind::JobDefinition;
    let all = client
        .list_job_definitions()
        .await
        .map_err(api(kind, "*"))?;
    let marker = format!("{}{project}", super::diff::PROJECT_MARKER);
    let candidates = all.into_iter().filter(|d| !keep.contains(&d.name));
    let checked = try_join_all(candidates.map(|d| {
        let marker = marker.clone();
        async move {
            let rev = client
                .latest_revision(&d.id)
                .await
                .map_err(api(kind, &d.name))?;
            let name = client
                .dataset_name(&rev.dataset_id)
                .await
                .map_err(api(kind, &d.name))?;
            Ok::<_, ObserveError>(name.ends_with(&marker).then_some(d))
        }
    }))
    .await?;
    Ok(checked.into_iter().flatten().collect())
}

/// The jobs of each definition (name, job), for the definitions `--prune` deletes.
pub async fn jobs_of(
    client: &Client,
    definitions: &[RemoteJobDefinition],
) -> Result<Vec<(String, RemoteJob)>, ObserveError> {
    let found = try_join_all(definitions.iter().map(|d| async move {
        let jobs = client
            .find_jobs(&d.id)
            .await
            .map_err(api(ResourceKind::JobDefinition, &d.name))?;
        Ok::<_, ObserveError>(jobs.into_iter().map(|j| (d.name.clone(), j)))
    }))
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Audiences marked by `project` (see `wire_build::audience_marker`) whose names are not
/// among `keep`.
pub async fn find_orphan_audiences(
    client: &Client,
    project: &str,
    keep: &std::collections::BTreeSet<String>,
) -> Result<Vec<RemoteAudience>, ObserveError> {
    let marker = crate::remote::wire_build::audience_marker(project);
    Ok(client
        .list_audiences()
        .await
        .map_err(api(ResourceKind::Audience, "*"))?
        .into_iter()
        .filter(|a| !keep.contains(&a.name))
        .filter(|a| {
            a.description
                .as_deref()
                .is_some_and(|d| d.contains(&marker))
        })
        .collect())
}
