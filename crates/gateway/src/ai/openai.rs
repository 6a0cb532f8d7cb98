//! The OpenAI-compatible endpoints: `POST /v1/chat/completions` (streamed and not) and
//! `GET /v1/models`, in OpenAI's request and response shapes, so any OpenAI SDK pointed at
//! `{gateway}/v1` works. Errors on these routes take OpenAI's shape too (`error.rs`): the handlers answer
//! [`OpenAiShaped`], the auth layer and the fallbacks know the dialect from the route table.
//!
//! `model` is a model id from the catalogue, or a quality tier name (`cheap`, `balanced`,
//! `frontier`). Besides OpenAI's parameters, `quality` and `governorMetadata` are accepted
//! (an SDK's `extra_body`); the Governor's metadata may also come as `metadata.governor`
//! (`metadata` is read by the gateway, never sent upstream). With it, the answer carries a
//! `governor` field beside OpenAI's, and a stream ends with a chunk that carries it. Parameters the gateway does not know are refused with a 400 naming
//! them, rather than passed on unchecked.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use regpilot_ai::{ChatRequest, Quality};
use regpilot_governor::Delivered;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::call::{Call, Routing};
use super::sse_body::{self, StreamFormat};
use super::validate::{governor, in_range, json_mode, max_tokens, messages, model_name, temperature, MessageIn};
use crate::error::ErrorBody;
use crate::error::{ApiError, OpenAiShaped};
use crate::path::auth::{Authenticated, ClientAddr};
use crate::path::json::ApiJson;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// OpenAI's chat-completions body (the parameters this gateway passes on).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChatCompletionRequest {
    /// A model id, or `cheap` / `balanced` / `frontier`.
    model: String,
    #[schema(value_type = Vec<Object>)]
    messages: Vec<MessageIn>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    /// `{"type": "text" | "json_object" | "json_schema", …}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    response_format: Option<Value>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    stop: Option<Value>,
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    frequency_penalty: Option<f64>,
    #[serde(default)]
    seed: Option<i64>,
    #[serde(default)]
    user: Option<String>,
    /// Only 1.
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    logit_bias: Option<Map<String, Value>>,
    #[serde(default)]
    logprobs: Option<bool>,
    #[serde(default)]
    top_logprobs: Option<u32>,
    /// RegPilot: used when `model` is a tier name.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    quality: Option<Quality>,
    /// RegPilot: asks for Governor validation (docs/governor.md).
    #[serde(default, rename = "governorMetadata")]
    #[schema(value_type = Option<Object>)]
    governor_metadata: Option<Value>,
    /// OpenAI's request metadata; RegPilot reads `metadata.governor` as `governorMetadata`.
    /// Not sent upstream.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
}

fn prepare(
    state: &AppState,
    key: &crate::path::index::IndexedKey,
    client: Option<Extension<ClientAddr>>,
    body: ChatCompletionRequest,
) -> Result<(Call, bool, bool), ApiError> {
    let (governor_metadata, governor_path) = super::govern::openai_metadata(body.governor_metadata, body.metadata);
    in_range(body.top_p, "top_p", 0.0, 1.0)?;
    in_range(body.presence_penalty, "presence_penalty", -2.0, 2.0)?;
    in_range(body.frequency_penalty, "frequency_penalty", -2.0, 2.0)?;
    if body.n.is_some_and(|n| n != 1) {
        return Err(ApiError::bad_request("n", "n: this gateway answers one choice per request (n = 1)"));
    }
    if body.top_logprobs.is_some_and(|n| n > 20) {
        return Err(ApiError::bad_request("top_logprobs", "top_logprobs must be between 0 and 20"));
    }
    let json_mode = json_mode(body.response_format.as_ref())?;
    let mut passthrough = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            passthrough.insert(k.to_owned(), v);
        }
    };
    put("top_p", body.top_p.map(Value::from));
    put("stop", body.stop);
    put("presence_penalty", body.presence_penalty.map(Value::from));
    put("frequency_penalty", body.frequency_penalty.map(Value::from));
    put("seed", body.seed.map(Value::from));
    put("user", body.user.map(Value::from));
    put("logit_bias", body.logit_bias.map(Value::Object));
    put("logprobs", body.logprobs.map(Value::from));
    put("top_logprobs", body.top_logprobs.map(Value::from));
    put("response_format", body.response_format);
    if body.max_tokens.is_some() && body.max_completion_tokens.is_some() {
        return Err(ApiError::bad_request(
            "max_completion_tokens",
            "max_tokens and max_completion_tokens cannot both be set",
        ));
    }
    let request = ChatRequest {
        messages: messages(body.messages)?,
        temperature: temperature(body.temperature, "temperature")?,
        max_tokens: max_tokens(body.max_tokens, "max_tokens")?,
        max_completion_tokens: max_tokens(body.max_completion_tokens, "max_completion_tokens")?,
        json_mode,
        passthrough,
    };
    let model = model_name(Some(body.model))?;
    let tier = model.as_deref().and_then(|m| m.parse::<Quality>().ok());
    let routing = Routing {
        quality: tier.or(body.quality).unwrap_or_default(),
        model: if tier.is_some() { None } else { model.as_deref() },
        governor: governor(governor_metadata.as_ref(), governor_path)?,
        client_ip: client.and_then(|Extension(ClientAddr(ip))| ip),
    };
    let stream = body.stream.unwrap_or(false);
    let include_usage = body.stream_options.and_then(|o| o.include_usage).unwrap_or(false);
    Ok((Call::prepare(state, key, routing, request)?, stream, include_usage))
}

