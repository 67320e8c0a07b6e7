//! `datapointSources`: JSONL, CSV and file globs. Paths inside a source file are relative
//! to that file's directory; every row's datapoint points back at its line.

use std::path::{Path, PathBuf};

use super::context::{Ctx, Loc};
use super::draft::{draft_asset, from_row, Draft, DraftSink};
use super::files::{self, FileError};
use super::raw::{Located, RawAsset, RawSource, RawTextAsset, RowDatapoint, DATAPOINT_FIELDS};
use super::suggest::did_you_mean;

/// Drafts of one `datapointSources` entry, given to `out`. For a file glob, returns the
/// paths it matched (as written), so reading the source again gives the same datapoints
/// even when a file has been deleted or added since.
pub fn read_source(
    ctx: &mut Ctx,
    file: u32,
    base_dir: &Path,
    src: Located<RawSource>,
    out: &mut dyn DraftSink,
) -> Option<Vec<String>> {
    let loc = Loc::new(file, src.line, src.column);
    let s = src.value;
    let given = usize::from(s.jsonl.is_some())
        + usize::from(s.csv.is_some())
        + usize::from(s.files.is_some());
    if given != 1 {
        ctx.error(
            loc,
            "a datapoint source needs exactly one of `jsonl`, `csv` or `files`",
            "write each source as its own list item, e.g. `- jsonl: data.jsonl`",
        );
        return None;
    }
    if let Some(p) = s.jsonl {
        let ploc = Loc::new(file, p.line, p.column);
        if !ctx.keep_texts {
            // Read again for its content (no diagnostics to show with the text): a line
            // at a time, not the whole file for as long as the upload that reads it runs.
            stream_jsonl(ctx, base_dir, &p.value, ploc, out);
        } else if let Some((path, text)) = open(ctx, base_dir, &p.value, ploc) {
            let text = ctx.keep_text(&path, text);
            read_jsonl(ctx, &path, &text, out);
        }
    } else if let Some(p) = s.csv {
        let ploc = Loc::new(file, p.line, p.column);
        if let Some((path, text)) = open(ctx, base_dir, &p.value, ploc) {
            let text = ctx.keep_text(&path, text);
            read_csv(ctx, &path, &text, out);
        }
    } else if let Some(p) = s.files {
        let ploc = Loc::new(file, p.line, p.column);
        return read_glob(ctx, base_dir, &p.value, ploc, out);
    }
    None
}

/// The drafts of a file glob from the paths it matched when first read.
pub fn glob_drafts(
    ctx: &mut Ctx,
    base_dir: &Path,
    matched: &[String],
    loc: Loc,
    out: &mut dyn DraftSink,
) {
    for written in matched {
        let mut d = Draft::empty(loc);
        d.single = Some((
            draft_asset(ctx, base_dir, RawAsset::Path(written.clone()), loc),
            loc,
        ));
        out.accept(ctx, d);
    }
}

/// Checks the root rule, reads the file (a bounded regular file inside the root, checked
/// after opening); returns its display path and text.
pub(super) fn open(
    ctx: &mut Ctx,
    base_dir: &Path,
    written: &str,
    loc: Loc,
) -> Option<(PathBuf, String)> {
    let canonical = resolve(ctx, base_dir, written, loc)?;
    let shown = base_dir.join(written);
    match files::read_text(&canonical, ctx.paths.confine(), files::MAX_SOURCE_BYTES) {
        Ok(t) => Some((shown, t)),
        Err(e) => {
            file_error(ctx, &shown, written, loc, e);
            None
        }
    }
}

/// A JSONL source read a line at a time (see `files::for_each_line`): the same drafts and
/// the same diagnostics as [`open`] and `read_jsonl`.
fn stream_jsonl(ctx: &mut Ctx, base_dir: &Path, written: &str, loc: Loc, out: &mut dyn DraftSink) {
    let Some(canonical) = resolve(ctx, base_dir, written, loc) else {
        return;
    };
    let shown = base_dir.join(written);
    let file = ctx.file_id(&shown);
    let base = dir_of(&shown);
    let confine = ctx.paths.confine().map(Path::to_path_buf);
    let read = files::for_each_line(
        &canonical,
        confine.as_deref(),
        files::MAX_SOURCE_BYTES,
        |i, line| jsonl_line(ctx, file, &base, i, line, out),
    );
    if let Err(e) = read {
        file_error(ctx, &shown, written, loc, e);
    }
}

/// The canonical path of a source file, or the root rule's error at `loc`.
fn resolve(ctx: &mut Ctx, base_dir: &Path, written: &str, loc: Loc) -> Option<PathBuf> {
    ctx.paths
        .resolve(base_dir, written)
        .map_err(|e| ctx.path_error(loc, &e))
        .ok()
}

