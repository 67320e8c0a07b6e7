//! `rapidata schema`: the JSON Schema (draft-07) of the manifest format, for editors.
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {}

pub fn run(_args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(crate::manifest::schema::manifest_schema_string().as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
