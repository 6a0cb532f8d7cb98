//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::OnceLock;

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes::{compliance, health, system};

/// The shape of every error body (SPEC §4). Some errors add details: `headers_checked` (401
/// missing key), `authenticated` (401 on `/api/health`), `required` (403), `field` (400),
/// `limit_bytes` (413).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub code: String,
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
        compliance::status,
    ),
    components(schemas(ErrorBody)),
    modifiers(&KeyScheme)
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
}