fn file_error(ctx: &mut Ctx, shown: &Path, written: &str, loc: Loc, e: FileError) {
    let help = match e {
        FileError::NotUtf8 { .. } => "save the source file as UTF-8",
        FileError::TooLarge { .. } => "split the source into several files",
        FileError::Outside => "move the file inside the manifest root",
        _ => "check the path and permissions",
    };
    match e.position() {
        // The problem is inside the source file: point there.
        Some((line, column)) => {
            let f = ctx.file_id(shown);
            ctx.error(Loc::new(f, line, column), format!("`{written}` {e}"), help);
        }
        None => ctx.error(loc, format!("`{written}` {e}"), help),
    }
}

pub(super) fn dir_of(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn read_jsonl(ctx: &mut Ctx, path: &Path, text: &str, out: &mut dyn DraftSink) {
    let file = ctx.file_id(path);
    let base = dir_of(path);
    // About one datapoint per line: the identities are allocated once, not by doubling.
    out.reserve(text.bytes().filter(|&b| b == b'\n').count() + 1);
    for (i, line) in text.lines().enumerate() {
        jsonl_line(ctx, file, &base, i, line, out);
    }
}

/// Line `i` (0-based) of a JSONL source.
fn jsonl_line(
    ctx: &mut Ctx,
    file: u32,
    base: &Path,
    i: usize,
    line: &str,
    out: &mut dyn DraftSink,
) {
    if line.trim().is_empty() {
        return;
    }
    let loc = Loc::new(file, i + 1, 1);
    match serde_json::from_str::<RowDatapoint>(line) {
        Ok(row) => {
            let d = from_row(ctx, base, row, loc);
            out.accept(ctx, d);
        }
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            let col_loc = Loc::new(file, i + 1, e.column().max(1));
            let help = unknown_field_help(&msg).unwrap_or_else(|| {
                "each line must be one JSON object with datapoint fields".to_owned()
            });
            ctx.error(col_loc, msg, help);
        }
    }
}

fn unknown_field_help(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let field = rest.split('`').next()?;
    Some(match did_you_mean(field, DATAPOINT_FIELDS) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("allowed fields: {}", DATAPOINT_FIELDS.join(", ")),
    })
}

/// What a CSV column means.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Asset,
    AssetN(u32),
    Text,
    Context,
    ContextAsset,
    Group,
    Key,
    Sentence,
    Meta(String),
}

const CSV_COLUMNS: &[&str] = &[
    "asset",
    "text",
    "context",
    "contextAsset",
    "group",
    "key",
    "sentence",
];

fn column(name: &str) -> Option<Column> {
    Some(match name {
        "asset" => Column::Asset,
        "text" => Column::Text,
        "context" => Column::Context,
        "contextAsset" => Column::ContextAsset,
        "group" => Column::Group,
        "key" => Column::Key,
        "sentence" => Column::Sentence,
        _ => {
            if let Some(k) = name.strip_prefix("meta.") {
                if k.is_empty() {
                    return None;
                }
                Column::Meta(k.to_owned())
            } else if let Some(n) = name.strip_prefix("asset") {
                Column::AssetN(n.parse().ok().filter(|n| *n >= 1)?)
            } else {
                return None;
            }
        }
    })
}

