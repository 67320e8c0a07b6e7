//! `rapidata plan --comment github|gitlab` against local fakes of the GitHub and GitLab
//! REST endpoints it uses: the first run creates the comment, the second edits the same
//! one, someone else's comment is left alone, an oversized plan is cut to the platform's
//! limit with a pointer to the full plan, and the token never shows in the output.

use crate::support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch, put};
use axum::{Json, Router};
use rapidata::ci::comment::{self, Destination, Platform, Posted};
use serde_json::{json, Value};

const TOKEN: &str = "tok-secret-4242-abcdef";

#[derive(Default)]
struct Fake {
    /// (id, body) in creation order.
    comments: Vec<(u64, String)>,
    creates: usize,
    edits: usize,
    limit: usize,
}

type Shared = Arc<Mutex<Fake>>;

fn authorized(h: &HeaderMap, gitlab: bool) -> bool {
    if gitlab {
        h.get("private-token").and_then(|v| v.to_str().ok()) == Some(TOKEN)
    } else {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
    }
}

fn list(s: &Shared) -> Json<Value> {
    let f = s.lock().unwrap();
    Json(Value::Array(
        f.comments
            .iter()
            .map(|(id, b)| json!({"id": id, "body": b}))
            .collect(),
    ))
}

fn create(s: &Shared, body: &Value) -> (StatusCode, Json<Value>) {
    let mut f = s.lock().unwrap();
    let text = body["body"].as_str().unwrap_or("").to_string();
    if text.chars().count() > f.limit {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "Body is too long"})),
        );
    }
    let id = 1000 + f.comments.len() as u64;
    f.comments.push((id, text.clone()));
    f.creates += 1;
    (StatusCode::CREATED, Json(json!({"id": id, "body": text})))
}

fn edit(s: &Shared, id: u64, body: &Value) -> (StatusCode, Json<Value>) {
    let mut f = s.lock().unwrap();
    let text = body["body"].as_str().unwrap_or("").to_string();
    if text.chars().count() > f.limit {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "Body is too long"})),
        );
    }
    f.edits += 1;
    match f.comments.iter_mut().find(|(i, _)| *i == id) {
        Some(c) => {
            c.1 = text.clone();
            (StatusCode::OK, Json(json!({"id": id, "body": text})))
        }
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))),
    }
}

