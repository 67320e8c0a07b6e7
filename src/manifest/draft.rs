//! Datapoints before their files are hashed: every way of writing one (inline, JSONL
//! row, CSV row, file glob) becomes a [`Draft`] with locations for each later check.

use std::collections::BTreeMap;
use std::path::Path;

use super::context::{Ctx, Loc};
use super::raw::{Located, RawAsset, RawDatapoint, RawTextAsset, RawUploadedAsset, RowDatapoint};

/// An asset whose local file (if any) is registered in [`Ctx::locals`] but not hashed yet.
#[derive(Debug, Clone)]
pub enum DraftAsset {
    Local {
        index: usize,
        file_name: String,
    },
    Url(String),
    Text(String),
    /// A remote file by its `fileName`, already checked.
    Uploaded(String),
    /// The path was refused; the error is already reported.
    Invalid,
}

#[derive(Debug, Clone)]
pub struct Draft {
    pub loc: Loc,
    /// `Some` when written as `asset:` (one), `None` when written as `assets:`.
    pub single: Option<(DraftAsset, Loc)>,
    pub multi: Option<Vec<(DraftAsset, Loc)>>,
    pub context: Option<(String, Loc)>,
    pub context_asset: Option<(DraftAsset, Loc)>,
    pub private_metadata: BTreeMap<String, String>,
    pub group: Option<(String, Loc)>,
    pub sentence: Option<(String, Loc)>,
    pub key: Option<(String, Loc)>,
}

/// Where drafts go as a source is read: collected, or turned into datapoints one by one
/// (so a million-row source never exists as a million drafts).
pub trait DraftSink {
    fn accept(&mut self, ctx: &mut Ctx, d: Draft);

    /// About this many drafts follow (a capacity hint, e.g. the lines of a JSONL source).
    fn reserve(&mut self, _additional: usize) {}
}

impl DraftSink for Vec<Draft> {
    fn accept(&mut self, _: &mut Ctx, d: Draft) {
        self.push(d);
    }
}

impl Draft {
    /// Whether one of its assets (context asset included) is as `pred` says.
    fn any_asset(&self, pred: impl Fn(&DraftAsset) -> bool) -> bool {
        self.single
            .iter()
            .chain(self.multi.iter().flatten())
            .chain(self.context_asset.iter())
            .any(|(a, _)| pred(a))
    }

    /// Whether one of its assets is a local file (whose hash is needed to finish it).
    pub fn has_local_file(&self) -> bool {
        self.any_asset(|a| matches!(a, DraftAsset::Local { .. }))
    }

    /// Whether one of its assets is a file or a URL (not text).
    pub fn has_media(&self) -> bool {
        self.any_asset(|a| matches!(a, DraftAsset::Local { .. } | DraftAsset::Url(_)))
    }

    pub fn empty(loc: Loc) -> Draft {
        Draft {
            loc,
            single: None,
            multi: None,
            context: None,
            context_asset: None,
            private_metadata: BTreeMap::new(),
            group: None,
            sentence: None,
            key: None,
        }
    }
}

/// Turns a written asset into a draft asset, resolving local paths against `base_dir`.
pub fn draft_asset(ctx: &mut Ctx, base_dir: &Path, raw: RawAsset, loc: Loc) -> DraftAsset {
    match raw {
        RawAsset::Text(RawTextAsset { text }) => DraftAsset::Text(text),
        RawAsset::Uploaded(RawUploadedAsset { uploaded }) => match uploaded_problem(&uploaded) {
            None => DraftAsset::Uploaded(uploaded),
            Some(problem) => {
                ctx.error(
                    loc,
                    format!("`uploaded` {problem}"),
                    "write the `fileName` Rapidata returned for the upload, e.g. {uploaded: \"4f1c..._cat.png\"} (as `rapidata import` does)",
                );
                DraftAsset::Invalid
            }
        },
        RawAsset::Path(p) if p.starts_with("http://") || p.starts_with("https://") => {
            DraftAsset::Url(p)
        }
        RawAsset::Path(p) if p.trim().is_empty() => {
            ctx.error(
                loc,
                "empty asset path",
                "write a file path, an http(s) URL, or {text: \"...\"}",
            );
            DraftAsset::Invalid
        }
        RawAsset::Path(p) => {
            let file_name = Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.clone());
            match ctx.local_asset(base_dir, &p, loc) {
                Some(index) => DraftAsset::Local { index, file_name },
                None => DraftAsset::Invalid,
            }
        }
    }
}

