//! A remote job as a `Job` manifest: the definition and audience it runs by their
//! manifest names (the audience by its id when it is a public one such as `global`), the
//! revision pinned when it is not the definition's latest (a job is bound to its revision,
//! contract fact 12), `paused: true` for a paused job, and `onReplace: keep` when other
//! remote jobs share its name, so that `plan` leaves them as they are.

use std::collections::{BTreeMap, BTreeSet};

use super::document::Document;
use super::emit::scalar;
use crate::manifest::ResourceKind;
use crate::remote::RemoteJob;

/// What a job's manifest refers to.
pub struct Context<'a> {
    /// Written definitions by remote id: (manifest name, latest revision number).
    pub definitions: &'a BTreeMap<String, (String, u32)>,
    /// Written audiences by remote id: manifest name.
    pub audiences: &'a BTreeMap<String, String>,
    /// The account's own (custom) audiences; any other audience a job runs on is a public
    /// one (such as `global`), which a Job manifest names by its id.
    pub custom_audiences: &'a BTreeSet<String>,
    /// Every remote job with this job's name (this one included).
    pub same_name: Vec<&'a RemoteJob>,
}

/// The manifest of a remote job; `Err` when no manifest can describe it.
pub fn convert(j: &RemoteJob, cx: &Context<'_>) -> Result<Document, String> {
    let Some((definition, latest)) = cx.definitions.get(&j.definition_id) else {
        return Err(format!(
            "its job definition ({}) is not written by this import (see above for why); a Job manifest needs its JobDefinition manifest",
            j.definition_id
        ));
    };
    let audience = match cx.audiences.get(&j.audience_id) {
        Some(name) => name.clone(),
        None if !cx.custom_audiences.contains(&j.audience_id) => j.audience_id.clone(),
        None => {
            return Err(format!(
                "its audience ({}) is not written by this import (see above for why)",
                j.audience_id
            ))
        }
    };
    let mut y = format!(
        "apiVersion: rapidata.ai/v1\nkind: Job\nname: {}\ndefinition: {}\naudience: {}\n",
        scalar(&j.name),
        scalar(definition),
        scalar(&audience)
    );
    if j.revision_number != *latest {
        y.push_str(&format!(
            "# It runs revision {} of {}; without `revision:` plan would assign a new job on revision {latest}.\nrevision: {}\n",
            j.revision_number, definition, j.revision_number
        ));
    }
    if j.state == "Paused" {
        y.push_str("paused: true\n");
    }
    let mut warnings = Vec::new();
    let others: Vec<&&RemoteJob> = cx.same_name.iter().filter(|o| o.id != j.id).collect();
    if !others.is_empty() {
        y.push_str("# Other remote jobs have this name: `keep` leaves them as they are.\nonReplace: keep\n");
        let twins: Vec<&str> = others
            .iter()
            .filter(|o| {
                o.definition_id == j.definition_id
                    && o.revision_number == j.revision_number
                    && o.audience_id == j.audience_id
            })
            .map(|o| o.id.as_str())
            .collect();
        if !twins.is_empty() {
            warnings.push(format!(
                "{} other job(s) named `{}` run the same revision on the same audience ({}): `plan` keeps the oldest of them and shows the others as duplicates that apply deletes; rename them in the Rapidata app first",
                twins.len(),
                j.name,
                twins.join(", ")
            ));
        }
    }
    Ok(Document {
        kind: ResourceKind::Job,
        name: j.name.clone(),
        id: j.id.clone(),
        source: format!("revision {}, {}", j.revision_number, j.state),
        body: y,
        rows: None,
        not_expressible: Vec::new(),
        warnings,
        needs: vec![
            (ResourceKind::JobDefinition, j.definition_id.clone()),
            (ResourceKind::Audience, j.audience_id.clone()),
        ],
    })
}
