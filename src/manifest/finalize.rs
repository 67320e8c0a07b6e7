//! Turning drafts into datapoints once their local files are hashed: media checks,
//! fingerprints and keys.

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

/// A draft turned into a datapoint, and where its key was written.
pub struct Finished {
    pub datapoint: Datapoint,
    pub loc: Loc,
    pub key_loc: Loc,
}

/// One draft as a datapoint; `None` when one of its assets is unusable (already
/// reported). Keys are checked for uniqueness by the caller ([`super::collect`]).
pub fn finalize_one(ctx: &Ctx, hashed: &Hashed, d: Draft) -> Option<Finished> {
    let written: Vec<&DraftAsset> = match (&d.single, &d.multi) {
        (Some((a, _)), _) => vec![a],
        (None, Some(v)) => v.iter().map(|(a, _)| a).collect(),
        (None, None) => return None,
    };
    // Exactly as long as written: a collected `Vec` would reserve four assets for one,
    // 264 bytes wasted per datapoint.
    let mut assets = Vec::with_capacity(written.len());
    for a in written {
        assets.push(asset(ctx, hashed, a)?);
    }
    let context_asset = match &d.context_asset {
        Some((a, _)) => Some(asset(ctx, hashed, a)?),
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
    let (key, explicit_key, key_loc) = match d.key {
        Some((k, l)) => (k, true, l),
        None => (fingerprint_key(&fp), false, d.loc),
    };
    Some(Finished {
        datapoint: Datapoint {
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
        },
        loc: d.loc,
        key_loc,
    })
}
