//! A remote job definition as a `JobDefinition` manifest and its datapoints as JSON Lines.
//!
//! The task comes from the latest revision's workflow (the SDK's `rapid` spec read back:
//! `title`/`criteria`/`question`/`target` literal → `instruction`), the referee and feature
//! flags from the revision, the datapoints from the dataset listing
//! (`remote::content_identity`: text inline, fetched URLs as URLs, other uploads as
//! `{uploaded: fileName}`), written without keys, so each one's key is its content
//! fingerprint, which is what `plan` derives for the remote datapoint. The in-memory
//! manifest is then compared with the revision exactly as `plan` compares them
//! (`plan::definition::definition_changes`): whatever differs is something the format
//! cannot write, and is listed.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Map, Value};

use super::document::{counted, Document, Rows};
use super::emit::{flow_strings, number, row, scalar};
use super::fetch::FetchedDefinition;
use crate::manifest::fingerprint::{fingerprint, fingerprint_key, with_answer_options, Content};
use crate::manifest::{Asset, Datapoint, LabelingSpec, Origin, Referee, ResourceKind, Task};
use crate::plan::definition::{definition_changes, instruction_of};
use crate::remote::content_identity::{manifest_content, ManifestContent};

/// Groups of at most this many datapoints are ranked by all pairs (the SDK's threshold).
const FULL_PERMUTATION_GROUP_SIZE: usize = 10;
/// The SDK's default `random_comparisons_ratio`, the only one a manifest sends.
const RANDOM_COMPARISONS_RATIO: f64 = 0.5;

/// A ranking's pair maker as the revision has it.
#[derive(Debug, Clone, PartialEq)]
enum PairMaker {
    Full,
    Online { budget: u32, ratio: f64 },
}

/// The manifest task a workflow is, with the ranking's pair maker.
fn task_of(w: &Value) -> Result<(Task, Option<PairMaker>), String> {
    let instruction = || {
        instruction_of(w).ok_or_else(|| {
            "its instruction is not a literal text (a segment binding the manifest cannot write)"
                .to_string()
        })
    };
    let t = w.get("_t").and_then(Value::as_str).unwrap_or("?");
    if t == "GroupedRankingWorkflow" {
        let pm = &w["pairMakerConfig"];
        let pair_maker = match pm.get("_t").and_then(Value::as_str) {
            Some("FullPermutationPairMaker") => PairMaker::Full,
            Some("OnlinePairMaker") => PairMaker::Online {
                budget: pm["totalComparisonBudget"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or("its pair maker has no `totalComparisonBudget`")?,
                ratio: pm["randomMatchesRatio"]
                    .as_f64()
                    .unwrap_or(RANDOM_COMPARISONS_RATIO),
            },
            other => {
                return Err(format!(
                    "its ranking pair maker `{}` has no manifest form",
                    other.unwrap_or("?")
                ))
            }
        };
        let task = Task::Ranking {
            instruction: instruction()?,
            comparison_budget_per_ranking: 1,
            responses_per_comparison: 1,
        };
        return Ok((task, Some(pair_maker)));
    }
    if t != "SimpleWorkflow" {
        return Err(format!(
            "its workflow `{t}` has no manifest type (the manifest types are the SDK's create_*_job_definition)"
        ));
    }
    let rapid = w
        .pointer("/rapid/_t")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let instruction = instruction()?;
    let task = match rapid {
        "Classify" => Task::Classify {
            instruction,
            answer_options: Vec::new(),
        },
        "Compare" => Task::Compare { instruction },
        "FreeText" => Task::FreeText { instruction },
        "Locate" => Task::Locate { instruction },
        "Line" => Task::Draw { instruction },
        "Transcription" => Task::SelectWords { instruction },
        "Scrub" => Task::Timestamp { instruction },
        other => return Err(format!("its rapid type `{other}` has no manifest type")),
    };
    Ok((task, None))
}

fn referee_of(r: &Value) -> Result<Referee, String> {
    let int = |k: &str| {
        r.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("its referee has no whole number `{k}`"))
    };
    match r.get("_t").and_then(Value::as_str) {
        Some("NaiveReferee") => Ok(Referee::Naive {
            responses_per_datapoint: int("totalVotes")?,
        }),
        Some("QuorumReferee") => Ok(Referee::Quorum {
            threshold: int("threshold")?,
            max_votes: int("maxVotes")?,
        }),
        Some("EarlyStoppingReferee") => Ok(Referee::EarlyStopping {
            confidence_threshold: r
                .get("threshold")
                .and_then(Value::as_f64)
                .ok_or("its referee has no number `threshold`")?,
            max_votes: int("maxVotes")?,
        }),
        other => Err(format!(
            "its referee `{}` has no manifest form",
            other.unwrap_or("?")
        )),
    }
}

