//! One generated manifest: its YAML, the JSON Lines rows next to it (datapoints or
//! examples), and what the manifest format could not express, which goes both into a
//! comment block at the top of the file and into the command's output.

use serde::Serialize;

use super::emit::comment;
use crate::manifest::ResourceKind;

/// The rows file of a manifest (`<name>.datapoints.jsonl`, `<name>.examples.jsonl`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// File name, next to the manifest.
    pub file_name: String,
    pub text: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub kind: ResourceKind,
    pub name: String,
    pub id: String,
    /// Where it came from, for the header: `revision 3`, `recruiting started`.
    pub source: String,
    /// The manifest document, without the header.
    pub body: String,
    pub rows: Option<Rows>,
    /// What the remote resource has that the manifest format cannot express (kept on the
    /// remote as it is, not managed by the manifest).
    pub not_expressible: Vec<String>,
    /// What `plan`/`apply` will do to other remote resources because of this one.
    pub warnings: Vec<String>,
    /// The remote ids of definitions and audiences this one needs as manifests (a job's).
    pub needs: Vec<(ResourceKind, String)>,
}

/// The resource kind as the header names it.
pub fn kind_label(k: ResourceKind) -> &'static str {
    match k {
        ResourceKind::JobDefinition => "job definition",
        ResourceKind::Audience => "audience",
        ResourceKind::Job => "job",
        ResourceKind::Order => "order",
        ResourceKind::ValidationSet => "validation set",
    }
}

impl Document {
    /// The file's text: the schema modeline, the header comment, then the manifest.
    pub fn text(&self) -> String {
        let mut out = crate::manifest::schema::MODELINE.to_string();
        out += &comment(
            &format!(
                "Imported by `rapidata import` from {} `{}` (id {}{}).",
                kind_label(self.kind),
                self.name,
                self.id,
                if self.source.is_empty() {
                    String::new()
                } else {
                    format!(", {}", self.source)
                }
            ),
            "",
            "",
        );
        if self.not_expressible.is_empty() {
            out.push_str("# Everything the manifest format manages of it is in this file.\n");
        } else {
            out.push_str(
                "# Not expressible in a manifest (kept on the remote as it is, not managed here):\n",
            );
            for n in &self.not_expressible {
                out.push_str(&comment(n, "  - ", "    "));
            }
        }
        if !self.warnings.is_empty() {
            out.push_str("# Warnings:\n");
            for w in &self.warnings {
                out.push_str(&comment(w, "  - ", "    "));
            }
        }
        out.push_str(&self.body);
        out
    }
}

/// What an import says about one written resource.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Written {
    pub kind: ResourceKind,
    pub name: String,
    pub id: String,
    /// The manifest, relative to the working directory (or absolute).
    pub file: String,
    /// Its rows file (datapoints or examples), and how many rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    pub not_expressible: Vec<String>,
    pub warnings: Vec<String>,
}

/// A chosen resource that was not written, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub kind: ResourceKind,
    pub name: String,
    pub id: String,
    pub reason: String,
}

/// Counts of things left out, by reason, as note lines (`3 datapoints: ...`).
pub fn counted(what: &str, reasons: &std::collections::BTreeMap<String, usize>) -> Vec<String> {
    reasons
        .iter()
        .map(|(why, n)| format!("{n} {what}: {why}"))
        .collect()
}