fn read_csv(ctx: &mut Ctx, path: &Path, text: &str, out: &mut dyn DraftSink) {
    let file = ctx.file_id(path);
    let base = dir_of(path);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            ctx.error(
                Loc::new(file, 1, 1),
                format!("invalid CSV header: {e}"),
                "the first row must name the columns",
            );
            return;
        }
    };
    let mut cols = Vec::new();
    let mut ok = true;
    for h in headers.iter() {
        match column(h.trim()) {
            Some(c) => cols.push(c),
            None => {
                ok = false;
                let help = match did_you_mean(h.trim(), CSV_COLUMNS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "columns: asset (or asset1..N, or text), context, contextAsset, group, key, sentence, meta.<name>".to_owned(),
                };
                ctx.error(
                    Loc::new(file, 1, 1),
                    format!("unknown CSV column `{h}`"),
                    help,
                );
            }
        }
    }
    let has_multi = cols.iter().any(|c| matches!(c, Column::AssetN(_)));
    let has_single = cols
        .iter()
        .any(|c| matches!(c, Column::Asset | Column::Text));
    if has_multi && has_single {
        ctx.error(
            Loc::new(file, 1, 1),
            "CSV mixes `asset`/`text` with numbered `assetN` columns",
            "use `asset` (or `text`) for one asset, or `asset1`, `asset2`, ... for several",
        );
        ok = false;
    }
    if !ok {
        return;
    }
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(1, |p| p.line() as usize);
                ctx.error(
                    Loc::new(file, line, 1),
                    format!("invalid CSV row: {e}"),
                    "every row needs as many cells as the header",
                );
                continue;
            }
        };
        let line = rec.position().map_or(1, |p| p.line() as usize);
        let loc = Loc::new(file, line, 1);
        let mut d = Draft::empty(loc);
        let mut multi: Vec<(u32, String)> = Vec::new();
        for (c, cell) in cols.iter().zip(rec.iter()) {
            if cell.is_empty() {
                continue;
            }
            let cell = cell.to_owned();
            match c {
                Column::Asset => {
                    d.single = Some((draft_asset(ctx, &base, RawAsset::Path(cell), loc), loc))
                }
                Column::Text => {
                    d.single = Some((
                        draft_asset(ctx, &base, RawAsset::Text(RawTextAsset { text: cell }), loc),
                        loc,
                    ))
                }
                Column::AssetN(n) => multi.push((*n, cell)),
                Column::Context => d.context = Some((cell, loc)),
                Column::ContextAsset => {
                    d.context_asset =
                        Some((draft_asset(ctx, &base, RawAsset::Path(cell), loc), loc))
                }
                Column::Group => d.group = Some((cell, loc)),
                Column::Key => d.key = Some((cell, loc)),
                Column::Sentence => d.sentence = Some((cell, loc)),
                Column::Meta(k) => {
                    d.private_metadata.insert(k.clone(), cell);
                }
            }
        }
        if has_multi {
            multi.sort_by_key(|(n, _)| *n);
            d.multi = Some(
                multi
                    .into_iter()
                    .map(|(_, p)| (draft_asset(ctx, &base, RawAsset::Path(p), loc), loc))
                    .collect(),
            );
        }
        out.accept(ctx, d);
    }
}

fn read_glob(
    ctx: &mut Ctx,
    base_dir: &Path,
    pattern: &str,
    loc: Loc,
    out: &mut dyn DraftSink,
) -> Option<Vec<String>> {
    let start = match ctx.paths.check_pattern(base_dir, pattern) {
        Ok(p) => p,
        Err(e) => {
            ctx.path_error(loc, &e);
            return None;
        }
    };
    let matcher = match glob::Pattern::new(&start.rest) {
        Ok(p) => p,
        Err(e) => {
            ctx.error(
                loc,
                format!("invalid glob `{pattern}`: {e}"),
                "use `*`, `?`, `[...]` and `**` only",
            );
            return None;
        }
    };
    let mut matched = Vec::new();
    list_matches(&start.dir, &start.rest, &matcher, &mut matched);
    matched.sort_unstable();
    if matched.is_empty() {
        ctx.error(
            loc,
            format!("glob `{pattern}` matches no files"),
            "check the pattern; it is relative to the manifest file",
        );
        return None;
    }
    let written: Vec<String> = matched
        .into_iter()
        .map(|(rel, regular)| {
            let written = start.written.join(&rel).to_string_lossy().into_owned();
            // A regular file listed in a directory reached through real directories from
            // the canonical, checked start is canonical as it stands: no path walk of
            // the file system again (issue #24: that walk was most of loading a glob of
            // images). A symlink is resolved and checked like any path.
            if regular {
                ctx.paths
                    .known_file(base_dir.join(&written), start.dir.join(&rel));
            }
            written
        })
        .collect();
    glob_drafts(ctx, base_dir, &written, loc, out);
    Some(written)
}

/// Deepest directory level a `**` glob descends to.
const MAX_GLOB_DEPTH: usize = 64;

/// Paths under `dir` (relative to it) matching `rest`, each with whether it is a regular
/// file (not a symlink). Symlinked directories are not entered, so a glob never lists
/// names outside the tree it starts in; symlinked files are listed under their own name
/// and checked like any other path.
fn list_matches(dir: &Path, rest: &str, matcher: &glob::Pattern, out: &mut Vec<(PathBuf, bool)>) {
    let depth = if rest.contains("**") {
        MAX_GLOB_DEPTH
    } else {
        rest.split('/').filter(|c| !c.is_empty()).count()
    };
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let mut stack = vec![(PathBuf::new(), 1usize)];
    while let Some((rel, level)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            let child = rel.join(entry.file_name());
            if ft.is_dir() {
                if level < depth {
                    stack.push((child, level + 1));
                }
            } else if (ft.is_file() || ft.is_symlink() && dir.join(&child).is_file())
                && matcher.matches_path_with(&child, opts)
            {
                out.push((child, ft.is_file()));
            }
        }
    }
}
