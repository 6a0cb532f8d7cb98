//! RegPilot's own AI endpoints (docs/ai-gateway.md, "Endpoints"): `POST /api/ai/chat` (a
//! Server-Sent Events stream), `POST /api/ai/complete` (one JSON answer) and `GET /api/ai/models`.
//! The body is checked field by field (each bad field gets a 400 naming it); unknown fields are
//! refused, so nothing in a body can reach an upstream unchecked.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use regpilot_ai::{ChatRequest, Mode, Quality};
use regpilot_governor::Delivered;
use serde::Deserialize;
use serde_json::{json, Value};

use super::call::{Call, Routing};
use super::sse_body::{self, StreamFormat};
use super::validate::{governor, max_tokens, messages, model_name, temperature, MessageIn};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::path::auth::{Authenticated, ClientAddr};
use crate::path::json::ApiJson;
use crate::state::AppState;

/// The body of `/api/ai/chat` and `/api/ai/complete`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AiRequest {
    /// `{"role": "system" | "user" | "assistant", "content": "…"}`, at least one.
    #[schema(value_type = Vec<Object>)]
    messages: Vec<MessageIn>,
    /// `cheap`, `balanced` (default) or `frontier`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    quality: Option<Quality>,
    /// A model id from `GET /api/ai/models`; overrides `quality`.
    #[serde(default)]
    model: Option<String>,
    /// 0 to 2.
    #[serde(default)]
    temperature: Option<f64>,
    /// At least 1.
    #[serde(default)]
    max_tokens: Option<u32>,
    /// `text` (default) or `json`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    mode: Option<Mode>,
    /// Asks for Governor validation (docs/governor.md): `actionType`, `senderId`, optional
    /// `recipientCountry`, `recipientUserId`, `senderRole`, `department`, `contextTags`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    governor_metadata: Option<Value>,
    /// `/api/ai/chat` only: `false` answers with one JSON object, as `/api/ai/complete` does
    /// (default `true`: the event stream).
    #[serde(default)]
    stream: Option<bool>,
}

fn prepare(
    state: &AppState,
    key: &crate::path::index::IndexedKey,
    client: Option<Extension<ClientAddr>>,
    body: AiRequest,
) -> Result<Call, ApiError> {
    let request = ChatRequest {
        messages: messages(body.messages)?,
        temperature: temperature(body.temperature, "temperature")?,
        max_tokens: max_tokens(body.max_tokens, "maxTokens")?,
        json_mode: body.mode == Some(Mode::Json),
        ..ChatRequest::default()
    };
    let model = model_name(body.model)?;
    let routing = Routing {
        quality: body.quality.unwrap_or_default(),
        model: model.as_deref(),
        governor: governor(body.governor_metadata.as_ref(), "governorMetadata")?,
        client_ip: client.and_then(|Extension(ClientAddr(ip))| ip),
    };
    Call::prepare(state, key, routing, request)
}

/// A chat answer as a Server-Sent Events stream: `data: {"type":"chunk","content":…}` events as
/// the model writes, then (with `governorMetadata`) `data: {"type":"governor",…}`, then
/// `data: {"type":"usage",…}` and `data: [DONE]`; an error after the stream began comes as
/// `data: {"type":"error","error":…,"code":…}`.
#[utoipa::path(
    post, path = "/api/ai/chat", tag = "ai", request_body = AiRequest,
    responses(
        (status = 200, description = "text/event-stream of chunk events, then a usage event and [DONE]"),
        (status = 400, description = "A bad field, named", body = ErrorBody),
        (status = 403, description = "The key lacks `chat`; or governorMetadata was sent and the key lacks `governor` or its plan has no Governor", body = ErrorBody),
        (status = 422, description = "Mode block: the Governor withheld a high-risk prompt or answer (`GOVERNOR_BLOCKED`, with `rules` and `governor`)", body = ErrorBody),
        (status = 502, description = "The upstream failed", body = ErrorBody),
        (status = 503, description = "No upstream configured or reachable", body = ErrorBody),
        (status = 504, description = "The upstream did not answer in time", body = ErrorBody),
    )
)]
pub(crate) async fn chat(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    client: Option<Extension<ClientAddr>>,
    ApiJson(body): ApiJson<AiRequest>,
) -> Result<Response, ApiError> {
    let streamed = body.stream.unwrap_or(true);
    let mut call = prepare(&state, &key, client, body)?;
    call.govern_prompt(&state).await?;
    if !streamed {
        return whole_answer(&state, &call).await;
    }
    let stream = call.stream(&state).await?;
    Ok(sse_body::response(&state, call, stream, StreamFormat::RegPilot))
}

