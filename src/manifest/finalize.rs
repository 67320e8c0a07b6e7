//! Turning drafts into datapoints once every local file is hashed: media checks,
//! fingerprints, keys and the duplicate-key rule.

use std::collections::HashMap;

use super::context::{Ctx, Loc};
use super::draft::{Draft, DraftAsset};
use super::fingerprint::{fingerprint, fingerprint_key, Content};
use super::hashing::FileInfo;
use super::model::{Asset, Datapoint};

/// Hash results per entry of [`Ctx::locals`]; `None` when unusable (reported).
pub type Hashed = Vec<Option<FileInfo>>;

/// Reports unreadable and unsupported files once each, at their first use.
pub fn check_files(ctx: &mut Ctx, results: Vec<Result<FileInfo, String>>) -> Hashed {
    let mut out = Vec::with_capacity(results.len());
    for (i, r) in results.into_iter().enumerate() {
        let (loc, uses, shown) = {
            let l = &ctx.locals[i];
            (l.first_use, l.uses, l.canonical.display().to_string())
        };
        let also = if uses > 1 {
            format!(" (used by {uses} datapoints)")
        } else {
            String::new()
        };
        match r {
            Err(e) => {
                ctx.error(
                    loc,
                    format!("cannot read `{shown}`: {e}{also}"),
                    "check the file's permissions",
                );
                out.push(None);
            }
            Ok(info) if info.media.is_none() => {
                ctx.error(
                    loc,
                    format!("`{shown}` is not a supported media file{also}"),
                    "assets must be jpeg, png, gif, webp, mp4 or mp3 (recognised by content, not by name); use {text: ...} for text",
                );
                out.push(None);
            }
            Ok(info) => out.push(Some(info)),
        }
    }
    out
}

pub(super) fn asset(ctx: &Ctx, hashed: &Hashed, a: &DraftAsset) -> Option<Asset> {
    Some(match a {
        DraftAsset::Local { index, file_name } => {
            let info = hashed.get(*index)?.as_ref()?;
            Asset::File {
                path: ctx.locals[*index].canonical.clone(),
                file_name: file_name.clone(),
                size: info.size,
                content_hash: info.hash.clone(),
            }
        }
        DraftAsset::Url(u) => Asset::Url(u.clone()),
        DraftAsset::Text(t) => Asset::Text(t.clone()),
        DraftAsset::Uploaded(n) => Asset::Uploaded(n.clone()),
        DraftAsset::Invalid => return None,
    })
}

/// Datapoints of one resource; drafts with unusable assets are dropped (already
/// reported), duplicate keys are reported.
pub fn datapoints(ctx: &mut Ctx, hashed: &Hashed, drafts: Vec<Draft>) -> Vec<Datapoint> {
    let mut out = Vec::with_capacity(drafts.len());
    let mut seen: HashMap<String, Loc> = HashMap::with_capacity(drafts.len());
    for d in drafts {
        let written: Vec<&DraftAsset> = match (&d.single, &d.multi) {
            (Some((a, _)), _) => vec![a],
            (None, Some(v)) => v.iter().map(|(a, _)| a).collect(),
            (None, None) => continue,
        };
        let Some(assets) = written
            .into_iter()
            .map(|a| asset(ctx, hashed, a))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let context_asset = match &d.context_asset {
            Some((a, _)) => match asset(ctx, hashed, a) {
                Some(a) => Some(a),
                None => continue,
            },
            None => None,
        };
        let fp = fingerprint(&Content {
            assets: &assets,
            context: d.context.as_ref().map(|c| c.0.as_str()),
            context_asset: context_asset.as_ref(),
            private_metadata: &d.private_metadata,
            group: d.group.as_ref().map(|g| g.0.as_str()),
            sentence: d.sentence.as_ref().map(|s| s.0.as_str()),
        });
        let (key, explicit_key, key_loc) = match &d.key {
            Some((k, l)) => (k.clone(), true, *l),
            None => (fingerprint_key(&fp), false, d.loc),
        };
        if let Some(first) = seen.get(&key) {
            let first = ctx.origin(*first);
            if explicit_key {
                ctx.error(
                    key_loc,
                    format!("duplicate datapoint key `{key}` (first used at {first})"),
                    "keys must be unique within a resource; change one of them",
                );
            } else {
                ctx.error(
                    key_loc,
                    format!("duplicate datapoint: same content as the datapoint at {first}"),
                    "remove the repeat, or give both an explicit `key` if they are meant to be separate",
                );
            }
            continue;
        }
        seen.insert(key.clone(), key_loc);
        out.push(Datapoint {
            key,
            explicit_key,
            fingerprint: fp,
            origin: ctx.origin(d.loc),
            assets,
            context: d.context.map(|c| c.0),
            context_asset,
            private_metadata: d.private_metadata,
            group: d.group.map(|g| g.0),
            sentence: d.sentence.map(|s| s.0),
        });
    }
    out
}
