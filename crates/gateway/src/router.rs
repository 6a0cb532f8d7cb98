//! The route table and the layers around it (the order is in `docs/architecture.md`).

use std::sync::Arc;

use axum::handler::Handler;
use axum::http::{Method, Uri};
use axum::middleware::from_fn_with_state;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use regpilot_keys::Scope;

use crate::admin::api::{self as admin_api, admin_layer, AdminCtx};
use crate::admin::dashboard::guard::{page_layer, PageCtx};
use crate::admin::dashboard::state::{DashShared, DashState, Dashboard};
use crate::admin::dashboard::table::page_table;
use crate::admin::{compliance, governor, health, leaks, openapi, system, usage};
use crate::ai::{chat, openai};
use crate::error::{ApiError, Dialect};
use crate::metrics::method_label;
use crate::path::access::{Access, AdminAccess};
use crate::path::auth::{AuthLayer, RouteCtx};
use crate::path::edge::EdgeLayer;
use crate::state::AppState;

/// One route: method, path template, what it requires, the error shape it speaks, and its
/// handler.
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub dialect: Dialect,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    RouteDef { method, path, access, dialect: Dialect::of_path(path), handler: on(filter, handler) }
}

/// Every route the gateway serves. A route cannot be added without an [`Access`].
pub fn route_table() -> Vec<RouteDef> {
    use Access::{OptionalKey, Public, Scope as Needs};
    use Method as M;
    use {
        admin_api::alerts, admin_api::audit, admin_api::keys, admin_api::projects, admin_api::tokens, admin_api::users,
    };
    const READ: Access = Access::Admin(AdminAccess::Read);
    const WRITE: Access = Access::Admin(AdminAccess::Write);
    const OWN: Access = Access::Admin(AdminAccess::OwnTokens);
    vec![
        route(M::GET, "/api/health", OptionalKey, health::health),
        route(M::GET, "/api/ready", Public, system::ready),
        route(M::GET, "/metrics", Public, system::metrics),
        route(M::GET, "/api/openapi.json", Public, openapi::serve),
        route(M::GET, "/api/compliance/violations", Needs(Scope::ComplianceRead), compliance::list_violations),
        route(M::POST, "/api/compliance/violations", Needs(Scope::ComplianceWrite), compliance::create_violation),
        route(M::PATCH, "/api/compliance/violations/{id}", Needs(Scope::ComplianceWrite), compliance::update_violation),
        route(M::GET, "/api/compliance/models", Needs(Scope::ComplianceRead), compliance::list_models),
        route(M::POST, "/api/compliance/models", Needs(Scope::ComplianceWrite), compliance::register_model),
        route(M::GET, "/api/compliance/models/{id}", Needs(Scope::ComplianceRead), compliance::get_model),
        route(M::PATCH, "/api/compliance/models/{id}", Needs(Scope::ComplianceWrite), compliance::update_model),
        route(M::POST, "/api/compliance/models/{id}/archive", Needs(Scope::ComplianceWrite), compliance::archive_model),
        route(M::GET, "/api/compliance/status", Needs(Scope::ComplianceRead), compliance::status),
        route(M::GET, "/api/compliance/policies", Needs(Scope::ComplianceRead), governor::list_policies),
        route(M::POST, "/api/compliance/policies", Needs(Scope::ComplianceWrite), governor::create_policy),
        route(M::PATCH, "/api/compliance/policies/{id}", Needs(Scope::ComplianceWrite), governor::update_policy),
        route(M::GET, "/api/compliance/governor/settings", Needs(Scope::ComplianceRead), governor::settings),
        route(M::PATCH, "/api/compliance/governor/settings", Needs(Scope::ComplianceWrite), governor::set_settings),
        route(M::GET, "/api/compliance/governor/audits", Needs(Scope::ComplianceRead), governor::audits),
        route(M::GET, "/api/compliance/governor/audits/{id}", Needs(Scope::ComplianceRead), governor::audit),
        route(M::GET, "/api/usage", Needs(Scope::UsageRead), usage::usage),
        route(M::POST, "/api/ai/chat", Needs(Scope::Chat), chat::chat),
        route(M::POST, "/api/ai/complete", Needs(Scope::Chat), chat::complete),
        route(M::GET, "/api/ai/models", Needs(Scope::Models), chat::models),
        route(M::POST, "/v1/chat/completions", Needs(Scope::Chat), openai::chat_completions),
        route(M::GET, "/v1/models", Needs(Scope::Models), openai::models),
        route(M::POST, "/api/leaks", Access::LeakReporter, leaks::report),
        // The admin API (README.md, "Admin API").
        route(M::GET, "/api/admin/projects", READ, projects::list_projects),
        route(M::POST, "/api/admin/projects", WRITE, projects::create_project),
        route(M::GET, "/api/admin/projects/{id}", READ, projects::get_project),
        route(M::POST, "/api/admin/projects/{id}/plan", WRITE, projects::set_plan),
        route(M::GET, "/api/admin/projects/{id}/keys", READ, keys::list_keys),
        route(M::POST, "/api/admin/projects/{id}/keys", WRITE, keys::create_key),
        route(M::GET, "/api/admin/projects/{id}/alerts", READ, alerts::list_alerts),
        route(M::POST, "/api/admin/keys/status", READ, keys::key_statuses),
        route(M::GET, "/api/admin/keys/{id}", READ, keys::get_key),
        route(M::PATCH, "/api/admin/keys/{id}", WRITE, keys::rename_key),
        route(M::DELETE, "/api/admin/keys/{id}", WRITE, keys::delete_key),
        route(M::POST, "/api/admin/keys/{id}/deactivate", WRITE, keys::deactivate_key),
        route(M::POST, "/api/admin/keys/{id}/reactivate", WRITE, keys::reactivate_key),
        route(M::POST, "/api/admin/keys/{id}/roll", WRITE, keys::roll_key),
        route(M::GET, "/api/admin/keys/{id}/usage", READ, keys::key_usage),
        route(M::GET, "/api/admin/keys/{id}/audit", READ, keys::key_audit),
        route(M::POST, "/api/admin/alerts/{id}/ack", WRITE, alerts::ack_alert),
        route(M::GET, "/api/admin/users", READ, users::list_users),
        route(M::POST, "/api/admin/users", WRITE, users::create_user),
        route(M::POST, "/api/admin/users/{id}/role", WRITE, users::set_role),
        route(M::POST, "/api/admin/users/{id}/deactivate", WRITE, users::deactivate_user),
        route(M::POST, "/api/admin/users/{id}/reactivate", WRITE, users::reactivate_user),
        route(M::POST, "/api/admin/users/{id}/password-reset", WRITE, users::reset_password),
        route(M::GET, "/api/admin/audit", READ, audit::audit_log),
        route(M::GET, "/api/admin/tokens", OWN, tokens::list_tokens),
        route(M::POST, "/api/admin/tokens", OWN, tokens::create_token),
        route(M::DELETE, "/api/admin/tokens/{id}", OWN, tokens::revoke_token),
    ]
}