fn asset_json(a: &Asset) -> Value {
    match a {
        Asset::Text(t) => json!({ "text": t }),
        Asset::Url(u) => json!(u),
        Asset::Uploaded(n) => json!({ "uploaded": n }),
        // Never produced from a listing: local files are not known remotely.
        Asset::File { file_name, .. } => json!(file_name),
    }
}

/// A datapoint written as a row, kept with what the in-memory manifest needs.
struct Row {
    content: ManifestContent,
    key: Option<String>,
    group: Option<String>,
}

impl Row {
    /// The datapoint as `manifest::load` reads the row back (its key and fingerprint).
    fn datapoint(&self) -> Datapoint {
        let none = BTreeMap::new();
        let fp = fingerprint(&Content {
            assets: &self.content.assets,
            context: self.content.context.as_deref(),
            context_asset: self.content.context_asset.as_ref(),
            private_metadata: &none,
            group: self.group.as_deref(),
            sentence: self.content.sentence.as_deref(),
        });
        Datapoint {
            key: self.key.clone().unwrap_or_else(|| fingerprint_key(&fp)),
            explicit_key: self.key.is_some(),
            fingerprint: fp,
            origin: Origin {
                file: std::path::Path::new("").into(),
                line: 0,
                column: 0,
            },
            assets: self.content.assets.clone(),
            context: self.content.context.clone(),
            context_asset: self.content.context_asset.clone(),
            private_metadata: BTreeMap::new(),
            group: self.group.clone(),
            sentence: self.content.sentence.clone(),
        }
    }

    fn json(&self) -> Value {
        let mut m = Map::new();
        if self.content.multi {
            m.insert(
                "assets".into(),
                Value::Array(self.content.assets.iter().map(asset_json).collect()),
            );
        } else if let Some(a) = self.content.assets.first() {
            m.insert("asset".into(), asset_json(a));
        }
        if let Some(c) = &self.content.context {
            m.insert("context".into(), json!(c));
        }
        if let Some(a) = &self.content.context_asset {
            m.insert("contextAsset".into(), asset_json(a));
        }
        if let Some(s) = &self.content.sentence {
            m.insert("sentence".into(), json!(s));
        }
        if let Some(g) = &self.group {
            m.insert("group".into(), json!(g));
        }
        if let Some(k) = &self.key {
            m.insert("key".into(), json!(k));
        }
        Value::Object(m)
    }
}

/// Why a listed datapoint cannot be a datapoint of this task, if it cannot.
fn shape_problem(task: &Task, c: &ManifestContent) -> Option<&'static str> {
    let compare = matches!(task, Task::Compare { .. });
    if compare && !c.multi {
        return Some("a compare datapoint with one asset (a manifest compares at least two)");
    }
    if !compare && c.multi {
        return Some("several assets on a datapoint that is not a compare");
    }
    match (task, &c.sentence) {
        (Task::SelectWords { .. }, None) => {
            return Some("a select-words datapoint without a sentence (transcription)")
        }
        (Task::SelectWords { .. }, Some(s)) if s.split_whitespace().count() < 2 => {
            return Some("a sentence of fewer than two words")
        }
        (Task::SelectWords { .. }, _) | (_, None) => {}
        (_, Some(_)) => return Some("a transcription segment on a task that has no sentence"),
    }
    match (task, &c.answer_options) {
        (Task::Classify { .. }, None) => Some("a classification datapoint without answer options"),
        (Task::Classify { .. }, Some(_)) | (_, None) => None,
        (_, Some(_)) => Some("answer options on a task that has none"),
    }
    .or_else(|| {
        (matches!(task, Task::Ranking { .. }) && (c.context.is_some() || c.context_asset.is_some()))
            .then_some(
                "a context on a ranking datapoint (a ranking's context belongs to its group)",
            )
    })
}

