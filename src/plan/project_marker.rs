//! Adoption into a project. With a project (`project =` in rapidata.toml, `--project`),
//! what rapidata makes carries the project's marker: an audience in its description
//! (`wire_build::audience_marker`), a job definition in its dataset's name
//! (`diff::PROJECT_MARKER`). A manifest resource found remotely without it (made by the
//! SDK, the web app, or rapidata outside this project: what `rapidata import` writes
//! manifests for) is adopted: one [`Step::AdoptIntoProject`] writes the marker and nothing
//! else. Once marked it is the project's, and its plan says nothing about adoption any
//! more (its datapoints and examples without a rapidata key stay matched by content).

use std::collections::BTreeMap;

use super::diff::{PlanOptions, PROJECT_MARKER};
use super::model::*;
use super::observe::{ObserveError, Observed};
use crate::manifest::{Project, Resource, ResourceKind};
use crate::remote::{wire_build, Client};

/// The name of each observed definition's dataset, where its project marker is: one
/// `GET /dataset/{id}` per definition, read only with a project.
pub async fn dataset_names(
    client: &Client,
    observed: &Observed,
) -> Result<BTreeMap<String, String>, ObserveError> {
    let found =
        futures::future::try_join_all(observed.resources.iter().filter_map(|((kind, name), _)| {
            let d = observed
                .definition(name)
                .filter(|_| *kind == ResourceKind::JobDefinition)?;
            let ds = d.revision.dataset_id.clone();
            Some(async move {
                let dataset =
                    client
                        .dataset_name(&ds)
                        .await
                        .map_err(|source| ObserveError::Api {
                            kind: ResourceKind::JobDefinition,
                            name: name.clone(),
                            source,
                        })?;
                Ok::<_, ObserveError>((name.clone(), dataset))
            })
        }))
        .await?;
    Ok(found.into_iter().collect())
}

/// The project that marked a dataset name, if any.
pub fn dataset_project(dataset_name: &str) -> Option<&str> {
    let i = dataset_name.rfind(PROJECT_MARKER)?;
    Some(&dataset_name[i + PROJECT_MARKER.len()..])
}

/// A dataset name marked as `project`'s: the name as it is (another project's marker
/// taken off), then the marker. `review_dataset` → `review_dataset #rapidata-project=team`.
pub fn marked_dataset_name(dataset_name: &str, project: &str) -> String {
    let bare = match dataset_name.rfind(PROJECT_MARKER) {
        Some(i) => &dataset_name[..i],
        None => dataset_name,
    };
    format!("{bare}{PROJECT_MARKER}{project}")
}

/// The project an audience's description marks it with, if any.
pub fn audience_project(description: &str) -> Option<&str> {
    const OPEN: &str = "<!-- rapidata-project=";
    let rest = &description[description.find(OPEN)? + OPEN.len()..];
    Some(rest.split(" -->").next().unwrap_or(rest))
}

/// An audience's description marked as `project`'s: its text as it is (another project's
/// marker taken off), then the marker, as `wire_build::audience_body_for` writes it.
pub fn marked_description(description: Option<&str>, project: &str) -> String {
    let marker = wire_build::audience_marker(project);
    match description.and_then(wire_build::strip_audience_marker) {
        Some(text) => format!("{text}\n\n{marker}"),
        None => marker,
    }
}

/// Steps that write the marker themselves: a resource made (or made again) by this
/// project, or renamed in place (`renamedFrom` writes the marked names).
fn marks_anyway(step: &Step) -> bool {
    matches!(
        step,
        Step::CreateAudience
            | Step::CreateFilteredAudience
            | Step::CreateDefinition
            | Step::NewDataset
            | Step::PrepareDataset { .. }
            | Step::Rename { .. }
    )
}

