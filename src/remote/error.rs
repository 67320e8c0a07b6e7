//! Typed API failures.
//!
//! Everything the server said about a failure (problem+json members and the `x-trace-id`
//! header) is kept, because the failure report shows it and support needs the trace id.
//! [`ApiError::OutcomeUnknown`] is its own variant so callers cannot mistake "maybe
//! created" for "failed" and blindly re-send a create.
//!
//! Every caller decides what to do with a failure from [`ApiError::class`]: one policy,
//! computed from the typed error (status code, variant), never from message text.

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

/// Field errors shown in a message: at most this many fields...
const MAX_FIELDS_SHOWN: usize = 5;
/// ...and this many characters per message.
const MAX_FIELD_MESSAGE: usize = 300;

impl ProblemDetails {
    /// The field validation errors as one line: `field: message; field: message`,
    /// bounded so a huge server answer cannot flood a report.
    pub fn field_errors(&self) -> Option<String> {
        if self.errors.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = self
            .errors
            .iter()
            .take(MAX_FIELDS_SHOWN)
            .map(|(field, msgs)| {
                let joined = msgs.join(" ");
                let mut text: String = joined.chars().take(MAX_FIELD_MESSAGE).collect();
                if text.len() < joined.len() {
                    text.push('…');
                }
                if field.is_empty() {
                    text
                } else {
                    format!("{field}: {text}")
                }
            })
            .collect();
        if self.errors.len() > MAX_FIELDS_SHOWN {
            parts.push(format!(
                "and {} more fields",
                self.errors.len() - MAX_FIELDS_SHOWN
            ));
        }
        Some(parts.join("; "))
    }

    /// The title (or detail, or message), followed by the field errors.
    pub fn summary(&self) -> Option<String> {
        let head = self
            .title
            .clone()
            .or_else(|| self.detail.clone())
            .or_else(|| self.message.clone());
        match (head, self.field_errors()) {
            (Some(h), Some(f)) => Some(format!("{}: {f}", h.trim_end_matches('.'))),
            (h, f) => h.or(f),
        }
    }

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
    /// The token endpoint was busy or failing (429, 5xx) through all retries: nothing is
    /// wrong with the credentials, a later attempt may succeed.
    #[error("token endpoint {url} unavailable (HTTP {status}) after {attempts} attempts")]
    TokenUnavailable {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("cannot reach the token endpoint {url}: {message}")]
    TokenTransport { url: String, message: String },
    #[error("unexpected token endpoint response: {message}")]
    TokenDecode { message: String },
}

/// What a failure means for the caller; see [`ApiError::class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FailureClass {
    /// The request did not take effect and may succeed later: retry it (in a later round).
    Transient,
    /// Repeating the same request cannot succeed (bad input, missing permission, ...).
    Permanent,
    /// A create may or may not have happened. Never re-sent: the next observation of the
    /// remote decides whether it is still missing.
    OutcomeUnknown,
}

#[derive(thiserror::Error, Debug)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{route}: HTTP {status}: {}{}", problem_text(problem), trace_suffix(trace_id.as_deref()))]
    Problem {
        status: u16,
        /// Boxed: keeps `Result<_, ApiError>` small on the hot path.
        problem: Box<ProblemDetails>,
        trace_id: Option<String>,
        route: String,
    },
    /// A create was sent and no usable answer came back (timeout, dropped connection,
    /// 500/502/504): it may or may not have happened. Never re-sent; observe the remote
    /// again first. `status`, `problem` and `trace_id` are kept when the server answered.
    #[error("{route}: outcome unknown, the request may have been processed: {message}{}", trace_suffix(trace_id.as_deref()))]
    OutcomeUnknown {
        route: String,
        message: String,
        status: Option<u16>,
        problem: Option<Box<ProblemDetails>>,
        trace_id: Option<String>,
    },
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

/// The summary, plus the detail when there is a title and the detail adds something.
fn problem_text(problem: &ProblemDetails) -> String {
    let mut text = problem.summary().unwrap_or_else(|| "error".into());
    if let Some(detail) = problem.detail.as_deref() {
        if problem.title.is_some() && !detail.is_empty() && !text.contains(detail) {
            text.push_str(&format!(" ({detail})"));
        }
    }
    text
}

