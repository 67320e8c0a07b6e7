//! The plan as a pull/merge request comment, updated in place: the comment carries a
//! hidden marker (`<!-- rapidata-plan:KEY -->`); a run finds the comment with its marker and
//! edits it, or creates one. Bodies are cut to the platform's limit with a pointer to the
//! full plan. Tokens are sent only as headers and never appear in messages.
//!
//! REST endpoints used (and nothing else, so a token with only these rights suffices):
//! - GitHub: `GET /repos/{repo}/issues/{pr}/comments`, `POST` the same,
//!   `PATCH /repos/{repo}/issues/comments/{id}` (the pull request's conversation).
//! - GitLab: `GET /projects/{id}/merge_requests/{iid}/notes`, `POST` the same,
//!   `PUT /projects/{id}/merge_requests/{iid}/notes/{note_id}`.

use std::time::Duration;

use serde::Deserialize;

use super::truncate::fit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    Github,
    Gitlab,
}

impl Platform {
    /// The longest comment the platform accepts, in characters.
    pub fn limit(self) -> usize {
        match self {
            // GitHub rejects issue comments over 65,536 characters.
            Platform::Github => 65_536,
            // GitLab's note limit is 1,000,000 characters.
            Platform::Gitlab => 1_000_000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::Github => "GitHub",
            Platform::Gitlab => "GitLab",
        }
    }
}

/// Where to post: read from the CI's environment variables.
#[derive(Clone)]
pub struct Destination {
    pub platform: Platform,
    /// API base URL: `GITHUB_API_URL` (https://api.github.com) or `CI_API_V4_URL`.
    pub api: String,
    /// `owner/repo` on GitHub, the project id on GitLab.
    pub repo: String,
    /// The pull request number, or the merge request iid.
    pub number: u64,
    token: String,
    /// Where the full plan can be read (the CI run or job page), for truncated comments.
    pub run_url: Option<String>,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("platform", &self.platform)
            .field("api", &self.api)
            .field("repo", &self.repo)
            .field("number", &self.number)
            .field("token", &"***")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    #[error("{0}")]
    Setup(String),
    #[error("{platform} API: {what} failed: {detail}")]
    Api {
        platform: &'static str,
        what: &'static str,
        detail: String,
    },
}

fn var(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name).filter(|v| !v.trim().is_empty())
}

