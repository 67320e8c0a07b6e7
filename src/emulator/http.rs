//! Response conventions of the API: JSON bodies, RFC 9457 problem details for errors, and the
//! trace id every response carries.
//!
//! Handlers return [`ApiError`]; it travels to the middleware as a response extension so the
//! middleware can render the problem body with the request's trace id (handlers never see it).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::contract::{Contract, Violation};

pub(crate) const JSON: &str = "application/json";
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer of the API (boxed: it travels in every `Result` of the handlers).
#[derive(Debug, Clone)]
pub(crate) struct ApiError(Box<Problem>);

/// The content of an [`ApiError`].
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub status: StatusCode,
    pub title: String,
    pub detail: Option<String>,
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    /// Extension members (`latestRevisionNumber`, `stage`, ...).
    pub extra: Map<String, Value>,
    /// Extra response headers (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl std::ops::Deref for ApiError {
    type Target = Problem;
    fn deref(&self) -> &Problem {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut Problem {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(status: StatusCode, title: impl Into<String>) -> Self {
        ApiError(Box::new(Problem {
            status,
            title: title.into(),
            detail: None,
            errors: None,
            extra: Map::new(),
            retry_after: None,
        }))
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// A validation error (ValidationProblemDetails) with one message per field path.
    pub fn validation(fields: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, message) in fields {
            let key = if path.is_empty() {
                "$".to_string()
            } else {
                path
            };
            errors.entry(key).or_default().push(message);
        }
        let mut e = ApiError::new(
            StatusCode::BAD_REQUEST,
            "One or more validation errors occurred.",
        );
        e.errors = Some(errors);
        e
    }

    pub fn field(path: &str, message: impl Into<String>) -> Self {
        Self::validation([(path.to_string(), message.into())])
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
            .detail(format!("No {what} with id '{id}'."))
    }

    pub fn unauthorized(detail: &str) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized").detail(detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").detail(detail)
    }

    /// The problem+json body, with the request's trace id.
    pub fn body(&self, trace: &TraceId) -> Value {
        let type_uri = match self.status.as_u16() {
            400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            401 => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
            404 => "https://tools.ietf.org/html/rfc9110#section-15.5.5",
            409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
            429 => "https://tools.ietf.org/html/rfc6585#section-4",
            _ => "about:blank",
        };
        let mut body = Map::new();
        body.insert("type".into(), Value::from(type_uri));
        body.insert("title".into(), Value::from(self.title.clone()));
        body.insert("status".into(), Value::from(self.status.as_u16()));
        if let Some(d) = &self.detail {
            body.insert("detail".into(), Value::from(d.clone()));
        }
        body.insert("traceId".into(), Value::from(trace.traceparent()));
        if let Some(errors) = &self.errors {
            body.insert(
                "errors".into(),
                serde_json::to_value(errors).unwrap_or(Value::Null),
            );
        }
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        ApiError::internal(format!("storage error: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The middleware renders the body (it knows the trace id); the status is set here so
        // that a response that bypasses the middleware is still an error.
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = self.status;
        resp.extensions_mut().insert(self);
        resp
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A 200 JSON response.
pub(crate) fn json(value: &Value) -> Response {
    raw_json(serde_json::to_string(value).unwrap_or_else(|_| "null".into()))
}

/// A 200 JSON response from an already serialised body (list endpoints build theirs by hand).
pub(crate) fn raw_json(body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    resp
}

/// 204 with an empty body.
pub(crate) fn no_content() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// Parses a JSON request body and validates it against a contract definition.
pub(crate) fn parse_body(bytes: &[u8], definition: &str) -> ApiResult<Value> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::field(
            "$",
            "A non-empty request body is required.",
        ));
    } else {
        serde_json::from_slice(bytes)
            .map_err(|e| ApiError::field("$", format!("The request body is not valid JSON: {e}")))?
    };
    let violations = Contract::get().validate_definition(definition, &value);
    if violations.is_empty() {
        Ok(value)
    } else {
        Err(ApiError::validation(
            violations
                .into_iter()
                .map(|Violation { path, message }| (path, message)),
        ))
    }
}

/// W3C trace context ids: the bare trace id goes into `x-trace-id`, the traceparent form into
/// the problem body.
#[derive(Debug, Clone)]
pub(crate) struct TraceId {
    trace: String,
    span: String,
}

impl TraceId {
    pub fn random() -> Self {
        TraceId {
            trace: format!("{:032x}", fastrand::u128(1..)),
            span: format!("{:016x}", fastrand::u64(1..)),
        }
    }

    pub fn bare(&self) -> &str {
        &self.trace
    }

    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace, self.span)
    }
}

/// A string value of an optional field that may be absent or explicit `null`.
pub(crate) fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An optional field that may be absent or explicit `null`.
pub(crate) fn opt<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// The fields of a stored document that the contract's `definition` declares: stored
/// documents carry simulation state (`_sim`, `_recruit`, ...) that never goes on the wire.
pub(crate) fn view(definition: &str, doc: &Value) -> Value {
    let props = Contract::get().properties(definition);
    Value::Object(
        doc.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| props.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Whether a request body is absent (endpoints whose body is optional).
pub(crate) fn is_empty_body(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}