fn trace_suffix(trace_id: Option<&str>) -> String {
    trace_id
        .map(|t| format!(" (trace {t})"))
        .unwrap_or_default()
}

impl ApiError {
    /// The one failure policy: what a caller may do after this error. Decided from the
    /// status code and the variant only.
    ///
    /// * 408, 429, 5xx on a request that was safe to repeat, transport failures, and a busy
    ///   or unreachable token endpoint: [`FailureClass::Transient`].
    /// * A create that may have happened (the transport turns 500/502/504, timeouts and
    ///   lost connections on creates into [`ApiError::OutcomeUnknown`]):
    ///   [`FailureClass::OutcomeUnknown`].
    /// * Everything else (other 4xx, rejected credentials, unreadable files, undecodable
    ///   answers): [`FailureClass::Permanent`].
    pub fn class(&self) -> FailureClass {
        match self {
            ApiError::Problem { status, .. } => match status {
                408 | 429 | 500..=599 => FailureClass::Transient,
                _ => FailureClass::Permanent,
            },
            ApiError::OutcomeUnknown { .. } => FailureClass::OutcomeUnknown,
            ApiError::Transport { .. } => FailureClass::Transient,
            ApiError::Auth(a) => match a {
                AuthError::TokenTransport { .. }
                | AuthError::TokenUnavailable { .. }
                | AuthError::TokenRejected {
                    status: 408 | 429 | 500..=599,
                    ..
                } => FailureClass::Transient,
                _ => FailureClass::Permanent,
            },
            ApiError::Decode { .. } | ApiError::Io { .. } | ApiError::Config(_) => {
                FailureClass::Permanent
            }
        }
    }

    /// Worth trying again later with the same request. `OutcomeUnknown` is not: the
    /// caller must observe before deciding.
    pub fn is_transient(&self) -> bool {
        self.class() == FailureClass::Transient
    }

    /// Repeating the request cannot help.
    pub fn is_permanent(&self) -> bool {
        self.class() == FailureClass::Permanent
    }

    pub fn is_outcome_unknown(&self) -> bool {
        self.class() == FailureClass::OutcomeUnknown
    }

    /// The server refused a create because `field` names something that already exists:
    /// HTTP 409, or a validation problem (400/422) whose field errors are about `field`
    /// alone (how `POST /dataset/{datasetId}/group` reports an existing group: the
    /// contract declares only 400 for it). Decided from status and field names, not text.
    pub fn is_conflict_on(&self, field: &str) -> bool {
        match self {
            ApiError::Problem { status: 409, .. } => true,
            ApiError::Problem {
                status: 400 | 422,
                problem,
                ..
            } => {
                !problem.errors.is_empty()
                    && problem.errors.keys().all(|k| k.eq_ignore_ascii_case(field))
            }
            _ => false,
        }
    }

    pub fn trace_id(&self) -> Option<&str> {
        match self {
            ApiError::Problem {
                trace_id, problem, ..
            } => trace_id.as_deref().or(problem.trace_id.as_deref()),
            ApiError::OutcomeUnknown {
                trace_id, problem, ..
            } => trace_id
                .as_deref()
                .or(problem.as_ref().and_then(|p| p.trace_id.as_deref())),
            _ => None,
        }
    }

    /// The failure reason, like the SDK's `RapidataError.get_reason` (the problem title),
    /// followed by the field validation errors when there are any.
    pub fn reason(&self) -> String {
        match self {
            ApiError::Problem {
                problem, status, ..
            } => problem
                .summary()
                .unwrap_or_else(|| format!("HTTP {status}")),
            ApiError::OutcomeUnknown { message, .. } => {
                format!("outcome unknown, the request may have been processed: {message}")
            }
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
            ApiError::OutcomeUnknown { status, .. } => *status,
            ApiError::Auth(AuthError::TokenRejected { status, .. })
            | ApiError::Auth(AuthError::TokenUnavailable { status, .. }) => Some(*status),
            _ => None,
        }
    }

    pub fn stage(&self) -> Option<&str> {
        self.problem().and_then(|p| p.stage.as_deref())
    }

    pub fn problem(&self) -> Option<&ProblemDetails> {
        match self {
            ApiError::Problem { problem, .. } => Some(problem),
            ApiError::OutcomeUnknown { problem, .. } => problem.as_deref(),
            _ => None,
        }
    }
}
