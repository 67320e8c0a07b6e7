//! Typed API failures.
//!
//! Everything the server said about a failure (problem+json members and the `x-trace-id`
//! header) is kept, because the failure report shows it and support needs the trace id.
//! [`ApiError::OutcomeUnknown`] is its own variant so callers cannot mistake "maybe
//! created" for "failed" and blindly re-send a create.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// RFC 9457 problem details as the Rapidata API sends them, with its extension members.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub instance: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Validation errors keyed by field path.
    #[serde(default)]
    pub errors: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// Ingestion stage of a failed asset upload.
    #[serde(default)]
    pub stage: Option<String>,
    /// HTTP status of the upstream URL fetch.
    #[serde(default)]
    pub upstream_http_status: Option<u16>,
    /// On 409 from a revision create with `requireLatest`.
    #[serde(default)]
    pub latest_revision_number: Option<u32>,
}

impl ProblemDetails {
    /// Parse a response body; a body that is not problem JSON still yields a problem whose
    /// detail is the (truncated) body, so nothing the server said is lost.
    pub fn from_body(status: u16, body: &[u8]) -> ProblemDetails {
        let mut p = match serde_json::from_slice::<ProblemDetails>(body) {
            Ok(p) => p,
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                ProblemDetails {
                    detail: (!text.is_empty()).then(|| text.chars().take(500).collect()),
                    ..ProblemDetails::default()
                }
            }
        };
        if p.status.is_none() {
            p.status = Some(status);
        }
        p
    }
}

/// Credential and token failures.
#[derive(thiserror::Error, Debug)]
pub enum AuthError {
    #[error(
        "no Rapidata credentials found for {auth_endpoint}: set RAPIDATA_TOKEN_FILE, or RAPIDATA_CLIENT_ID and RAPIDATA_CLIENT_SECRET, or add an entry to {}",
        credentials_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "~/.config/rapidata/credentials.json".into())
    )]
    NoCredentials {
        auth_endpoint: String,
        credentials_file: Option<PathBuf>,
    },
    #[error("{missing} is not set, but its partner variable is")]
    IncompleteEnv { missing: &'static str },
    #[error("cannot read credentials file {}: {message}", path.display())]
    CredentialsFile { path: PathBuf, message: String },
    #[error("cannot use token file {}: {message}", path.display())]
    TokenFile { path: PathBuf, message: String },
    #[error("token endpoint refused the credentials (HTTP {status}): {}{}", error.as_deref().unwrap_or("no error code"), description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenRejected {
        status: u16,
        error: Option<String>,
        description: Option<String>,
    },
    #[error("cannot reach the token endpoint {url}: {message}")]
    TokenTransport { url: String, message: String },
    #[error("unexpected token endpoint response: {message}")]
    TokenDecode { message: String },
}

#[derive(thiserror::Error, Debug)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{route}: HTTP {status}: {}{}", problem.title.as_deref().unwrap_or("error"), trace_id.as_ref().map(|t| format!(" (trace {t})")).unwrap_or_default())]
    Problem {
        status: u16,
        /// Boxed: keeps `Result<_, ApiError>` small on the hot path.
        problem: Box<ProblemDetails>,
        trace_id: Option<String>,
        route: String,
    },
    /// A create was sent but no answer came back (timeout, dropped connection, 502/504):
    /// it may or may not have happened. Never re-sent; observe the remote again first.
    #[error("{route}: outcome unknown, the request may have been processed: {message}")]
    OutcomeUnknown { route: String, message: String },
    /// No usable answer after all retries, for a request that was safe to repeat.
    #[error("{route}: {message}")]
    Transport { route: String, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{route}: unexpected response: {message}")]
    Decode { route: String, message: String },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl ApiError {
    /// Worth trying again later with the same request. `OutcomeUnknown` is not: the
    /// caller must observe before deciding.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Problem { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            ApiError::Transport { .. } => true,
            ApiError::Auth(AuthError::TokenTransport { .. }) => true,
            _ => false,
        }
    }

    pub fn trace_id(&self) -> Option<&str> {
        match self {
            ApiError::Problem {
                trace_id, problem, ..
            } => trace_id.as_deref().or(problem.trace_id.as_deref()),
            _ => None,
        }
    }

    /// The failure reason, like the SDK's `RapidataError.get_reason`: the problem title.
    pub fn reason(&self) -> String {
        match self {
            ApiError::Problem {
                problem, status, ..
            } => problem
                .title
                .clone()
                .or_else(|| problem.detail.clone())
                .or_else(|| problem.message.clone())
                .unwrap_or_else(|| format!("HTTP {status}")),
            other => other.to_string(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Problem { status, .. } => match status {
                400 | 422 => "ValidationError",
                401 => "Unauthorized",
                403 => "Forbidden",
                404 => "NotFound",
                409 => "Conflict",
                429 => "RateLimited",
                500..=599 => "ServerError",
                _ => "ClientError",
            },
            ApiError::OutcomeUnknown { .. } => "OutcomeUnknown",
            ApiError::Transport { .. } => "TransportError",
            ApiError::Auth(_) => "AuthError",
            ApiError::Decode { .. } => "DecodeError",
            ApiError::Io { .. } => "IoError",
            ApiError::Config(_) => "ConfigError",
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            ApiError::Problem { status, .. } => Some(*status),
            ApiError::Auth(AuthError::TokenRejected { status, .. }) => Some(*status),
            _ => None,
        }
    }

    pub fn stage(&self) -> Option<&str> {
        match self {
            ApiError::Problem { problem, .. } => problem.stage.as_deref(),
            _ => None,
        }
    }

    pub fn problem(&self) -> Option<&ProblemDetails> {
        match self {
            ApiError::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }
}
