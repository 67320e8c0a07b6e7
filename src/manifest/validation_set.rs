//! `kind: ValidationSet`: quality-control tasks with known answers (`rapidata_client/validation/`).
//! Each task is checked as an audience example of the set's type (the SDK's
//! `RapidsManager.*_rapid` apply the same rules: truths among the answer options, exactly
//! two compare assets, boxes within 0..1, word indices within the sentence), so it reuses
//! [`super::examples`]: the set's `type`, `instruction` and `answerOptions` go into every
//! task, and a task's key is its content fingerprint.

use std::path::Path;

use super::context::{Ctx, Loc};
use super::examples::{build, ExampleDraft, ExampleIn};
use super::raw::{Located, RawValidationSet, RowValidationTask, VALIDATION_TASK_FIELDS};
use super::sources::{dir_of, open};
use super::suggest::did_you_mean;

fn at<T>(file: u32, l: &Located<T>) -> Loc {
    Loc::new(file, l.line, l.column)
}

/// What a validation set's lowering yields before its files are hashed.
pub(super) struct PendingSet {
    pub name: String,
    pub loc: Loc,
    pub drafts: Vec<ExampleDraft>,
    pub dimensions: Option<Vec<String>>,
    pub should_alert: Option<bool>,
    pub prune: bool,
}

/// Checks a validation set and drafts its tasks (inline, then each source's rows).
pub(super) fn lower(ctx: &mut Ctx, file: u32, base_dir: &Path, r: RawValidationSet) -> PendingSet {
    let ty = (r.task_type.value, at(file, &r.task_type));
    let instruction = (r.instruction.value.clone(), at(file, &r.instruction));
    let options = r.answer_options.as_ref().map(|a| {
        (
            a.value
                .iter()
                .map(|o| (o.value.clone(), at(file, o)))
                .collect::<Vec<_>>(),
            at(file, a),
        )
    });
    let mut drafts = Vec::new();
    let tasks = r.tasks.unwrap_or_default();
    let sources = r.task_sources.unwrap_or_default();
    if tasks.is_empty() && sources.is_empty() {
        ctx.error(
            at(file, &r.name),
            format!("ValidationSet `{}` has no tasks", r.name.value),
            "add `tasks:` (each with an `asset` and its `truth`) or `taskSources:`",
        );
    }
    for t in tasks {
        let loc = at(file, &t);
        let t = t.value;
        let input = ExampleIn {
            loc,
            ty,
            instruction: instruction.clone(),
            answer_options: options.clone(),
            asset: t.asset.map(|a| (a.value.clone(), at(file, &a))),
            assets: t
                .assets
                .map(|v| v.iter().map(|a| (a.value.clone(), at(file, a))).collect()),
            sentence: t.sentence.map(|s| (s.value.clone(), at(file, &s))),
            truth: (t.truth.value.clone(), at(file, &t.truth)),
            context: t.context.map(|c| (c.value.clone(), at(file, &c))),
            context_asset: t.context_asset.map(|c| (c.value.clone(), at(file, &c))),
            explanation: t.explanation.map(|c| (c.value.clone(), at(file, &c))),
        };
        if let Some(d) = build(ctx, base_dir, input) {
            drafts.push(d);
        }
    }
    for s in sources {
        let p = s.value.jsonl;
        let ploc = at(file, &p);
        let Some((path, text)) = open(ctx, base_dir, &p.value, ploc) else {
            continue;
        };
        let text = ctx.keep_text(&path, text);
        let row_file = ctx.file_id(&path);
        let base = dir_of(&path);
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let loc = Loc::new(row_file, i + 1, 1);
            match serde_json::from_str::<RowValidationTask>(line) {
                Ok(t) => {
                    let input = ExampleIn {
                        loc,
                        ty: (ty.0, loc),
                        instruction: (instruction.0.clone(), loc),
                        answer_options: options
                            .clone()
                            .map(|(v, _)| (v.into_iter().map(|o| (o.0, loc)).collect(), loc)),
                        asset: t.asset.map(|a| (a, loc)),
                        assets: t.assets.map(|v| v.into_iter().map(|a| (a, loc)).collect()),
                        sentence: t.sentence.map(|x| (x, loc)),
                        truth: (t.truth, loc),
                        context: t.context.map(|x| (x, loc)),
                        context_asset: t.context_asset.map(|x| (x, loc)),
                        explanation: t.explanation.map(|x| (x, loc)),
                    };
                    if let Some(d) = build(ctx, &base, input) {
                        drafts.push(d);
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                    let help = msg
                        .strip_prefix("unknown field `")
                        .and_then(|r| r.split('`').next())
                        .map(|f| match did_you_mean(f, VALIDATION_TASK_FIELDS) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => {
                                format!("allowed fields: {}", VALIDATION_TASK_FIELDS.join(", "))
                            }
                        })
                        .unwrap_or_else(|| {
                            "each line must be one JSON object with validation task fields".into()
                        });
                    ctx.error(Loc::new(row_file, i + 1, e.column().max(1)), msg, help);
                }
            }
        }
    }
    let dimensions = r.dimensions.map(|v| {
        v.into_iter()
            .filter_map(|d| {
                if d.value.trim().is_empty() {
                    ctx.error(at(file, &d), "empty dimension", "remove it or name it");
                    None
                } else {
                    Some(d.value)
                }
            })
            .collect()
    });
    PendingSet {
        name: r.name.value,
        loc: at(file, &r.kind),
        drafts,
        dimensions,
        should_alert: r.should_alert.map(|v| v.value),
        prune: r.prune.unwrap_or(false),
    }
}

/// Every `validationSet:` names a ValidationSet manifest.
pub(super) fn check_refs(ctx: &mut Ctx, resources: &[super::Resource], set_locs: &[(usize, Loc)]) {
    let names: Vec<&str> = resources
        .iter()
        .filter_map(|r| match r {
            super::Resource::ValidationSet(s) => Some(s.name.as_str()),
            _ => None,
        })
        .collect();
    for (i, loc) in set_locs {
        let Some(super::Resource::JobDefinition(d)) = resources.get(*i) else {
            continue;
        };
        let Some(want) = &d.spec.validation_set else {
            continue;
        };
        if !names.contains(&want.as_str()) {
            let help = match did_you_mean(want, &names) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "add a ValidationSet manifest with this name, or fix the name".into(),
            };
            ctx.error(
                *loc,
                format!(
                    "JobDefinition `{}` uses ValidationSet `{want}`, which no manifest defines",
                    d.name
                ),
                help,
            );
        }
    }
}
