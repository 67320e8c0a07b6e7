//! Comparing a job definition's manifest with its latest revision: what changed, in terms
//! a reviewer reads (instruction, referee, settings), and whether a revision can carry it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{Action, FieldChange};
use crate::manifest::LabelingSpec;
use crate::remote::wire_build;

/// Compare a definition's content with its latest revision.
pub fn definition_changes(
    spec: &LabelingSpec,
    rev: &crate::remote::RemoteRevision,
) -> (Action, Option<String>, Vec<FieldChange>) {
    // A classification's `categories` are compared as answer options (`ShownOptions`,
    // bound to the datapoints' segment or literally on the revision), not here.
    let without_categories = |w: &Value| {
        let mut w = normalize(w);
        if let Some(rapid) = w.get_mut("rapid").and_then(Value::as_object_mut) {
            rapid.remove("categories");
        }
        w
    };
    let want_workflow = without_categories(&wire_build::workflow_for(spec));
    let have_workflow = without_categories(&rev.workflow);
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

pub(super) fn normalize_list(v: &[Value]) -> Vec<Value> {
    v.iter().map(normalize).collect()
}
