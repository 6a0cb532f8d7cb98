//! The route table and the layers around it (order documented in `lib.rs`).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{header, Method};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use regpilot_keys::Scope;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

use crate::access::Access;
use crate::auth::{auth_layer, key_header_names, Authenticated, RouteCtx, RouteTemplate};
use crate::dashboard::{
    self,
    guard::{page_layer, PageCtx},
};
use crate::error::ApiError;
use crate::openai_errors;
use crate::routes::{ai, compliance, health, openai, system, usage};
use crate::state::AppState;

/// One route: method, path template, what it requires, and its handler.
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    RouteDef { method, path, access, handler: on(filter, handler) }
}

/// Every route the gateway serves. A route cannot be added without an [`Access`].
pub fn route_table() -> Vec<RouteDef> {
    use Access::{OptionalKey, Public, Scope as Needs};
    use Method as M;
    vec![
        route(M::GET, "/api/health", OptionalKey, health::health),
        route(M::GET, "/api/ready", Public, system::ready),
        route(M::GET, "/metrics", Public, system::metrics),
        route(M::GET, "/api/openapi.json", Public, system::openapi),
        route(M::GET, "/api/compliance/violations", Needs(Scope::ComplianceRead), compliance::list_violations),
        route(M::POST, "/api/compliance/violations", Needs(Scope::ComplianceWrite), compliance::create_violation),
        route(M::PATCH, "/api/compliance/violations/{id}", Needs(Scope::ComplianceWrite), compliance::update_violation),
        route(M::GET, "/api/compliance/models", Needs(Scope::ComplianceRead), compliance::list_models),
        route(M::POST, "/api/compliance/models", Needs(Scope::ComplianceWrite), compliance::register_model),
        route(M::GET, "/api/compliance/models/{id}", Needs(Scope::ComplianceRead), compliance::get_model),
        route(M::PATCH, "/api/compliance/models/{id}", Needs(Scope::ComplianceWrite), compliance::update_model),
        route(M::POST, "/api/compliance/models/{id}/archive", Needs(Scope::ComplianceWrite), compliance::archive_model),
        route(M::GET, "/api/compliance/status", Needs(Scope::ComplianceRead), compliance::status),
        route(M::GET, "/api/usage", Needs(Scope::UsageRead), usage::usage),
        route(M::POST, "/api/ai/chat", Needs(Scope::Chat), ai::chat),
        route(M::POST, "/api/ai/complete", Needs(Scope::Chat), ai::complete),
        route(M::GET, "/api/ai/models", Needs(Scope::Models), ai::models),
        route(M::POST, "/v1/chat/completions", Needs(Scope::Chat), openai::chat_completions),
        route(M::GET, "/v1/models", Needs(Scope::Models), openai::models),
    ]
}

pub fn build_router(state: AppState) -> Router {
    let mut router = Router::new();
    for def in route_table() {
        let ctx = RouteCtx { state: state.clone(), access: def.access, template: def.path };
        router = router.route(def.path, def.handler.layer(from_fn_with_state(ctx, auth_layer)));
    }
    for page in dashboard::page_table() {
        let ctx = PageCtx { state: state.clone(), access: page.access, template: page.path };
        router = router.route(page.path, page.handler.layer(from_fn_with_state(ctx, page_layer)));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        // Every header that can carry a key is marked sensitive: no debug print of a request shows it.
        .layer(SetSensitiveRequestHeadersLayer::new(key_header_names().map(header::HeaderName::from_static)))
        .layer(from_fn_with_state(state.clone(), refuse_oversized))
        .layer(from_fn_with_state(state, observe))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("No such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A body declared larger than the limit is refused before anything else runs (bodies sent
/// without a length are cut at the limit where they are read, in `json.rs`).
async fn refuse_oversized(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body_bytes as u64) {
        return ApiError::PayloadTooLarge { limit: state.max_body_bytes }.into_response();
    }
    next.run(req).await
}

/// Routes that still answer while the server drains: the probes and the metrics.
fn answers_while_draining(path: &str) -> bool {
    matches!(path, "/api/ready" | "/api/health" | "/metrics")
}

/// Outermost layer: counts every answer by route template, method and status. The URL itself
/// (whose query string could hold a misplaced key) is never logged or used as a label. While
/// the server drains (`drain.rs`), new requests are refused with 503 and `Connection: close`;
/// the others are counted as in flight until answered.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let started = Instant::now();
    // Every error under /v1 (unknown routes and the auth layer's included) in OpenAI's shape.
    let openai = req.uri().path().starts_with("/v1/");
    if state.drain.is_draining() && !answers_while_draining(req.uri().path()) {
        state.metrics.request("draining", method, 503);
        let mut refused =
            ApiError::NotReady("The server is shutting down; retry on another instance".into()).into_response();
        refused.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        return if openai { openai_errors::reshape(refused).await } else { refused };
    }
    let in_flight = state.drain.enter();
    let mut response = next.run(req).await;
    if openai {
        response = openai_errors::reshape(response).await;
    }
    drop(in_flight);
    let route = response.extensions().get::<RouteTemplate>().map_or("unmatched", |t| t.0);
    let status = response.status().as_u16();
    state.metrics.request(route, method, status);
    let key_id = response.extensions().get::<Authenticated>().map(|a| &*a.0.id);
    tracing::debug!(method, route, status, key_id, micros = started.elapsed().as_micros() as u64, "request");
    response
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