/// With a project: every manifest resource found without its marker gets the adoption
/// step (first, before anything else it does) and says why; every one with it says
/// nothing about adoption, whoever made it. Audiences and job definitions only: a filtered
/// audience's update already writes the marker, jobs and orders carry none.
pub(super) fn adopt_into_project(
    project: &Project,
    observed: &Observed,
    opts: &PlanOptions,
    resources: &mut [ResourcePlan],
) {
    let Some(name) = opts.project.as_deref() else {
        return;
    };
    for p in resources
        .iter_mut()
        .filter(|p| p.origin.is_some() && p.remote_id.is_some())
    {
        let found = match p.kind {
            ResourceKind::Audience => {
                let filtered = project.resources.iter().any(
                    |r| matches!(r, Resource::Audience(a) if a.name == p.name && a.base.is_some()),
                );
                match observed.audience(&p.name) {
                    Some(ra) if !filtered => {
                        let description = ra.description.as_deref();
                        let by = description.and_then(audience_project);
                        Some((
                            by.map(str::to_string),
                            marked_description(description, name),
                            "its description",
                            // Named by its text: escaped `<!--` would show as `&lt;!--` in Markdown code.
                            format!("rapidata-project={name}"),
                        ))
                    }
                    _ => None,
                }
            }
            ResourceKind::JobDefinition => observed.dataset_names.get(&p.name).map(|ds| {
                (
                    dataset_project(ds).map(str::to_string),
                    marked_dataset_name(ds, name),
                    "its dataset's name",
                    format!("{PROJECT_MARKER}{name}").trim().to_string(),
                )
            }),
            _ => None,
        };
        let Some((by, to, carrier, marker)) = found else {
            continue;
        };
        if by.as_deref() == Some(name) {
            // The project's own: whoever made it first, nothing to say.
            p.adopt = None;
            continue;
        }
        if matches!(
            p.action,
            Action::Create | Action::Replace | Action::Blocked | Action::Delete
        ) {
            continue;
        }
        let made = match &by {
            Some(other) => format!("marked by project `{other}`, not `{name}`"),
            None => format!("made outside project `{name}`"),
        };
        let writes = p.steps.iter().any(marks_anyway);
        let what = if writes {
            "the marker comes with the steps below".to_string()
        } else {
            format!("apply adds the marker to {carrier}, nothing else")
        };
        let mut why = format!(
            "{made} ({carrier} has no `{marker}` marker): {what}, so `--prune` finds it once its manifest is gone"
        );
        if let Some(outside) = p.adopt.take() {
            why.push_str("; ");
            why.push_str(&outside);
        }
        p.adopt = Some(why);
        p.changes.push(FieldChange {
            field: "project".into(),
            before: by,
            after: Some(name.to_string()),
        });
        if writes {
            continue;
        }
        p.steps.insert(
            0,
            Step::AdoptIntoProject {
                project: name.to_string(),
                to,
            },
        );
        if p.action == Action::NoChange {
            p.action = Action::Adopt;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_name_is_marked_once_keeping_its_name() {
        assert_eq!(
            marked_dataset_name("review_dataset", "team"),
            "review_dataset #rapidata-project=team"
        );
        // Another project's marker is replaced, not stacked.
        let other = crate::plan::dataset_name("review", Some("team-b"));
        assert_eq!(dataset_project(&other), Some("team-b"));
        let marked = marked_dataset_name(&other, "team");
        assert_eq!(marked, crate::plan::dataset_name("review", Some("team")));
        assert_eq!(dataset_project(&marked), Some("team"));
        assert_eq!(dataset_project("review_dataset"), None);
    }

    #[test]
    fn a_description_is_marked_as_apply_writes_it() {
        assert_eq!(
            marked_description(None, "team"),
            wire_build::audience_marker("team")
        );
        let marked = marked_description(Some("Speaks German"), "team");
        assert_eq!(
            marked,
            format!("Speaks German\n\n{}", wire_build::audience_marker("team"))
        );
        assert_eq!(audience_project(&marked), Some("team"));
        let moved = marked_description(Some(&marked), "other");
        assert_eq!(audience_project(&moved), Some("other"));
        assert!(moved.starts_with("Speaks German\n\n"), "{moved}");
        assert_eq!(audience_project("Speaks German"), None);
    }
}
