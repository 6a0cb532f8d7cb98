//! The dashboard's pages. Each handler calls the service layer and renders HTML through
//! [`super::html`]; none holds a rule of its own about projects, keys or users.

pub(crate) mod account;
pub(crate) mod alerts;
pub(crate) mod governor;
pub(crate) mod key;
pub(crate) mod keys;
pub(crate) mod login;
pub(crate) mod parts;
pub(crate) mod projects;
pub(crate) mod tokens;
pub(crate) mod users;
