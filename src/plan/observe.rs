//! Observation: find every manifest resource on the remote by its name, and read what the
//! diff needs. There is no state file; the remote is the state, so a fresh CI checkout
//! plans exactly like the machine that applied last.

use std::collections::BTreeMap;

use futures::future::try_join_all;

use crate::manifest::{Project, Resource, ResourceKind};
use crate::remote::{
    ApiError, Client, RemoteAudience, RemoteDatapoint, RemoteJob, RemoteJobDefinition, RemoteOrder,
    RemoteRevision,
};

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(
        "{count} remote {kind}s are named `{name}` (ids: {ids}); rapidata finds resources by name, \
         so the name must be unique. Rename or delete the extra ones in the Rapidata dashboard, \
         or rename the manifest resource."
    , count = ids.len(), ids = ids.join(", "))]
    Ambiguous {
        kind: ResourceKind,
        name: String,
        ids: Vec<String>,
    },
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
    pub datapoints: Vec<RemoteDatapoint>,
}

#[derive(Debug, Clone)]
pub struct ObservedOrder {
    pub order: RemoteOrder,
    /// `None` when the server does not tell the order's dataset.
    pub datapoints: Option<Vec<RemoteDatapoint>>,
}

/// What was found for one manifest resource; `None` inside means "does not exist".
#[derive(Debug, Clone)]
pub enum Observation {
    Audience(Option<RemoteAudience>),
    JobDefinition(Option<ObservedDefinition>),
    Order(Option<ObservedOrder>),
    Job(Option<RemoteJob>),
}

/// Observations keyed by (kind, manifest name).
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub resources: BTreeMap<(ResourceKind, String), Observation>,
    /// Job definitions the project created that are no longer in its manifests (only
    /// looked for with `--prune` and a project name).
    pub orphans: Vec<RemoteJobDefinition>,
}

impl Observed {
    pub fn get(&self, kind: ResourceKind, name: &str) -> Option<&Observation> {
        self.resources.get(&(kind, name.to_string()))
    }

    pub fn definition(&self, name: &str) -> Option<&ObservedDefinition> {
        match self.get(ResourceKind::JobDefinition, name) {
            Some(Observation::JobDefinition(d)) => d.as_ref(),
            _ => None,
        }
    }

    pub fn audience(&self, name: &str) -> Option<&RemoteAudience> {
        match self.get(ResourceKind::Audience, name) {
            Some(Observation::Audience(a)) => a.as_ref(),
            _ => None,
        }
    }

