//! A remote audience as an `Audience` manifest and its qualification examples as JSON
//! Lines (`exampleSources`). Filters are written as the API returns them, checked as a
//! manifest's are (`manifest::check_filter_value`); the description without a project
//! marker; the graduation rule `TaskAccuracy` as `admission`; `recruit: false` while
//! recruiting has not started (so `plan` does not start it); each example in the form
//! `remote::example_identity` reads it back in, the form `plan` recognises it by.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Map, Value};

use super::document::{counted, Document, Rows};
use super::emit::{flow, number, row, scalar};
use super::fetch::FetchedAudience;
use crate::manifest::{check_filter_value, Asset, ExampleTask, ResourceKind};
use crate::plan::definition::normalize;
use crate::remote::example_identity::example_content;
use crate::remote::wire_build::strip_audience_marker;

fn asset_json(a: &Asset) -> Value {
    match a {
        Asset::Text(t) => json!({ "text": t }),
        Asset::Url(u) => json!(u),
        Asset::Uploaded(n) => json!({ "uploaded": n }),
        Asset::File { file_name, .. } => json!(file_name),
    }
}

/// How a compare example's `truth` names its winner: as the asset is written.
fn written(a: &Asset) -> String {
    match a {
        Asset::Text(t) => t.clone(),
        Asset::Url(u) => u.clone(),
        Asset::Uploaded(n) => n.clone(),
        Asset::File { file_name, .. } => file_name.clone(),
    }
}

fn example_row(e: &crate::manifest::Example) -> Value {
    let mut m = Map::new();
    let (ty, instruction) = match &e.task {
        ExampleTask::Classify { instruction, .. } => ("classify", instruction),
        ExampleTask::Compare { instruction, .. } => ("compare", instruction),
        ExampleTask::Locate { instruction, .. } => ("locate", instruction),
        ExampleTask::Draw { instruction, .. } => ("draw", instruction),
        ExampleTask::SelectWords { instruction, .. } => ("selectWords", instruction),
    };
    m.insert("type".into(), json!(ty));
    m.insert("instruction".into(), json!(instruction));
    if let ExampleTask::Classify { answer_options, .. } = &e.task {
        m.insert("answerOptions".into(), json!(answer_options));
    }
    if matches!(e.task, ExampleTask::Compare { .. }) {
        m.insert(
            "assets".into(),
            Value::Array(e.assets.iter().map(asset_json).collect()),
        );
    } else if let Some(a) = e.assets.first() {
        m.insert("asset".into(), asset_json(a));
    }
    let truth = match &e.task {
        ExampleTask::Classify { truth, .. } => json!(truth),
        ExampleTask::Compare { truth, .. } => {
            json!(e.assets.get(*truth).map(written).unwrap_or_default())
        }
        ExampleTask::Locate { truth, .. } | ExampleTask::Draw { truth, .. } => json!(truth),
        ExampleTask::SelectWords {
            sentence, truth, ..
        } => {
            m.insert("sentence".into(), json!(sentence));
            json!(truth)
        }
    };
    m.insert("truth".into(), truth);
    if let Some(c) = &e.context {
        m.insert("context".into(), json!(c));
    }
    if let Some(a) = &e.context_asset {
        m.insert("contextAsset".into(), asset_json(a));
    }
    if let Some(x) = &e.explanation {
        m.insert("explanation".into(), json!(x));
    }
    Value::Object(m)
}

