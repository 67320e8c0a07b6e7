//! Qualification examples of an audience (`examples:` and `exampleSources:`): the SDK's
//! client-side rules of `audience_example_handler.py` (instruction length, answer options,
//! truth within the options, exactly two compare assets, boxes within 0..1, word indices
//! within the sentence), checked at validate with the line of the offending value. Like
//! datapoints, examples stay drafts until their files are hashed; their key is their
//! content fingerprint.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::context::{Ctx, Loc};
use super::draft::{draft_asset, DraftAsset};
use super::finalize::{asset, Hashed};
use super::fingerprint::{asset_field, field, fingerprint_key};
use super::model::{Asset, Example, ExampleTask, TruthBox};
use super::raw::{
    Located, RawAsset, RawExample, RawExampleSource, RawExampleType, RowExample, EXAMPLE_FIELDS,
};
use super::sources::{dir_of, open};
use super::suggest::did_you_mean;

/// The SDK's `MAX_INSTRUCTION_LENGTH` (`workflow/_base_workflow.py`), which
/// `audience_example_handler.py` applies to every example.
pub const MAX_EXAMPLE_INSTRUCTION: usize = 250;
/// Answer options of a classification: 2 to 8, unique (`_datapoints_validator.py`,
/// `rapidata_job_definition.py`).
pub const MIN_ANSWER_OPTIONS: usize = 2;
pub const MAX_ANSWER_OPTIONS: usize = 8;

/// An example before its files are hashed.
pub struct ExampleDraft {
    loc: Loc,
    task: ExampleTask,
    assets: Vec<DraftAsset>,
    context: Option<String>,
    context_asset: Option<DraftAsset>,
    explanation: Option<String>,
}

/// An example as written, inline or as a JSONL row (where every location is the row's).
/// A validation set's task is one too, with the set's type, instruction and options.
pub(super) struct ExampleIn {
    pub loc: Loc,
    pub ty: (RawExampleType, Loc),
    pub instruction: (String, Loc),
    pub answer_options: Option<(Vec<(String, Loc)>, Loc)>,
    pub asset: Option<(RawAsset, Loc)>,
    pub assets: Option<Vec<(RawAsset, Loc)>>,
    pub sentence: Option<(String, Loc)>,
    pub truth: (Value, Loc),
    pub context: Option<(String, Loc)>,
    pub context_asset: Option<(RawAsset, Loc)>,
    pub explanation: Option<(String, Loc)>,
}

fn at<T>(file: u32, l: &Located<T>) -> Loc {
    Loc::new(file, l.line, l.column)
}

fn loc_pair<T>(file: u32, l: Located<T>) -> (T, Loc) {
    let loc = at(file, &l);
    (l.value, loc)
}

fn type_name(t: RawExampleType) -> &'static str {
    match t {
        RawExampleType::Classify => "classify",
        RawExampleType::Compare => "compare",
        RawExampleType::Locate => "locate",
        RawExampleType::Draw => "draw",
        RawExampleType::SelectWords => "selectWords",
    }
}

/// Drafts of every example of an audience: the inline ones, then each source's rows.
pub fn drafts(
    ctx: &mut Ctx,
    file: u32,
    base_dir: &Path,
    inline: Vec<Located<RawExample>>,
    sources: Vec<Located<RawExampleSource>>,
) -> Vec<ExampleDraft> {
    let mut out = Vec::new();
    for e in inline {
        let loc = at(file, &e);
        let r = e.value;
        let input = ExampleIn {
            loc,
            ty: loc_pair(file, r.example_type),
            instruction: loc_pair(file, r.instruction),
            answer_options: r.answer_options.map(|a| {
                let l = at(file, &a);
                (a.value.into_iter().map(|o| loc_pair(file, o)).collect(), l)
            }),
            asset: r.asset.map(|a| loc_pair(file, a)),
            assets: r
                .assets
                .map(|v| v.into_iter().map(|a| loc_pair(file, a)).collect()),
            sentence: r.sentence.map(|s| loc_pair(file, s)),
            truth: loc_pair(file, r.truth),
            context: r.context.map(|c| loc_pair(file, c)),
            context_asset: r.context_asset.map(|c| loc_pair(file, c)),
            explanation: r.explanation.map(|c| loc_pair(file, c)),
        };
        if let Some(d) = build(ctx, base_dir, input) {
            out.push(d);
        }
    }
    for s in sources {
        let p = s.value.jsonl;
        let ploc = at(file, &p);
        let Some((path, text)) = open(ctx, base_dir, &p.value, ploc) else {
            continue;
        };
        let text = ctx.keep_text(&path, text);
        read_jsonl(ctx, &path, &text, &mut out);
    }
    out
}

