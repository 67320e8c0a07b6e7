//! `rapidata show PLANFILE` (issue #21): a saved plan rendered offline, in every format,
//! saying what `plan` said.

use crate::harness;

use std::process::{Command, Stdio};

use harness::*;
use rapidata::emulator::FaultPlan;

fn run(env: &Env, args: &[&str], online: bool) -> (Option<i32>, String) {
    offline_run(
        &env.dir,
        args,
        online.then(|| {
            (
                env.emulator.base_url(),
                env.client_id.clone(),
                env.client_secret.clone(),
            )
        }),
    )
}

fn offline_run(
    dir: &tempfile::TempDir,
    args: &[&str],
    online: Option<(String, String, String)>,
) -> (Option<i32>, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rapidata"));
    c.args(args)
        .args(["--color", "never"])
        .env_remove("RAPIDATA_TOKEN_FILE")
        .env_remove("RAPIDATA_CLIENT_ID")
        .env_remove("RAPIDATA_CLIENT_SECRET")
        .env("HOME", dir.path())
        .stdin(Stdio::null());
    if let Some((base, id, secret)) = online {
        c.args(["--endpoint", &base])
            .env("RAPIDATA_CLIENT_ID", id)
            .env("RAPIDATA_CLIENT_SECRET", secret);
    }
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

// The CLI runs as a child process while the emulator serves it from this runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_renders_offline_as_plan_rendered_it() {
    let env = env(FaultPlan::default()).await;
    let root = write_project(
        env.dir.path(),
        &ProjectSpec {
            images: 4,
            ..Default::default()
        },
    );
    let root_s = root.display().to_string();
    let file = env.dir.path().join("plan.json");
    let file_s = file.display().to_string();
    let (code, human) = run(&env, &["plan", &root_s, "--out", &file_s], true);
    assert_eq!(code, Some(0));
    let (_, json) = run(&env, &["plan", &root_s, "--format", "json"], true);
    // Offline: no credentials, and the emulator gone.
    let Env { dir, emulator, .. } = env;
    emulator.shutdown().await;
    let run = |args: &[&str], _: bool| offline_run(&dir, args, None);
    let (code, shown) = run(&["show", &file_s], false);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown, human, "show renders what plan printed");
    let (_, shown_json) = run(&["show", &file_s, "--format", "json"], false);
    let a: serde_json::Value = serde_json::from_str(&shown_json).unwrap();
    let b: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(a["resources"], b["resources"]);
    let (code, md) = run(&["show", &file_s, "--format", "markdown"], false);
    assert_eq!(code, Some(0));
    assert!(
        md.contains("rapidata apply") && md.contains(&file_s),
        "{md}"
    );
    assert!(md.contains("JobDefinition <b>animals</b>"), "{md}");
    // Not a plan: a clear error, exit 1.
    let (code, _) = run(
        &["show", &root.join("rapidata.yaml").display().to_string()],
        false,
    );
    assert_eq!(code, Some(1));
}
