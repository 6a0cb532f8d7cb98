//! The admin API, `/api/admin/*` (README.md, "Admin API"): everything the dashboard does, as
//! JSON, on the one control-plane service layer. Callers are dashboard users: with a personal
//! admin token (`Authorization: Bearer rpa_…`), or with a dashboard session (whose writes carry
//! the session's CSRF token in `x-csrf-token`). Deny by default: every route declares an
//! [`AdminAccess`] in the route table and [`admin_layer`] enforces it before the handler runs.

pub(crate) mod alerts;
pub(crate) mod audit;
pub(crate) mod keys;
pub(crate) mod page;
pub(crate) mod projects;
pub(crate) mod tokens;
pub(crate) mod users;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use regpilot_control::{Actor, AdminAuth, AdminPrincipal, SessionUser};

use crate::admin::dashboard::csrf::tokens_match;
use crate::admin::dashboard::session;
use crate::admin::dashboard::state::Dashboard;
use crate::error::{ApiError, Dialect};
use crate::metrics::method_label;
use crate::path::access::AdminAccess;
use crate::path::auth::{find_key, Presented};
use crate::state::AppState;

/// The header a dashboard session's writes carry its CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Who is calling, for the handler: the user, the role they have now, and the actor the audit
/// log names.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub user_id: String,
    pub email: String,
    pub actor: Actor,
    /// Set when the call came with an admin token (not a session).
    pub token: Option<AdminPrincipal>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The layer puts it there before any admin handler runs; without it, deny.
        parts.extensions.get::<Caller>().cloned().ok_or(ApiError::AdminUnauthorized { missing: true })
    }
}

/// What the admin layer knows about its route.
#[derive(Clone)]
pub(crate) struct AdminCtx {
    pub state: AppState,
    pub dashboard: Arc<Dashboard>,
    pub access: AdminAccess,
    pub template: &'static str,
}

/// Authenticates, checks the route's access, runs the handler, then records a token's write
/// (`admin_token.use` in the audit log) and the metrics. Every answer is `no-store`.
pub(crate) async fn admin_layer(State(ctx): State<AdminCtx>, mut req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    let mut response = match authorize(&ctx, req.headers(), writes).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller.clone());
            let response = next.run(req).await;
            if let (Some(token), true) = (&caller.token, writes) {
                let status = response.status().as_u16();
                if let Err(e) = ctx.state.control.audit_admin_token_write(token, method, ctx.template, status).await {
                    tracing::warn!(error = %e, token_id = %token.token_id, "recording an admin token's write failed");
                }
            }
            response
        }
        Err(refusal) => refusal.render(Dialect::RegPilot),
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    ctx.state.metrics.request(ctx.template, method, response.status().as_u16());
    response
}

async fn authorize(ctx: &AdminCtx, headers: &HeaderMap, writes: bool) -> Result<Caller, ApiError> {
    let control = &ctx.state.control;
    let (caller, read_only, role) = match find_key(headers) {
        Presented::Duplicate(header) => {
            let message = format!("The {header} header was sent more than once; send the token in one header, once");
            return Err(ApiError::bad_request(header, message));
        }
        Presented::Unreadable => return Err(refused(ctx, "malformed")),
        Presented::Key(raw) => match control.authenticate_admin_token(raw, regpilot_store::now_ms()).await? {
            AdminAuth::Ok(p) => {
                let caller =
                    Caller { user_id: p.user_id.clone(), email: p.email.clone(), actor: p.actor(), token: None };
                let (read_only, role) = (p.read_only, p.role.clone());
                (Caller { token: Some(p), ..caller }, read_only, role)
            }
            other => return Err(refused(ctx, other.reason())),
        },
        Presented::None => {
            let Some(id) = session::from_headers(headers) else {
                return Err(ApiError::AdminUnauthorized { missing: true });
            };
            let now = ctx.dashboard.clock.now_ms();
            let Some(user) = control.session(&id, ctx.dashboard.policy, now).await? else {
                return Err(refused(ctx, "session_ended"));
            };
            session_checks(ctx, &user, headers, writes)?;
            let caller =
                Caller { user_id: user.user_id.clone(), email: user.email.clone(), actor: user.actor(), token: None };
            (caller, false, user.role)
        }
    };
    let allowed = match ctx.access {
        AdminAccess::Read => true,
        AdminAccess::Write => role == "admin" && !read_only,
        AdminAccess::OwnTokens => !(read_only && writes),
    };
    if allowed {
        return Ok(caller);
    }
    tracing::info!(route = ctx.template, user_id = %caller.user_id, role = %role, read_only, "admin API call refused: access");
    let message = if read_only {
        "This admin token is read-only; it may not change anything".to_owned()
    } else {
        format!("Your role ({role}) may read through the admin API but not change anything")
    };
    Err(ApiError::AdminForbidden { required: "admin", message })
}

/// A session's writes carry its CSRF token; a password that must change blocks everything.
fn session_checks(ctx: &AdminCtx, user: &SessionUser, headers: &HeaderMap, writes: bool) -> Result<(), ApiError> {
    if writes {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !tokens_match(sent, &user.csrf_token) {
            tracing::info!(route = ctx.template, user_id = %user.user_id, "admin API call refused: CSRF token");
            return Err(ApiError::CsrfRejected);
        }
    }
    if user.must_change_password {
        return Err(ApiError::AdminForbidden {
            required: "password_change",
            message: "Set a new password first (the dashboard's Change password page)".into(),
        });
    }
    Ok(())
}

/// The one 401 for every unusable credential; the reason goes to the log only.
fn refused(ctx: &AdminCtx, reason: &'static str) -> ApiError {
    tracing::info!(route = ctx.template, reason, "admin API credential refused");
    ApiError::AdminUnauthorized { missing: false }
}
