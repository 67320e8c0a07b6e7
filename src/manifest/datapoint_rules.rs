//! The per-type rules for the datapoints of a job definition or order, checked one draft
//! at a time as sources are read (what spans drafts, such as ranking groups, at the end).

use std::collections::{HashMap, HashSet};

use super::context::{Ctx, Loc};
use super::draft::{Draft, DraftAsset};
use super::fingerprint::FINGERPRINT_KEY_PREFIX;
use super::labeling::{type_name, MAX_CONTEXT, MAX_KEY};
use super::raw::RawTaskType;

/// Per-type shape rules, text limits and explicit-key rules for every datapoint, the
/// SDK's client-side checks among them (each names the SDK file it follows).
/// The per-type rules for datapoints, checked one draft at a time as sources are read;
/// what spans drafts (ranking groups of one) is checked at the end.
pub struct DraftChecker {
    ty: RawTaskType,
    groups: HashMap<String, Group>,
}

/// A ranking group so far: its size, where it is first named, and its assets' identities.
struct Group {
    count: usize,
    loc: Loc,
    assets: HashSet<[u8; 16]>,
}

/// Types whose SDK function has no `data_type` and uploads media only
/// (`create_locate_job_definition`, `create_draw_job_definition`,
/// `create_select_words_job_definition`, `_create_timestamp_job_definition` in
/// job/rapidata_job_manager.py).
const MEDIA_ONLY: [RawTaskType; 4] = [
    RawTaskType::Locate,
    RawTaskType::Draw,
    RawTaskType::SelectWords,
    RawTaskType::Timestamp,
];

/// The type as the SDK's `create_*_job_definition` spells it.
fn sdk_name(t: RawTaskType) -> &'static str {
    match t {
        RawTaskType::Classify => "classification",
        RawTaskType::Compare => "compare",
        RawTaskType::FreeText => "free_text",
        RawTaskType::Locate => "locate",
        RawTaskType::Draw => "draw",
        RawTaskType::SelectWords => "select_words",
        RawTaskType::Timestamp => "timestamp",
        RawTaskType::Ranking => "ranking",
    }
}

/// An asset's identity within one resource (the same local file is one index), as 128
/// bits; `None` for a refused path (already reported).
fn asset_id(a: &DraftAsset) -> Option<[u8; 16]> {
    let mut h = blake3::Hasher::new();
    match a {
        DraftAsset::Local { index, .. } => h.update(b"F").update(&index.to_le_bytes()),
        DraftAsset::Url(u) => h.update(b"U").update(u.as_bytes()),
        DraftAsset::Text(t) => h.update(b"T").update(t.as_bytes()),
        DraftAsset::Uploaded(n) => h.update(b"R").update(n.as_bytes()),
        DraftAsset::Invalid => return None,
    };
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    Some(out)
}

/// A compare datapoint: exactly two distinct assets, both text or both media.
/// `create_compare_job_definition` (job/rapidata_job_manager.py) refuses
/// `len(set(datapoint)) != 2` ("Each datapoint must contain exactly two unique options"), and
/// its one `data_type` makes both assets text or both media.
fn compare_pair(ctx: &mut Ctx, loc: Loc, v: &[(DraftAsset, Loc)]) {
    match v.len() {
        2 => {}
        n @ (0 | 1) => {
            ctx.error(
                loc,
                format!("type `compare` needs exactly 2 assets, this datapoint has {n}"),
                "add the second asset to `assets`",
            );
            return;
        }
        n => {
            ctx.error(
                v[2].1,
                format!("type `compare` takes exactly 2 assets, this datapoint has {n}"),
                "a compare task shows two assets (the SDK's create_compare_job_definition); make one datapoint per pair",
            );
            return;
        }
    }
    let ((a, _), (b, bl)) = (&v[0], &v[1]);
    match (asset_id(a), asset_id(b)) {
        (Some(x), Some(y)) if x == y => ctx.error(
            *bl,
            "the 2 assets of a compare datapoint are the same asset",
            "compare two different assets (the SDK wants two unique options)",
        ),
        (Some(_), Some(_))
            if matches!(a, DraftAsset::Text(_)) != matches!(b, DraftAsset::Text(_)) =>
        {
            ctx.error(
                *bl,
                "the 2 assets of a compare datapoint must both be text or both be media",
                "make both `{text: ...}` or both files/URLs (the SDK's data_type is one for both)",
            )
        }
        _ => {}
    }
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
                "type `compare` needs `assets` with exactly 2 assets",
                "write `assets: [a.png, b.png]` instead of `asset:`",
            ),
            (RawTaskType::Compare, None, Some(v)) => compare_pair(ctx, d.loc, v),
            (RawTaskType::Compare, None, None) => ctx.error(
                d.loc,
                "datapoint has no `assets`",
                "add `assets: [a.png, b.png]`",
            ),
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
            if c.is_empty() {
                // `context_not_empty` (datapoints/_datapoint.py).
                ctx.error(
                    *l,
                    "`context` is empty",
                    "remove `context` or write the text to show (the SDK refuses an empty context)",
                );
            } else if ty == RawTaskType::SelectWords {
                // `check_sentence_and_context` (datapoints/_datapoint.py): the sentence is
                // what labelers read with the asset.
                ctx.error(
                    *l,
                    "type `selectWords` takes no `context`: the `sentence` is shown with the asset",
                    "remove `context` (the SDK refuses a datapoint with both sentence and context)",
                );
            } else if n > MAX_CONTEXT {
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
        if MEDIA_ONLY.contains(&ty) {
            if let Some((DraftAsset::Text(_), l)) = &d.single {
                ctx.error(
                    *l,
                    format!("type `{tname}` needs a media asset (image, video or audio), not text"),
                    format!("use a file, a URL or {{uploaded: ...}}; the SDK's create_{}_job_definition uploads media only", sdk_name(ty)),
                );
            }
        }
        if ty == RawTaskType::Ranking {
            match &d.group {
                None => ctx.error(
                    d.loc,
                    "type `ranking` needs a `group` on every datapoint",
                    "add `group: <name>`; datapoints of one group are ranked against each other",
                ),
                Some((g, l)) => {
                    let group = groups.entry(g.clone()).or_insert_with(|| Group {
                        count: 0,
                        loc: *l,
                        assets: HashSet::new(),
                    });
                    group.count += 1;
                    // `create_ranking_job_definition` (job/rapidata_job_manager.py): "Each
                    // inner list must contain unique datapoints."
                    if let Some((a, al)) = &d.single {
                        if let Some(id) = asset_id(a) {
                            if !group.assets.insert(id) {
                                ctx.error(
                                    *al,
                                    format!("ranking group `{g}` has this asset twice"),
                                    "a group ranks different assets (the SDK wants unique datapoints per ranking); remove the repeat",
                                );
                            }
                        }
                    }
                }
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
            .filter(|(_, g)| g.count < 2)
            .map(|(name, g)| (name, g.loc))
            .collect();
        small.sort_by_key(|(_, l)| (l.file, l.line));
        for (g, l) in small {
            ctx.error(
                l,
                format!("ranking group `{g}` has only one datapoint"),
                "a group needs at least 2 datapoints to be ranked",
            );
        }
    }
}