/// A whole chat answer: `text`, `provider`, `model`, `cacheHit`, `usage{promptTokens,
/// completionTokens, totalTokens, costCents}`, and with `governorMetadata` the `governor`
/// result (and the `x-governor-*` headers).
#[utoipa::path(
    post, path = "/api/ai/complete", tag = "ai", request_body = AiRequest,
    responses(
        (status = 200, description = "The answer", body = Object),
        (status = 400, description = "A bad field, named", body = ErrorBody),
        (status = 403, description = "The key lacks `chat`; or governorMetadata was sent and the key lacks `governor` or its plan has no Governor", body = ErrorBody),
        (status = 422, description = "Mode block: the Governor withheld a high-risk prompt or answer (`GOVERNOR_BLOCKED`, with `rules` and `governor`)", body = ErrorBody),
        (status = 502, description = "The upstream failed", body = ErrorBody),
        (status = 503, description = "No upstream configured or reachable", body = ErrorBody),
        (status = 504, description = "The upstream did not answer in time", body = ErrorBody),
    )
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    Extension(Authenticated(key)): Extension<Authenticated>,
    client: Option<Extension<ClientAddr>>,
    ApiJson(body): ApiJson<AiRequest>,
) -> Result<Response, ApiError> {
    if body.stream.is_some() {
        return Err(ApiError::bad_request(
            "stream",
            "stream: /api/ai/complete answers one JSON object; use /api/ai/chat to stream",
        ));
    }
    let mut call = prepare(&state, &key, client, body)?;
    call.govern_prompt(&state).await?;
    whole_answer(&state, &call).await
}

async fn whole_answer(state: &AppState, call: &Call) -> Result<Response, ApiError> {
    let c = call.complete(state).await?;
    let verdict = match &call.governed {
        Some(g) => Some(g.check_answer(state, &c.text).await),
        None => None,
    };
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        text: &'a str,
        #[serde(flatten)]
        meta: crate::ai::call::AnswerMeta<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        governor: Option<crate::ai::govern::GovernorResult<'a>>,
    }
    let (text, governor) = match (&call.governed, &verdict) {
        (Some(g), Some(v)) => {
            if v.delivered == Delivered::Withheld {
                let refusal = g.blocked(v, g.audit_id(), "The answer was withheld: the Governor found it high-risk");
                let mut response = refusal.into_response();
                call.headers(response.headers_mut());
                return Ok(response);
            }
            (v.delivered_text(&c.text).unwrap_or(&c.text), Some(g.result(v)))
        }
        _ => (c.text.as_str(), None),
    };
    let meta = call.answer_meta(&c.finish_reason, c.usage);
    let mut response = Json(Answer { text, meta, governor }).into_response();
    call.headers(response.headers_mut());
    call.usage_headers(response.headers_mut(), c.usage);
    if let (Some(g), Some(v)) = (&call.governed, &verdict) {
        g.headers(response.headers_mut(), v);
    }
    Ok(response)
}

/// The models this gateway offers: id, provider, price, the quality tiers that route to it,
/// and whether its provider can be called.
#[utoipa::path(
    get, path = "/api/ai/models", tag = "ai",
    responses((status = 200, description = "`{\"models\": […], \"quality\": {tier: model}}`", body = Object))
)]
pub(crate) async fn models(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let ai = crate::ai::call::ai_service(&state)?;
    let catalogue = ai.catalogue();
    let models: Vec<Value> = catalogue
        .models()
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "provider": m.provider.name,
                "available": m.provider.unavailable.is_none(),
                "qualities": m.qualities,
                "pricing": {
                    "promptCentsPer1k": m.price.prompt_cents_per_1k,
                    "completionCentsPer1k": m.price.completion_cents_per_1k,
                },
            })
        })
        .collect();
    let quality: serde_json::Map<String, Value> =
        Quality::ALL.iter().map(|q| (q.as_str().to_owned(), Value::String(catalogue.tier(*q).id.clone()))).collect();
    Ok(Json(json!({"models": models, "quality": quality, "defaultQuality": Quality::default()})))
}
