//! Filtered audiences (`base:`): made with `POST /audience/{baseAudienceId}/filter`
//! (`rapidata_client/audience/rapidata_audience.py` `filter`). The API cannot edit a
//! filtered audience's filter or base (fact 21), so a change to either is a new filtered
//! audience: the old one is moved aside, the new one made under the manifest's name, the
//! jobs on it follow (a new job each, the old one paused, deleted or kept per `onReplace`,
//! shown with what it labels again), and the old audience is deleted once nothing keeps a
//! job on it. Its description (and project marker) is updated in place.

use serde_json::Value;

use super::diff::{aside_name, base, remote_only};
use super::model::*;
use super::observe::Observed;
use crate::manifest::{Audience, AudienceRef, OnReplace, Project, Resource, ResourceKind};
use crate::remote::{wire_build, RemoteAudience};

/// The plan of a filtered Audience manifest, and that of the audience it replaces.
pub(super) fn filtered_audience_plan(
    project: &Project,
    r: &Resource,
    a: &Audience,
    observed: &Observed,
    planned: &[ResourcePlan],
    project_name: Option<&str>,
) -> (ResourcePlan, Vec<ResourcePlan>) {
    let remote = observed.audience(&a.name);
    let mut p = base(r, remote.map(|x| x.id.clone()));
    let mut after = Vec::new();
    // The base's id, when it is known before apply (`None`: made or replaced by this plan).
    let want_base: Option<String> = match &a.base {
        Some(AudienceRef::Id(id)) => {
            if let Some(None) = observed.remote_audiences.get(id) {
                p.action = Action::Blocked;
                p.reason = Some(format!(
                    "the base `{id}` of filtered Audience `{}` is neither an Audience manifest nor a remote audience; name an Audience manifest, or the id of an existing audience (such as `global`)",
                    a.name
                ));
                return (p, after);
            }
            Some(id.clone())
        }
        Some(AudienceRef::Manifest(n)) => {
            let moves = planned.iter().any(|x| {
                x.kind == ResourceKind::Audience
                    && &x.name == n
                    && matches!(x.action, Action::Create | Action::Replace)
            });
            if moves {
                None
            } else {
                observed.audience(n).map(|x| x.id.clone())
            }
        }
        None => None,
    };
    let Some(ra) = remote else {
        p.action = Action::Create;
        p.steps.push(Step::CreateFilteredAudience);
        return (p, after);
    };
    let changes = replace_changes(a, ra, want_base.as_deref());
    if !changes.is_empty() {
        p.action = Action::Replace;
        p.reason = Some(if ra.base_audience_id.is_none() {
            format!(
                "the remote audience `{}` is not a filtered audience: a filtered one is made and the jobs on it follow",
                a.name
            )
        } else {
            "the API cannot change a filtered audience's filters or base: a new filtered audience is made and the jobs on it follow"
                .into()
        });
        p.changes = changes;
        let aside = aside_name(&a.name, &ra.id);
        p.steps = vec![
            Step::MoveAside { to: aside.clone() },
            Step::CreateFilteredAudience,
        ];
        after.push(old_audience(project, a, &aside, &ra.id));
        return (p, after);
    }
    // In place: the description (and the project's marker).
    let want = wire_build::filtered_audience_update_body(a, project_name);
    let want_description = want.get("description").and_then(Value::as_str);
    if want_description.is_some() && want_description != ra.description.as_deref() {
        p.changes.push(FieldChange {
            field: "description".into(),
            before: ra.description.clone(),
            after: want_description.map(str::to_string),
        });
        p.action = Action::Update;
        p.steps.push(Step::UpdateAudience);
    }
    (p, after)
}

/// What makes a new filtered audience necessary: its filter or base differ (or the remote
/// one of that name is not filtered at all).
fn replace_changes(a: &Audience, ra: &RemoteAudience, want_base: Option<&str>) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    let want = vec![wire_build::filtered_audience_filter(a)];
    if super::definition::normalize_list(&ra.filters) != super::definition::normalize_list(&want) {
        changes.push(FieldChange {
            field: "filters".into(),
            before: Some(Value::Array(ra.filters.clone()).to_string()),
            after: Some(Value::Array(want).to_string()),
        });
    }
    if ra.base_audience_id.as_deref() != want_base || want_base.is_none() {
        changes.push(FieldChange {
            field: "base".into(),
            before: ra.base_audience_id.clone(),
            after: Some(match (&a.base, want_base) {
                (_, Some(id)) => id.to_string(),
                (Some(AudienceRef::Manifest(n)), None) => {
                    format!("(audience `{n}`, to be created)")
                }
                _ => String::new(),
            }),
        });
    }
    changes
}

/// The replaced audience, once moved aside: deleted after its jobs moved, unless a job on
/// it is kept (paused or running, per `onReplace`), whose audience must stay.
fn old_audience(project: &Project, a: &Audience, aside: &str, id: &str) -> ResourcePlan {
    let jobs: Vec<(&str, OnReplace)> = project
        .resources
        .iter()
        .filter_map(|r| match r {
            Resource::Job(j) if j.audience == AudienceRef::Manifest(a.name.clone()) => {
                Some((j.name.as_str(), j.on_replace))
            }
            _ => None,
        })
        .collect();
    let mut old = remote_only(ResourceKind::Audience, aside, id);
    if jobs.iter().any(|(_, o)| *o != OnReplace::Delete) {
        old.notes.push(format!(
            "the replaced filtered audience of `{}` is kept (renamed) because jobs on it keep their results (`onReplace: delete` on them lets it go)",
            a.name
        ));
        return old;
    }
    old.action = Action::Delete;
    old.steps = vec![Step::Delete];
    old.reason = Some(format!(
        "replaced by the new filtered audience `{}`",
        a.name
    ));
    // After the job that leaves it (deleted once its replacement runs), else the audience.
    old.requires = Some(match jobs.first() {
        Some((j, _)) => ResourceRef {
            kind: ResourceKind::Job,
            name: j.to_string(),
        },
        None => ResourceRef {
            kind: ResourceKind::Audience,
            name: a.name.clone(),
        },
    });
    old
}