fn read_jsonl(ctx: &mut Ctx, path: &Path, text: &str, out: &mut Vec<ExampleDraft>) {
    let file = ctx.file_id(path);
    let base = dir_of(path);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let loc = Loc::new(file, i + 1, 1);
        match serde_json::from_str::<RowExample>(line) {
            Ok(r) => {
                let input = ExampleIn {
                    loc,
                    ty: (r.example_type, loc),
                    instruction: (r.instruction, loc),
                    answer_options: r
                        .answer_options
                        .map(|v| (v.into_iter().map(|o| (o, loc)).collect(), loc)),
                    asset: r.asset.map(|a| (a, loc)),
                    assets: r.assets.map(|v| v.into_iter().map(|a| (a, loc)).collect()),
                    sentence: r.sentence.map(|s| (s, loc)),
                    truth: (r.truth, loc),
                    context: r.context.map(|c| (c, loc)),
                    context_asset: r.context_asset.map(|c| (c, loc)),
                    explanation: r.explanation.map(|c| (c, loc)),
                };
                if let Some(d) = build(ctx, &base, input) {
                    out.push(d);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                let help = msg
                    .strip_prefix("unknown field `")
                    .and_then(|r| r.split('`').next())
                    .map(|f| match did_you_mean(f, EXAMPLE_FIELDS) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("allowed fields: {}", EXAMPLE_FIELDS.join(", ")),
                    })
                    .unwrap_or_else(|| {
                        "each line must be one JSON object with example fields".into()
                    });
                ctx.error(Loc::new(file, i + 1, e.column().max(1)), msg, help);
            }
        }
    }
}

/// A truth entry as text. YAML reads an unquoted `yes`, `no`, `on`, `off`, `true`,
/// `false` as booleans: such a value matches the answer option spelled that way.
fn scalar_text(v: &Value, options: &[&str]) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => {
            let spellings: &[&str] = if *b {
                &["yes", "true", "on", "y"]
            } else {
                &["no", "false", "off", "n"]
            };
            options
                .iter()
                .find(|o| spellings.iter().any(|s| o.eq_ignore_ascii_case(s)))
                .map(|o| o.to_string())
                .or_else(|| Some(b.to_string()))
        }
        _ => None,
    }
}

/// The written form of an asset, as a compare `truth` names it.
fn written(a: &RawAsset) -> &str {
    match a {
        RawAsset::Path(p) => p,
        RawAsset::Text(t) => &t.text,
        RawAsset::Uploaded(u) => &u.uploaded,
    }
}

fn is_text(a: &RawAsset) -> bool {
    matches!(a, RawAsset::Text(_))
}

