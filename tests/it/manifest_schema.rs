//! The checked-in schema is what `rapidata schema` prints; it is published at a stable
//! URL per format version, which `init` and `import` name in a yaml-language-server
//! modeline; every example, the manifest `init` writes and every `import` output (see
//! `import.rs`) match it.

use std::path::Path;

use rapidata::manifest::schema::{manifest_schema, MODELINE, SCHEMA_PATH, SCHEMA_URL};
use serde_json::Value;

use crate::support::schema::Validator;

/// Every violation of the manifest schema in a YAML file, document by document (each
/// `---` document is one manifest, as yaml-language-server checks them); empty when all
/// match. Also fails on a schema keyword the test validator does not implement.
pub(crate) fn schema_errors(yaml: &str) -> Vec<String> {
    let schema = manifest_schema();
    let docs: Vec<Value> = match serde_saphyr::from_multiple(yaml) {
        Ok(d) => d,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    assert!(!docs.is_empty(), "no YAML document in:\n{yaml}");
    let v = Validator::complete(&schema);
    docs.iter()
        .enumerate()
        .flat_map(|(i, d)| {
            v.validate(&schema, d)
                .into_iter()
                .map(move |e| format!("document {}: {e}", i + 1))
        })
        .collect()
}

#[test]
fn checked_in_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_PATH);
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = rapidata::manifest::schema::manifest_schema_string();
    assert!(
        on_disk == generated,
        "{SCHEMA_PATH} is out of date; run `cargo run -- schema > {SCHEMA_PATH}`"
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
    assert_eq!(
        kinds,
        ["JobDefinition", "Order", "Job", "Audience", "ValidationSet"]
    );
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

#[test]
fn the_published_url_is_the_checked_in_file_of_this_format_version() {
    // The raw file of the default branch of the repository `init`'s workflow names.
    assert_eq!(
        SCHEMA_URL,
        format!("https://raw.githubusercontent.com/your-org/rapidata/main/{SCHEMA_PATH}")
    );
    // One directory per format version: `apiVersion: rapidata.ai/v1` is `schemas/v1/`.
    let s = manifest_schema();
    let api_version = s["oneOf"][0]["properties"]["apiVersion"]["const"]
        .as_str()
        .unwrap();
    let version = api_version.strip_prefix("rapidata.ai/").unwrap();
    assert_eq!(
        SCHEMA_PATH,
        format!("schemas/{version}/manifest.schema.json")
    );
    assert_eq!(
        MODELINE,
        format!("# yaml-language-server: $schema={SCHEMA_URL}\n")
    );
}

#[test]
fn every_example_matches_the_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            let errs = schema_errors(&std::fs::read_to_string(&p).unwrap());
            assert!(errs.is_empty(), "{}:\n{}", p.display(), errs.join("\n"));
            n += 1;
        }
    }
    assert!(n >= 4, "only {n} examples found");
}

#[test]
fn the_schema_check_rejects_what_validate_rejects() {
    // The check is not vacuous: a typo, a wrong kind, a missing name, a wrong type.
    let base = "apiVersion: rapidata.ai/v1\nkind: Job\nname: j\ndefinition: d\naudience: global\n";
    assert_eq!(schema_errors(base), Vec::<String>::new());
    for bad in [
        base.replace("definition:", "defintion:"),
        base.replace("kind: Job", "kind: Jobs"),
        base.replace("name: j\n", ""),
        base.replace("apiVersion: rapidata.ai/v1", "apiVersion: rapidata.ai/v2"),
        format!("{base}revision: [1]\n"),
        format!("{base}---\napiVersion: rapidata.ai/v1\nkind: Audience\n"),
    ] {
        assert!(!schema_errors(&bad).is_empty(), "accepted:\n{bad}");
    }
}

#[test]
fn init_writes_the_modeline_in_every_document_of_a_manifest_that_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rapidata"))
        .args(["init", "-q", "--name", "schema-check"])
        .arg(tmp.path().join("p"))
        .env_remove("RAPIDATA_ENVIRONMENT")
        .env_remove("RAPIDATA_ENDPOINT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(tmp.path().join("p/manifests/example.yaml")).unwrap();
    let docs: Vec<&str> = text.split("\n---\n").collect();
    assert_eq!(docs.len(), 3, "{text}");
    for d in &docs {
        assert!(
            d.starts_with(MODELINE),
            "a document without the modeline:\n{d}"
        );
    }
    let errs = schema_errors(&text);
    assert!(errs.is_empty(), "{}\n{text}", errs.join("\n"));
}
