//! Every dashboard page, with what it requires ([`PageAccess`]), like the API's route table.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};

use super::access::PageAccess;
use super::assets;
use super::pages::{account, alerts, governor, key, keys, login, projects, tokens, users};
use super::state::DashState;

/// One dashboard page: method, path template, what it requires, and its handler.
pub(crate) struct PageDef {
    pub path: &'static str,
    pub access: PageAccess,
    pub(crate) handler: MethodRouter<DashState>,
}

fn page<H, T>(method: Method, path: &'static str, access: PageAccess, handler: H) -> PageDef
where
    H: Handler<T, DashState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method).unwrap_or(MethodFilter::GET);
    PageDef { path, access, handler: on(filter, handler) }
}

/// Every dashboard page. A page cannot be added without a [`PageAccess`].
pub(crate) fn page_table() -> Vec<PageDef> {
    use Method as M;
    use PageAccess::{Anonymous, Manage, Session};
    vec![
        page(M::GET, "/assets/app.css", Anonymous, assets::css),
        page(M::GET, "/assets/copy.js", Anonymous, assets::copy_js),
        page(M::GET, "/login", Anonymous, login::form),
        page(M::POST, "/login", Anonymous, login::submit),
        page(M::POST, "/logout", Session, login::logout),
        page(M::GET, "/account/password", Session, account::form),
        page(M::POST, "/account/password", Session, account::submit),
        page(M::GET, "/", Session, projects::list),
        page(M::GET, "/projects/{id}", Session, projects::overview),
        page(M::GET, "/projects/{id}/keys", Session, keys::list),
        page(M::POST, "/projects/{id}/keys", Manage, keys::create),
        page(M::GET, "/projects/{id}/keys/{key_id}", Session, key::page),
        page(M::GET, "/projects/{id}/keys/{key_id}/{action}", Manage, keys::confirm),
        page(M::POST, "/projects/{id}/keys/{key_id}/{action}", Manage, keys::apply),
        page(M::GET, "/projects/{id}/alerts", Session, alerts::list),
        page(M::POST, "/projects/{id}/alerts/{alert_id}/ack", Manage, alerts::ack),
        page(M::GET, "/projects/{id}/governor", Session, governor::page),
        page(M::POST, "/projects/{id}/governor", Manage, governor::save),
        // A user's own admin tokens: any role (a token carries the role).
        page(M::GET, "/account/tokens", Session, tokens::list),
        page(M::POST, "/account/tokens", Session, tokens::create),
        page(M::GET, "/account/tokens/{token_id}/revoke", Session, tokens::confirm_revoke),
        page(M::POST, "/account/tokens/{token_id}/revoke", Session, tokens::revoke),
        page(M::GET, "/users", Session, users::list),
        page(M::POST, "/users/{user_id}/role", Manage, users::set_role),
        page(M::GET, "/users/{user_id}/{action}", Manage, users::confirm),
        page(M::POST, "/users/{user_id}/{action}", Manage, users::apply),
    ]
}
