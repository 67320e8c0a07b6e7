//! Job definitions and orders: the task, referee and settings checks, and the per-type
//! rules for datapoints. Datapoints stay drafts here until their files are hashed.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::collect::Collector;
use super::context::{Ctx, Loc};
use super::datapoint_rules::DraftChecker;
use super::draft::{from_inline, DraftSink};
use super::model::{Referee, Task};
use super::raw::{Located, RawDatapoint, RawReferee, RawSource, RawTaskType};
use super::replay::ReplayItem;
use super::sources::read_source;

/// Longest instruction accepted (characters): the SDK's `MAX_INSTRUCTION_LENGTH`
/// (`workflow/_base_workflow.py`, "the backend's unified instruction limit across all
/// SDK-reachable task types").
pub const MAX_INSTRUCTION: usize = 250;
/// Answer options of a classification: 2 to 8, unique (`rapidata_job_definition.py`
/// `answer_options`, `_datapoints_validator.py`).
pub const MAX_ANSWER_OPTIONS: usize = 8;
/// Longest `context` (characters): the dataset schema's `maxLength: 400`.
pub const MAX_CONTEXT: usize = 400;
/// Longest explicit key (characters).
pub const MAX_KEY: usize = 256;

/// The fields JobDefinition and Order share, moved out of either raw struct.
pub struct LabelingRaw {
    pub task_type: Located<RawTaskType>,
    pub instruction: Located<String>,
    pub answer_options: Option<Located<Vec<Located<String>>>>,
    pub comparison_budget_per_ranking: Option<Located<u32>>,
    pub responses_per_comparison: Option<Located<u32>>,
    pub referee: Option<Located<RawReferee>>,
    pub settings: Option<BTreeMap<String, Located<String>>>,
    pub failure_tolerance: Option<Located<f64>>,
    pub prune: Option<bool>,
    pub datapoints: Option<Vec<Located<RawDatapoint>>>,
    pub datapoint_sources: Option<Vec<Located<RawSource>>>,
    pub validation_set: Option<Located<String>>,
}

macro_rules! labeling_raw {
    ($r:expr) => {
        $crate::manifest::labeling::LabelingRaw {
            task_type: $r.task_type,
            instruction: $r.instruction,
            answer_options: $r.answer_options,
            comparison_budget_per_ranking: $r.comparison_budget_per_ranking,
            responses_per_comparison: $r.responses_per_comparison,
            referee: $r.referee,
            settings: $r.settings,
            failure_tolerance: $r.failure_tolerance,
            prune: $r.prune,
            datapoints: $r.datapoints,
            datapoint_sources: $r.datapoint_sources,
            validation_set: $r.validation_set,
        }
    };
}
pub(crate) use labeling_raw;

/// A labeling spec whose datapoints still need hashing.
pub struct PendingSpec {
    pub task: Task,
    pub referee: Referee,
    pub settings: BTreeMap<String, String>,
    pub failure_tolerance: f64,
    pub prune: bool,
    pub datapoints: Collector,
    /// `validationSet:` and where it is written (checked in `validation_set::check_refs`).
    pub validation_set: Option<(String, Loc)>,
}

fn at<T>(file: u32, l: &Located<T>) -> Loc {
    Loc::new(file, l.line, l.column)
}