/// `n` datapoints in groups of at most `max` (as even as possible): the group of each.
fn placeholder_groups(n: usize, max: usize) -> Vec<String> {
    let k = n.div_ceil(max).max(1);
    (0..n)
        .map(|i| {
            if k == 1 {
                "imported".to_string()
            } else {
                format!("imported-{}", i * k / n + 1)
            }
        })
        .collect()
}

/// The manifest of a fetched definition; `Err` when no manifest can describe it.
pub fn convert(f: &FetchedDefinition, rows_file: &str) -> Result<Document, String> {
    let rev = &f.revision;
    let (mut task, pair_maker) = task_of(&rev.workflow)?;
    let mut not_expressible = Vec::new();
    let mut referee = if pair_maker.is_some() {
        Referee::default()
    } else {
        referee_of(&rev.referee)?
    };
    let mut settings = BTreeMap::new();
    for (k, v) in &rev.feature_flags {
        if let Some(old) = settings.insert(k.clone(), v.clone()) {
            not_expressible.push(format!(
                "the feature flag `{k}` is set twice (`{old}`, `{v}`); `settings` holds one value, the last"
            ));
        }
    }
    // The datapoints, in listing order (oldest first).
    let mut rows: Vec<Row> = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut skip = |why: &str| *skipped.entry(why.to_string()).or_default() += 1;
    let mut options: Option<Vec<String>> = None;
    // Options bound on the revision (`categories.literal`) are what labelers see, whatever
    // options the datapoints carry.
    let literal = match crate::plan::ShownOptions::of(&rev.workflow, &Default::default()) {
        Some(crate::plan::ShownOptions::Literal(o)) => Some(o),
        _ => None,
    };
    for d in &f.datapoints {
        let content = match manifest_content(d) {
            Ok(c) => c,
            Err(why) => {
                skip(&format!(
                    "{why}, so they stay on the remote, unmanaged (plan leaves them alone)"
                ));
                continue;
            }
        };
        if let Some(why) = shape_problem(&task, &content) {
            skip(&format!("{why}; they stay on the remote, unmanaged"));
            continue;
        }
        if let (Some(o), None) = (&content.answer_options, &literal) {
            let first = options.get_or_insert_with(|| o.clone());
            if first != o {
                skip(
                    "answer options other than the first datapoint's (the SDK's per-datapoint answer options; a manifest has one list), so they stay on the remote, unmanaged",
                );
                continue;
            }
        }
        // Uploaded by rapidata: written only when the listing shows everything its
        // stored identity covers (then plan recognises it by its key).
        let mut key = None;
        if let Some(k) = &d.key {
            let fp = content.fingerprint();
            let stored = match &content.answer_options {
                Some(o) => with_answer_options(&fp, o),
                None => fp.clone(),
            };
            let same_key = !k.starts_with("fp-") || *k == fingerprint_key(&fp);
            if d.fingerprint.as_deref() != Some(stored.as_str()) || !same_key {
                skip("uploaded by rapidata from content the listing does not show in full (local files are known by their bytes, group and private metadata are not listed): their own manifests describe them, so they are not written here; plan shows them as no longer in the manifest (kept)");
                continue;
            }
            if !k.starts_with("fp-") {
                key = Some(k.clone());
            }
        }
        rows.push(Row {
            content,
            key,
            group: None,
        });
    }
    if let (Task::Classify { answer_options, .. }, Some(o)) = (&mut task, literal.or(options)) {
        *answer_options = o;
    }
    // Ranking: the listing has no groups (contract fact 7).
    if let Some(pm) = &pair_maker {
        if rows.len() < 2 {
            for _ in rows.drain(..) {
                skip("a ranking needs at least two datapoints in a group; they stay on the remote, unmanaged");
            }
        }
        let max = match pm {
            PairMaker::Full => FULL_PERMUTATION_GROUP_SIZE,
            PairMaker::Online { .. } => usize::MAX,
        };
        let groups = placeholder_groups(rows.len(), max);
        let biggest = groups
            .iter()
            .fold(BTreeMap::<&str, usize>::new(), |mut m, g| {
                *m.entry(g.as_str()).or_default() += 1;
                m
            })
            .into_values()
            .max()
            .unwrap_or(0);
        for (r, g) in rows.iter_mut().zip(groups.iter()) {
            r.group = Some(g.clone());
        }
        let votes = rev
            .referee
            .get("totalVotes")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1);
        let (budget, per_comparison) = match pm {
            // The SDK sends the budget spread over the pairs as the referee's votes:
            // one response per comparison and votes × pairs reproduce exactly that.
            PairMaker::Full => {
                let pairs = (biggest * biggest.saturating_sub(1) / 2).max(1) as u32;
                (votes.saturating_mul(pairs), 1)
            }
            PairMaker::Online { budget, ratio } => {
                if *ratio != RANDOM_COMPARISONS_RATIO {
                    not_expressible.push(format!(
                        "`randomMatchesRatio: {ratio}` (the SDK's random_comparisons_ratio); a manifest always sends {RANDOM_COMPARISONS_RATIO}"
                    ));
                }
                (*budget, votes)
            }
        };
        if let Task::Ranking {
            comparison_budget_per_ranking,
            responses_per_comparison,
            ..
        } = &mut task
        {
            *comparison_budget_per_ranking = budget.max(1);
            *responses_per_comparison = per_comparison.max(1);
        }
        not_expressible.push(format!(
            "which ranking each datapoint belongs to: the API does not list datapoint groups (contract fact 7), so the {} datapoints are written in placeholder groups of at most {} (`imported...`), sized so that the pair maker and votes per datapoint are the revision's. Put each datapoint in its real group before adding datapoints or changing the ranking fields: a new dataset would be uploaded with these groups. The group contexts (the SDK's `contexts`/`media_contexts` of a ranking) are not listed either",
            rows.len(),
            if max == usize::MAX { rows.len() } else { max }
        ));
        if matches!(pm, PairMaker::Full) {
            not_expressible.push(format!(
                "`comparisonBudgetPerRanking` and `responsesPerComparison`: a full-permutation ranking stores only their outcome, {votes} vote(s) per datapoint; they are written as {} and 1, which give the same",
                budget.max(1)
            ));
        }
    }
    // Two datapoints with one content are one datapoint to a manifest.
    let mut keys = HashSet::new();
    rows.retain(|r| {
        let fresh = keys.insert(r.datapoint().key);
        if !fresh {
            skip("the same content as an earlier datapoint (a manifest holds each content once); the copies stay on the remote, unmanaged");
        }
        fresh
    });
    not_expressible.extend(counted("datapoint(s) not written", &skipped));
    if !rows.is_empty() {
        not_expressible.push(
            "privateMetadata: the API does not list it (contract fact 7), so none is written here; whatever the datapoints carry stays on the remote as it is".into(),
        );
    }
    let carry = &rev.carry_over;
    if carry
        .campaign_feature_flags
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        not_expressible.push(format!(
            "`campaignFeatureFlags` {} (the SDK's campaign settings): carried over unchanged by every new revision",
            carry.campaign_feature_flags
        ));
    }
    for (k, v) in [
        ("aggregatorType", &carry.aggregator_type),
        ("validationSetId", &carry.validation_set_id),
    ] {
        if !v.is_null() {
            not_expressible.push(format!(
                "`{k}: {v}`: carried over unchanged by every new revision"
            ));
        }
    }
    // What plan will still see differently: fields of the remote the format lacks.
    let spec = LabelingSpec {
        task: task.clone(),
        referee: referee.clone(),
        settings: settings.clone(),
        failure_tolerance: 0.0,
        prune: false,
        validation_set: None,
        datapoints: crate::manifest::Datapoints::from_vec(
            rows.iter().map(Row::datapoint).collect(),
        ),
    };
    let (_, _, changes) = definition_changes(&spec, rev);
    for c in changes {
        not_expressible.push(format!(
            "the revision's `{}` has parts a manifest cannot write; `rapidata plan` will show `{}: {} → {}` (a new revision) until you accept that",
            c.field,
            c.field,
            c.before.unwrap_or_default(),
            c.after.unwrap_or_default()
        ));
    }
    if pair_maker.is_some() {
        referee = Referee::default();
    }
    let body = yaml(
        &f.summary.name,
        &task,
        &referee,
        &settings,
        (!rows.is_empty()).then_some(rows_file),
    );
    let text: String = rows.iter().map(|r| row(&r.json())).collect();
    Ok(Document {
        kind: ResourceKind::JobDefinition,
        name: f.summary.name.clone(),
        id: f.summary.id.clone(),
        source: format!("revision {}", rev.number),
        body,
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

fn yaml(
    name: &str,
    task: &Task,
    referee: &Referee,
    settings: &BTreeMap<String, String>,
    rows_file: Option<&str>,
) -> String {
    let mut y = format!(
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: {}\ntype: {}\ninstruction: {}\n",
        scalar(name),
        task.type_name(),
        scalar(task.instruction())
    );
    match task {
        Task::Classify { answer_options, .. } => {
            y.push_str(&format!(
                "answerOptions: {}\n",
                flow_strings(answer_options)
            ));
        }
        Task::Ranking {
            comparison_budget_per_ranking,
            responses_per_comparison,
            ..
        } => {
            y.push_str(&format!(
                "comparisonBudgetPerRanking: {comparison_budget_per_ranking}\nresponsesPerComparison: {responses_per_comparison}\n"
            ));
        }
        _ => {}
    }
    if !matches!(task, Task::Ranking { .. }) {
        y.push_str("referee:\n");
        y.push_str(&match referee {
            Referee::Naive {
                responses_per_datapoint,
            } => format!("  responsesPerDatapoint: {responses_per_datapoint}\n"),
            Referee::Quorum {
                threshold,
                max_votes,
            } => format!("  quorum: {{threshold: {threshold}, maxVotes: {max_votes}}}\n"),
            Referee::EarlyStopping {
                confidence_threshold,
                max_votes,
            } => format!(
                "  earlyStopping: {{confidenceThreshold: {}, maxVotes: {max_votes}}}\n",
                number(*confidence_threshold)
            ),
        });
    }
    if !settings.is_empty() {
        y.push_str("settings:\n");
        for (k, v) in settings {
            y.push_str(&format!("  {}: {}\n", scalar(k), super::emit::quoted(v)));
        }
    }
    if let Some(f) = rows_file {
        y.push_str(&format!("datapointSources:\n  - jsonl: {}\n", scalar(f)));
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_groups_are_even_and_never_too_big() {
        let g = placeholder_groups(4, 10);
        assert!(g.iter().all(|x| x == "imported"));
        let g = placeholder_groups(23, 10);
        let mut sizes = BTreeMap::new();
        for x in &g {
            *sizes.entry(x.clone()).or_insert(0) += 1;
        }
        assert_eq!(sizes.len(), 3);
        assert!(sizes.values().all(|n| (7..=8).contains(n)), "{sizes:?}");
        assert_eq!(placeholder_groups(30, usize::MAX).len(), 30);
    }
}
