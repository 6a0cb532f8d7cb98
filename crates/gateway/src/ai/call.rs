//! One AI call, whichever route asked for it: the Governor check, the choice of model, the
//! simulator for development keys or the model's provider for the others, the `x-regpilot-*`
//! answer headers, and the usage record (model, tokens, cost) handed to the recorder.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use regpilot_ai::{Ai, ChatRequest, ChatStream, Completion, ModelEntry, Quality, TokenUsage, UnknownModel};
use regpilot_keys::{Environment, Scope};
use serde::Serialize;

use crate::error::ApiError;
use crate::path::index::IndexedKey;
use crate::path::recorder::AiUsage;
use crate::state::AppState;

/// What the simulator is called in answers, logs and metrics.
pub use regpilot_ai::SIMULATOR;

pub static MODEL: HeaderName = HeaderName::from_static("x-regpilot-model");
pub static PROVIDER: HeaderName = HeaderName::from_static("x-regpilot-provider");
pub static PROMPT_TOKENS: HeaderName = HeaderName::from_static("x-regpilot-prompt-tokens");
pub static COMPLETION_TOKENS: HeaderName = HeaderName::from_static("x-regpilot-completion-tokens");
pub static TOTAL_TOKENS: HeaderName = HeaderName::from_static("x-regpilot-total-tokens");
pub static CREDITS: HeaderName = HeaderName::from_static("x-regpilot-credits-charged");
pub static TEST_MODE: HeaderName = HeaderName::from_static("x-regpilot-test-mode");
pub static WARNING: HeaderName = HeaderName::from_static("x-regpilot-warning");

/// `usage` of RegPilot's answers (`/api/ai/complete`, the stream's usage event).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageBody {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
    pub cost_cents: f64,
}

/// What RegPilot's endpoints say about a finished answer (fields in this order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerMeta<'a> {
    pub provider: &'a str,
    pub model: &'a str,
    /// No answer cache exists yet: always false.
    pub cache_hit: bool,
    pub finish_reason: &'a str,
    pub usage: UsageBody,
}

/// A call ready to go: the model is chosen and can be reached.
pub struct Call {
    ai: Arc<Ai>,
    pub model: Arc<ModelEntry>,
    /// Development keys: answered by the simulator.
    pub simulated: bool,
    pub request: ChatRequest,
    key: IndexedKey,
    /// Said in `x-regpilot-warning`: what a production key would have been refused for.
    warning: Option<String>,
}

/// What a chat request asks of the gateway besides the messages.
pub struct Routing<'a> {
    pub quality: Quality,
    pub model: Option<&'a str>,
    pub governor: bool,
}

impl Call {
    pub fn prepare(
        state: &AppState,
        key: &IndexedKey,
        routing: Routing<'_>,
        request: ChatRequest,
    ) -> Result<Call, ApiError> {
        if routing.governor {
            // SPEC §4/§5: Governor needs the scope and a plan with it; on such a plan this
            // version still cannot validate, and says so instead of pretending.
            if !key.scopes.contains(Scope::Governor) || !state.plans.governor(&key.project_id) {
                state.metrics.forbidden();
                return Err(ApiError::Forbidden { required: Scope::Governor });
            }
            return Err(ApiError::NotImplemented(
                "Governor validation is not available in this version of RegPilot Gateway; \
                 the request was not sent. Send it without governorMetadata."
                    .into(),
            ));
        }
        let ai = ai_service(state)?.clone();
        let simulated = key.environment == Environment::Development;
        let mut warning = None;
        let model = match ai.catalogue().route(routing.quality, routing.model) {
            Ok(model) => model.clone(),
            // Test mode answers any model name (so code written for another deployment runs
            // offline), and says what a production key would get.
            Err(UnknownModel(m)) if simulated && m.len() <= 200 && m.bytes().all(|b| b.is_ascii_graphic()) => {
                warning = Some(format!("model '{m}' is offered by no configured provider; a production key gets 400"));
                regpilot_ai::Catalogue::unlisted(&m)
            }
            Err(UnknownModel(m)) => {
                return Err(ApiError::bad_request(
                    "model",
                    format!("Unknown model '{m}'; GET /api/ai/models lists the models offered"),
                ))
            }
        };
        if !simulated {
            if let Some(why) = &model.provider.unavailable {
                return Err(ApiError::NoUpstream(format!(
                    "No upstream is configured for model '{}': provider '{}' cannot be called because {why}. \
                     Set it, or configure [[ai.providers]] in the settings file (see docs/ai-gateway.md). \
                     Development keys (sk_dev_…) are answered by the built-in simulator.",
                    model.id, model.provider.name
                )));
            }
        }
        Ok(Call { ai, model, simulated, request, key: key.clone(), warning })
    }

