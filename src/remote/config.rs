//! Where the API is, who we are, and how patient to be.
//!
//! Credentials are resolved from the same sources, in the same order, as the official SDK
//! 3.27.1, so a machine already set up for the SDK works unchanged. Secrets live in
//! [`Secret`], whose `Debug`/`Display` never show the value: logs, panics and
//! `{:?}` dumps of any struct holding one stay safe.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::AuthError;

/// The two hosts the API lives on. No trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub api: String,
    pub auth: String,
}

impl Endpoints {
    /// `https://api.{env}` and `https://auth.{env}`, hard-coded like the SDK does.
    pub fn for_environment(env: &str) -> Self {
        let env = env.trim().trim_end_matches('/');
        Endpoints {
            api: format!("https://api.{env}"),
            auth: format!("https://auth.{env}"),
        }
    }

    /// One base URL serving both the API and `/connect/token` (the emulator).
    pub fn single(base_url: &str) -> Self {
        let base = base_url.trim().trim_end_matches('/').to_string();
        Endpoints {
            api: base.clone(),
            auth: base,
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/connect/token", self.auth)
    }

    /// Whether the endpoints are safe to send credentials to. Refused: anything but
    /// `http(s)://`, credentials in the URL (`user:pass@`, which would end up in logs,
    /// plans and error messages), and plain `http://` to a host that is not loopback
    /// unless `allow_http`. Returns warnings to print (plain `http://` when allowed).
    /// Messages never repeat a URL's credentials.
    pub fn check(&self, allow_http: bool) -> Result<Vec<String>, String> {
        let mut warnings = Vec::new();
        let both = [("API", &self.api), ("auth", &self.auth)];
        let checked = if self.api == self.auth {
            &both[..1]
        } else {
            &both[..]
        };
        for &(what, url) in checked {
            let shown = crate::manifest::redact::mask_url_userinfo(url);
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| format!("the {what} endpoint `{shown}` is not a URL: {e}"))?;
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(format!(
                    "the {what} endpoint `{shown}` contains credentials (user:password@); pass them as RAPIDATA_CLIENT_ID / RAPIDATA_CLIENT_SECRET instead"
                ));
            }
            match parsed.scheme() {
                "https" => {}
                "http" if is_loopback(&parsed) => {}
                "http" if allow_http => warnings.push(format!(
                    "the {what} endpoint `{shown}` is plain http:// to a host that is not loopback: the client secret and access tokens cross the network unencrypted"
                )),
                "http" => {
                    return Err(format!(
                        "the {what} endpoint `{shown}` is plain http:// to a host that is not loopback: the client secret and access tokens would cross the network unencrypted; use https://, or pass --allow-http if this is really intended"
                    ))
                }
                other => {
                    return Err(format!(
                        "the {what} endpoint `{shown}` has scheme `{other}`; use https://"
                    ))
                }
            }
        }
        Ok(warnings)
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// A secret string (client secret, access token). Prints as `***` everywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, only for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A file holding `{access_token, token_type, expires_at}`, kept fresh by some other
    /// process; re-read whenever the cached token has expired.
    TokenFile(PathBuf),
    /// OAuth client credentials, exchanged at `{auth}/connect/token`.
    ClientSecret {
        client_id: String,
        client_secret: Secret,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::TokenFile(p) => f.debug_tuple("TokenFile").field(p).finish(),
            Credentials::ClientSecret { client_id, .. } => f
                .debug_struct("ClientSecret")
                .field("client_id", client_id)
                .field("client_secret", &"***")
                .finish(),
        }
    }
}

/// Where the credentials were found, for `rapidata auth status` and error messages.
/// Never carries the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `RAPIDATA_TOKEN_FILE` pointed at this file.
    TokenFileEnv { path: PathBuf },
    /// `RAPIDATA_CLIENT_ID` / `RAPIDATA_CLIENT_SECRET`.
    ClientEnv,
    /// An entry of `~/.config/rapidata/credentials.json`.
    CredentialsFile { path: PathBuf, display_name: String },
    /// Given directly by the caller (tests, embedding).
    Explicit,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::TokenFileEnv { path } => {
                write!(
                    f,
                    "token file {} (from RAPIDATA_TOKEN_FILE)",
                    path.display()
                )
            }
            CredentialSource::ClientEnv => {
                f.write_str("environment variables RAPIDATA_CLIENT_ID / RAPIDATA_CLIENT_SECRET")
            }
            CredentialSource::CredentialsFile { path, display_name } => {
                write!(
                    f,
                    "credentials file {} (entry \"{display_name}\")",
                    path.display()
                )
            }
            CredentialSource::Explicit => f.write_str("explicit configuration"),
        }
    }
}

/// Retries of transient faults: exponential backoff with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: uniform in `[0, min(max_delay, base * 2^attempt)]` (attempt 0-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX));
        let cap = exp.min(self.max_delay);
        let millis = cap.as_millis().min(u64::MAX as u128) as u64;
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoints: Endpoints,
    pub credentials: Credentials,
    /// Per request (connect + send + whole response).
    pub request_timeout: Duration,
    /// Requests in flight at once, shared by every clone of the client.
    pub max_concurrency: usize,
    pub retry: RetryPolicy,
}

