//! `datapointSources`: JSONL, CSV and file globs. Paths inside a source file are relative
//! to that file's directory; every row's datapoint points back at its line.

use std::path::{Path, PathBuf};

use super::context::{Ctx, Loc};
use super::draft::{draft_asset, from_row, Draft};
use super::raw::{Located, RawAsset, RawSource, RawTextAsset, RowDatapoint, DATAPOINT_FIELDS};
use super::suggest::did_you_mean;

/// Drafts of one `datapointSources` entry, appended to `out`.
pub fn read_source(
    ctx: &mut Ctx,
    file: u32,
    base_dir: &Path,
    src: Located<RawSource>,
    out: &mut Vec<Draft>,
) {
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
        return;
    }
    if let Some(p) = s.jsonl {
        let ploc = Loc::new(file, p.line, p.column);
        if let Some((path, text)) = open(ctx, base_dir, &p.value, ploc) {
            read_jsonl(ctx, &path, &text, out);
        }
    } else if let Some(p) = s.csv {
        let ploc = Loc::new(file, p.line, p.column);
        if let Some((path, text)) = open(ctx, base_dir, &p.value, ploc) {
            read_csv(ctx, &path, &text, out);
        }
    } else if let Some(p) = s.files {
        let ploc = Loc::new(file, p.line, p.column);
        read_glob(ctx, base_dir, &p.value, ploc, out);
    }
}

/// Checks the root rule, reads the file; returns its display path and text.
fn open(ctx: &mut Ctx, base_dir: &Path, written: &str, loc: Loc) -> Option<(PathBuf, String)> {
    if let Err(e) = ctx.paths.resolve(base_dir, written) {
        ctx.path_error(loc, &e);
        return None;
    }
    let shown = base_dir.join(written);
    match std::fs::read(&shown) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => Some((shown, t)),
            Err(_) => {
                ctx.error(
                    loc,
                    format!("`{written}` is not UTF-8 text"),
                    "save the source file as UTF-8",
                );
                None
            }
        },
        Err(e) => {
            ctx.error(
                loc,
                format!("cannot read `{written}`: {e}"),
                "check the path and permissions",
            );
            None
        }
    }
}

fn dir_of(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn read_jsonl(ctx: &mut Ctx, path: &Path, text: &str, out: &mut Vec<Draft>) {
    let file = ctx.file_id(path);
    let base = dir_of(path);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let loc = Loc::new(file, i + 1, 1);
        match serde_json::from_str::<RowDatapoint>(line) {
            Ok(row) => out.push(from_row(ctx, &base, row, loc)),
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

fn read_csv(ctx: &mut Ctx, path: &Path, text: &str, out: &mut Vec<Draft>) {
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
                let line = e.position().map_or(0, |p| p.line() as usize);
                ctx.error(
                    Loc::new(file, line, 1),
                    format!("invalid CSV row: {e}"),
                    "every row needs as many cells as the header",
                );
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
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
        out.push(d);
    }
}

fn read_glob(ctx: &mut Ctx, base_dir: &Path, pattern: &str, loc: Loc, out: &mut Vec<Draft>) {
    let full = match ctx.paths.check_pattern(base_dir, pattern) {
        Ok(p) => p,
        Err(e) => {
            ctx.path_error(loc, &e);
            return;
        }
    };
    let Some(full_str) = full.to_str() else {
        ctx.error(
            loc,
            "the glob's directory is not valid UTF-8",
            "rename the directory",
        );
        return;
    };
    let paths = match glob::glob(full_str) {
        Ok(p) => p,
        Err(e) => {
            ctx.error(
                loc,
                format!("invalid glob `{pattern}`: {e}"),
                "use `*`, `?`, `[...]` and `**` only",
            );
            return;
        }
    };
    let mut matched: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    matched.sort();
    if matched.is_empty() {
        ctx.error(
            loc,
            format!("glob `{pattern}` matches no files"),
            "check the pattern; it is relative to the manifest file",
        );
        return;
    }
    for p in matched {
        let written = p
            .strip_prefix(base_dir)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        let mut d = Draft::empty(loc);
        d.single = Some((
            draft_asset(ctx, base_dir, RawAsset::Path(written), loc),
            loc,
        ));
        out.push(d);
    }
}
