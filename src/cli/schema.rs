//! `rapidata schema`: the JSON Schema (draft-07) of the manifest format, for editors.
use std::io::Write;

use super::{Exit, Format, Settings};

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {}

pub fn run(_args: SchemaArgs, settings: &Settings) -> anyhow::Result<Exit> {
    // The schema is JSON whichever way it is asked for.
    settings.format("schema", &[Format::Human, Format::Json])?;
    let mut out = std::io::stdout().lock();
    out.write_all(crate::manifest::schema::manifest_schema_string().as_bytes())?;
    out.flush()?;
    Ok(Exit::Success)
}
