//! The per-route authentication middleware. Deny by default: a scoped route runs only for a
//! valid key holding its scope.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{find_key, verify, AuthOutcome};
use crate::access::Access;
use crate::error::ApiError;
use crate::index::IndexedKey;
use crate::state::AppState;

/// The key a request was authenticated with, for the handler (and later the limiter and the
/// usage recorder).
#[derive(Debug, Clone)]
pub struct Authenticated(pub IndexedKey);

/// The route template a response came from, for the metrics (set on every routed response).
#[derive(Debug, Clone, Copy)]
pub struct RouteTemplate(pub &'static str);

/// What the per-route layer knows about its route.
#[derive(Clone)]
pub struct RouteCtx {
    pub state: AppState,
    pub access: Access,
    pub template: &'static str,
}

pub async fn auth_layer(State(ctx): State<RouteCtx>, req: Request, next: Next) -> Response {
    let mut response = authenticate(&ctx.state, ctx.access, req, next).await;
    response.extensions_mut().insert(RouteTemplate(ctx.template));
    response
}

async fn authenticate(state: &AppState, access: Access, mut req: Request, next: Next) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let outcome = verify(find_key(req.headers()), &state.index, regpilot_store::now_ms());
    state.metrics.auth_outcome(outcome.reason_index());
    let key = match outcome {
        AuthOutcome::Ok(key) => key,
        AuthOutcome::Missing if access == Access::OptionalKey => return next.run(req).await,
        AuthOutcome::Missing => return ApiError::MissingKey.into_response(),
        refused => {
            log_refusal(&refused);
            return ApiError::InvalidKey { with_authenticated: access == Access::OptionalKey }.into_response();
        }
    };
    if let Access::Scope(scope) = access {
        if !key.scopes.contains(scope) {
            state.metrics.forbidden();
            tracing::info!(key_id = %key.id, required = scope.as_str(), "key lacks the route's scope");
            return ApiError::Forbidden { required: scope }.into_response();
        }
    }
    // The response carries the key too, but only when the request log line will show it.
    let for_log = tracing::enabled!(tracing::Level::DEBUG).then(|| Authenticated(key.clone()));
    req.extensions_mut().insert(Authenticated(key));
    let mut response = next.run(req).await;
    if let Some(k) = for_log {
        response.extensions_mut().insert(k);
    }
    response
}

/// A known key that is refused is worth an operator's attention (a deactivated or deleted key
/// still in use may be leaked); strings that are not keys are only debug noise.
fn log_refusal(outcome: &AuthOutcome) {
    match outcome.known_key() {
        Some(key) => {
            tracing::info!(key_id = %key.id, project_id = %key.project_id, reason = outcome.reason(), "key refused")
        }
        None => tracing::debug!(reason = outcome.reason(), "key refused"),
    }
}
