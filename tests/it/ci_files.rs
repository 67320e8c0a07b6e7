//! The CI files shipped with rapidata parse, and say what users rely on: the action's
//! commands, an apply that is never cancelled, drift opening an issue, the release
//! building four checksummed targets, and the GitLab component's serialised apply.
//! (`.ci/run` also lints the GitHub files with zizmor.)

use std::path::Path;

use serde_json::Value;

fn yaml(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    text.split("\n---\n")
        .map(|doc| {
            serde_saphyr::from_str::<Value>(doc)
                .unwrap_or_else(|e| panic!("{path} does not parse: {e}"))
        })
        .collect()
}

#[test]
fn the_action_runs_plan_apply_and_drift_with_a_verified_install() {
    let a = &yaml("action.yml")[0];
    assert_eq!(a["runs"]["using"], "composite");
    assert_eq!(a["inputs"]["command"]["default"], "plan");
    let steps = a["runs"]["steps"].as_array().unwrap();
    let install = steps[0]["run"].as_str().unwrap();
    assert!(install.contains("sha256sum -c"), "checksums are verified");
    // What plan and apply learned is kept between runs, before they run.
    assert!(steps[1]["uses"]
        .as_str()
        .unwrap()
        .starts_with("actions/cache@"));
    let kept = steps[1]["with"]["path"].as_str().unwrap();
    assert!(kept.contains(".rapidata/cache") && kept.contains(".rapidata/recorded.json"));
    let run = steps[2]["run"].as_str().unwrap();
    for needle in [
        "--comment github",
        "--detailed-exitcode",
        "--auto-approve",
        "validate",
    ] {
        assert!(run.contains(needle), "{needle}");
    }
}

#[test]
fn the_workflow_init_writes_never_cancels_an_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rapidata"))
        .args(["init", "-q"])
        .arg(tmp.path())
        .env_remove("RAPIDATA_ENVIRONMENT")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(tmp.path().join(".github/workflows/rapidata.yml")).unwrap();
    let w: Value = serde_saphyr::from_str(&text).unwrap();
    let apply = &w["jobs"]["apply"];
    assert_eq!(apply["concurrency"]["cancel-in-progress"], false);
    assert!(apply["concurrency"]["group"].is_string());
    assert_eq!(w["jobs"]["plan"]["permissions"]["pull-requests"], "write");
    for job in ["plan", "apply"] {
        let steps = w["jobs"][job]["steps"].as_array().unwrap();
        let uses = steps[1]["uses"].as_str().unwrap();
        assert!(uses.contains("/rapidata@"), "{uses}");
    }
}

#[test]
fn drift_check_is_reusable_and_keeps_one_issue() {
    let w = &yaml(".github/workflows/drift-check.yml")[0];
    assert!(w["on"]["workflow_call"].is_object());
    let steps = w["jobs"]["drift"]["steps"].as_array().unwrap();
    let all: String = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all.contains("--detailed-exitcode"));
    assert!(all.contains("gh issue edit") && all.contains("gh issue create"));
    assert_eq!(w["jobs"]["drift"]["permissions"]["issues"], "write");
}

#[test]
fn release_builds_linux_and_macos_on_both_architectures_with_checksums() {
    let w = &yaml(".github/workflows/release.yml")[0];
    let targets: Vec<&str> = w["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    for t in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(targets.contains(&t), "{t}");
    }
    let publish = w["jobs"]["publish"]["steps"][1]["run"].as_str().unwrap();
    assert!(publish.contains("SHA256SUMS") && publish.contains("sha256sum -c"));
}

#[test]
fn the_gitlab_component_plans_comments_applies_serially_and_checks_drift() {
    let docs = yaml("templates/rapidata.yml");
    assert_eq!(docs.len(), 2, "spec, then jobs");
    assert!(docs[0]["spec"]["inputs"]["version"].is_object());
    let jobs = &docs[1];
    let plan = jobs["rapidata-plan"]["script"].to_string();
    assert!(plan.contains("--comment gitlab"), "{plan}");
    assert_eq!(jobs["rapidata-apply"]["resource_group"], "rapidata-apply");
    assert_eq!(jobs["rapidata-apply"]["interruptible"], false);
    let drift = jobs["rapidata-drift"]["script"].to_string();
    assert!(
        drift.contains("--detailed-exitcode") && drift.contains("issues"),
        "{drift}"
    );
}
