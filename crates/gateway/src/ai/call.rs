//! One AI call, whichever route asked for it: the Governor's part (`govern.rs`), the route (model and who
//! answers it, decided by `regpilot_ai` from the key's environment), the `x-regpilot-*` answer
//! headers, and the usage record (model, tokens, cost) handed to the recorder.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use regpilot_ai::{Ai, ChatRequest, ChatStream, Completion, Quality, Route, RouteError, TokenUsage};
use serde::Serialize;

use super::govern::Governed;
use super::validate::GovernorMetadata;
use crate::error::ApiError;
use crate::path::index::IndexedKey;
use crate::path::recorder::AiUsage;
use crate::state::AppState;

pub(crate) static MODEL: HeaderName = HeaderName::from_static("x-regpilot-model");
pub(crate) static PROVIDER: HeaderName = HeaderName::from_static("x-regpilot-provider");
pub(crate) static PROMPT_TOKENS: HeaderName = HeaderName::from_static("x-regpilot-prompt-tokens");
pub(crate) static COMPLETION_TOKENS: HeaderName = HeaderName::from_static("x-regpilot-completion-tokens");
pub(crate) static TOTAL_TOKENS: HeaderName = HeaderName::from_static("x-regpilot-total-tokens");
pub(crate) static CREDITS: HeaderName = HeaderName::from_static("x-regpilot-credits-charged");
pub(crate) static TEST_MODE: HeaderName = HeaderName::from_static("x-regpilot-test-mode");

/// `usage` of RegPilot's answers (`/api/ai/complete`, the stream's usage event).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageBody {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
    pub cost_cents: f64,
}

/// What RegPilot's endpoints say about a finished answer (fields in this order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnswerMeta<'a> {
    pub provider: &'a str,
    pub model: &'a str,
    /// No answer cache exists yet: always false.
    pub cache_hit: bool,
    pub finish_reason: &'a str,
    pub usage: UsageBody,
}

/// A call ready to go: the model is chosen and whoever answers it can be reached.
pub(crate) struct Call {
    ai: Arc<Ai>,
    pub route: Route,
    pub request: ChatRequest,
    key: IndexedKey,
    /// Set when the request carried `governorMetadata` (docs/governor.md).
    pub governed: Option<Governed>,
}

/// What a chat request asks of the gateway besides the messages.
pub(crate) struct Routing<'a> {
    pub quality: Quality,
    pub model: Option<&'a str>,
    /// `governorMetadata` (or `metadata.governor`), an object (checked by `validate::governor`).
    pub governor: Option<GovernorMetadata<'a>>,
    /// The client's address, for the Governor's recipient country.
    pub client_ip: Option<IpAddr>,
}

impl Call {
    pub(crate) fn prepare(
        state: &AppState,
        key: &IndexedKey,
        routing: Routing<'_>,
        request: ChatRequest,
    ) -> Result<Call, ApiError> {
        // docs/governor.md: Governor needs the scope, a plan with it and the project's switch.
        let governed = match routing.governor {
            Some(metadata) => Some(Governed::prepare(state, key, metadata, routing.client_ip)?),
            None => None,
        };
        let ai = ai_service(state)?.clone();
        let route = ai.route(key.environment, routing.quality, routing.model).map_err(route_error)?;
        Ok(Call { ai, route, request, key: key.clone(), governed })
    }

    /// Checks the prompt when the project asks for it (it may be redacted, or refused).
    pub(crate) async fn govern_prompt(&mut self, state: &AppState) -> Result<(), ApiError> {
        match &self.governed {
            Some(g) => g.check_prompt(state, &mut self.request).await,
            None => Ok(()),
        }
    }

    pub(crate) fn key_id(&self) -> &str {
        &self.key.id
    }

    pub(crate) fn provider(&self) -> &str {
        self.route.provider()
    }

    pub(crate) fn answer_meta<'a>(&'a self, finish_reason: &'a str, usage: TokenUsage) -> AnswerMeta<'a> {
        AnswerMeta {
            provider: self.provider(),
            model: self.route.model_id(),
            cache_hit: false,
            finish_reason,
            usage: UsageBody {
                prompt_tokens: usage.prompt,
                completion_tokens: usage.completion,
                total_tokens: usage.total(),
                cost_cents: regpilot_ai::tokens::ucents_to_cents(self.cost_ucents(usage)),
            },
        }
    }