/// Checks everything but the datapoints' files. `None` when the task itself is unusable
/// (errors reported); datapoint errors do not make it `None`.
pub fn build(ctx: &mut Ctx, file: u32, base_dir: &Path, raw: LabelingRaw) -> Option<PendingSpec> {
    let ty = raw.task_type.value;
    let task = build_task(ctx, file, &raw);
    let referee = raw
        .referee
        .as_ref()
        .and_then(|r| build_referee(ctx, file, r))
        .unwrap_or_default();
    let settings = super::settings::check(ctx, file, raw.settings.unwrap_or_default());
    if let (RawTaskType::Ranking, Some(r)) = (ty, &raw.referee) {
        // `create_ranking_job_definition` (job/rapidata_job_manager.py) takes no referee:
        // the votes per datapoint follow from the comparison budget (remote/wire_build.rs).
        ctx.error(
            at(file, r),
            "`referee` is not used by type `ranking`: its votes follow from `comparisonBudgetPerRanking` and `responsesPerComparison`",
            "remove `referee` (the SDK's create_ranking_job_definition takes none)",
        );
    }
    let mut failure_tolerance = ctx.default_failure_tolerance;
    if let Some(ft) = &raw.failure_tolerance {
        if (0.0..=1.0).contains(&ft.value) {
            failure_tolerance = ft.value;
        } else {
            ctx.error(
                at(file, ft),
                format!("failureTolerance {} is outside 0..1", ft.value),
                "use a fraction such as 0.05 (5% may fail)",
            );
        }
    }
    // Drafts become datapoints as they are read; what was read is remembered so the
    // content can be read again when it is needed (`Datapoints`).
    let mut collector = Collector::new(DraftChecker::new(ty));
    for d in raw.datapoints.unwrap_or_default() {
        collector.items.push(ReplayItem::Inline {
            file,
            base_dir: base_dir.to_path_buf(),
            raw: d.clone(),
        });
        let draft = from_inline(ctx, file, base_dir, d);
        collector.accept(ctx, draft);
    }
    for s in raw.datapoint_sources.unwrap_or_default() {
        let item = ReplayItem::Source {
            file,
            base_dir: base_dir.to_path_buf(),
            src: s.clone(),
        };
        let glob_loc = s
            .value
            .files
            .as_ref()
            .map(|p| Loc::new(file, p.line, p.column));
        let matched = read_source(ctx, file, base_dir, s, &mut collector);
        collector.items.push(match (matched, glob_loc) {
            (Some(matched), Some(loc)) => ReplayItem::Glob {
                base_dir: base_dir.to_path_buf(),
                loc,
                matched,
            },
            _ => item,
        });
    }
    collector.end_of_sources(ctx);
    Some(PendingSpec {
        task: task?,
        referee,
        settings,
        failure_tolerance,
        prune: raw.prune.unwrap_or(false),
        datapoints: collector,
        validation_set: raw.validation_set.map(|v| {
            let loc = at(file, &v);
            (v.value, loc)
        }),
    })
}

pub(super) fn type_name(t: RawTaskType) -> &'static str {
    match t {
        RawTaskType::Classify => "classify",
        RawTaskType::Compare => "compare",
        RawTaskType::FreeText => "freeText",
        RawTaskType::Locate => "locate",
        RawTaskType::Draw => "draw",
        RawTaskType::SelectWords => "selectWords",
        RawTaskType::Timestamp => "timestamp",
        RawTaskType::Ranking => "ranking",
    }
}

fn build_task(ctx: &mut Ctx, file: u32, raw: &LabelingRaw) -> Option<Task> {
    let ty = raw.task_type.value;
    let tname = type_name(ty);
    let instr = &raw.instruction;
    let mut ok = true;
    if instr.value.trim().is_empty() {
        ctx.error(
            at(file, instr),
            "`instruction` is empty",
            "say what labelers should do, e.g. `Which animal is shown?`",
        );
        ok = false;
    } else if instr.value.chars().count() > MAX_INSTRUCTION {
        ctx.error(
            at(file, instr),
            format!(
                "`instruction` has {} characters, more than the limit of {MAX_INSTRUCTION}",
                instr.value.chars().count()
            ),
            "shorten the instruction",
        );
        ok = false;
    }
    if ty != RawTaskType::Classify {
        if let Some(a) = &raw.answer_options {
            ctx.error(
                at(file, a),
                format!("`answerOptions` is only used by type `classify`, not `{tname}`"),
                "remove `answerOptions` or change `type` to `classify`",
            );
            ok = false;
        }
    }
    if ty != RawTaskType::Ranking {
        for (f, v) in [
            (
                "comparisonBudgetPerRanking",
                &raw.comparison_budget_per_ranking,
            ),
            ("responsesPerComparison", &raw.responses_per_comparison),
        ] {
            if let Some(v) = v {
                ctx.error(
                    at(file, v),
                    format!("`{f}` is only used by type `ranking`, not `{tname}`"),
                    format!("remove `{f}` or change `type` to `ranking`"),
                );
                ok = false;
            }
        }
    }
    let instruction = instr.value.clone();
    let task = match ty {
        RawTaskType::Classify => {
            let Some(opts) = &raw.answer_options else {
                ctx.error(
                    at(file, &raw.task_type),
                    "type `classify` needs `answerOptions`",
                    "add `answerOptions: [yes, no]` (at least 2 distinct options)",
                );
                return None;
            };
            if opts.value.len() > MAX_ANSWER_OPTIONS {
                ctx.error(
                    at(file, opts),
                    format!(
                        "`answerOptions` has {} options; the SDK takes 2 to {MAX_ANSWER_OPTIONS}",
                        opts.value.len()
                    ),
                    "remove options (rapidata_job_definition.py allows at most 8)",
                );
                ok = false;
            }
            if opts.value.len() < 2 {
                ctx.error(
                    at(file, opts),
                    format!(
                        "`answerOptions` has {} option(s); classify needs at least 2",
                        opts.value.len()
                    ),
                    "add more options",
                );
                ok = false;
            }
            let mut seen = HashSet::new();
            for o in &opts.value {
                if o.value.trim().is_empty() {
                    ctx.error(
                        at(file, o),
                        "empty answer option",
                        "remove it or give it a label",
                    );
                    ok = false;
                } else if !seen.insert(o.value.as_str()) {
                    ctx.error(
                        at(file, o),
                        format!("duplicate answer option `{}`", o.value),
                        "answer options must be unique; remove the repeat",
                    );
                    ok = false;
                }
            }
            Task::Classify {
                instruction,
                answer_options: opts.value.iter().map(|o| o.value.clone()).collect(),
            }
        }
        RawTaskType::Compare => Task::Compare { instruction },
        RawTaskType::FreeText => Task::FreeText { instruction },
        RawTaskType::Locate => Task::Locate { instruction },
        RawTaskType::Draw => Task::Draw { instruction },
        RawTaskType::SelectWords => Task::SelectWords { instruction },
        RawTaskType::Timestamp => Task::Timestamp { instruction },
        RawTaskType::Ranking => {
            let mut get = |f: &str, v: &Option<Located<u32>>| -> Option<u32> {
                match v {
                    None => {
                        ctx.error(
                            at(file, &raw.task_type),
                            format!("type `ranking` needs `{f}`"),
                            format!("add `{f}: 10` (a positive number)"),
                        );
                        None
                    }
                    Some(v) if v.value == 0 => {
                        ctx.error(
                            at(file, v),
                            format!("`{f}` must be at least 1"),
                            "use a positive number",
                        );
                        None
                    }
                    Some(v) => Some(v.value),
                }
            };
            let budget = get(
                "comparisonBudgetPerRanking",
                &raw.comparison_budget_per_ranking,
            );
            let rpc = get("responsesPerComparison", &raw.responses_per_comparison);
            Task::Ranking {
                instruction,
                comparison_budget_per_ranking: budget?,
                responses_per_comparison: rpc?,
            }
        }
    };
    ok.then_some(task)
}

