//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::OnceLock;

use axum::http::Method;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::access::Access;
use crate::router::route_table;
use crate::routes::{ai, compliance, health, openai, system, usage};

/// The shape of every error body (SPEC §4). Some errors add details: `headers_checked` (401
/// missing key), `authenticated` (401 on `/api/health`), `required` (403), `field` (400),
/// `limit_bytes` (413), `limit` and `retry_after` (429).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub code: String,
    /// 429: the limit that was hit, `burst` or `daily`.
    #[schema(nullable = false)]
    pub limit: Option<String>,
    /// 429: whole seconds to wait (also in the `Retry-After` header).
    #[schema(nullable = false)]
    pub retry_after: Option<u64>,
}

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
    }
}

/// Security and auth error answers come from the route table itself, the same table the auth
/// layer enforces, so the document cannot disagree with what the server does.
struct FromRouteTable;

impl Modify for FromRouteTable {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for def in route_table() {
            let Some(item) = openapi.paths.paths.get_mut(def.path) else { continue };
            let slot = match def.method {
                Method::GET => &mut item.get,
                Method::POST => &mut item.post,
                Method::PATCH => &mut item.patch,
                Method::PUT => &mut item.put,
                Method::DELETE => &mut item.delete,
                _ => continue,
            };
            let Some(op) = slot.as_mut() else { continue };
            match def.access {
                Access::Public => op.security = None,
                Access::OptionalKey => {
                    op.security = Some(vec![
                        SecurityRequirement::default(),
                        SecurityRequirement::new("api_key", Vec::<String>::new()),
                    ]);
                    add_error(op, "401", "A key was sent and it is not valid");
                    add_error(op, "429", RATE_LIMITED);
                }
                Access::Scope(scope) => {
                    op.security = Some(vec![SecurityRequirement::new("api_key", [scope.as_str()])]);
                    add_error(op, "401", "No key (`MISSING_API_KEY`), or a key that is not valid (`INVALID_API_KEY`)");
                    add_error(op, "403", "The key lacks the scope listed in `security` (`INSUFFICIENT_PERMISSIONS`)");
                    add_error(op, "429", RATE_LIMITED);
                }
            }
        }
    }
}

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
        system::openapi,
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
        ai::chat,
        ai::complete,
        ai::models,
        openai::chat_completions,
        openai::models,
    ),
    components(schemas(ErrorBody, ai::AiRequest, openai::ChatCompletionRequest)),
    modifiers(&KeyScheme, &FromRouteTable)
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
}
