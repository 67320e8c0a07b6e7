//! Which remote resources an import covers: every job definition, audience and job the
//! credentials can see (public audiences, which belong to Rapidata, aside), narrowed by
//! `--name` (an exact name or a glob), `--id`, `--project` (the marker rapidata puts on
//! what a project creates: a definition's dataset name ends with ` #rapidata-project=X`,
//! an audience's description carries `<!-- rapidata-project=X -->`; a job belongs to the
//! project of its definition) and `--kind`. A job written as a manifest needs its
//! definition and its audience as manifests too, so writing pulls those in.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;
use serde::Serialize;

use crate::manifest::ResourceKind;
use crate::plan::diff::PROJECT_MARKER;
use crate::remote::listing::DefinitionSummary;
use crate::remote::{ApiError, Client, RemoteAudience, RemoteJob};

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Exact names or globs (`animals-*`); any may match. Empty: every name.
    pub names: Vec<String>,
    /// Remote ids; any may match. Empty: every id.
    pub ids: Vec<String>,
    /// Only what this project marked (created).
    pub project: Option<String>,
    /// Only these kinds. Empty: every kind.
    pub kinds: Vec<ResourceKind>,
}

impl Filter {
    fn name_matches(&self, name: &str) -> bool {
        self.names.is_empty()
            || self.names.iter().any(|n| {
                n == name
                    || glob::Pattern::new(n)
                        .map(|p| p.matches(name))
                        .unwrap_or(false)
            })
    }

    fn matches(&self, kind: ResourceKind, name: &str, id: &str) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&kind))
            && self.name_matches(name)
            && (self.ids.is_empty() || self.ids.iter().any(|i| i == id))
    }
}

/// One remote resource an import can write.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub kind: ResourceKind,
    pub name: String,
    pub id: String,
    pub created_at: String,
    /// A definition's type, an audience's status, a job's state.
    pub detail: String,
    /// The project that marked it, when known (audiences always; definitions and jobs
    /// when `--project` is given, which costs two reads per definition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Jobs: the definition, revision and audience they run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience_id: Option<String>,
    /// Not chosen by the filters: a chosen job needs it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dependency: bool,
}

/// Everything listed, once.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    pub definitions: Vec<DefinitionSummary>,
    /// Custom audiences only (public ones belong to Rapidata).
    pub audiences: Vec<RemoteAudience>,
    pub jobs: Vec<RemoteJob>,
}

impl Listed {
    pub async fn read(client: &Client) -> Result<Listed, ApiError> {
        let (definitions, audiences, jobs) = futures::try_join!(
            client.list_definition_summaries(),
            client.list_audiences(),
            client.list_jobs()
        )?;
        Ok(Listed {
            definitions,
            audiences: audiences.into_iter().filter(|a| !a.is_public).collect(),
            jobs,
        })
    }

    pub fn definition(&self, id: &str) -> Option<&DefinitionSummary> {
        self.definitions.iter().find(|d| d.id == id)
    }

    pub fn audience(&self, id: &str) -> Option<&RemoteAudience> {
        self.audiences.iter().find(|a| a.id == id)
    }
}

/// The project marked in an audience's description.
pub fn audience_project(a: &RemoteAudience) -> Option<String> {
    let d = a.description.as_deref()?;
    let rest = &d[d.find("<!-- rapidata-project=")? + "<!-- rapidata-project=".len()..];
    Some(rest[..rest.find(" -->")?].to_string())
}

/// The project marked in a dataset's name.
pub fn dataset_project(dataset_name: &str) -> Option<String> {
    let i = dataset_name.rfind(PROJECT_MARKER)?;
    Some(dataset_name[i + PROJECT_MARKER.len()..].to_string())
}

/// The project of each definition (by id), read from its dataset's name.
async fn definition_projects(
    client: &Client,
    ids: &[&str],
) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    let found = try_join_all(ids.iter().map(|id| async move {
        let rev = client.latest_revision(id).await?;
        let name = client.dataset_name(&rev.dataset_id).await?;
        Ok::<_, ApiError>((id.to_string(), dataset_project(&name)))
    }))
    .await?;
    Ok(found.into_iter().collect())
}

/// The resources the filters choose, in kind order (audiences, definitions, jobs), oldest
/// first within a kind.
pub async fn choose(
    client: &Client,
    listed: &Listed,
    filter: &Filter,
) -> Result<Vec<Candidate>, ApiError> {
    // Projects of definitions cost two reads each: only when the filter asks.
    let projects = match &filter.project {
        Some(_) => {
            let ids: Vec<&str> = listed.definitions.iter().map(|d| d.id.as_str()).collect();
            definition_projects(client, &ids).await?
        }
        None => BTreeMap::new(),
    };
    let def_project = |id: &str| projects.get(id).cloned().flatten();
    let in_project = |p: &Option<String>| match &filter.project {
        Some(want) => p.as_deref() == Some(want.as_str()),
        None => true,
    };
    let mut out = Vec::new();
    for a in &listed.audiences {
        let project = audience_project(a);
        if filter.matches(ResourceKind::Audience, &a.name, &a.id) && in_project(&project) {
            out.push(Candidate {
                kind: ResourceKind::Audience,
                name: a.name.clone(),
                id: a.id.clone(),
                created_at: a.created_at.clone(),
                detail: a.status.clone(),
                project,
                definition_id: None,
                revision: None,
                audience_id: None,
                dependency: false,
            });
        }
    }
    for d in &listed.definitions {
        let project = def_project(&d.id);
        if filter.matches(ResourceKind::JobDefinition, &d.name, &d.id) && in_project(&project) {
            out.push(definition_candidate(d, project, false));
        }
    }
    for j in &listed.jobs {
        let project = def_project(&j.definition_id);
        if filter.matches(ResourceKind::Job, &j.name, &j.id) && in_project(&project) {
            out.push(job_candidate(j, project));
        }
    }
    sort(&mut out);
    Ok(out)
}

