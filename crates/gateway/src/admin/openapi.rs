//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::OnceLock;

use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::api::{
    alerts as admin_alerts, audit as admin_audit, keys as admin_keys, projects as admin_projects,
    tokens as admin_tokens, users as admin_users,
};
use super::{compliance, governor, health, leaks, system, usage};
use crate::ai::{chat, openai};
use crate::error::{ApiError, ErrorBody};
use crate::path::access::{Access, AdminAccess};

struct KeyScheme;

impl Modify for KeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A RegPilot key. Also read, in this order, from X-RegPilot-Key, Api-Key, Authorization \
                 (Bearer), X-Authorization (Bearer or bare) and Proxy-Authorization (Bearer). The scopes \
                 listed on an operation are the ones the key must hold.",
            ))),
        );
        components.add_security_scheme(
            "leak_reporter",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The configured `leak_reporter_token` (README.md, \"Leak response\"), not a RegPilot key.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A dashboard user's personal admin token (`rpa_…`), carrying the user's role; a read-only \
                         token only reads. A dashboard session (the `regpilot_session` cookie) is accepted too; its \
                         writes carry the session's CSRF token in `x-csrf-token`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "dashboard_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "regpilot_session",
                "A dashboard session; writes need the session's CSRF token in the x-csrf-token header.",
            ))),
        );
    }
}

/// Security and auth error answers come from the route table itself, the same table the auth
/// layer enforces, so the document cannot disagree with what the server does.
struct FromRouteTable(Vec<(Method, &'static str, Access)>);

impl Modify for FromRouteTable {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (method, path, access) in &self.0 {
            let Some(item) = openapi.paths.paths.get_mut(*path) else { continue };
            let slot = match *method {
                Method::GET => &mut item.get,
                Method::POST => &mut item.post,
                Method::PATCH => &mut item.patch,
                Method::PUT => &mut item.put,
                Method::DELETE => &mut item.delete,
                _ => continue,
            };
            let Some(op) = slot.as_mut() else { continue };
            match access {
                Access::Public => op.security = None,
                Access::OptionalKey => {
                    op.security = Some(vec![
                        SecurityRequirement::default(),
                        SecurityRequirement::new("api_key", Vec::<String>::new()),
                    ]);
                    add_error(op, "400", DUPLICATE_KEY_HEADER);
                    add_error(op, "401", "A key was sent and it is not valid");
                    add_error(op, "429", RATE_LIMITED);
                }
                Access::LeakReporter => {
                    op.security = Some(vec![SecurityRequirement::new("leak_reporter", Vec::<String>::new())]);
                }
                Access::Scope(scope) => {
                    op.security = Some(vec![SecurityRequirement::new("api_key", [scope.as_str()])]);
                    add_error(op, "400", DUPLICATE_KEY_HEADER);
                    add_error(op, "401", "No key (`MISSING_API_KEY`), or a key that is not valid (`INVALID_API_KEY`)");
                    add_error(op, "403", "The key lacks the scope listed in `security` (`INSUFFICIENT_PERMISSIONS`)");
                    add_error(op, "429", RATE_LIMITED);
                }
                Access::Admin(access) => {
                    let role = match access {
                        AdminAccess::Read => "read",
                        AdminAccess::Write => "write",
                        AdminAccess::OwnTokens => "own_tokens",
                    };
                    op.security = Some(vec![
                        SecurityRequirement::new("admin_token", [role]),
                        SecurityRequirement::new("dashboard_session", [role]),
                    ]);
                    add_error(op, "401", "No admin token or session (`MISSING_ADMIN_TOKEN`), or one that is not valid (`INVALID_ADMIN_TOKEN`)");
                    add_error(op, "403", "The caller's role or token may not do this (`INSUFFICIENT_PERMISSIONS`), or a session's write without its CSRF token (`CSRF_REJECTED`)");
                    add_error(op, "503", "The store is not answering (`NOT_READY`)");
                }
            }
        }
    }
}

/// Only where the route declares no 400 of its own (`or_insert_with`): a body's 400 says more.
const DUPLICATE_KEY_HEADER: &str =
    "A key header given more than once (`INVALID_REQUEST`, `field` names the header; README.md, \"Presenting a key\")";

const RATE_LIMITED: &str = "The key's burst or daily limit was hit (`RATE_LIMIT_EXCEEDED`, with `limit` and \
     `retry_after`; `Retry-After` header). Every answer to a valid key carries `x-ratelimit-limit`, \
     `x-ratelimit-remaining` and `x-ratelimit-reset`.";

fn add_error(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
            .build()
            .into()
    });
}

#[derive(OpenApi)]
#[openapi(
    info(title = "RegPilot Gateway", description = "API keys, rate limits, usage and compliance records in front of AI providers."),
    paths(
        health::health,
        system::ready,
        system::metrics,
        serve,
        compliance::list_violations,
        compliance::create_violation,
        compliance::update_violation,
        compliance::list_models,
        compliance::register_model,
        compliance::get_model,
        compliance::update_model,
        compliance::archive_model,
        usage::usage,
        compliance::status,
        governor::list_policies,
        governor::create_policy,
        governor::update_policy,
        governor::settings,
        governor::set_settings,
        governor::audits,
        governor::audit,
        chat::chat,
        chat::complete,
        chat::models,
        openai::chat_completions,
        openai::models,
        leaks::report,
        admin_projects::list_projects,
        admin_projects::create_project,
        admin_projects::get_project,
        admin_projects::set_plan,
        admin_keys::list_keys,
        admin_keys::create_key,
        admin_alerts::list_alerts,
        admin_keys::key_statuses,
        admin_keys::get_key,
        admin_keys::rename_key,
        admin_keys::delete_key,
        admin_keys::deactivate_key,
        admin_keys::reactivate_key,
        admin_keys::roll_key,
        admin_keys::key_usage,
        admin_keys::key_audit,
        admin_alerts::ack_alert,
        admin_users::list_users,
        admin_users::create_user,
        admin_users::set_role,
        admin_users::deactivate_user,
        admin_users::reactivate_user,
        admin_users::reset_password,
        admin_audit::audit_log,
        admin_tokens::list_tokens,
        admin_tokens::create_token,
        admin_tokens::revoke_token,
    ),
    components(schemas(ErrorBody, chat::AiRequest, openai::ChatCompletionRequest)),
    modifiers(&KeyScheme)
)]
pub(crate) struct ApiDoc;

static DOCUMENT: OnceLock<String> = OnceLock::new();

/// Builds the document once, from the handlers' annotations and the route table the router is
/// built from (`router.rs` calls this; the table is the same for every router).
pub(crate) fn publish<'a>(routes: impl Iterator<Item = (&'a Method, &'static str, Access)>) {
    DOCUMENT.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        FromRouteTable(routes.map(|(m, p, a)| (m.clone(), p, a)).collect()).modify(&mut doc);
        doc.to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    });
}

/// This document.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "system", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI document of every route", content_type = "application/json", body = Object))
)]
pub(crate) async fn serve() -> Response {
    match DOCUMENT.get() {
        Some(doc) => ([(header::CONTENT_TYPE, "application/json")], doc.as_str()).into_response(),
        None => ApiError::NotReady("The API document is not built yet".into()).into_response(),
    }
}
