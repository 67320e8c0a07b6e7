//! Access tokens: fetched once, shared by every request, refreshed shortly before expiry.
//!
//! "Shortly" is the SDK's 60 s for ordinary tokens, but at most a quarter of the token's
//! lifetime: a token that lives 60 s or less would otherwise be stale the moment it
//! arrives, and every request would fetch a new one.
//!
//! The cache sits behind one async mutex, so when a token expires under a burst of
//! concurrent requests exactly one of them refreshes and the rest wait for its result
//! (single flight) instead of stampeding the token endpoint.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;

use super::config::{Credentials, RetryPolicy, Secret};
use super::error::AuthError;

/// Refresh this long before the token's stated expiry (the SDK's default leeway)...
pub const LEEWAY: Duration = Duration::from_secs(60);
/// ...but never earlier than this fraction of the lifetime has passed.
pub const MAX_LEEWAY_FRACTION: f64 = 0.25;

/// When a token obtained now and expiring at `expires_at` should be replaced.
fn refresh_time(now: f64, expires_at: f64) -> f64 {
    let lifetime = (expires_at - now).max(0.0);
    expires_at - LEEWAY.as_secs_f64().min(lifetime * MAX_LEEWAY_FRACTION)
}

#[derive(Clone, PartialEq)]
pub(crate) struct Token {
    pub access_token: Secret,
    /// Unix seconds; `None` never expires (no `expires_in` given).
    pub expires_at: Option<f64>,
    /// Unix seconds after which the token is replaced (see [`refresh_time`]).
    pub refresh_at: Option<f64>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"***")
            .field("expires_at", &self.expires_at)
            .field("refresh_at", &self.refresh_at)
            .finish()
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Token {
    fn new(access_token: Secret, expires_at: Option<f64>) -> Token {
        let now = now_secs();
        Token {
            access_token,
            expires_at,
            refresh_at: expires_at.map(|at| refresh_time(now, at)),
        }
    }

    fn fresh(&self) -> bool {
        match self.refresh_at {
            None => true,
            Some(at) => now_secs() < at,
        }
    }
}

pub(crate) struct TokenProvider {
    credentials: Credentials,
    token_url: String,
    http: reqwest::Client,
    retry: RetryPolicy,
    cache: tokio::sync::Mutex<Option<Token>>,
    pub fetches: AtomicU64,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider")
            .field("credentials", &self.credentials)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<f64>,
}

#[derive(serde::Deserialize)]
struct TokenFileContent {
    access_token: String,
    #[serde(default)]
    expires_at: Option<f64>,
}

#[derive(serde::Deserialize, Default)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl TokenProvider {
    pub fn new(
        credentials: Credentials,
        token_url: String,
        http: reqwest::Client,
        retry: RetryPolicy,
    ) -> Self {
        TokenProvider {
            credentials,
            token_url,
            http,
            retry,
            cache: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// A token fresh for at least the leeway, fetching one if needed.
    pub async fn token(&self) -> Result<Token, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.as_ref().filter(|t| t.fresh()) {
            return Ok(t.clone());
        }
        let t = self.fetch().await?;
        *cache = Some(t.clone());
        Ok(t)
    }

    /// The server rejected `used` (401): drop it unless someone already replaced it.
    pub async fn invalidate(&self, used: &Token) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref() == Some(used) {
            *cache = None;
        }
    }

    async fn fetch(&self) -> Result<Token, AuthError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match &self.credentials {
            Credentials::TokenFile(path) => read_token_file(path).await,
            Credentials::ClientSecret {
                client_id,
                client_secret,
            } => self.client_credentials(client_id, client_secret).await,
        }
    }

    async fn client_credentials(
        &self,
        client_id: &str,
        secret: &Secret,
    ) -> Result<Token, AuthError> {
        // client_secret_basic as authlib does it: id and secret NOT url-encoded.
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{}", secret.expose()));
        let mut attempt = 0u32;
        loop {
            let sent = self
                .http
                .post(&self.token_url)
                .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
                .header(reqwest::header::ACCEPT, "application/json")
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded;charset=UTF-8",
                )
                .body("grant_type=client_credentials&scope=openid+email+api")
                .send()
                .await;
            let transient_msg = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = super::transport::retry_after(resp.headers());
                    let body = resp.bytes().await.map_err(|e| AuthError::TokenTransport {
                        url: self.token_url.clone(),
                        message: e.to_string(),
                    })?;
                    if (200..300).contains(&status) {
                        let t: TokenResponse =
                            serde_json::from_slice(&body).map_err(|e| AuthError::TokenDecode {
                                message: e.to_string(),
                            })?;
                        return Ok(Token::new(
                            Secret::new(t.access_token),
                            t.expires_in.map(|s| now_secs() + s),
                        ));
                    }
                    let retryable = matches!(status, 429 | 502 | 503 | 504);
                    if matches!(status, 408 | 429 | 500..=599)
                        && (!retryable || attempt >= self.retry.max_retries)
                    {
                        // Busy or failing, not a verdict on the credentials: transient.
                        return Err(AuthError::TokenUnavailable {
                            url: self.token_url.clone(),
                            status,
                            attempts: attempt + 1,
                        });
                    }
                    if !retryable {
                        let e: OAuthError = serde_json::from_slice(&body).unwrap_or_default();
                        return Err(AuthError::TokenRejected {
                            status,
                            error: e.error,
                            description: e.error_description,
                        });
                    }
                    tokio::time::sleep(retry_after.unwrap_or_else(|| self.retry.backoff(attempt)))
                        .await;
                    None
                }
                Err(e) => Some(e.to_string()),
            };
            if let Some(message) = transient_msg {
                if attempt >= self.retry.max_retries {
                    return Err(AuthError::TokenTransport {
                        url: self.token_url.clone(),
                        message,
                    });
                }
                tokio::time::sleep(self.retry.backoff(attempt)).await;
            }
            attempt += 1;
        }
    }
}

async fn read_token_file(path: &Path) -> Result<Token, AuthError> {
    let bad = |message: String| AuthError::TokenFile {
        path: PathBuf::from(path),
        message,
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| bad(e.to_string()))?;
    let t: TokenFileContent = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "expected {{access_token, token_type, expires_at}}: {e}"
        ))
    })?;
    if let Some(at) = t.expires_at {
        if at <= now_secs() {
            return Err(bad(format!(
                "the token expired at unix time {at}; refresh the file"
            )));
        }
    }
    Ok(Token::new(Secret::new(t.access_token), t.expires_at))
}