impl ClientConfig {
    /// Sensible defaults: 60 s per request, 16 in flight, default retries.
    pub fn new(endpoints: Endpoints, credentials: Credentials) -> Self {
        ClientConfig {
            endpoints,
            credentials,
            request_timeout: Duration::from_secs(60),
            max_concurrency: 16,
            retry: RetryPolicy::default(),
        }
    }
}

/// Resolve credentials from the process environment and `$HOME`.
pub fn resolve_credentials(
    endpoints: &Endpoints,
) -> Result<(Credentials, CredentialSource), AuthError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    resolve_credentials_from(&|k| std::env::var(k).ok(), home.as_deref(), endpoints)
}

/// The SDK's order: `RAPIDATA_TOKEN_FILE`, then `RAPIDATA_CLIENT_ID`/`RAPIDATA_CLIENT_SECRET`,
/// then `~/.config/rapidata/credentials.json` keyed by the auth endpoint (latest
/// `last_used` wins). The SDK's browser login is not offered: this is a batch tool.
/// Unlike the SDK, the credentials file is only read, never rewritten.
pub fn resolve_credentials_from(
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
    endpoints: &Endpoints,
) -> Result<(Credentials, CredentialSource), AuthError> {
    let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if let Some(path) = var("RAPIDATA_TOKEN_FILE") {
        let path = PathBuf::from(path);
        return Ok((
            Credentials::TokenFile(path.clone()),
            CredentialSource::TokenFileEnv { path },
        ));
    }
    match (var("RAPIDATA_CLIENT_ID"), var("RAPIDATA_CLIENT_SECRET")) {
        (Some(client_id), Some(secret)) => {
            return Ok((
                Credentials::ClientSecret {
                    client_id,
                    client_secret: Secret::new(secret),
                },
                CredentialSource::ClientEnv,
            ))
        }
        (Some(_), None) => {
            return Err(AuthError::IncompleteEnv {
                missing: "RAPIDATA_CLIENT_SECRET",
            })
        }
        (None, Some(_)) => {
            return Err(AuthError::IncompleteEnv {
                missing: "RAPIDATA_CLIENT_ID",
            })
        }
        (None, None) => {}
    }
    let file = home.map(|h| h.join(".config").join("rapidata").join("credentials.json"));
    if let Some(path) = &file {
        if path.exists() {
            if let Some(found) = read_credentials_file(path, &endpoints.auth)? {
                return Ok(found);
            }
        }
    }
    Err(AuthError::NoCredentials {
        auth_endpoint: endpoints.auth.clone(),
        credentials_file: file,
    })
}

#[derive(serde::Deserialize)]
struct StoredCredential {
    #[serde(default)]
    display_name: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    last_used: Option<String>,
}

fn read_credentials_file(
    path: &Path,
    auth_endpoint: &str,
) -> Result<Option<(Credentials, CredentialSource)>, AuthError> {
    let bad = |message: String| AuthError::CredentialsFile {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let map: std::collections::BTreeMap<String, Vec<StoredCredential>> =
        serde_json::from_str(&text).map_err(|e| bad(format!("not the expected format: {e}")))?;
    let entries = map
        .iter()
        .find(|(k, _)| k.trim_end_matches('/') == auth_endpoint.trim_end_matches('/'))
        .map(|(_, v)| v);
    let Some(entries) = entries else {
        return Ok(None);
    };
    // Latest `last_used` wins, like the SDK; ISO 8601 strings of one format sort by time.
    let best = entries.iter().max_by(|a, b| a.last_used.cmp(&b.last_used));
    Ok(best.map(|c| {
        (
            Credentials::ClientSecret {
                client_id: c.client_id.clone(),
                client_secret: Secret::new(c.client_secret.clone()),
            },
            CredentialSource::CredentialsFile {
                path: path.to_path_buf(),
                display_name: c.display_name.clone(),
            },
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_refuse_userinfo_and_remote_plain_http() {
        let ok = |u: &str| Endpoints::single(u).check(false);
        assert_eq!(ok("https://api.rapidata.ai"), Ok(vec![]));
        assert_eq!(ok("http://127.0.0.1:8080"), Ok(vec![]));
        assert_eq!(ok("http://localhost:1"), Ok(vec![]));
        assert_eq!(ok("http://[::1]:1"), Ok(vec![]));
        let e = ok("http://10.0.0.1").unwrap_err();
        assert!(e.contains("--allow-http"), "{e}");
        let w = Endpoints::single("http://10.0.0.1").check(true).unwrap();
        assert_eq!(w.len(), 1);
        let e = ok("https://me:hunter22@api.example.com").unwrap_err();
        assert!(e.contains("credentials") && !e.contains("hunter22"), "{e}");
        let e = Endpoints::for_environment("me:hunter22@evil.example")
            .check(false)
            .unwrap_err();
        assert!(!e.contains("hunter22"), "{e}");
        assert!(ok("ftp://x").is_err());
    }
}