/// The longest remote file name accepted in `{uploaded: ...}`.
pub const MAX_UPLOADED_NAME: usize = 255;

/// What is wrong with the remote file name of an `{uploaded: ...}` asset, if anything: it
/// is one name as the upload returned it, never a path.
pub fn uploaded_problem(name: &str) -> Option<String> {
    let n = name.chars().count();
    if name.trim().is_empty() {
        Some("is empty".into())
    } else if n > MAX_UPLOADED_NAME {
        Some(format!(
            "has {n} characters; a remote file name has at most {MAX_UPLOADED_NAME}"
        ))
    } else if name.contains(['/', '\\']) {
        Some(format!(
            "`{name}` contains a path separator; it is a remote file name, not a path"
        ))
    } else if name == "." || name == ".." {
        Some(format!("`{name}` is not a file name"))
    } else if name.chars().any(char::is_control) {
        Some("contains a control character".into())
    } else if name.trim() != name {
        Some(format!("`{name}` starts or ends with white space"))
    } else {
        None
    }
}

fn at<T>(file: u32, l: &Located<T>) -> Loc {
    Loc::new(file, l.line, l.column)
}

/// An inline datapoint of a manifest.
pub fn from_inline(ctx: &mut Ctx, file: u32, base_dir: &Path, raw: Located<RawDatapoint>) -> Draft {
    let mut d = Draft::empty(at(file, &raw));
    let r = raw.value;
    if let Some(a) = r.asset {
        let loc = at(file, &a);
        d.single = Some((draft_asset(ctx, base_dir, a.value, loc), loc));
    }
    if let Some(list) = r.assets {
        let mut v = Vec::with_capacity(list.len());
        for a in list {
            let loc = at(file, &a);
            v.push((draft_asset(ctx, base_dir, a.value, loc), loc));
        }
        d.multi = Some(v);
    }
    if let Some(a) = r.context_asset {
        let loc = at(file, &a);
        d.context_asset = Some((draft_asset(ctx, base_dir, a.value, loc), loc));
    }
    d.context = r.context.map(|c| (c.value.clone(), at(file, &c)));
    d.private_metadata = r.private_metadata.unwrap_or_default();
    d.group = r.group.map(|g| (g.value.clone(), at(file, &g)));
    d.sentence = r.sentence.map(|s| (s.value.clone(), at(file, &s)));
    d.key = r.key.map(|k| (k.value.clone(), at(file, &k)));
    d
}

/// A JSONL row: every field is located at the row.
pub fn from_row(ctx: &mut Ctx, base_dir: &Path, r: RowDatapoint, loc: Loc) -> Draft {
    let mut d = Draft::empty(loc);
    if let Some(a) = r.asset {
        d.single = Some((draft_asset(ctx, base_dir, a, loc), loc));
    }
    if let Some(list) = r.assets {
        d.multi = Some(
            list.into_iter()
                .map(|a| (draft_asset(ctx, base_dir, a, loc), loc))
                .collect(),
        );
    }
    if let Some(a) = r.context_asset {
        d.context_asset = Some((draft_asset(ctx, base_dir, a, loc), loc));
    }
    d.context = r.context.map(|c| (c, loc));
    d.private_metadata = r.private_metadata.unwrap_or_default();
    d.group = r.group.map(|g| (g, loc));
    d.sentence = r.sentence.map(|s| (s, loc));
    d.key = r.key.map(|k| (k, loc));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_names_are_one_file_name() {
        assert_eq!(uploaded_problem("4f1c_cat photo.png"), None);
        assert_eq!(uploaded_problem(&"x".repeat(MAX_UPLOADED_NAME)), None);
        for bad in [
            "", "  ", "a/b.png", "a\\b.png", "..", "a\nb", "a\u{85}b", " a.png",
        ] {
            assert!(uploaded_problem(bad).is_some(), "{bad:?}");
        }
        assert!(uploaded_problem(&"x".repeat(MAX_UPLOADED_NAME + 1))
            .unwrap()
            .contains("at most 255"));
    }
}