    /// Millionths of a cent; nothing in test mode.
    pub(crate) fn cost_ucents(&self, usage: TokenUsage) -> i64 {
        self.route.cost_ucents(usage)
    }

    pub(crate) async fn complete(&self, state: &AppState) -> Result<Completion, ApiError> {
        match self.ai.complete(&self.route, &self.request).await {
            Ok(c) => {
                self.finish(state, c.usage, "ok");
                Ok(c)
            }
            Err(e) => {
                // The upstream may have done (and billed) work; the prompt is counted as sent.
                self.failed(state, e.kind());
                Err(ApiError::Upstream(e))
            }
        }
    }

    pub(crate) async fn stream(&self, state: &AppState) -> Result<ChatStream, ApiError> {
        self.ai.stream(&self.route, &self.request).await.map_err(|e| {
            self.failed(state, e.kind());
            ApiError::Upstream(e)
        })
    }

    fn failed(&self, state: &AppState, kind: &'static str) {
        state.metrics.ai_call(self.provider(), kind, 0, 0);
    }

    /// Records a finished (or cut) call: metrics, and the usage row with model, tokens, cost.
    pub(crate) fn finish(&self, state: &AppState, usage: TokenUsage, outcome: &'static str) {
        state.metrics.ai_call(self.provider(), outcome, usage.prompt, usage.completion);
        state.usage.record_ai(AiUsage {
            key_id: self.key.id.clone(),
            project_id: self.key.project_id.clone(),
            at_ms: regpilot_store::now_ms(),
            model: self.route.model_id().into(),
            provider: self.provider().into(),
            usage,
            cost_ucents: self.cost_ucents(usage),
        });
    }

    /// The headers every answer carries: the model, the provider, test mode.
    pub(crate) fn headers(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(self.route.model_id()) {
            headers.insert(MODEL.clone(), v);
        }
        if let Ok(v) = HeaderValue::from_str(self.provider()) {
            headers.insert(PROVIDER.clone(), v);
        }
        if self.route.test_mode() {
            headers.insert(TEST_MODE.clone(), HeaderValue::from_static("true"));
        }
        if let Some(g) = &self.governed {
            g.audit_header(headers);
        }
    }

    /// Token counts and credits, on answers that are not streamed.
    pub(crate) fn usage_headers(&self, headers: &mut HeaderMap, usage: TokenUsage) {
        headers.insert(PROMPT_TOKENS.clone(), HeaderValue::from(usage.prompt));
        headers.insert(COMPLETION_TOKENS.clone(), HeaderValue::from(usage.completion));
        headers.insert(TOTAL_TOKENS.clone(), HeaderValue::from(usage.total()));
        let cents = regpilot_ai::tokens::ucents_to_cents(self.cost_ucents(usage));
        if let Ok(v) = HeaderValue::from_str(&format_cents(cents)) {
            headers.insert(CREDITS.clone(), v);
        }
    }
}

/// A request that cannot be routed: an unknown model is a 400 on `model`, a provider that
/// cannot be called a 503.
fn route_error(e: RouteError) -> ApiError {
    match e {
        RouteError::UnknownModel(_) => ApiError::bad_request("model", e.to_string()),
        RouteError::Unavailable { .. } => ApiError::NoUpstream(e.to_string()),
    }
}

/// The AI service, or the 503 of a server built without one.
pub(crate) fn ai_service(state: &AppState) -> Result<&Arc<Ai>, ApiError> {
    state.ai.as_ref().ok_or_else(|| ApiError::NoUpstream("The AI endpoints are not configured on this server".into()))
}

/// Cents with up to six decimals, without trailing zeros (`0`, `0.75`, `0.000125`).
pub(crate) fn format_cents(cents: f64) -> String {
    let s = format!("{cents:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::format_cents;

    #[test]
    fn cents_print_without_noise() {
        assert_eq!(format_cents(0.0), "0");
        assert_eq!(format_cents(0.75), "0.75");
        assert_eq!(format_cents(0.000125), "0.000125");
        assert_eq!(format_cents(12.0), "12");
    }
}
