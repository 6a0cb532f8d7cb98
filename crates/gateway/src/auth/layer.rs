//! The per-route middleware: authentication, then the per-key rate limit, then the route's
//! scope. Deny by default: a scoped route runs only for a valid key holding its scope, within
//! its limits. Every authenticated answer carries the `x-ratelimit-*` headers, is logged as the
//! key's environment asks (SPEC §2), and is handed to the usage recorder.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regpilot_keys::Environment;
use regpilot_limits::{now_micros, LimitKind, Verdict};

use super::{find_key, verify, AuthOutcome};
use crate::access::Access;
use crate::error::ApiError;
use crate::index::IndexedKey;
use crate::recorder::{Outcome, UsageEvent};
use crate::state::AppState;

/// The key a request was authenticated with, for the handler (and the request log line).
#[derive(Debug, Clone)]
pub struct Authenticated(pub IndexedKey);

/// The route template a response came from, for the metrics (set on every routed response).
#[derive(Debug, Clone, Copy)]
pub struct RouteTemplate(pub &'static str);

/// What the per-route layer knows about its route.
#[derive(Clone)]
pub struct RouteCtx {
    pub state: AppState,
    pub access: Access,
    pub template: &'static str,
}

/// The log target of the per-environment request lines, so they can be filtered on their own
/// (`RUST_LOG=regpilot::requests=off`).
const REQUEST_LOG: &str = "regpilot::requests";

pub async fn auth_layer(State(ctx): State<RouteCtx>, req: Request, next: Next) -> Response {
    let mut response = authenticate(&ctx, req, next).await;
    response.extensions_mut().insert(RouteTemplate(ctx.template));
    response
}

async fn authenticate(ctx: &RouteCtx, mut req: Request, next: Next) -> Response {
    let state = &ctx.state;
    if ctx.access == Access::Public {
        return next.run(req).await;
    }
    let started = Instant::now();
    let now_us = now_micros();
    let now_ms = now_us / 1000;
    let outcome = verify(find_key(req.headers()), &state.index, now_ms);
    state.metrics.auth_outcome(outcome.reason_index());
    let key = match outcome {
        AuthOutcome::Ok(key) => key,
        AuthOutcome::Missing if ctx.access == Access::OptionalKey => return next.run(req).await,
        AuthOutcome::Missing => return ApiError::MissingKey.into_response(),
        refused => {
            log_refusal(&refused);
            if let Some(key) = refused.known_key() {
                // Use of an inactive, deleted or expired key is what the alert rules look for.
                let ip = client_ip(state, &req);
                state.usage.record(event(key, now_ms, Outcome::Refused, ip));
            }
            return ApiError::InvalidKey { with_authenticated: ctx.access == Access::OptionalKey }.into_response();
        }
    };

    let ip = client_ip(state, &req);
    let method = req.method().clone();
    let spec = state.plans.spec(&key.project_id, key.environment);
    let (mut response, verdict) = match state.limiter.check(&key.id, spec, now_us).await {
        Err(unavailable) => (ApiError::NotReady(unavailable.to_string()).into_response(), None),
        Ok(verdict) if !verdict.admitted => {
            // A refusal always names its limit; a verdict that did not would be the limiter's bug.
            let limit = verdict.limit.unwrap_or(LimitKind::Burst);
            state.metrics.rate_limited(limit);
            tracing::debug!(key_id = %key.id, limit = limit.as_str(), "rate limit hit");
            let refusal = ApiError::RateLimited {
                limit: limit.as_str(),
                retry_after: verdict.retry_after_s.max(1),
                with_authenticated: ctx.access == Access::OptionalKey,
            };
            (refusal.into_response(), Some(verdict))
        }
        Ok(verdict) => match ctx.access {
            Access::Scope(scope) if !key.scopes.contains(scope) => {
                state.metrics.forbidden();
                tracing::info!(key_id = %key.id, required = scope.as_str(), "key lacks the route's scope");
                (ApiError::Forbidden { required: scope }.into_response(), Some(verdict))
            }
            _ => {
                req.extensions_mut().insert(Authenticated(key.clone()));
                (next.run(req).await, Some(verdict))
            }
        },
    };
    if let Some(v) = &verdict {
        rate_limit_headers(response.headers_mut(), v);
    }
    let status = response.status().as_u16();
    let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    log_request(&key, &method, ctx.template, status, latency_us);
    let limited = verdict.is_some_and(|v| !v.admitted);
    state.usage.record(event(&key, now_ms, Outcome::Answered { status, latency_us, limited }, ip));
    // The response carries the key too, but only when the debug request log will show it.
    if tracing::enabled!(tracing::Level::DEBUG) {
        response.extensions_mut().insert(Authenticated(key));
    }
    response
}

fn event(key: &IndexedKey, at_ms: i64, outcome: Outcome, ip: Option<IpAddr>) -> UsageEvent {
    UsageEvent {
        key_id: key.id.clone(),
        project_id: key.project_id.clone(),
        environment: key.environment,
        at_ms,
        outcome,
        ip,
    }
}

fn client_ip(state: &AppState, req: &Request) -> Option<IpAddr> {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    state.trusted_proxies.client_ip(peer, req.headers())
}

static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// SPEC §6: the daily limit, what is left of it today, and the next UTC midnight. A project
/// without a daily limit (enterprise default) says `unlimited`.
fn rate_limit_headers(headers: &mut HeaderMap, v: &Verdict) {
    let unlimited = HeaderValue::from_static("unlimited");
    headers.insert(LIMIT.clone(), v.daily_limit.map_or(unlimited.clone(), HeaderValue::from));
    headers.insert(REMAINING.clone(), v.remaining.map_or(unlimited, HeaderValue::from));
    headers.insert(RESET.clone(), HeaderValue::from(v.reset_unix_s));
}

/// SPEC §2: development keys log every request, staging keys their failures (and a summary a
/// minute, written by the usage recorder), production keys server errors only. The key's id,
/// never the secret.
fn log_request(key: &IndexedKey, method: &axum::http::Method, route: &str, status: u16, latency_us: u64) {
    let (key_id, method) = (&key.id, method.as_str());
    match key.environment {
        Environment::Development => tracing::info!(
            target: REQUEST_LOG, key_id = %key_id, environment = "development", method, route, status, latency_us, "request"
        ),
        Environment::Staging if status >= 400 => tracing::warn!(
            target: REQUEST_LOG, key_id = %key_id, environment = "staging", method, route, status, latency_us, "request failed"
        ),
        Environment::Production if status >= 500 => tracing::error!(
            target: REQUEST_LOG, key_id = %key_id, environment = "production", method, route, status, latency_us, "request failed"
        ),
        Environment::Staging | Environment::Production => {}
    }
}

/// A known key that is refused is worth an operator's attention (a deactivated or deleted key
/// still in use may be leaked); strings that are not keys are only debug noise.
fn log_refusal(outcome: &AuthOutcome) {
    match outcome.known_key() {
        Some(key) => {
            tracing::info!(key_id = %key.id, project_id = %key.project_id, reason = outcome.reason(), "key refused")
        }
        None => tracing::debug!(reason = outcome.reason(), "key refused"),
    }
}