    /// A canonical digest of everything observed, so a saved plan can tell whether the
    /// remote moved since.
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        for ((kind, name), obs) in &self.resources {
            h.update(format!("{kind}\0{name}\0").as_bytes());
            match obs {
                Observation::Audience(a) => {
                    if let Some(a) = a {
                        h.update(a.id.as_bytes());
                        h.update(
                            serde_json::Value::Array(a.filters.clone())
                                .to_string()
                                .as_bytes(),
                        );
                    }
                }
                Observation::Job(j) => {
                    if let Some(j) = j {
                        h.update(
                            format!("{}\0{}\0{}", j.id, j.audience_id, j.revision_number)
                                .as_bytes(),
                        );
                    }
                }
                Observation::JobDefinition(d) => {
                    if let Some(d) = d {
                        h.update(
                            format!(
                                "{}\0{}\0{}\0",
                                d.definition.id, d.revision.number, d.revision.dataset_id
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
        h.finalize().to_hex().to_string()
    }
}

fn hash_datapoints(h: &mut blake3::Hasher, dps: &[RemoteDatapoint]) {
    let mut rows: Vec<String> = dps
        .iter()
        .map(|d| {
            format!(
                "{}\0{}\0{}",
                d.id,
                d.key.as_deref().unwrap_or(""),
                d.fingerprint.as_deref().unwrap_or("")
            )
        })
        .collect();
    rows.sort_unstable();
    for r in rows {
        h.update(r.as_bytes());
        h.update(b"\n");
    }
}

/// Find exactly one remote object by name, or none; several is an error the user must
/// resolve (we never guess which one is "ours").
fn unique<T>(
    kind: ResourceKind,
    name: &str,
    found: Vec<T>,
    id: impl Fn(&T) -> &str,
) -> Result<Option<T>, ObserveError> {
    if found.len() > 1 {
        return Err(ObserveError::Ambiguous {
            kind,
            name: name.to_string(),
            ids: found.iter().map(|t| id(t).to_string()).collect(),
        });
    }
    Ok(found.into_iter().next())
}

fn api(kind: ResourceKind, name: &str) -> impl Fn(ApiError) -> ObserveError + '_ {
    move |source| ObserveError::Api {
        kind,
        name: name.to_string(),
        source,
    }
}

/// Observe one job definition by name.
pub async fn observe_definition(
    client: &Client,
    name: &str,
) -> Result<Option<ObservedDefinition>, ObserveError> {
    let kind = ResourceKind::JobDefinition;
    let found = client
        .find_job_definitions(name)
        .await
        .map_err(api(kind, name))?;
    let Some(definition) = unique(kind, name, found, |d| &d.id)? else {
        return Ok(None);
    };
    let revision = client
        .latest_revision(&definition.id)
        .await
        .map_err(api(kind, name))?;
    let datapoints = client
        .list_datapoints(&revision.dataset_id)
        .await
        .map_err(api(kind, name))?;
    Ok(Some(ObservedDefinition {
        definition,
        revision,
        datapoints,
    }))
}

/// Observe one order by name.
pub async fn observe_order(
    client: &Client,
    name: &str,
) -> Result<Option<ObservedOrder>, ObserveError> {
    let kind = ResourceKind::Order;
    let found = client.find_orders(name).await.map_err(api(kind, name))?;
    let Some(listed) = unique(kind, name, found, |o| &o.id)? else {
        return Ok(None);
    };
    // The list does not carry the dataset; the single-order read may.
    let order = client
        .get_order(&listed.id)
        .await
        .map_err(api(kind, name))?;
    let datapoints = match &order.dataset_id {
        Some(ds) => Some(client.list_datapoints(ds).await.map_err(api(kind, name))?),
        None => None,
    };
    Ok(Some(ObservedOrder { order, datapoints }))
}

pub async fn observe_audience(
    client: &Client,
    name: &str,
) -> Result<Option<RemoteAudience>, ObserveError> {
    let kind = ResourceKind::Audience;
    let found = client.find_audiences(name).await.map_err(api(kind, name))?;
    unique(kind, name, found, |a| &a.id)
}

/// A job is found among the jobs of its definition, by name.
pub async fn observe_job(
    client: &Client,
    name: &str,
    definition_id: Option<&str>,
) -> Result<Option<RemoteJob>, ObserveError> {
    let kind = ResourceKind::Job;
    let Some(definition_id) = definition_id else {
        return Ok(None);
    };
    let found: Vec<RemoteJob> = client
        .find_jobs(definition_id)
        .await
        .map_err(api(kind, name))?
        .into_iter()
        .filter(|j| j.name == name)
        .collect();
    unique(kind, name, found, |j| &j.id)
}

/// Observe every resource of the project (those `selected` says), concurrently. Jobs go
/// last: they are found through their definition.
pub async fn observe(
    client: &Client,
    project: &Project,
    selected: &dyn Fn(&Resource) -> bool,
) -> Result<Observed, ObserveError> {
    let resources: Vec<&Resource> = project.resources.iter().filter(|r| selected(r)).collect();
    let first = try_join_all(resources.iter().filter_map(|r| {
        let key = (r.kind(), r.name().to_string());
        let fut = async move {
            let obs = match r {
                Resource::Audience(a) => {
                    Observation::Audience(observe_audience(client, &a.name).await?)
                }
                Resource::JobDefinition(d) => {
                    Observation::JobDefinition(observe_definition(client, &d.name).await?)
                }
                Resource::Order(o) => Observation::Order(observe_order(client, &o.name).await?),
                Resource::Job(_) => return Ok(None),
            };
            Ok::<_, ObserveError>(Some((key, obs)))
        };
        (r.kind() != ResourceKind::Job).then_some(fut)
    }))
    .await?;
    let mut observed = Observed {
        resources: first.into_iter().flatten().collect(),
        orphans: Vec::new(),
    };
    let mut defs: BTreeMap<String, String> = BTreeMap::new();
    for r in &project.resources {
        if let Resource::Job(j) = r {
            if let Some(d) = observed.definition(&j.definition) {
                defs.insert(j.definition.clone(), d.definition.id.clone());
            } else if !observed
                .resources
                .contains_key(&(ResourceKind::JobDefinition, j.definition.clone()))
            {
                // The definition was not selected; look it up so the job can be found.
                if let Some(found) = client
                    .find_job_definitions(&j.definition)
                    .await
                    .map_err(api(ResourceKind::JobDefinition, &j.definition))?
                    .into_iter()
                    .next()
                {
                    defs.insert(j.definition.clone(), found.id);
                }
            }
        }
    }
    let jobs = try_join_all(
        resources
            .iter()
            .filter_map(|r| match r {
                Resource::Job(j) => Some(j),
                _ => None,
            })
            .map(|j| {
                let def = defs.get(&j.definition).cloned();
                async move {
                    let obs = observe_job(client, &j.name, def.as_deref()).await?;
                    Ok::<_, ObserveError>((
                        (ResourceKind::Job, j.name.clone()),
                        Observation::Job(obs),
                    ))
                }
            }),
    )
    .await?;
    observed.resources.extend(jobs);
    Ok(observed)
}

/// Job definitions created by `project` (marked in their dataset's name) whose names are
/// not among `keep`. Costs one listing plus two reads per unknown definition, so it only
/// runs with `--prune --project`.
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