    pub fn key_id(&self) -> &str {
        &self.key.id
    }

    pub fn provider(&self) -> &str {
        if self.simulated {
            SIMULATOR
        } else {
            &self.model.provider.name
        }
    }

    pub fn answer_meta<'a>(&'a self, finish_reason: &'a str, usage: TokenUsage) -> AnswerMeta<'a> {
        AnswerMeta {
            provider: self.provider(),
            model: &self.model.id,
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
    pub fn cost_ucents(&self, usage: TokenUsage) -> i64 {
        if self.simulated {
            0
        } else {
            self.model.price.cost_ucents(usage)
        }
    }

    pub async fn complete(&self, state: &AppState) -> Result<Completion, ApiError> {
        if self.simulated {
            let c = self.ai.simulate(&self.model, &self.request);
            self.finish(state, c.usage, "ok");
            return Ok(c);
        }
        match self.ai.complete(&self.model, &self.request).await {
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

    pub async fn stream(&self, state: &AppState) -> Result<ChatStream, ApiError> {
        if self.simulated {
            return Ok(self.ai.simulate_stream(&self.model, &self.request));
        }
        self.ai.stream(&self.model, &self.request).await.map_err(|e| {
            self.failed(state, e.kind());
            ApiError::Upstream(e)
        })
    }

    fn failed(&self, state: &AppState, kind: &'static str) {
        state.metrics.ai_call(self.provider(), kind, 0, 0);
    }

    /// Records a finished (or cut) call: metrics, and the usage row with model, tokens, cost.
    pub fn finish(&self, state: &AppState, usage: TokenUsage, outcome: &'static str) {
        state.metrics.ai_call(self.provider(), outcome, usage.prompt, usage.completion);
        state.usage.record_ai(AiUsage {
            key_id: self.key.id.clone(),
            project_id: self.key.project_id.clone(),
            at_ms: regpilot_store::now_ms(),
            model: self.model.id.as_str().into(),
            provider: self.provider().into(),
            usage,
            cost_ucents: self.cost_ucents(usage),
        });
    }

    /// The headers every answer carries: the model, the provider, test mode.
    pub fn headers(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.model.id) {
            headers.insert(MODEL.clone(), v);
        }
        if let Ok(v) = HeaderValue::from_str(self.provider()) {
            headers.insert(PROVIDER.clone(), v);
        }
        if self.simulated {
            headers.insert(TEST_MODE.clone(), HeaderValue::from_static("true"));
        }
        if let Some(v) = self.warning.as_deref().and_then(|w| HeaderValue::from_str(w).ok()) {
            headers.insert(WARNING.clone(), v);
        }
    }

    /// Token counts and credits, on answers that are not streamed.
    pub fn usage_headers(&self, headers: &mut HeaderMap, usage: TokenUsage) {
        headers.insert(PROMPT_TOKENS.clone(), HeaderValue::from(usage.prompt));
        headers.insert(COMPLETION_TOKENS.clone(), HeaderValue::from(usage.completion));
        headers.insert(TOTAL_TOKENS.clone(), HeaderValue::from(usage.total()));
        let cents = regpilot_ai::tokens::ucents_to_cents(self.cost_ucents(usage));
        if let Ok(v) = HeaderValue::from_str(&format_cents(cents)) {
            headers.insert(CREDITS.clone(), v);
        }
    }
}

/// The AI service, or the 503 of a server built without one.
pub fn ai_service(state: &AppState) -> Result<&Arc<Ai>, ApiError> {
    state.ai.as_ref().ok_or_else(|| ApiError::NoUpstream("The AI endpoints are not configured on this server".into()))
}

/// Cents with up to six decimals, without trailing zeros (`0`, `0.75`, `0.000125`).
pub fn format_cents(cents: f64) -> String {
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