/// The whole HTTP service: the API routes (each behind its auth layer), the dashboard's pages
/// (each behind the page layer, with their own state), the fallbacks, and the edge around all.
pub fn build_router(state: AppState, dashboard: Arc<Dashboard>) -> Router {
    let table = route_table();
    openapi::publish(table.iter().map(|def| (&def.method, def.path, def.access)));
    let mut router = Router::new();
    for def in table {
        let handler = match def.access {
            Access::Admin(access) => {
                let ctx = AdminCtx { state: state.clone(), dashboard: dashboard.clone(), access, template: def.path };
                def.handler.layer(from_fn_with_state(ctx, admin_layer))
            }
            access => {
                let ctx = RouteCtx { state: state.clone(), access, template: def.path, dialect: def.dialect };
                def.handler.layer(AuthLayer(ctx))
            }
        };
        router = router.route(def.path, handler);
    }
    let pages = DashState::new(DashShared {
        control: state.control.clone(),
        dashboard,
        metrics: state.metrics.clone(),
        trusted_proxies: state.trusted_proxies.clone(),
        feed: state.feed.clone(),
    });
    let mut dashboard = Router::new();
    for page in page_table() {
        let ctx = PageCtx { state: pages.clone(), access: page.access, template: page.path };
        dashboard = dashboard.route(page.path, page.handler.layer(from_fn_with_state(ctx, page_layer)));
    }
    // The fallbacks come last, so the method fallback applies to the dashboard's routes too.
    let (unmatched, wrong_method) = (state.metrics.clone(), state.metrics.clone());
    router
        .with_state(state.clone())
        .merge(dashboard.with_state(pages))
        .fallback(move |method: Method, uri: Uri| async move {
            unmatched.request("unmatched", method_label(&method), 404);
            ApiError::NotFound("No such route".into()).render(Dialect::of_path(uri.path()))
        })
        .method_not_allowed_fallback(move |method: Method, uri: Uri| async move {
            wrong_method.request("unmatched", method_label(&method), 405);
            ApiError::MethodNotAllowed.render(Dialect::of_path(uri.path()))
        })
        .layer(EdgeLayer(state))
}