/// Checks one example; `None` when it is unusable (errors reported).
pub(super) fn build(ctx: &mut Ctx, base_dir: &Path, e: ExampleIn) -> Option<ExampleDraft> {
    let (ty, tloc) = e.ty;
    let tname = type_name(ty);
    let mut ok = true;
    let (instruction, iloc) = e.instruction;
    let n = instruction.chars().count();
    if instruction.trim().is_empty() {
        ctx.error(
            iloc,
            "`instruction` is empty",
            "say what labelers should do, e.g. `Is this a cat?`",
        );
        ok = false;
    } else if n > MAX_EXAMPLE_INSTRUCTION {
        ctx.error(
            iloc,
            format!("`instruction` has {n} characters; the SDK allows at most {MAX_EXAMPLE_INSTRUCTION}"),
            "shorten the instruction (validate_instruction_length in the SDK)",
        );
        ok = false;
    }
    // Fields that only some types take.
    let only = |ctx: &mut Ctx, field: &str, loc: Option<Loc>, types: &[RawExampleType]| -> bool {
        match loc {
            Some(l) if !types.contains(&ty) => {
                let names: Vec<&str> = types.iter().map(|t| type_name(*t)).collect();
                ctx.error(
                    l,
                    format!("`{field}` is not used by `{tname}` examples"),
                    format!("remove `{field}` (it is for {} examples)", names.join(", ")),
                );
                false
            }
            _ => true,
        }
    };
    use RawExampleType as T;
    ok &= only(
        ctx,
        "answerOptions",
        e.answer_options.as_ref().map(|a| a.1),
        &[T::Classify],
    );
    ok &= only(
        ctx,
        "sentence",
        e.sentence.as_ref().map(|a| a.1),
        &[T::SelectWords],
    );
    ok &= only(
        ctx,
        "assets",
        e.assets.as_ref().map(|a| a.first().map_or(e.loc, |x| x.1)),
        &[T::Compare],
    );
    ok &= only(
        ctx,
        "asset",
        e.asset.as_ref().map(|a| a.1),
        &[T::Classify, T::Locate, T::Draw, T::SelectWords],
    );
    let with_context = [T::Classify, T::Compare, T::Locate, T::Draw];
    ok &= only(
        ctx,
        "context",
        e.context.as_ref().map(|a| a.1),
        &with_context,
    );
    ok &= only(
        ctx,
        "contextAsset",
        e.context_asset.as_ref().map(|a| a.1),
        &with_context,
    );
    // The assets.
    let raw_assets: Vec<(RawAsset, Loc)> = match (ty, e.asset, e.assets) {
        (T::Compare, _, Some(list)) => {
            if list.len() != 2 {
                ctx.error(
                    list.first().map_or(e.loc, |a| a.1),
                    format!(
                        "a compare example needs exactly 2 assets, not {}",
                        list.len()
                    ),
                    "list the two assets labelers compare (add_compare_example)",
                );
                ok = false;
            } else if is_text(&list[0].0) != is_text(&list[1].0) {
                ctx.error(
                    list[1].1,
                    "the two assets of a compare example must both be text or both be media",
                    "make both `{text: ...}` or both paths/URLs",
                );
                ok = false;
            }
            list
        }
        (T::Compare, _, None) => {
            ctx.error(
                tloc,
                "a compare example needs `assets` (exactly 2)",
                "add `assets: [a.png, b.png]`",
            );
            return None;
        }
        (_, Some(a), _) => vec![a],
        (_, None, _) => {
            ctx.error(
                tloc,
                format!("a `{tname}` example needs an `asset`"),
                "add `asset: path/to/file.png` (or a URL, or {text: ...})",
            );
            return None;
        }
    };
    if matches!(ty, T::Locate | T::Draw | T::SelectWords) {
        if let Some((_, l)) = raw_assets.iter().find(|(a, _)| is_text(a)) {
            ctx.error(
                *l,
                format!("a `{tname}` example needs a media asset, not text"),
                "use an image (or video) file or URL",
            );
            ok = false;
        }
    }
    let (truth, truth_loc) = e.truth;
    let task = match ty {
        T::Classify => {
            let Some((opts, oloc)) = e.answer_options else {
                ctx.error(
                    tloc,
                    "a classify example needs `answerOptions`",
                    "add `answerOptions: [yes, no]`",
                );
                return None;
            };
            if !(MIN_ANSWER_OPTIONS..=MAX_ANSWER_OPTIONS).contains(&opts.len()) {
                ctx.error(
                    oloc,
                    format!(
                        "`answerOptions` has {} options; the SDK takes {MIN_ANSWER_OPTIONS} to {MAX_ANSWER_OPTIONS}",
                        opts.len()
                    ),
                    if opts.len() < MIN_ANSWER_OPTIONS { "add an option" } else { "remove options" },
                );
                ok = false;
            }
            let mut seen = HashSet::new();
            for (o, l) in &opts {
                if o.trim().is_empty() {
                    ctx.error(*l, "empty answer option", "remove it or give it a label");
                    ok = false;
                } else if !seen.insert(o.as_str()) {
                    ctx.error(
                        *l,
                        format!("duplicate answer option `{o}`"),
                        "answer options must be unique; remove the repeat",
                    );
                    ok = false;
                }
            }
            let options: Vec<String> = opts.into_iter().map(|o| o.0).collect();
            let names: Vec<&str> = options.iter().map(String::as_str).collect();
            let truth = match &truth {
                Value::Array(items) if !items.is_empty() => {
                    let mut out = Vec::new();
                    for t in items {
                        let t = scalar_text(t, &names);
                        match t.as_deref() {
                            Some(s) if names.contains(&s) => out.push(s.to_string()),
                            Some(s) => {
                                let help = match did_you_mean(s, &names) {
                                    Some(x) => format!("did you mean `{x}`?"),
                                    None => format!("use one of {}", names.join(", ")),
                                };
                                ctx.error(
                                    truth_loc,
                                    format!("truth `{s}` is not one of the answer options"),
                                    help,
                                );
                                ok = false;
                            }
                            None => {
                                ctx.error(
                                    truth_loc,
                                    "a classify truth lists answer options (strings)",
                                    "e.g. `truth: [yes]`",
                                );
                                ok = false;
                            }
                        }
                    }
                    out
                }
                _ => {
                    ctx.error(
                        truth_loc,
                        "a classify truth is a non-empty list of answer options",
                        "e.g. `truth: [yes]` (add_classification_example takes a list)",
                    );
                    return None;
                }
            };
            ExampleTask::Classify {
                instruction,
                answer_options: options,
                truth,
            }
        }
        T::Compare => {
            let names: Vec<&str> = raw_assets.iter().map(|(a, _)| written(a)).collect();
            let idx = match truth.as_str() {
                Some(s) => match names.iter().position(|n| *n == s) {
                    Some(i) => i,
                    None => {
                        let help = match did_you_mean(s, &names) {
                            Some(x) => format!("did you mean `{x}`?"),
                            None => format!(
                                "write one of the assets exactly as in `assets`: {}",
                                names.join(", ")
                            ),
                        };
                        ctx.error(
                            truth_loc,
                            format!("compare truth `{s}` is not one of the example's assets"),
                            help,
                        );
                        return None;
                    }
                },
                None => {
                    ctx.error(
                        truth_loc,
                        "a compare truth is the winning asset, written as in `assets`",
                        "e.g. `truth: images/a.png`",
                    );
                    return None;
                }
            };
            ExampleTask::Compare {
                instruction,
                truth: idx,
            }
        }
        T::Locate | T::Draw => {
            let boxes = boxes(ctx, &truth, truth_loc)?;
            if ty == T::Locate {
                ExampleTask::Locate {
                    instruction,
                    truth: boxes,
                }
            } else {
                ExampleTask::Draw {
                    instruction,
                    truth: boxes,
                }
            }
        }
        T::SelectWords => {
            let Some((sentence, sloc)) = e.sentence else {
                ctx.error(
                    tloc,
                    "a selectWords example needs a `sentence`",
                    "add `sentence: \"the words to select from\"`",
                );
                return None;
            };
            // The SDK splits on single spaces (add_select_words_example) and wants at least
            // two words (`sentence_has_space` in datapoints/_datapoint.py).
            let words = sentence.split(' ').count();
            if sentence.split_whitespace().count() < 2 {
                ctx.error(
                    sloc,
                    "`sentence` must contain at least two words",
                    "labelers select words of the sentence; write a sentence",
                );
                return None;
            }
            let truth = match &truth {
                Value::Array(items) if !items.is_empty() => {
                    let mut out = Vec::new();
                    for t in items {
                        match t.as_u64().and_then(|i| usize::try_from(i).ok()) {
                            Some(i) if i < words => out.push(i),
                            _ => {
                                ctx.error(
                                    truth_loc,
                                    format!(
                                        "truth `{t}` is not a word index of the sentence (0 to {})",
                                        words - 1
                                    ),
                                    "list the 0-based indices of the right words, split at spaces",
                                );
                                ok = false;
                            }
                        }
                    }
                    out
                }
                _ => {
                    ctx.error(
                        truth_loc,
                        "a selectWords truth is a non-empty list of word indices",
                        "e.g. `truth: [0, 2]` (0-based, words split at spaces)",
                    );
                    return None;
                }
            };
            ExampleTask::SelectWords {
                instruction,
                sentence,
                truth,
            }
        }
    };
    let assets: Vec<DraftAsset> = raw_assets
        .into_iter()
        .map(|(a, l)| draft_asset(ctx, base_dir, a, l))
        .collect();
    let context_asset = e
        .context_asset
        .map(|(a, l)| draft_asset(ctx, base_dir, a, l));
    ok.then_some(ExampleDraft {
        loc: e.loc,
        task,
        assets,
        context: e.context.map(|c| c.0),
        context_asset,
        explanation: e.explanation.map(|c| c.0),
    })
}