/// The manifest of a fetched audience; `Err` when no manifest can describe it.
pub fn convert(f: &FetchedAudience, rows_file: &str) -> Result<Document, String> {
    let a = &f.audience;
    let mut not_expressible = Vec::new();
    let mut filters = Vec::new();
    for (i, x) in a.filters.iter().enumerate() {
        match check_filter_value(x) {
            Ok(checked) => {
                if normalize(&checked) != normalize(x) {
                    not_expressible.push(format!(
                        "filter {} is {x} remotely; a manifest normalises it (as the SDK does) to {checked}, so `rapidata plan` will show a filter change",
                        i + 1
                    ));
                }
                filters.push(checked);
            }
            Err(problems) => {
                return Err(format!(
                    "its filter {} ({x}) is not one a manifest accepts: {}",
                    i + 1,
                    problems.join("; ")
                ))
            }
        }
    }
    let mut y = format!(
        "apiVersion: rapidata.ai/v1\nkind: Audience\nname: {}\n",
        scalar(&a.name)
    );
    if let Some(d) = a.description.as_deref().and_then(strip_audience_marker) {
        y.push_str(&format!("description: {}\n", scalar(&d)));
    }
    if !filters.is_empty() {
        y.push_str("filters:\n");
        for x in &filters {
            y.push_str(&format!("  - {}\n", flow(x)));
        }
    }
    let rule = &a.graduation_rule;
    match rule.get("_t").and_then(Value::as_str) {
        Some("TaskAccuracy") => {
            let target = rule.get("targetAccuracy").and_then(Value::as_f64);
            let min = rule.get("minTasks").and_then(Value::as_u64);
            let max = rule.get("maxTasks").and_then(Value::as_u64);
            match (target, min) {
                (Some(t), Some(m))
                    if (0.0..=1.0).contains(&t) && m >= 1 && max.is_none_or(|x| x >= m) =>
                {
                    y.push_str(&format!(
                        "admission: {{targetAccuracy: {}, minTasks: {m}{}}}\n",
                        number(t),
                        max.map(|x| format!(", maxTasks: {x}"))
                            .unwrap_or_default()
                    ));
                }
                _ => not_expressible.push(format!(
                    "the graduation rule {rule} is outside what `admission` accepts; it stays as it is (not managed)"
                )),
            }
        }
        None if rule.is_null() => {}
        other => not_expressible.push(format!(
            "the graduation rule `{}` has no manifest form; it stays as it is (not managed)",
            other.unwrap_or("?")
        )),
    }
    let started = a.recruiting_started();
    if !started {
        y.push_str(
            "# Recruiting has not started; `recruit: true` (the default) makes apply start it.\nrecruit: false\n",
        );
    }
    // The examples.
    let mut rows = Vec::new();
    let mut keys = HashSet::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut unmanaged: BTreeMap<String, usize> = BTreeMap::new();
    for v in &f.examples {
        match example_content(v) {
            Ok(c) => {
                if !keys.insert(c.example.key.clone()) {
                    *skipped
                        .entry("the same content as an earlier example (a manifest holds each once); the copies stay on the remote, unmanaged".into())
                        .or_default() += 1;
                    continue;
                }
                for u in c.unmanaged {
                    *unmanaged.entry(u).or_default() += 1;
                }
                rows.push(example_row(&c.example));
            }
            Err(why) => {
                *skipped
                    .entry(format!(
                        "{why}; they stay on the remote, unmanaged (plan leaves them alone)"
                    ))
                    .or_default() += 1;
            }
        }
    }
    not_expressible.extend(counted("example(s) not written", &skipped));
    not_expressible.extend(unmanaged.iter().map(|(what, n)| {
        format!("{n} example(s) set {what}, which a manifest example cannot set; it stays as it is")
    }));
    if !rows.is_empty() {
        y.push_str(&format!(
            "exampleSources:\n  - jsonl: {}\n",
            scalar(rows_file)
        ));
    }
    let text: String = rows.iter().map(row).collect();
    Ok(Document {
        kind: ResourceKind::Audience,
        name: a.name.clone(),
        id: a.id.clone(),
        source: if started {
            "recruiting started".into()
        } else {
            "recruiting not started".into()
        },
        body: y,
        rows: (!rows.is_empty()).then(|| Rows {
            file_name: rows_file.to_string(),
            text,
            count: rows.len(),
        }),
        not_expressible,
        warnings: Vec::new(),
        needs: Vec::new(),
    })
}
