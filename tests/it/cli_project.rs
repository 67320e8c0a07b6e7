//! The project workflow from the command line (issue 13): `init` in an empty directory,
//! then `validate`, `plan`, `apply --auto-approve` with no further flags; the project
//! config's environment, its protection against reaching production by accident; the
//! global options; completions, man page and version.

use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rapidata"));
    // The developer's shell must not decide where these commands go.
    for v in [
        "RAPIDATA_ENVIRONMENT",
        "RAPIDATA_ENDPOINT",
        "RAPIDATA_PROJECT",
        "GITHUB_STEP_SUMMARY",
    ] {
        c.env_remove(v);
    }
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn init_then_validate_plan_apply_with_no_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop-reviews");
    std::fs::create_dir(&dir).unwrap();
    let out = run(&dir, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config = std::fs::read_to_string(dir.join("rapidata.toml")).unwrap();
    assert!(
        config.lines().any(|l| l == "environment = \"local\""),
        "{config}"
    );
    assert!(config.contains("project = \"shop-reviews\""), "{config}");
    let ignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == ".rapidata/"), "{ignore}");
    assert!(dir.join(".github/workflows/rapidata.yml").is_file());
    assert!(dir.join("manifests/example.yaml").is_file());

    // A second init refuses rather than overwrite.
    let again = run(&dir, &["init"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already exists"));

    let target = "Target: environment local";
    let v = run(&dir, &["validate"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    assert!(text(&v.stderr).contains(target), "{}", text(&v.stderr));
    assert!(
        text(&v.stdout).contains("3 resources, 3 datapoints"),
        "{}",
        text(&v.stdout)
    );

    let p = run(&dir, &["plan", "--detailed-exitcode", "--color", "never"]);
    assert_eq!(p.status.code(), Some(2), "{}", text(&p.stderr));
    assert!(text(&p.stderr).contains(target));
    assert!(
        text(&p.stdout).contains("3 to create"),
        "{}",
        text(&p.stdout)
    );

    let a = run(&dir, &["apply", "--auto-approve", "--color", "never"]);
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    assert!(text(&a.stderr).contains(target));
    assert!(
        dir.join(".rapidata/local").is_dir(),
        "the emulator's state is in the project"
    );

    // -v names the project it found.
    let v = run(&dir.join("manifests"), &["validate", "-v"]);
    assert!(text(&v.stderr).contains("Project: "), "{}", text(&v.stderr));
    assert!(
        text(&v.stderr).contains("rapidata.toml"),
        "{}",
        text(&v.stderr)
    );

    // From a subdirectory the project is found by walking up.
    let sub = dir.join("manifests");
    let p = run(&sub, &["plan", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(p.status.code(), Some(0), "{}", text(&p.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(plan["api"], "local");
    assert!(plan["formatVersion"].is_u64());

    // The project's status, as JSON: versioned, camelCase.
    let s = run(&dir, &["status", "--format", "json"]);
    assert_eq!(s.status.code(), Some(0), "{}", text(&s.stderr));
    let status: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(status["formatVersion"], 1);
    let rows = status["resources"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["exists"] == true), "{status}");
    assert!(rows.iter().any(|r| r["datasetId"].is_string()), "{status}");
    let md = run(&dir, &["status", "--format", "markdown"]);
    assert!(
        text(&md.stdout).starts_with("### rapidata status"),
        "{}",
        text(&md.stdout)
    );
    assert!(text(&md.stdout).contains("| JobDefinition | review-sentiment |"));
}

#[test]
fn production_is_not_reached_through_a_variable_from_a_local_project() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(run(tmp.path(), &["init", "-q"]).status.success());
    let out = bin()
        .current_dir(tmp.path())
        .env("RAPIDATA_ENVIRONMENT", "rapidata.ai")
        .args(["plan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("refusing to reach production by accident"),
        "{err}"
    );
    // Nothing was attempted: no credentials were even looked for.
    assert!(!err.contains("credentials"), "{err}");
    let out = bin()
        .current_dir(tmp.path())
        .env("RAPIDATA_ENDPOINT", "https://api.rapidata.ai")
        .args(["status"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("refusing"),
        "{}",
        text(&out.stderr)
    );

    // A flag on the command line is deliberate: the target line says where it goes.
    let out = bin()
        .current_dir(tmp.path())
        .env("RAPIDATA_CLIENT_ID", "")
        .env("RAPIDATA_CLIENT_SECRET", "")
        .env("HOME", tmp.path())
        .args(["auth", "status", "--environment", "rapidata.ai"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "Target: environment rapidata.ai at https://api.rapidata.ai (from --environment)"
        ),
        "{err}"
    );
}

#[test]
fn other_yaml_in_the_tree_and_paths_from_a_subdirectory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join(".git")).unwrap();
    assert!(run(dir, &["init", "-q"]).status.success());
    std::fs::write(
        dir.join("docker-compose.yml"),
        "services:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("k8s")).unwrap();
    std::fs::write(
        dir.join("k8s/job.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let gif = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/images/pixel.gif");
    std::fs::copy(gif, dir.join("images/a.gif")).unwrap();
    std::fs::create_dir_all(dir.join("manifests/team")).unwrap();
    std::fs::write(
        dir.join("manifests/team/def.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: files\ntype: freeText\ninstruction: x\ndatapoints:\n  - asset: ../../images/a.gif\n",
    )
    .unwrap();
    // The whole tree: compose and Kubernetes files are not manifests.
    let out = run(dir, &["validate", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 manifest files"),
        "{}",
        text(&out.stdout)
    );
    // A directory argument inside the project: the project root is the manifest root, so
    // `../../images` resolves.
    let out = run(&dir.join("manifests/team"), &["validate", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A manifest that forgot apiVersion is still read, and told so.
    std::fs::write(dir.join("manifests/bad.yaml"), "kind: Audience\nname: a\n").unwrap();
    let out = run(dir, &["validate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["formatVersion"], 2);
    assert!(
        v["errors"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("bad.yaml"),
        "{v}"
    );
    // The config's excludes leave files out.
    let config = std::fs::read_to_string(dir.join("rapidata.toml")).unwrap();
    std::fs::write(
        dir.join("rapidata.toml"),
        config.replace("exclude = []", "exclude = [\"manifests/bad.yaml\"]"),
    )
    .unwrap();
    let out = run(dir, &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A typo in the config is an error naming the line.
    std::fs::write(
        dir.join("rapidata.toml"),
        "environment = \"local\"\nparalelism = 3\n",
    )
    .unwrap();
    let out = run(dir, &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("line 2"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn global_options_completions_man_and_version() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let v = run(dir, &["--version"]);
    let version = text(&v.stdout);
    assert!(version.contains("commit"), "{version}");

    let c = run(dir, &["completions", "bash"]);
    assert_eq!(c.status.code(), Some(0));
    let script = text(&c.stdout);
    assert!(script.contains("complete -F") && script.contains("--detailed-exitcode"));

    let m = run(dir, &["man"]);
    assert!(text(&m.stdout).starts_with(".ie") || text(&m.stdout).contains(".TH rapidata"));
    let out_dir = dir.join("man");
    assert!(run(dir, &["man", "--out-dir", out_dir.to_str().unwrap()])
        .status
        .success());
    assert!(out_dir.join("rapidata-plan.1").is_file());

    // Every command takes --color and -q, before or after its name; those with output take
    // --format, and a format a command lacks is a clear error.
    for cmd in [
        &["validate"][..],
        &["schema"],
        &["plan"],
        &["apply"],
        &["status"],
        &["emulator"],
        &["auth", "status"],
        &["init"],
        &["completions", "bash"],
        &["man"],
    ] {
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend(["--color", "never", "-q", "--help"]);
        let out = run(dir, &args);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("--format"), "{cmd:?}");
    }
    let out = run(dir, &["--format", "markdown", "validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no markdown output"));
}