/// Locate and draw truths: boxes in ratios of the asset (the SDK's `Box`: each coordinate
/// within 0..1, min below max).
fn boxes(ctx: &mut Ctx, truth: &Value, loc: Loc) -> Option<Vec<TruthBox>> {
    let Some(items) = truth.as_array().filter(|a| !a.is_empty()) else {
        ctx.error(
            loc,
            "a locate or draw truth is a non-empty list of boxes",
            "e.g. `truth: [{xMin: 0.1, yMin: 0.1, xMax: 0.5, yMax: 0.6}]` (ratios 0..1)",
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (i, b) in items.iter().enumerate() {
        let get = |k: &str| b.get(k).and_then(Value::as_f64);
        let known = ["xMin", "yMin", "xMax", "yMax"];
        if let Some(obj) = b.as_object() {
            if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
                let help = match did_you_mean(k, &known) {
                    Some(x) => format!("did you mean `{x}`?"),
                    None => "a box has xMin, yMin, xMax, yMax".into(),
                };
                ctx.error(
                    loc,
                    format!("box {i} of the truth has an unknown field `{k}`"),
                    help,
                );
                ok = false;
                continue;
            }
        }
        let (Some(x0), Some(y0), Some(x1), Some(y1)) =
            (get("xMin"), get("yMin"), get("xMax"), get("yMax"))
        else {
            ctx.error(
                loc,
                format!("box {i} of the truth needs numbers xMin, yMin, xMax and yMax"),
                "e.g. `{xMin: 0.1, yMin: 0.1, xMax: 0.5, yMax: 0.6}`",
            );
            ok = false;
            continue;
        };
        if [x0, y0, x1, y1].iter().any(|v| !(0.0..=1.0).contains(v)) {
            ctx.error(
                loc,
                format!("box {i} of the truth has a coordinate outside 0..1"),
                "coordinates are ratios of the asset's size (0.0 to 1.0), not pixels",
            );
            ok = false;
            continue;
        }
        if x0 >= x1 || y0 >= y1 {
            ctx.error(
                loc,
                format!(
                    "box {i} of the truth is empty: xMin must be below xMax and yMin below yMax"
                ),
                "swap the coordinates",
            );
            ok = false;
            continue;
        }
        out.push(TruthBox {
            x_min: x0,
            y_min: y0,
            x_max: x1,
            y_max: y1,
        });
    }
    ok.then_some(out)
}

/// The canonical encoding of an example (version 1): tag `V` `rapidata.example.v1`, `K` the
/// task as JSON (type, instruction, options, truth), `A` the assets, then if present `X`
/// context asset, `C` context, `E` explanation. Fields as in `fingerprint.rs`.
pub fn encode(e: &Example) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    field(&mut out, b'V', b"rapidata.example.v1");
    let task = serde_json::to_string(&e.task).unwrap_or_default();
    field(&mut out, b'K', task.as_bytes());
    let mut assets = Vec::new();
    for a in &e.assets {
        asset_field(&mut assets, a);
    }
    field(&mut out, b'A', &assets);
    if let Some(a) = &e.context_asset {
        let mut buf = Vec::new();
        asset_field(&mut buf, a);
        field(&mut out, b'X', &buf);
    }
    if let Some(t) = &e.context {
        field(&mut out, b'C', t.as_bytes());
    }
    if let Some(t) = &e.explanation {
        field(&mut out, b'E', t.as_bytes());
    }
    out
}

