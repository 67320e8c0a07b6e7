//! One HTTP exchange with the API, with the retry rule that keeps creates exactly-once.
//!
//! The rule (see docs/client.md): a request that is safe to repeat (GET, DELETE, asset
//! uploads) is retried on connect errors, timeouts, 429, 502, 503 and 504. A create is
//! retried only when the server provably did not process it: connection refused, or a
//! 429 answer. When a create was sent and no usable answer came back (timeout, dropped
//! connection, 500 from the server, 502/503/504 from a gateway or from a server after the
//! write), the result is
//! [`ApiError::OutcomeUnknown`] and it is never re-sent: the caller observes the remote
//! again before deciding. The official
//! SDK re-sends such POSTs, which is how it duplicates datapoints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;

use super::auth::TokenProvider;
use super::config::{ClientConfig, Endpoints, RetryPolicy};
use super::error::{ApiError, ProblemDetails};

/// `Retry-After` is honoured up to this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Repeating it cannot create a duplicate (reads, deletes, asset uploads, polling).
    Repeatable,
    /// Creates something; must never be sent twice unless provably not processed.
    Create,
}

pub(crate) enum Body {
    Empty,
    /// A JSON document, already serialised.
    Json(Vec<u8>),
    /// Streamed from disk in a multipart part named `file`, re-opened on each attempt.
    File {
        path: PathBuf,
        file_name: String,
        mime: String,
        size: u64,
    },
    /// A small file read into memory once: one multipart part named `file`.
    Bytes {
        bytes: Vec<u8>,
        file_name: String,
        mime: String,
    },
}

pub(crate) struct Request {
    pub method: Method,
    /// Route template for stats and errors, e.g. `/dataset/{datasetId}/datapoint`.
    pub route: &'static str,
    /// Concrete path, ids already percent-encoded.
    pub path: String,
    /// Decoded pairs; encoded like the SDK (`urllib.parse.quote`).
    pub query: Vec<(String, String)>,
    pub body: Body,
    pub safety: Safety,
}

impl Request {
    pub fn new(method: Method, route: &'static str, path: String, safety: Safety) -> Self {
        Request {
            method,
            route,
            path,
            query: Vec::new(),
            body: Body::Empty,
            safety,
        }
    }
    pub fn json(self, v: Value) -> Self {
        self.json_ref(&v)
    }
    /// Serialised once here, not on every attempt, and without cloning the caller's tree.
    pub fn json_ref(mut self, v: &Value) -> Self {
        // Serialising a `Value` cannot fail: its map keys are always strings.
        self.body = Body::Json(serde_json::to_vec(v).unwrap_or_default());
        self
    }
    /// A JSON body already serialised.
    pub fn json_bytes(mut self, body: Vec<u8>) -> Self {
        self.body = Body::Json(body);
        self
    }
    pub fn query(mut self, k: &str, v: impl ToString) -> Self {
        self.query.push((k.to_string(), v.to_string()));
        self
    }
    /// How errors and counters name the request.
    pub fn id(&self) -> RouteId {
        RouteId::of(self)
    }
}

/// `"METHOD /route-template"`: how errors and counters name a request, formatted only when
/// it is shown (a request that succeeds never needs it).
#[derive(Debug, Clone)]
pub(crate) struct RouteId {
    method: Method,
    route: &'static str,
}

impl RouteId {
    pub fn of(req: &Request) -> RouteId {
        RouteId {
            method: req.method.clone(),
            route: req.route,
        }
    }
}

impl std::fmt::Display for RouteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.route)
    }
}

pub(crate) struct Response {
    pub body: Vec<u8>,
    /// The `x-trace-id` the server sent with the answer, for failures reported inside a
    /// successful answer (URL batch results).
    pub trace_id: Option<String>,
}

/// Counters of what went over the wire; `plan` and benchmarks report them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// API requests sent (each attempt counts).
    pub requests: u64,
    /// By `"METHOD /route-template"`.
    pub by_route: BTreeMap<String, u64>,
    /// Attempts that were repeats of an earlier one (transient faults, 401 refresh).
    pub retries: u64,
    /// Tokens fetched (or token files read).
    pub token_fetches: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    by_route: Mutex<BTreeMap<String, u64>>,
}

