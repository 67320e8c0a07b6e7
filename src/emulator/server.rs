//! Connection handling and the request pipeline around the handlers.
//!
//! The emulator runs its own accept loop (hyper's HTTP/1 connection driver) instead of
//! `axum::serve` for one reason: a *lost response*. When the fault plan says so, the request
//! is handled normally (its write commits), and then the connection is closed without a
//! single response byte; the client sees "connection closed before message completed", exactly
//! what a crashed proxy or a network cut after the commit looks like.
//!
//! Per request: `finish` (outer, every request) assigns the trace id, renders problem+json and
//! sets `x-trace-id`; `gate` (inner, matched routes only) counts the route, checks the bearer
//! token and applies the fault plan.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::auth::authorize;
use super::http::{ApiError, TraceId, PROBLEM_JSON};
use super::Shared;

/// Marks a response that must not reach the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoseResponse;

#[derive(Debug)]
struct LostResponse;

impl std::fmt::Display for LostResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response dropped by the fault plan")
    }
}

impl std::error::Error for LostResponse {}

pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let svc = TowerToHyperService::new(router.clone());
                conns.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let fut = svc.call(req);
                        async move {
                            let resp: Response = match fut.await {
                                Ok(r) => r,
                                Err(never) => match never {},
                            };
                            if resp.extensions().get::<LoseResponse>().is_some() {
                                return Err(LostResponse);
                            }
                            Ok::<_, LostResponse>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// Outer layer: trace id, problem rendering, `x-trace-id`.
pub(crate) async fn finish(mut req: Request, next: Next) -> Response {
    let trace = TraceId::random();
    req.extensions_mut().insert(trace.clone());
    let mut resp = next.run(req).await;
    let problem = resp.extensions_mut().remove::<ApiError>().or_else(|| {
        // Errors produced by the router itself (405, body limits) get the same shape.
        let status = resp.status();
        (status.is_client_error() || status.is_server_error())
            .then(|| !resp.headers().contains_key(header::CONTENT_TYPE))
            .filter(|bare| *bare)
            .map(|_| ApiError::new(status, status.canonical_reason().unwrap_or("Error")))
    });
    if let Some(problem) = problem {
        let lose = resp.extensions().get::<LoseResponse>().copied();
        let body = problem.body(&trace).to_string();
        resp = Response::new(Body::from(body));
        *resp.status_mut() = problem.status;
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = problem.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(l) = lose {
            resp.extensions_mut().insert(l);
        }
    }
    if let Ok(v) = HeaderValue::from_str(trace.bare()) {
        resp.headers_mut().insert("x-trace-id", v);
    }
    resp
}

/// Inner layer on matched routes: statistics, authentication, faults.
pub(crate) async fn gate(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let route = format!("{} {}", req.method(), template);
    if let Ok(mut stats) = state.stats.lock() {
        *stats.entry(route.clone()).or_default() += 1;
    }
    if template != "/connect/token" {
        if let Err(e) = authorize(&state, req.headers()) {
            return e.into_response();
        }
    }
    let decision = match state.faults.lock() {
        Ok(mut f) => f.decide(&route),
        Err(_) => Default::default(),
    };
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    if let Some(secs) = decision.throttle {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
            .detail("Rate limit exceeded (injected by the emulator's fault plan).");
        e.retry_after = Some(secs);
        return e.into_response();
    }
    if let Some(status) = decision.error {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return ApiError::new(
            status,
            status.canonical_reason().unwrap_or("Injected fault"),
        )
        .detail("Injected by the emulator's fault plan.")
        .into_response();
    }
    let mut resp = next.run(req).await;
    if let (Some(status), true) = (decision.error_after, resp.status().is_success()) {
        // The write committed; the answer says it failed.
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        return ApiError::new(
            status,
            status.canonical_reason().unwrap_or("Injected fault"),
        )
        .detail("Injected by the emulator's fault plan after the request was handled.")
        .into_response();
    }
    if decision.lose_response && resp.status().is_success() {
        resp.extensions_mut().insert(LoseResponse);
    }
    if state.contract_cut && resp.status().is_success() {
        resp = cut_to_contract(&route, resp).await;
    }
    resp
}

/// A JSON success cut down to what the contract promises for `route`.
async fn cut_to_contract(route: &str, resp: Response) -> Response {
    let contract = crate::contract::Contract::get();
    let schemas = contract.response_schemas(route, resp.status().as_u16());
    let json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if schemas.is_empty() || !json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::internal("contract cut: unreadable body").into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    for schema in schemas {
        contract.cut(schema, &mut value);
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(value.to_string()))
}

/// Fallback for unknown paths.
pub(crate) async fn not_found(req: Request) -> Result<Response, Infallible> {
    Ok(ApiError::new(StatusCode::NOT_FOUND, "Not Found")
        .detail(format!(
            "No route for {} {}.",
            req.method(),
            req.uri().path()
        ))
        .into_response())
}