impl Destination {
    /// From the environment of a GitHub Actions or GitLab CI job; `get` reads a variable.
    pub fn from_env(
        platform: Platform,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Destination, CommentError> {
        let need = |name: &str, why: &str| {
            var(get, name).ok_or_else(|| CommentError::Setup(format!("{name} is not set ({why})")))
        };
        match platform {
            Platform::Github => {
                let token = var(get, "GITHUB_TOKEN").ok_or_else(|| {
                    CommentError::Setup(
                        // No `${{ … }}` in the hint: GitHub's log masking mangles it.
                        "GITHUB_TOKEN is not set; give the step `env:` GITHUB_TOKEN set to the workflow expression `github.token`, and the job `permissions: pull-requests: write` (as the workflow `rapidata init` writes does)".into(),
                    )
                })?;
                let repo = need("GITHUB_REPOSITORY", "owner/repo of the pull request")?;
                let number = github_pr_number(get).ok_or_else(|| {
                    CommentError::Setup(
                        "no pull request number: GITHUB_REF is not refs/pull/N/merge and GITHUB_EVENT_PATH names no pull_request (run on `pull_request` events, or set RAPIDATA_PR_NUMBER)".into(),
                    )
                })?;
                let server = var(get, "GITHUB_SERVER_URL")
                    .unwrap_or_else(|| "https://github.com".to_string());
                let run_url = var(get, "GITHUB_RUN_ID")
                    .map(|id| format!("{server}/{repo}/actions/runs/{id}"));
                Ok(Destination {
                    platform,
                    api: var(get, "GITHUB_API_URL")
                        .unwrap_or_else(|| "https://api.github.com".to_string()),
                    repo,
                    number,
                    token,
                    run_url,
                })
            }
            Platform::Gitlab => {
                let token = var(get, "GITLAB_TOKEN").ok_or_else(|| {
                    CommentError::Setup(
                        "GITLAB_TOKEN is not set: a project access token with the `api` scope (CI_JOB_TOKEN cannot write notes)".into(),
                    )
                })?;
                let number = var(get, "RAPIDATA_PR_NUMBER")
                    .or_else(|| var(get, "CI_MERGE_REQUEST_IID"))
                    .and_then(|n| n.trim().parse().ok())
                    .ok_or_else(|| {
                        CommentError::Setup(
                            "CI_MERGE_REQUEST_IID is not set (run in a merge request pipeline)"
                                .into(),
                        )
                    })?;
                Ok(Destination {
                    platform,
                    api: need("CI_API_V4_URL", "the GitLab API base URL")?,
                    repo: need("CI_PROJECT_ID", "the project id")?,
                    number,
                    token,
                    run_url: var(get, "CI_JOB_URL"),
                })
            }
        }
    }
}

fn github_pr_number(get: &dyn Fn(&str) -> Option<String>) -> Option<u64> {
    if let Some(n) = var(get, "RAPIDATA_PR_NUMBER").and_then(|n| n.trim().parse().ok()) {
        return Some(n);
    }
    if let Some(r) = var(get, "GITHUB_REF") {
        if let Some(n) = r
            .strip_prefix("refs/pull/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|n| n.parse().ok())
        {
            return Some(n);
        }
    }
    let path = var(get, "GITHUB_EVENT_PATH")?;
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    event["pull_request"]["number"]
        .as_u64()
        .or_else(|| event["number"].as_u64())
}

/// The hidden marker for `key` (several projects in one repository keep one comment each).
pub fn marker(key: &str) -> String {
    let key: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    format!("<!-- rapidata-plan:{key} -->")
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Created { id: u64, truncated: bool },
    Updated { id: u64, truncated: bool },
}

#[derive(Debug, Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

/// The comment body: the marker, then the Markdown cut to the platform's limit.
pub fn body(dest: &Destination, key: &str, markdown: &str) -> (String, bool) {
    let marker = marker(key);
    let pointer = match &dest.run_url {
        Some(url) => format!("The full plan is in the CI run: {url} (`rapidata plan --out plan.json` saves it as an artifact)."),
        None => "The full plan: `rapidata plan --format json`, or the artifact of `rapidata plan --out plan.json`.".to_string(),
    };
    let note = format!(
        "**The plan is cut here** to stay under {}'s limit of {} characters. {pointer}",
        dest.platform.name(),
        crate::report::style::thousands(dest.platform.limit() as u64)
    );
    let room = dest.platform.limit() - marker.chars().count() - 1;
    let fitted = fit(markdown, room, &note);
    let truncated = fitted != markdown;
    (format!("{marker}\n{fitted}"), truncated)
}

/// Creates the comment, or edits the one carrying this key's marker.
pub async fn upsert(dest: &Destination, key: &str, markdown: &str) -> Result<Posted, CommentError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("rapidata/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CommentError::Setup(format!("HTTP client: {e}")))?;
    let (text, truncated) = body(dest, key, markdown);
    let marker = marker(key);
    let existing = find(&http, dest, &marker).await?;
    let payload = serde_json::json!({ "body": text });
    let (req, what) = match (dest.platform, existing) {
        (Platform::Github, Some(id)) => (
            http.patch(format!(
                "{}/repos/{}/issues/comments/{id}",
                dest.api, dest.repo
            )),
            "editing the comment",
        ),
        (Platform::Github, None) => (
            http.post(format!(
                "{}/repos/{}/issues/{}/comments",
                dest.api, dest.repo, dest.number
            )),
            "creating the comment",
        ),
        (Platform::Gitlab, Some(id)) => (
            http.put(format!(
                "{}/projects/{}/merge_requests/{}/notes/{id}",
                dest.api,
                gitlab_project(&dest.repo),
                dest.number
            )),
            "editing the note",
        ),
        (Platform::Gitlab, None) => (
            http.post(format!(
                "{}/projects/{}/merge_requests/{}/notes",
                dest.api,
                gitlab_project(&dest.repo),
                dest.number
            )),
            "creating the note",
        ),
    };
    let resp = auth(req, dest)
        .json(&payload)
        .send()
        .await
        .map_err(|e| api_error(dest, what, e.without_url().to_string()))?;
    let comment: Comment = decode(dest, what, resp).await?;
    Ok(match existing {
        Some(_) => Posted::Updated {
            id: comment.id,
            truncated,
        },
        None => Posted::Created {
            id: comment.id,
            truncated,
        },
    })
}

fn gitlab_project(id: &str) -> String {
    // A path (`group/project`) is URL-encoded; a numeric id is used as is.
    id.replace('/', "%2F")
}

fn auth(req: reqwest::RequestBuilder, dest: &Destination) -> reqwest::RequestBuilder {
    match dest.platform {
        Platform::Github => req
            .bearer_auth(&dest.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28"),
        Platform::Gitlab => req.header("PRIVATE-TOKEN", &dest.token),
    }
}

fn api_error(dest: &Destination, what: &'static str, detail: String) -> CommentError {
    // A server could echo the token; it is masked whatever it says.
    let detail = detail.replace(&dest.token, "***");
    CommentError::Api {
        platform: dest.platform.name(),
        what,
        detail,
    }
}

async fn decode<T: serde::de::DeserializeOwned>(
    dest: &Destination,
    what: &'static str,
    resp: reqwest::Response,
) -> Result<T, CommentError> {
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| api_error(dest, what, e.without_url().to_string()))?;
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&bytes).chars().take(500).collect();
        let hint = match status.as_u16() {
            401 => " (the token is not accepted)",
            403 | 404 => " (the token may lack the right to write comments: `pull-requests: write` on GitHub, the `api` scope on GitLab)",
            _ => "",
        };
        return Err(api_error(
            dest,
            what,
            format!("HTTP {status}{hint}: {text}"),
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| api_error(dest, what, format!("unexpected response: {e}")))
}

/// The id of the comment that carries `marker`, looking through every page.
async fn find(
    http: &reqwest::Client,
    dest: &Destination,
    marker: &str,
) -> Result<Option<u64>, CommentError> {
    const PER_PAGE: usize = 100;
    // A bound, so a misbehaving server cannot keep us paging forever (10,000 comments).
    for page in 1..=100 {
        let url = match dest.platform {
            Platform::Github => format!(
                "{}/repos/{}/issues/{}/comments?per_page={PER_PAGE}&page={page}",
                dest.api, dest.repo, dest.number
            ),
            Platform::Gitlab => format!(
                "{}/projects/{}/merge_requests/{}/notes?per_page={PER_PAGE}&page={page}&sort=asc",
                dest.api,
                gitlab_project(&dest.repo),
                dest.number
            ),
        };
        let resp = auth(http.get(url), dest)
            .send()
            .await
            .map_err(|e| api_error(dest, "listing comments", e.without_url().to_string()))?;
        let comments: Vec<Comment> = decode(dest, "listing comments", resp).await?;
        if let Some(c) = comments
            .iter()
            .find(|c| c.body.as_deref().is_some_and(|b| b.starts_with(marker)))
        {
            return Ok(Some(c.id));
        }
        if comments.len() < PER_PAGE {
            return Ok(None);
        }
    }
    Ok(None)
}