pub(crate) struct Transport {
    http: reqwest::Client,
    /// `endpoints.api`, parsed.
    api_base: reqwest::Url,
    endpoints: Endpoints,
    tokens: TokenProvider,
    permits: tokio::sync::Semaphore,
    retry: RetryPolicy,
    counters: Counters,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("endpoints", &self.endpoints)
            .field("tokens", &self.tokens)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub fn new(config: ClientConfig) -> Result<Transport, ApiError> {
        if config.max_concurrency == 0 {
            return Err(ApiError::Config(
                "max_concurrency must be at least 1".into(),
            ));
        }
        let api_base = reqwest::Url::parse(&config.endpoints.api)
            .map_err(|e| ApiError::Config(format!("API endpoint {}: {e}", config.endpoints.api)))?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("rapidata-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Config(e.to_string()))?;
        let tokens = TokenProvider::new(
            config.credentials,
            config.endpoints.token_url(),
            http.clone(),
            config.retry,
        );
        Ok(Transport {
            http,
            api_base,
            endpoints: config.endpoints,
            tokens,
            permits: tokio::sync::Semaphore::new(config.max_concurrency),
            retry: config.retry,
            counters: Counters::default(),
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            by_route: self
                .counters
                .by_route
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            retries: self.counters.retries.load(Ordering::Relaxed),
            token_fetches: self.tokens.fetches.load(Ordering::Relaxed),
        }
    }

    /// Fetch a token now (for `auth status --check`).
    pub async fn check_token(&self) -> Result<(), ApiError> {
        self.tokens
            .token()
            .await
            .map(|_| ())
            .map_err(ApiError::from)
    }

    /// The request's URL: the API base parsed once ([`Transport::new`]), its path and
    /// query set, rather than a string the HTTP client parses again (host and all) on every
    /// request.
    fn url(&self, req: &Request) -> reqwest::Url {
        let mut url = self.api_base.clone();
        let base_path = url.path().trim_end_matches('/');
        let path = format!("{base_path}{}", req.path);
        url.set_path(&path);
        if !req.query.is_empty() {
            let parts: Vec<String> = req
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
                .collect();
            url.set_query(Some(&parts.join("&")));
        }
        url
    }

    async fn build(
        &self,
        req: &Request,
        bearer: &str,
    ) -> Result<reqwest::RequestBuilder, ApiError> {
        let rb = self
            .http
            .request(req.method.clone(), self.url(req))
            .header(AUTHORIZATION, format!("Bearer {bearer}"))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                HeaderName::from_static("x-client"),
                HeaderValue::from_static(concat!("rapidata-rs/", env!("CARGO_PKG_VERSION"))),
            );
        Ok(match &req.body {
            Body::Empty => rb,
            Body::Json(v) => rb
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(v.clone()),
            Body::File {
                path,
                file_name,
                mime,
                size,
            } => {
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|source| ApiError::Io {
                        path: path.clone(),
                        source,
                    })?;
                let part =
                    reqwest::multipart::Part::stream_with_length(reqwest::Body::from(file), *size)
                        .file_name(file_name.clone())
                        .mime_str(mime)
                        .map_err(|e| ApiError::Config(format!("content type {mime}: {e}")))?;
                rb.multipart(reqwest::multipart::Form::new().part("file", part))
            }
            Body::Bytes {
                bytes,
                file_name,
                mime,
            } => {
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(file_name.clone())
                    .mime_str(mime)
                    .map_err(|e| ApiError::Config(format!("content type {mime}: {e}")))?;
                rb.multipart(reqwest::multipart::Form::new().part("file", part))
            }
        })
    }