fn definition_candidate(
    d: &DefinitionSummary,
    project: Option<String>,
    dependency: bool,
) -> Candidate {
    Candidate {
        kind: ResourceKind::JobDefinition,
        name: d.name.clone(),
        id: d.id.clone(),
        created_at: d.created_at.clone(),
        detail: d.definition_type.clone(),
        project,
        definition_id: None,
        revision: None,
        audience_id: None,
        dependency,
    }
}

fn job_candidate(j: &RemoteJob, project: Option<String>) -> Candidate {
    Candidate {
        kind: ResourceKind::Job,
        name: j.name.clone(),
        id: j.id.clone(),
        created_at: j.created_at.clone(),
        detail: j.state.clone(),
        project,
        definition_id: Some(j.definition_id.clone()),
        revision: Some(j.revision_number),
        audience_id: Some(j.audience_id.clone()),
        dependency: false,
    }
}

fn sort(v: &mut [Candidate]) {
    v.sort_by(|a, b| (a.kind, &a.created_at, &a.id).cmp(&(b.kind, &b.created_at, &b.id)));
}

/// The chosen resources plus what their jobs need: each job's definition and (custom)
/// audience, marked as dependencies.
pub fn with_dependencies(mut chosen: Vec<Candidate>, listed: &Listed) -> Vec<Candidate> {
    let have: BTreeSet<(ResourceKind, String)> =
        chosen.iter().map(|c| (c.kind, c.id.clone())).collect();
    let mut extra: BTreeMap<(ResourceKind, String), Candidate> = BTreeMap::new();
    for c in chosen.iter().filter(|c| c.kind == ResourceKind::Job) {
        if let Some(d) = c
            .definition_id
            .as_deref()
            .and_then(|id| listed.definition(id))
        {
            let key = (ResourceKind::JobDefinition, d.id.clone());
            if !have.contains(&key) {
                extra
                    .entry(key)
                    .or_insert_with(|| definition_candidate(d, c.project.clone(), true));
            }
        }
        if let Some(a) = c.audience_id.as_deref().and_then(|id| listed.audience(id)) {
            let key = (ResourceKind::Audience, a.id.clone());
            if !have.contains(&key) {
                extra.entry(key).or_insert_with(|| Candidate {
                    kind: ResourceKind::Audience,
                    name: a.name.clone(),
                    id: a.id.clone(),
                    created_at: a.created_at.clone(),
                    detail: a.status.clone(),
                    project: audience_project(a),
                    definition_id: None,
                    revision: None,
                    audience_id: None,
                    dependency: true,
                });
            }
        }
    }
    chosen.extend(extra.into_values());
    sort(&mut chosen);
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::wire_build;

    #[test]
    fn filters_take_exact_names_globs_ids_and_kinds() {
        let f = Filter {
            names: vec!["animals-*".into(), "exact[1]".into()],
            ..Default::default()
        };
        assert!(f.matches(ResourceKind::Job, "animals-de", "x"));
        assert!(!f.matches(ResourceKind::Job, "plants", "x"));
        // A name that is also a valid glob matches itself literally too.
        assert!(f.matches(ResourceKind::Job, "exact[1]", "x"));
        let f = Filter {
            ids: vec!["id1".into()],
            kinds: vec![ResourceKind::Audience],
            ..Default::default()
        };
        assert!(f.matches(ResourceKind::Audience, "n", "id1"));
        assert!(!f.matches(ResourceKind::Audience, "n", "id2"));
        assert!(!f.matches(ResourceKind::Job, "n", "id1"));
    }

    #[test]
    fn project_markers_are_read_where_rapidata_writes_them() {
        assert_eq!(
            dataset_project(&crate::plan::dataset_name("animals", Some("team-a"))),
            Some("team-a".into())
        );
        assert_eq!(dataset_project("animals_dataset"), None);
        let a = RemoteAudience {
            base_audience_id: None,
            id: "a".into(),
            name: "n".into(),
            filters: Vec::new(),
            description: Some(format!(
                "Cat people\n\n{}",
                wire_build::audience_marker("team-b")
            )),
            created_at: String::new(),
            status: String::new(),
            is_distilling: false,
            is_public: false,
            graduation_rule: serde_json::Value::Null,
            examples: Vec::new(),
            metrics: None,
        };
        assert_eq!(audience_project(&a), Some("team-b".into()));
    }
}