/// blake3 (hex) of [`encode`]: the example's fingerprint; its key is `fp-` and this.
pub fn fingerprint(e: &Example) -> String {
    blake3::hash(&encode(e)).to_hex().to_string()
}

/// Examples once every local file is hashed; duplicates are reported.
pub fn finalize(ctx: &mut Ctx, hashed: &Hashed, drafts: Vec<ExampleDraft>) -> Vec<Example> {
    let mut out = Vec::with_capacity(drafts.len());
    let mut seen: HashMap<String, Loc> = HashMap::new();
    for d in drafts {
        let Some(assets) = d
            .assets
            .iter()
            .map(|a| asset(ctx, hashed, a))
            .collect::<Option<Vec<Asset>>>()
        else {
            continue;
        };
        let context_asset = match &d.context_asset {
            Some(a) => match asset(ctx, hashed, a) {
                Some(a) => Some(a),
                None => continue,
            },
            None => None,
        };
        let mut e = Example {
            key: String::new(),
            fingerprint: String::new(),
            origin: ctx.origin(d.loc),
            task: d.task,
            assets,
            context: d.context,
            context_asset,
            explanation: d.explanation,
        };
        e.fingerprint = fingerprint(&e);
        e.key = fingerprint_key(&e.fingerprint);
        if let Some(first) = seen.get(&e.key) {
            let first = ctx.origin(*first);
            ctx.error(
                d.loc,
                format!("duplicate example: same content as the example at {first}"),
                "remove the repeat",
            );
            continue;
        }
        seen.insert(e.key.clone(), d.loc);
        out.push(e);
    }
    out
}
