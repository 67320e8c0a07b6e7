//! The JSON Schema of the manifest format, generated from the raw types the parser uses,
//! so editors (yaml-language-server) and the parser agree by construction.

use schemars::generate::SchemaSettings;

use super::raw::ManifestDocument;

/// The published schema of format v1, at a URL that stays the same for every release of
/// format v1: the file `schemas/v1/manifest.schema.json` on the default branch of the
/// repository that publishes rapidata (the same `your-org/rapidata` as the GitHub Action
/// `init` writes; change both when publishing elsewhere). Within v1 the schema only
/// grows compatibly; a format v2 gets `schemas/v2/`. See docs/install.md.
macro_rules! schema_url {
    () => {
        "https://raw.githubusercontent.com/your-org/rapidata/main/schemas/v1/manifest.schema.json"
    };
}

/// Where editors fetch the schema of this format version (see `schema_url!`).
pub const SCHEMA_URL: &str = schema_url!();

/// The checked-in file behind [`SCHEMA_URL`], relative to the repository root.
pub const SCHEMA_PATH: &str = "schemas/v1/manifest.schema.json";

/// The yaml-language-server modeline (with its line break) that `init` and `import`
/// start every manifest document with: VS Code's YAML extension, Neovim, Helix and other
/// editors using yaml-language-server then complete and check the manifest with no
/// setup. It reads the modeline per `---` document, so a file of several documents
/// carries it in each.
pub const MODELINE: &str = concat!("# yaml-language-server: $schema=", schema_url!(), "\n");

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
/// `rapidata schema` prints and `schemas/v1/manifest.schema.json` holds.
pub fn manifest_schema_string() -> String {
    let mut s = serde_json::to_string_pretty(&manifest_schema()).unwrap_or_default();
    s.push('\n');
    s
}