    pub async fn send(&self, req: &Request) -> Result<Response, ApiError> {
        let route = req.id().to_string();
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        loop {
            let token = self.tokens.token().await?;
            let builder = self.build(req, token.access_token.expose()).await?;
            let permit = self
                .permits
                .acquire()
                .await
                .map_err(|e| ApiError::Config(e.to_string()))?;
            self.count(&route, attempt > 0 || refreshed);
            let sent = builder.send().await;
            let outcome = match sent {
                Ok(resp) => {
                    // Only what is used of the headers, not a copy of them all.
                    let status = resp.status().as_u16();
                    let answer = Answered {
                        trace_id: trace_header(resp.headers()),
                        retry_after: retry_after(resp.headers()),
                    };
                    match resp.bytes().await {
                        Ok(body) => Ok((status, answer, Vec::from(body))),
                        Err(e) => Err((false, format!("reading the response failed: {e}"))),
                    }
                }
                Err(e) => Err((e.is_connect(), describe(&e))),
            };
            drop(permit);
            match outcome {
                Ok((status, answer, body)) if (200..300).contains(&status) => {
                    return Ok(Response {
                        body,
                        trace_id: answer.trace_id,
                    })
                }
                Ok((401, _, _)) if !refreshed => {
                    refreshed = true;
                    self.tokens.invalidate(&token).await;
                }
                Ok((status, answer, body)) => {
                    // Only a 429 proves the request was not processed: a 503 can come from
                    // a gateway or a server after the write committed (the fault benchmark
                    // has it), so for a create it is as ambiguous as a 502 or 504.
                    let provably_unprocessed = status == 429;
                    let gateway = matches!(status, 502..=504);
                    if !(req.safety == Safety::Create && (gateway || status == 500))
                        && (provably_unprocessed || gateway)
                        && attempt < self.retry.max_retries
                    {
                        let wait = answer
                            .retry_after
                            .unwrap_or_else(|| self.retry.backoff(attempt));
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    let problem = Box::new(ProblemDetails::from_body(status, &body));
                    let trace_id = answer.trace_id.or_else(|| problem.trace_id.clone());
                    // A create answered 500 (the server failed somewhere while handling it) or
                    // 502/503/504 (a gateway lost the answer) may have happened: never re-sent,
                    // the next observation decides.
                    if req.safety == Safety::Create && (gateway || status == 500) {
                        let what = if gateway {
                            "from a gateway after the request was sent"
                        } else {
                            "while the server handled the request"
                        };
                        let said = problem
                            .summary()
                            .map(|s| format!(": {s}"))
                            .unwrap_or_default();
                        return Err(ApiError::OutcomeUnknown {
                            route,
                            message: format!("HTTP {status} {what}{said}"),
                            status: Some(status),
                            problem: Some(problem),
                            trace_id,
                        });
                    }
                    return Err(ApiError::Problem {
                        status,
                        problem,
                        trace_id,
                        route,
                    });
                }
                Err((not_sent, message)) => {
                    if req.safety == Safety::Create && !not_sent {
                        return Err(ApiError::OutcomeUnknown {
                            route,
                            message,
                            status: None,
                            problem: None,
                            trace_id: None,
                        });
                    }
                    if attempt >= self.retry.max_retries {
                        return Err(ApiError::Transport { route, message });
                    }
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    fn count(&self, route: &str, retry: bool) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if retry {
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut m) = self.counters.by_route.lock() {
            match m.get_mut(route) {
                Some(n) => *n += 1,
                None => {
                    m.insert(route.to_string(), 1);
                }
            }
        }
    }
}

/// What a response's headers say that is used.
struct Answered {
    trace_id: Option<String>,
    retry_after: Option<Duration>,
}

fn trace_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "connection lost"
    };
    let mut msg = format!("{what}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

/// `Retry-After` in seconds (integer or decimal), capped at [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(v).min(MAX_RETRY_AFTER))
}

/// Percent-encode like Python's `urllib.parse.quote` (unreserved and `/` kept).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encode one path segment (an id), so an odd id cannot change the route.
pub(crate) fn seg(s: &str) -> String {
    quote(s).replace('/', "%2F")
}