/// GitHub: the issue-comment endpoints of pull request 7 of `o/r`.
fn github(state: Shared) -> Router {
    Router::new()
        .route(
            "/repos/o/r/issues/7/comments",
            get(|State(s): State<Shared>, h: HeaderMap| async move {
                if !authorized(&h, false) {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                Ok(list(&s))
            })
            .post(
                |State(s): State<Shared>, h: HeaderMap, Json(b): Json<Value>| async move {
                    if !authorized(&h, false) {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    Ok(create(&s, &b))
                },
            ),
        )
        .route(
            "/repos/o/r/issues/comments/{id}",
            patch(
                |State(s): State<Shared>,
                 Path(id): Path<u64>,
                 h: HeaderMap,
                 Json(b): Json<Value>| async move {
                    if !authorized(&h, false) {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    Ok(edit(&s, id, &b))
                },
            ),
        )
        .with_state(state)
}

/// GitLab: the note endpoints of merge request 7 of project 42.
fn gitlab(state: Shared) -> Router {
    Router::new()
        .route(
            "/projects/42/merge_requests/7/notes",
            get(|State(s): State<Shared>, h: HeaderMap| async move {
                if !authorized(&h, true) {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                Ok(list(&s))
            })
            .post(
                |State(s): State<Shared>, h: HeaderMap, Json(b): Json<Value>| async move {
                    if !authorized(&h, true) {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    Ok(create(&s, &b))
                },
            ),
        )
        .route(
            "/projects/42/merge_requests/7/notes/{id}",
            put(
                |State(s): State<Shared>,
                 Path(id): Path<u64>,
                 h: HeaderMap,
                 Json(b): Json<Value>| async move {
                    if !authorized(&h, true) {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    Ok(edit(&s, id, &b))
                },
            ),
        )
        .with_state(state)
}

fn fake(limit: usize) -> Shared {
    let f = Fake {
        // Someone's review comment, which must never be touched.
        comments: vec![(1, "Looks good to me".to_string())],
        limit,
        ..Fake::default()
    };
    Arc::new(Mutex::new(f))
}

fn env_for(platform: Platform, base: &str) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = HashMap::new();
    match platform {
        Platform::Github => {
            env.insert("GITHUB_API_URL".into(), base.into());
            env.insert("GITHUB_TOKEN".into(), TOKEN.into());
            env.insert("GITHUB_REPOSITORY".into(), "o/r".into());
            env.insert("GITHUB_REF".into(), "refs/pull/7/merge".into());
            env.insert("GITHUB_SERVER_URL".into(), "https://github.example".into());
            env.insert("GITHUB_RUN_ID".into(), "99".into());
        }
        Platform::Gitlab => {
            env.insert("CI_API_V4_URL".into(), base.into());
            env.insert("GITLAB_TOKEN".into(), TOKEN.into());
            env.insert("CI_PROJECT_ID".into(), "42".into());
            env.insert("CI_MERGE_REQUEST_IID".into(), "7".into());
            env.insert("CI_JOB_URL".into(), "https://gitlab.example/jobs/5".into());
        }
    }
    env
}

/// `rapidata plan --comment PLATFORM` in a fresh `init` project (environment local).
fn plan_with_comment(
    dir: &std::path::Path,
    platform: &str,
    env: &HashMap<String, String>,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rapidata"));
    cmd.current_dir(dir);
    for v in [
        "RAPIDATA_ENVIRONMENT",
        "RAPIDATA_ENDPOINT",
        "GITHUB_STEP_SUMMARY",
    ] {
        cmd.env_remove(v);
    }
    cmd.envs(env)
        .args(["plan", "--comment", platform, "--color", "never"])
        .output()
        .unwrap()
}

async fn cli_creates_then_edits(platform: Platform, name: &str) {
    let state = fake(platform.limit());
    let app = match platform {
        Platform::Github => github(state.clone()),
        Platform::Gitlab => gitlab(state.clone()),
    };
    let base = support::serve(app).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let init = std::process::Command::new(env!("CARGO_BIN_EXE_rapidata"))
        .current_dir(&dir)
        .args(["init", "-q", "--name", "shop"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let mut env = env_for(platform, &base);
    let summary = dir.join("summary.md");
    if platform == Platform::Github {
        env.insert("GITHUB_STEP_SUMMARY".into(), summary.display().to_string());
    }

    for run in 1..=2 {
        let (d, e, p) = (dir.clone(), env.clone(), name.to_string());
        let out = tokio::task::spawn_blocking(move || plan_with_comment(&d, &p, &e))
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(0), "run {run}: {stderr}");
        assert!(
            !stderr.contains(TOKEN) && !stdout.contains(TOKEN),
            "token printed"
        );
        let verb = if run == 1 { "Posted" } else { "Updated" };
        assert!(
            stderr.contains(&format!("{verb} the plan comment 1001")),
            "{stderr}"
        );
    }
    let f = state.lock().unwrap();
    assert_eq!((f.creates, f.edits), (1, 1), "one comment, edited in place");
    assert_eq!(f.comments.len(), 2);
    assert_eq!(f.comments[0].1, "Looks good to me");
    let body = &f.comments[1].1;
    assert!(body.starts_with("<!-- rapidata-plan:shop -->\n"), "{body}");
    assert!(body.contains("### rapidata plan for `local`"), "{body}");
    assert!(body.contains("3 to create"), "{body}");
    assert!(body.contains("#### How to apply"), "{body}");
    if platform == Platform::Github {
        let s = std::fs::read_to_string(&summary).unwrap();
        assert_eq!(
            s.matches("### rapidata plan for `local`").count(),
            2,
            "one summary per run"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_first_run_creates_second_run_edits_the_same_comment() {
    cli_creates_then_edits(Platform::Github, "github").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_first_run_creates_second_run_edits_the_same_note() {
    cli_creates_then_edits(Platform::Gitlab, "gitlab").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_plan_is_cut_to_the_limit_with_a_pointer_to_the_full_plan() {
    for platform in [Platform::Github, Platform::Gitlab] {
        let state = fake(platform.limit());
        let app = match platform {
            Platform::Github => github(state.clone()),
            Platform::Gitlab => gitlab(state.clone()),
        };
        let base = support::serve(app).await;
        let env = env_for(platform, &base);
        let dest = Destination::from_env(platform, &|k| env.get(k).cloned()).unwrap();
        // Twice the limit, in lines of multi-byte text, inside an open <details>.
        let line = "| résumé | ✓ datapoint row |\n";
        let md = format!(
            "### rapidata plan\n<details><summary>x</summary>\n{}",
            line.repeat(2 * platform.limit() / line.chars().count())
        );
        let posted = comment::upsert(&dest, "default", &md).await.unwrap();
        assert!(
            matches!(
                posted,
                Posted::Created {
                    truncated: true,
                    ..
                }
            ),
            "{posted:?}"
        );
        let f = state.lock().unwrap();
        let body = &f.comments[1].1;
        assert!(
            body.chars().count() <= platform.limit(),
            "{} characters",
            body.chars().count()
        );
        assert!(
            body.contains("The plan is cut here"),
            "{}",
            &body[body.len() - 400..]
        );
        let pointer = match platform {
            Platform::Github => "https://github.example/o/r/actions/runs/99",
            Platform::Gitlab => "https://gitlab.example/jobs/5",
        };
        assert!(body.contains(pointer));
        assert!(body.contains("</details>"), "the open section is closed");
        assert!(!format!("{dest:?}").contains(TOKEN));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_a_clear_error_that_does_not_print_it() {
    let state = fake(65_536);
    let base = support::serve(github(state)).await;
    let mut env = env_for(Platform::Github, &base);
    env.insert("GITHUB_TOKEN".into(), "tok-wrong-777777".into());
    let dest = Destination::from_env(Platform::Github, &|k| env.get(k).cloned()).unwrap();
    let err = comment::upsert(&dest, "default", "plan")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("401") && err.contains("not accepted"), "{err}");
    assert!(!err.contains("tok-wrong-777777"), "{err}");
    // Missing CI variables are named.
    let e = Destination::from_env(Platform::Gitlab, &|_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("GITLAB_TOKEN"), "{e}");
}
