//! The per-route middleware: authentication, then the per-key rate limit, then the route's scope.
//! Deny by default: a scoped route runs only for a valid key holding its scope, within its limits.
//! Every authenticated answer carries the `x-ratelimit-*` headers, is logged as the key's
//! environment asks (README.md, "Usage monitoring and alerts"), and is handed to the usage
//! recorder.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use regpilot_keys::{Environment, Scope};
use regpilot_limits::{now_micros, LimitKind, Verdict};
use tower::{Layer, Service};

use super::extract::find_key;
use super::reporter::check_reporter;
use super::verify::{verify, AuthOutcome};
use crate::error::{ApiError, Dialect};
use crate::metrics::method_label;
use crate::path::access::Access;
use crate::path::index::IndexedKey;
use crate::path::recorder::{Outcome, UsageEvent};
use crate::state::AppState;

/// The key a request was authenticated with, for the handler.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub IndexedKey);

/// The client's address, for handlers that need it (the chat routes: the Governor's recipient
/// country). Put on the request only for routes that need the `chat` scope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub Option<IpAddr>);

/// What the per-route layer knows about its route.
#[derive(Clone)]
pub(crate) struct RouteCtx {
    pub state: AppState,
    pub access: Access,
    pub template: &'static str,
    /// The error shape the route speaks.
    pub dialect: Dialect,
}

/// The log target of the per-environment request lines, so they can be filtered on their own
/// (`RUST_LOG=regpilot::requests=off`).
const REQUEST_LOG: &str = "regpilot::requests";

/// The per-route layer. A hand-written service rather than `middleware::from_fn`: with the
/// in-process limiter the whole decision is synchronous, so an admitted request costs no
/// allocation here and a refused one no future at all (`bench/run` measures the difference).
#[derive(Clone)]
pub(crate) struct AuthLayer(pub RouteCtx);

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService { ctx: self.0.clone(), inner }
    }
}

#[derive(Clone)]
pub(crate) struct AuthService<S> {
    ctx: RouteCtx,
    inner: S,
}

/// What is left to do once the handler has answered.
struct After {
    ctx: RouteCtx,
    method: &'static str,
    started: Instant,
    /// The key, its limiter verdict, the decision's time and the client address; `None` for a
    /// request without a key (public routes, `/api/health` without one).
    keyed: Option<Keyed>,
}

struct Keyed {
    key: IndexedKey,
    verdict: Option<Verdict>,
    now_us: i64,
    ip: Option<IpAddr>,
}

/// The decision taken before the handler.
enum Before {
    /// Run the handler, then finish with `After`.
    Run(Request, After),
    /// Answer this without running the handler.
    Answer(Response, After),
    /// The limiter must be asked over the network (Redis).
    AskLimiter(Request, After, Keyed),
}

impl<S> Service<Request> for AuthService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = AuthFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match before(&self.ctx, req) {
            Before::Run(req, after) => AuthFuture::Handler { inner: self.inner.call(req), after: Some(after) },
            Before::Answer(response, after) => AuthFuture::Done { response: Some(finish(response, after)) },
            Before::AskLimiter(req, after, keyed) => {
                // The service that was made ready answers this request; a clone waits its turn.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                AuthFuture::Boxed {
                    inner: Box::pin(async move {
                        let (response, after) = match ask_limiter(req, after, keyed).await {
                            Ok((req, after)) => (inner.call(req).await?, after),
                            Err(answered) => answered,
                        };
                        Ok(finish(response, after))
                    }),
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    #[project = AuthFutureProj]
    pub enum AuthFuture<F, E> {
        Handler { #[pin] inner: F, after: Option<After> },
        Done { response: Option<Response> },
        Boxed { inner: BoxFuture<'static, Result<Response, E>> },
    }
}

impl<F, E> Future for AuthFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AuthFutureProj::Handler { inner, after } => {
                let response = ready!(inner.poll(cx))?;
                Poll::Ready(Ok(match after.take() {
                    Some(after) => finish(response, after),
                    None => response,
                }))
            }
            AuthFutureProj::Done { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())))
            }
            AuthFutureProj::Boxed { inner } => inner.as_mut().poll(cx),
        }
    }
}

