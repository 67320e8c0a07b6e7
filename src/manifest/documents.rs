//! Reading manifest files into raw documents: split, read `apiVersion` and `kind`, then
//! parse the matching struct. A broken document is reported and skipped; the others are
//! still checked.

use std::path::{Path, PathBuf};

use super::context::{Ctx, Loc};
use super::files::{self, FileError};
use super::model::ResourceKind;
use super::raw::{
    RawAudience, RawHeader, RawJob, RawJobDefinition, RawOrder, RawValidationSet, API_VERSION,
    KINDS,
};
use super::suggest::did_you_mean;
use super::yaml::{parse, split_documents, Segment, YamlError};

#[derive(Debug)]
pub enum Doc {
    JobDefinition(RawJobDefinition),
    Order(RawOrder),
    Job(RawJob),
    Audience(RawAudience),
    ValidationSet(RawValidationSet),
}

#[derive(Debug)]
pub struct ParsedDoc {
    pub file: u32,
    /// The manifest's directory as the user wrote it: relative paths start here.
    pub base_dir: PathBuf,
    pub doc: Doc,
}

/// A document that failed to parse but whose kind and name are known: references to it
/// are not reported again as "not found".
#[derive(Debug, Clone)]
pub struct Broken {
    pub kind: ResourceKind,
    pub name: String,
}

fn kind_of(s: &str) -> Option<ResourceKind> {
    Some(match s {
        "JobDefinition" => ResourceKind::JobDefinition,
        "Order" => ResourceKind::Order,
        "Job" => ResourceKind::Job,
        "Audience" => ResourceKind::Audience,
        "ValidationSet" => ResourceKind::ValidationSet,
        _ => return None,
    })
}

fn report(ctx: &mut Ctx, file: u32, e: YamlError) {
    ctx.error(
        Loc::new(file, e.line, e.column),
        e.message,
        e.help.unwrap_or_default(),
    );
}

/// Parses every document of `path` into `docs`. The file is resolved physically and must
/// lie inside the root (a committed symlink to a file outside is neither parsed nor
/// echoed); it must be a bounded regular UTF-8 file.
pub fn read_file(ctx: &mut Ctx, path: &Path, docs: &mut Vec<ParsedDoc>, broken: &mut Vec<Broken>) {
    let file = ctx.file_id(path);
    let start = Loc::new(file, 1, 1);
    let canonical = match std::fs::canonicalize(path) {
        Ok(c) => c,
        Err(e) => {
            ctx.error(
                start,
                format!("cannot read manifest: {}", e.kind()),
                "check the path and permissions",
            );
            return;
        }
    };
    if let Some(root) = ctx.paths.confine() {
        if !canonical.starts_with(root) {
            let how = if super::paths::normalize(path).starts_with(&ctx.paths.root) {
                " (through a symlink)"
            } else {
                ""
            };
            ctx.error(
                start,
                format!("manifest leads outside the manifest root{how}; it was not read"),
                "replace a symlink by the file itself, set --root, or pass --allow-outside-root if this is intended",
            );
            return;
        }
    }
    let text = match files::read_text(&canonical, ctx.paths.confine(), files::MAX_MANIFEST_BYTES) {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = e.position().unwrap_or((1, 1));
            let help = match e {
                FileError::NotUtf8 { .. } => "save the file as UTF-8",
                FileError::TooLarge { .. } => "split the manifests into several files",
                FileError::NotAFile => "manifests must be regular files",
                _ => "check the path and permissions",
            };
            ctx.error(Loc::new(file, line, column), format!("manifest {e}"), help);
            return;
        }
    };
    let text = normalize_line_breaks(text);
    let text = ctx.keep_text(path, text);
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for seg in split_documents(&text) {
        if let Some(doc) = read_document(ctx, file, seg, broken) {
            docs.push(ParsedDoc {
                file,
                base_dir: base_dir.clone(),
                doc,
            });
        }
    }
}

/// YAML counts a lone CR as a line break; the splitter and the error lines count `\n`.
/// Each lone CR becomes `\n` (same length, so columns and lines stay the same).
fn normalize_line_breaks(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    let mut bytes = text.into_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
            bytes[i] = b'\n';
        }
    }
    // Replacing one ASCII byte by another keeps the text UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}

fn first_content_line(seg: Segment<'_>) -> usize {
    seg.text
        .lines()
        .position(|l| {
            let t = l.trim();
            !(t.is_empty() || t.starts_with('#') || t.starts_with("---"))
        })
        .unwrap_or(0)
        + seg.line_offset
        + 1
}

fn read_document(
    ctx: &mut Ctx,
    file: u32,
    seg: Segment<'_>,
    broken: &mut Vec<Broken>,
) -> Option<Doc> {
    let header: RawHeader = match parse(seg) {
        Ok(h) => h,
        Err(e) => {
            report(ctx, file, e);
            return None;
        }
    };
    let doc_loc = Loc::new(file, first_content_line(seg), 1);
    let name = header.name.as_ref().map(|n| n.value.clone());
    let kind = match &header.kind {
        None => {
            ctx.error(
                doc_loc,
                "document has no `kind`",
                format!("add `kind:` with one of {}", KINDS.join(", ")),
            );
            None
        }
        Some(k) => match kind_of(&k.value) {
            Some(kind) => Some(kind),
            None => {
                let help = match did_you_mean(&k.value, KINDS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("use one of {}", KINDS.join(", ")),
                };
                ctx.error(
                    Loc::new(file, k.line, k.column),
                    format!("unknown kind `{}`", k.value),
                    help,
                );
                None
            }
        },
    };
    let version_ok = match &header.api_version {
        None => {
            ctx.error(
                doc_loc,
                "document has no `apiVersion`",
                format!("add `apiVersion: {API_VERSION}` at the top of the document"),
            );
            false
        }
        Some(v) if v.value != API_VERSION => {
            ctx.error(
                Loc::new(file, v.line, v.column),
                format!("unsupported apiVersion `{}`", v.value),
                format!("this version of rapidata reads `apiVersion: {API_VERSION}`"),
            );
            false
        }
        Some(_) => true,
    };
    let kind = kind?;
    let mark_broken = |broken: &mut Vec<Broken>| {
        if let Some(name) = &name {
            broken.push(Broken {
                kind,
                name: name.clone(),
            });
        }
    };
    if !version_ok {
        mark_broken(broken);
        return None;
    }
    let parsed = match kind {
        ResourceKind::JobDefinition => parse(seg).map(Doc::JobDefinition),
        ResourceKind::Order => parse(seg).map(Doc::Order),
        ResourceKind::Job => parse(seg).map(Doc::Job),
        ResourceKind::Audience => parse(seg).map(Doc::Audience),
        ResourceKind::ValidationSet => parse(seg).map(Doc::ValidationSet),
    };
    match parsed {
        Ok(d) => Some(d),
        Err(e) => {
            report(ctx, file, e);
            mark_broken(broken);
            None
        }
    }
}