fn build_referee(ctx: &mut Ctx, file: u32, r: &Located<RawReferee>) -> Option<Referee> {
    let v = &r.value;
    let n = usize::from(v.responses_per_datapoint.is_some())
        + usize::from(v.quorum.is_some())
        + usize::from(v.early_stopping.is_some());
    if n != 1 {
        ctx.error(
            at(file, r),
            "`referee` needs exactly one of `responsesPerDatapoint`, `quorum` or `earlyStopping`",
            "e.g. `referee: {responsesPerDatapoint: 10}`",
        );
        return None;
    }
    if let Some(x) = &v.responses_per_datapoint {
        if x.value == 0 {
            ctx.error(
                at(file, x),
                "`responsesPerDatapoint` must be at least 1",
                "use a positive number; the SDK default is 10",
            );
            return None;
        }
        return Some(Referee::Naive {
            responses_per_datapoint: x.value,
        });
    }
    if let Some(q) = &v.quorum {
        let (t, m) = (&q.value.threshold, &q.value.max_votes);
        if t.value == 0 {
            ctx.error(
                at(file, t),
                "quorum `threshold` must be at least 1",
                "use a positive number",
            );
            return None;
        }
        if m.value < t.value {
            ctx.error(
                at(file, m),
                format!(
                    "quorum `maxVotes` ({}) is below `threshold` ({})",
                    m.value, t.value
                ),
                "maxVotes must be at least threshold",
            );
            return None;
        }
        return Some(Referee::Quorum {
            threshold: t.value,
            max_votes: m.value,
        });
    }
    if let Some(e) = &v.early_stopping {
        let (c, m) = (&e.value.confidence_threshold, &e.value.max_votes);
        if !(c.value > 0.0 && c.value < 1.0) {
            ctx.error(
                at(file, c),
                format!("`confidenceThreshold` {} is outside 0..1", c.value),
                "use a probability such as 0.95",
            );
            return None;
        }
        if m.value == 0 {
            ctx.error(
                at(file, m),
                "`maxVotes` must be at least 1",
                "use a positive number",
            );
            return None;
        }
        return Some(Referee::EarlyStopping {
            confidence_threshold: c.value,
            max_votes: m.value,
        });
    }
    None
}
