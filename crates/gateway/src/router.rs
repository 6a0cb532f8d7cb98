//! The route table and the layers around it (order documented in `lib.rs`).

use axum::extract::State;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use regpilot_keys::Scope;

use crate::access::Access;
use crate::auth::{AuthLayer, RouteCtx};
use crate::dashboard::{
    self,
    guard::{page_layer, PageCtx},
};
use crate::edge::EdgeLayer;
use crate::error::ApiError;
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
        router = router.route(def.path, def.handler.layer(AuthLayer(ctx)));
    }
    for page in dashboard::page_table() {
        let ctx = PageCtx { state: state.clone(), access: page.access, template: page.path };
        router = router.route(page.path, page.handler.layer(from_fn_with_state(ctx, page_layer)));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(EdgeLayer(state))
}

/// Requests no route matches are counted here, under `unmatched`.
async fn not_found(State(state): State<AppState>, method: Method) -> ApiError {
    state.metrics.request("unmatched", method_label(&method), 404);
    ApiError::NotFound("No such route".into())
}

async fn method_not_allowed(State(state): State<AppState>, method: Method) -> ApiError {
    state.metrics.request("unmatched", method_label(&method), 405);
    ApiError::MethodNotAllowed
}

pub(crate) fn method_label(m: &Method) -> &'static str {
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