/// OpenAI's chat completions: a `chat.completion` object, or with `"stream": true` a stream of
/// `chat.completion.chunk` events ending with `data: [DONE]`.
#[utoipa::path(
    post, path = "/v1/chat/completions", tag = "openai", request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "chat.completion (or text/event-stream of chat.completion.chunk)", body = Object),
        (status = 400, description = "A bad parameter, named (OpenAI error shape)", body = Object),
        (status = 403, description = "The key lacks `chat`; or Governor metadata was sent and the key lacks `governor`, its plan has no Governor or the project switched it off", body = Object),
        (status = 422, description = "Mode block: the Governor withheld a high-risk prompt or answer (`GOVERNOR_BLOCKED`)", body = Object),
        (status = 502, description = "The upstream failed", body = Object),
        (status = 503, description = "No upstream configured or reachable", body = Object),
        (status = 504, description = "The upstream did not answer in time", body = Object),
    )
)]
pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    client: Option<Extension<ClientAddr>>,
    body: Result<ApiJson<ChatCompletionRequest>, ApiError>,
) -> Result<Response, OpenAiShaped> {
    let ApiJson(body) = body?;
    let (mut call, stream, include_usage) = prepare(&state, &key, client, body)?;
    call.govern_prompt(&state).await?;
    if stream {
        let s = call.stream(&state).await?;
        return Ok(sse_body::response(&state, call, s, StreamFormat::OpenAi { include_usage }));
    }
    let c = call.complete(&state).await?;
    let usage = c.usage;
    let json = [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    let Some(g) = &call.governed else {
        let mut response = (json, c.into_openai()).into_response();
        call.headers(response.headers_mut());
        call.usage_headers(response.headers_mut(), usage);
        return Ok(response);
    };
    let verdict = g.check_answer(&state, &c.text).await;
    if verdict.delivered == Delivered::Withheld {
        let refusal = g.blocked(&verdict, g.audit_id(), "The answer was withheld: the Governor found it high-risk");
        let mut response = OpenAiShaped(refusal).into_response();
        call.headers(response.headers_mut());
        return Ok(response);
    }
    let text = match &verdict.delivered {
        Delivered::Changed(t) => Some(t.clone()),
        _ => None,
    };
    let body = super::govern::openai_body(c.into_openai(), text.as_deref(), &g.result(&verdict));
    let mut response = (json, body).into_response();
    call.headers(response.headers_mut());
    call.usage_headers(response.headers_mut(), usage);
    g.headers(response.headers_mut(), &verdict);
    Ok(response)
}

/// OpenAI's model list: every model in the catalogue.
#[utoipa::path(
    get, path = "/v1/models", tag = "openai",
    responses((status = 200, description = "`{\"object\": \"list\", \"data\": [model…]}`", body = Object), (status = 503, body = ErrorBody))
)]
pub(crate) async fn models(State(state): State<AppState>) -> Result<Json<Value>, OpenAiShaped> {
    let ai = crate::ai::call::ai_service(&state)?;
    let data: Vec<Value> = ai
        .catalogue()
        .models()
        .iter()
        .map(|m| json!({"id": m.id, "object": "model", "created": 0, "owned_by": m.provider.name}))
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}
