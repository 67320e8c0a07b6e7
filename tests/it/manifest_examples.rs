//! The shipped examples validate, resolve to the expected project, and the CLI maps
//! results to exit codes and formats.

use std::path::{Path, PathBuf};
use std::process::Command;

use rapidata::manifest::{load, Asset, AudienceRef, LoadOptions, Referee, Resource, Task};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn opts() -> LoadOptions {
    LoadOptions {
        no_cache: true,
        ..LoadOptions::default()
    }
}

#[test]
fn examples_validate_and_resolve() {
    let project = load(&[examples()], &opts()).unwrap_or_else(|d| panic!("examples invalid:\n{d}"));
    let kinds: Vec<String> = project
        .resources
        .iter()
        .map(|r| format!("{}:{}", r.kind(), r.name()))
        .collect();
    // Sorted file order: audience, filtered-audience, job-definition, job, order,
    // validation-set.
    assert_eq!(
        kinds,
        [
            "Audience:german-speakers",
            "Audience:german-speakers-dach",
            "JobDefinition:animal-classification",
            "Job:animal-classification-de",
            "Order:cuter-animal",
            "ValidationSet:animal-checks"
        ]
    );
    let mut total = 0;
    for r in &project.resources {
        match r {
            Resource::JobDefinition(d) => {
                assert_eq!(d.spec.validation_set.as_deref(), Some("animal-checks"));
                assert!(
                    matches!(&d.spec.task, Task::Classify { answer_options, .. } if answer_options.len() == 4)
                );
                assert_eq!(
                    d.spec.referee,
                    Referee::Naive {
                        responses_per_datapoint: 5
                    }
                );
                assert_eq!(d.spec.datapoints.len(), 5);
                // The content is read again from the manifests and sources.
                let all = d.spec.datapoints.to_vec().unwrap();
                assert_eq!(all.len(), 5);
                let first = &all[0];
                assert_eq!(first.key, "control-pixel");
                assert!(first.explicit_key);
                let row = &all[1];
                assert!(
                    row.key.starts_with("fp-") && row.key.len() == 35,
                    "{}",
                    row.key
                );
                assert!(row.origin.file.ends_with("data/animals.jsonl"));
                assert_eq!(row.origin.line, 1);
                match &row.assets[0] {
                    Asset::File {
                        path,
                        file_name,
                        size,
                        content_hash,
                    } => {
                        assert_eq!(file_name, "cat.png");
                        assert!(path.is_absolute() && path.ends_with("examples/images/cat.png"));
                        assert_eq!(*size, std::fs::metadata(path).unwrap().len());
                        assert_eq!(
                            content_hash,
                            &blake3::hash(&std::fs::read(path).unwrap())
                                .to_hex()
                                .to_string()
                        );
                    }
                    other => panic!("expected a file asset, got {other:?}"),
                }
                assert_eq!(
                    row.private_metadata.get("id").map(String::as_str),
                    Some("a-001")
                );
                total += d.spec.datapoints.len();
            }
            Resource::Order(o) => {
                assert!(!o.run);
                assert_eq!(
                    o.spec.referee,
                    Referee::Quorum {
                        threshold: 3,
                        max_votes: 5
                    }
                );
                assert!(o
                    .spec
                    .datapoints
                    .to_vec()
                    .unwrap()
                    .iter()
                    .all(|d| d.assets.len() == 2));
                total += o.spec.datapoints.len();
            }
            Resource::Job(j) => {
                assert_eq!(j.definition, "animal-classification");
                assert_eq!(j.audience, AudienceRef::Manifest("german-speakers".into()));
                assert_eq!(j.revision, None);
            }
            Resource::Audience(a) if a.base.is_some() => {
                assert_eq!(
                    a.base,
                    Some(AudienceRef::Manifest("german-speakers".into()))
                );
                assert_eq!(a.filters[0]["_t"], "CountryFilter");
                assert!(a.examples.is_empty());
            }
            Resource::Audience(a) => {
                assert_eq!(a.filters.len(), 2);
                assert_eq!(a.filters[0]["_t"], "LanguageFilter");
            }
            Resource::ValidationSet(s) => {
                assert_eq!(s.tasks.len(), 2);
                assert_eq!(s.dimensions, Some(vec!["animals".to_string()]));
            }
        }
    }
    assert!(
        total <= 10,
        "examples must stay small, found {total} datapoints"
    );
}

#[test]
fn each_example_file_validates_on_its_own_except_for_references() {
    // A job alone cannot resolve its definition, nor a definition its validation set;
    // every other file stands alone (a filtered audience's base may be a remote id).
    for name in [
        "audience.yaml",
        "filtered-audience.yaml",
        "order.yaml",
        "validation-set.yaml",
    ] {
        load(&[examples().join(name)], &opts()).unwrap_or_else(|d| panic!("{name}:\n{d}"));
    }
    let err = load(&[examples().join("job.yaml")], &opts()).unwrap_err();
    assert!(err
        .to_string()
        .contains("refers to JobDefinition `animal-classification`"));
    let err = load(&[examples().join("job-definition.yaml")], &opts()).unwrap_err();
    assert!(err
        .to_string()
        .contains("uses ValidationSet `animal-checks`, which no manifest defines"));
}

#[test]
fn examples_start_with_the_schema_modeline() {
    for e in std::fs::read_dir(examples()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                text.starts_with(
                    "# yaml-language-server: $schema=../schemas/v1/manifest.schema.json\n"
                ),
                "{} lacks the schema modeline",
                p.display()
            );
        }
    }
}

#[test]
fn cli_exit_codes_and_json_output() {
    let bin = env!("CARGO_BIN_EXE_rapidata");
    let ok = Command::new(bin)
        .args(["validate", "--no-cache", "--format", "json"])
        .arg(examples())
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["datapoints"], 7);

    let bad = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/manifests/invalid/many-errors.yaml");
    let out = Command::new(bin)
        .args(["validate", "--no-cache", "--format", "json"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["errors"].as_array().unwrap().len() >= 3);

    let human = Command::new(bin)
        .args(["validate", "--no-cache"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(human.status.code(), Some(1));
    let text = String::from_utf8_lossy(&human.stderr);
    assert!(
        text.contains("many-errors.yaml:6:7") && text.contains("help: did you mean `freeText`?"),
        "{text}"
    );
}

#[test]
fn cli_defaults_to_the_current_directory() {
    let bin = env!("CARGO_BIN_EXE_rapidata");
    let out = Command::new(bin)
        .args(["validate", "--no-cache"])
        .current_dir(examples())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("6 resources, 7 datapoints"));
}
