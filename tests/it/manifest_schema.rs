//! The checked-in schema is what `rapidata schema` prints.

use std::path::Path;

#[test]
fn checked_in_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/manifest.schema.json");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = rapidata::manifest::schema::manifest_schema_string();
    assert!(
        on_disk == generated,
        "schemas/manifest.schema.json is out of date; run `cargo run -- schema > schemas/manifest.schema.json`"
    );
}

#[test]
fn schema_is_draft07_and_covers_every_kind() {
    let s = rapidata::manifest::schema::manifest_schema();
    assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
    let kinds: Vec<&str> = s["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["properties"]["kind"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["JobDefinition", "Order", "Job", "Audience"]);
    for v in s["oneOf"].as_array().unwrap() {
        assert_eq!(v["additionalProperties"], false);
        assert_eq!(v["properties"]["apiVersion"]["const"], "rapidata.ai/v1");
    }
    // `run` exists on orders only.
    assert!(s["oneOf"][1]["properties"]["run"].is_object());
    assert!(s["oneOf"][0]["properties"].get("run").is_none());
}

#[test]
fn cli_prints_the_same_schema() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rapidata"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        rapidata::manifest::schema::manifest_schema_string()
    );
}
