//! The per-type rules for the datapoints of a job definition or order, checked one draft
//! at a time as sources are read (what spans drafts, such as ranking groups, at the end).

use std::collections::HashMap;

use super::context::{Ctx, Loc};
use super::draft::Draft;
use super::fingerprint::FINGERPRINT_KEY_PREFIX;
use super::labeling::{type_name, MAX_CONTEXT, MAX_KEY};
use super::raw::RawTaskType;

/// Per-type shape rules, text limits and explicit-key rules for every datapoint.
/// The per-type rules for datapoints, checked one draft at a time as sources are read;
/// what spans drafts (ranking groups of one) is checked at the end.
pub struct DraftChecker {
    ty: RawTaskType,
    groups: HashMap<String, (usize, Loc)>,
}

impl DraftChecker {
    pub fn new(ty: RawTaskType) -> DraftChecker {
        DraftChecker {
            ty,
            groups: HashMap::new(),
        }
    }

    pub fn check(&mut self, ctx: &mut Ctx, d: &Draft) {
        let ty = self.ty;
        let tname = type_name(ty);
        let groups = &mut self.groups;
        match (ty, &d.single, &d.multi) {
            (_, Some(_), Some(_)) => ctx.error(
                d.loc,
                "datapoint has both `asset` and `assets`",
                "use `assets` for compare, `asset` otherwise",
            ),
            (RawTaskType::Compare, Some((_, l)), None) => ctx.error(
                *l,
                "type `compare` needs `assets` with at least 2 assets",
                "write `assets: [a.png, b.png]` instead of `asset:`",
            ),
            (RawTaskType::Compare, None, Some(v)) if v.len() < 2 => ctx.error(
                d.loc,
                format!(
                    "type `compare` needs at least 2 assets, this datapoint has {}",
                    v.len()
                ),
                "add another asset to `assets`",
            ),
            (RawTaskType::Compare, None, None) => ctx.error(
                d.loc,
                "datapoint has no `assets`",
                "add `assets: [a.png, b.png]`",
            ),
            (RawTaskType::Compare, None, Some(_)) => {}
            (_, None, Some(v)) => ctx.error(
                v.first().map_or(d.loc, |a| a.1),
                format!("`assets` is only for type `compare`; type `{tname}` takes one `asset`"),
                "write `asset: path`",
            ),
            (_, None, None) => ctx.error(
                d.loc,
                "datapoint has no `asset`",
                "add `asset: path/to/file.png` (or a URL, or {text: ...})",
            ),
            (_, Some(_), None) => {}
        }
        if let Some((c, l)) = &d.context {
            let n = c.chars().count();
            if n > MAX_CONTEXT {
                ctx.error(
                    *l,
                    format!("`context` has {n} characters, more than the limit of {MAX_CONTEXT}"),
                    "shorten the context (dataset schema maxLength 400)",
                );
            }
        }
        match (ty, &d.sentence) {
            (RawTaskType::SelectWords, None) => ctx.error(
                d.loc,
                "type `selectWords` needs a `sentence` on every datapoint",
                "add `sentence: \"the words to select from\"`",
            ),
            (RawTaskType::SelectWords, Some((s, l))) if s.trim().is_empty() => ctx.error(
                *l,
                "`sentence` is empty",
                "write the sentence whose words are selected",
            ),
            // `sentence_has_space` (datapoints/_datapoint.py).
            (RawTaskType::SelectWords, Some((s, l))) if s.split_whitespace().count() < 2 => ctx
                .error(
                    *l,
                    "`sentence` must contain at least two words",
                    "labelers select words of the sentence (the SDK's sentence_has_space)",
                ),
            (RawTaskType::SelectWords, Some(_)) | (_, None) => {}
            (_, Some((_, l))) => ctx.error(
                *l,
                format!("`sentence` is only used by type `selectWords`, not `{tname}`"),
                "remove `sentence`",
            ),
        }
        if ty == RawTaskType::Ranking {
            match &d.group {
                None => ctx.error(
                    d.loc,
                    "type `ranking` needs a `group` on every datapoint",
                    "add `group: <name>`; datapoints of one group are ranked against each other",
                ),
                Some((g, l)) => groups.entry(g.clone()).or_insert((0, *l)).0 += 1,
            }
        }
        if let Some((k, l)) = &d.key {
            if k.trim().is_empty() {
                ctx.error(
                    *l,
                    "empty `key`",
                    "remove `key` to use the content fingerprint, or give a non-empty key",
                );
            } else if k.starts_with(FINGERPRINT_KEY_PREFIX) {
                ctx.error(*l, format!("explicit key `{k}` starts with `{FINGERPRINT_KEY_PREFIX}`, which is reserved for fingerprint keys"), "choose another key or remove it");
            } else if k.chars().count() > MAX_KEY {
                ctx.error(
                    *l,
                    format!("`key` is longer than {MAX_KEY} characters"),
                    "use a shorter key",
                );
            } else if k.chars().any(char::is_control) {
                ctx.error(
                    *l,
                    "`key` contains control characters",
                    "use printable characters only",
                );
            }
        }
        for k in d.private_metadata.keys() {
            if k.is_empty() {
                ctx.error(
                    d.loc,
                    "empty `privateMetadata` key",
                    "name every metadata entry",
                );
            }
        }
    }

    pub fn finish(&mut self, ctx: &mut Ctx) {
        let mut small: Vec<_> = std::mem::take(&mut self.groups)
            .into_iter()
            .filter(|(_, (n, _))| *n < 2)
            .collect();
        small.sort_by_key(|(_, (_, l))| (l.file, l.line));
        for (g, (_, l)) in small {
            ctx.error(
                l,
                format!("ranking group `{g}` has only one datapoint"),
                "a group needs at least 2 datapoints to be ranked",
            );
        }
    }
}