/// Authentication, then the limit (when it needs no I/O), then the scope.
fn before(ctx: &RouteCtx, mut req: Request) -> Before {
    let state = &ctx.state;
    let (method, started) = (method_label(req.method()), Instant::now());
    let after = move |keyed| After { ctx: ctx.clone(), method, started, keyed };
    match ctx.access {
        Access::Public => return Before::Run(req, after(None)),
        Access::LeakReporter => {
            return match check_reporter(&state.leaks, req.headers()) {
                None => Before::Run(req, after(None)),
                Some(refusal) => {
                    tracing::info!(status = refusal.status().as_u16(), "leak report refused");
                    Before::Answer(refusal.render(ctx.dialect), after(None))
                }
            }
        }
        // The router puts admin routes behind the admin layer, never this one; deny by default.
        Access::Admin(_) => {
            return Before::Answer(ApiError::AdminUnauthorized { missing: true }.render(ctx.dialect), after(None))
        }
        Access::OptionalKey | Access::Scope(_) => {}
    }
    let now_us = now_micros();
    let outcome = verify(find_key(req.headers()), &state.index, now_us / 1000);
    state.metrics.auth_outcome(outcome.reason_index());
    let key = match outcome {
        AuthOutcome::Ok(key) => key,
        AuthOutcome::Missing if ctx.access == Access::OptionalKey => return Before::Run(req, after(None)),
        AuthOutcome::Missing => return Before::Answer(ApiError::MissingKey.render(ctx.dialect), after(None)),
        AuthOutcome::DuplicateHeader(header) => {
            tracing::debug!(header, "key header given more than once");
            let message = format!("The {header} header was sent more than once; send the key in one header, once");
            return Before::Answer(ApiError::bad_request(header, message).render(ctx.dialect), after(None));
        }
        refused => {
            log_refusal(&refused);
            if let Some(key) = refused.known_key() {
                // Use of an inactive, deleted or expired key is what the alert rules look for.
                let ip = client_ip(state, &req);
                state.usage.record(event(key, now_us / 1000, Outcome::Refused, ip));
            }
            let refusal = ApiError::InvalidKey { with_authenticated: ctx.access == Access::OptionalKey };
            return Before::Answer(refusal.render(ctx.dialect), after(None));
        }
    };
    let ip = client_ip(state, &req);
    let spec = state.plans.spec(&key.project_id, key.environment);
    match state.limiter.check_now(&key.id, spec, now_us) {
        Some(verdict) => {
            let mut keyed = Keyed { key, verdict: None, now_us, ip };
            let refusal = decide(ctx, &mut req, &mut keyed, Ok(verdict));
            let after = after(Some(keyed));
            match refusal {
                None => Before::Run(req, after),
                Some(refusal) => Before::Answer(refusal.render(ctx.dialect), after),
            }
        }
        None => Before::AskLimiter(req, after(None), Keyed { key, verdict: None, now_us, ip }),
    }
}

/// The Redis limiter's decision, then the scope: the request to run, or the answer.
async fn ask_limiter(
    mut req: Request,
    mut after: After,
    mut keyed: Keyed,
) -> Result<(Request, After), (Response, After)> {
    let state = &after.ctx.state;
    let spec = state.plans.spec(&keyed.key.project_id, keyed.key.environment);
    let checked = state.limiter.check(&keyed.key.id, spec, keyed.now_us).await;
    let refusal = decide(&after.ctx, &mut req, &mut keyed, checked);
    after.keyed = Some(keyed);
    match refusal {
        None => Ok((req, after)),
        Some(refusal) => Err((refusal.render(after.ctx.dialect), after)),
    }
}

