//! The JSON Schema of the manifest format, generated from the raw types the parser uses,
//! so editors (yaml-language-server) and the parser agree by construction.

use schemars::generate::SchemaSettings;

use super::raw::ManifestDocument;

/// The draft-07 JSON Schema of one manifest document.
pub fn manifest_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<ManifestDocument>();
    schema.insert(
        "title".into(),
        "rapidata manifest (apiVersion rapidata.ai/v1)".into(),
    );
    schema.to_value()
}

/// [`manifest_schema`] as pretty JSON with a trailing newline, exactly what
/// `rapidata schema` prints and `schemas/manifest.schema.json` holds.
pub fn manifest_schema_string() -> String {
    let mut s = serde_json::to_string_pretty(&manifest_schema()).unwrap_or_default();
    s.push('\n');
    s
}
