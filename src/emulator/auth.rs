//! OAuth client credentials, as the auth host serves them: `client_secret_basic` on
//! `POST /connect/token`, opaque bearer tokens with a lifetime, `GET /connect/userinfo`.
//! Only a hash of each token is kept (memory and `tokens` table), so tokens survive a restart
//! and never sit in the database in clear.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use super::http::{json, ApiError, ApiResult};
use super::query::Query;
use super::store::{now_ms, token_insert};
use super::{blocking, AppState, Shared};

pub(crate) const USER_ID: &str = "7d3b1f0e-0000-4000-8000-000000000001";
pub(crate) const USER_MAIL: &str = "emulator@example.invalid";
pub(crate) const ORGANIZATION_ID: &str = "org_emulator";

fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

/// `(client_id, client_secret)` from `Authorization: Basic`, or from the form
/// (`client_secret_post`, accepted too).
fn client_credentials(headers: &HeaderMap, form: &Query) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .map(|raw| raw.iter().map(|&b| b as char).collect::<String>()) // latin-1, like authlib
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    basic.or_else(|| {
        Some((
            form.first("client_id")?.to_string(),
            form.first("client_secret")?.to_string(),
        ))
    })
}

pub(crate) async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Query::parse(Some(&String::from_utf8_lossy(&body)));
    match form.first("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                "unsupported_grant_type",
                &format!("grant_type '{other}' is not supported"),
            )
        }
        None => return oauth_error("invalid_request", "grant_type is required"),
    }
    let Some((id, secret)) = client_credentials(&headers, &form) else {
        return oauth_error("invalid_client", "client authentication is required");
    };
    if id != state.client_id || secret != state.client_secret {
        return oauth_error("invalid_client", "unknown client or wrong secret");
    }
    let ttl = state
        .faults
        .lock()
        .ok()
        .and_then(|f| f.plan().token_ttl_secs)
        .unwrap_or(state.token_ttl.as_secs());
    let token = format!("{:032x}{:032x}", fastrand::u128(..), fastrand::u128(..));
    let hash = token_hash(&token);
    // `start` refused lifetimes that overflow a timestamp; saturate all the same.
    let expires = now_ms().saturating_add((ttl.min(i64::MAX as u64 / 1000) as i64) * 1000);
    let stored = {
        let hash = hash.clone();
        blocking(&state, move |s| {
            s.store.write(|tx| token_insert(tx, &hash, expires))
        })
        .await
    };
    if let Err(e) = stored {
        return e.into_response();
    }
    if let Ok(mut t) = state.tokens.lock() {
        let now = now_ms();
        t.retain(|_, exp| *exp >= now);
        t.insert(hash, expires);
    }
    let scope = form
        .first("scope")
        .unwrap_or("openid email api")
        .to_string();
    json(&json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}))
}

/// Checks the bearer token of an API call.
pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(|| ApiError::unauthorized("A bearer token is required."))?;
    let expires = state
        .tokens
        .lock()
        .ok()
        .and_then(|t| t.get(&token_hash(token.trim())).copied());
    match expires {
        None => Err(ApiError::unauthorized("The bearer token is unknown.")),
        Some(exp) if exp < now_ms() => Err(ApiError::unauthorized("The bearer token has expired.")),
        Some(_) => Ok(()),
    }
}

pub(crate) async fn userinfo() -> Response {
    json(&json!({"sub": USER_ID, "email": USER_MAIL, "role": ["User"]}))
}

/// Checks that a token lifetime of `secs` seconds gives an expiry that is still a timestamp
/// (chrono's range ends in the year 262142): a larger one would make the expiry overflow and
/// every token invalid. The error names the largest lifetime accepted now.
pub(crate) fn check_token_ttl(what: &str, secs: u64) -> Result<(), String> {
    let now = now_ms();
    let max_ms = chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis();
    let fits = secs
        .checked_mul(1000)
        .and_then(|ms| i64::try_from(ms).ok())
        .and_then(|ms| now.checked_add(ms))
        .is_some_and(|e| e <= max_ms);
    if fits {
        Ok(())
    } else {
        Err(format!(
            "{what} {secs} is too large: a token issued now would expire after the last \
             representable timestamp; use at most {} seconds",
            (max_ms - now) / 1000
        ))
    }
}

#[cfg(test)]
mod ttl_tests {
    use super::check_token_ttl;

    #[test]
    fn token_lifetimes_beyond_a_timestamp_are_refused() {
        assert!(check_token_ttl("--token-ttl", 3600).is_ok());
        assert!(check_token_ttl("--token-ttl", 100 * 365 * 86_400).is_ok());
        let e = check_token_ttl("--token-ttl", u64::MAX).unwrap_err();
        assert!(
            e.starts_with("--token-ttl 18446744073709551615 is too large"),
            "{e}"
        );
        assert!(check_token_ttl("--token-ttl", i64::MAX as u64 / 1000).is_err());
        assert!(check_token_ttl("--token-ttl", 9_000_000_000_000).is_err());
    }
}