/// Applies the limiter's verdict and the route's scope: the refusal, or `None` when the request
/// may run (the key is then on the request, for the handler).
fn decide(
    ctx: &RouteCtx,
    req: &mut Request,
    keyed: &mut Keyed,
    checked: Result<Verdict, regpilot_limits::Unavailable>,
) -> Option<ApiError> {
    let verdict = match checked {
        Err(unavailable) => return Some(ApiError::NotReady(unavailable.to_string())),
        Ok(verdict) => verdict,
    };
    keyed.verdict = Some(verdict);
    let (key, metrics) = (&keyed.key, &ctx.state.metrics);
    if !verdict.admitted {
        // A refusal always names its limit; a verdict that did not would be the limiter's bug.
        let limit = verdict.limit.unwrap_or(LimitKind::Burst);
        metrics.rate_limited(limit);
        tracing::debug!(key_id = %key.id, limit = limit.as_str(), "rate limit hit");
        return Some(ApiError::RateLimited {
            limit: limit.as_str(),
            retry_after: verdict.retry_after_s.max(1),
            with_authenticated: ctx.access == Access::OptionalKey,
        });
    }
    match ctx.access {
        Access::Scope(scope) if !key.scopes.contains(scope) => {
            metrics.forbidden();
            tracing::info!(key_id = %key.id, required = scope.as_str(), "key lacks the route's scope");
            Some(ApiError::Forbidden { required: scope })
        }
        access => {
            req.extensions_mut().insert(Authenticated(key.clone()));
            if access == Access::Scope(Scope::Chat) {
                req.extensions_mut().insert(ClientAddr(keyed.ip));
            }
            None
        }
    }
}

/// Everything done after the answer: the `x-ratelimit-*` headers, the environment's log line,
/// the usage event, the metrics.
fn finish(mut response: Response, after: After) -> Response {
    let state = &after.ctx.state;
    let status = response.status().as_u16();
    let latency_us = u64::try_from(after.started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let route = after.ctx.template;
    if let Some(Keyed { key, verdict, now_us, ip }) = &after.keyed {
        if let Some(v) = verdict {
            rate_limit_headers(response.headers_mut(), v);
        }
        log_request(key, after.method, route, status, latency_us);
        let limited = verdict.is_some_and(|v| !v.admitted);
        state.usage.record(event(key, now_us / 1000, Outcome::Answered { status, latency_us, limited }, *ip));
    }
    state.metrics.request(route, after.method, status);
    let key_id = after.keyed.as_ref().map(|k| &*k.key.id);
    tracing::debug!(method = after.method, route, status, key_id, micros = latency_us, "request");
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

/// README.md, "Rate limits": the daily limit, what is left of it today, and the next UTC midnight.
/// A project without a daily limit (enterprise default) says `unlimited`.
fn rate_limit_headers(headers: &mut HeaderMap, v: &Verdict) {
    let unlimited = HeaderValue::from_static("unlimited");
    headers.reserve(3);
    headers.insert(LIMIT.clone(), v.daily_limit.map_or(unlimited.clone(), HeaderValue::from));
    headers.insert(REMAINING.clone(), v.remaining.map_or(unlimited, HeaderValue::from));
    headers.insert(RESET.clone(), reset_value(v.reset_unix_s));
}

thread_local! {
    /// The last `x-ratelimit-reset` value made on this thread: it changes once a day.
    static RESET_VALUE: std::cell::RefCell<(i64, HeaderValue)> =
        const { std::cell::RefCell::new((i64::MIN, HeaderValue::from_static("0"))) };
}

fn reset_value(at: i64) -> HeaderValue {
    RESET_VALUE.with_borrow_mut(|(cached, value)| {
        if *cached != at {
            (*cached, *value) = (at, HeaderValue::from(at));
        }
        value.clone()
    })
}

/// README.md, "Usage monitoring and alerts": development keys log every request, staging keys their
/// failures (and a summary a minute, written by the usage recorder), production keys server errors
/// only. The key's id, never the secret.
fn log_request(key: &IndexedKey, method: &str, route: &str, status: u16, latency_us: u64) {
    let key_id = &key.id;
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
