//! The request path: what every request goes through, in the order it meets it (see
//! `docs/architecture.md`).
//!
//! 1. [`edge`] (around the whole router): the [`drain`], the declared body size, key headers
//!    marked sensitive, the request counted in flight.
//! 2. the router picks the route (`router.rs`); what no route matches is answered by the
//!    fallbacks there.
//! 3. [`auth`] (per route, from the route's declared [`access::Access`]): the key read from the
//!    headers ([`auth::extract`]), parsed and looked up in the in-memory [`index`]; then the
//!    per-key limit from the [`plans`] table and `regpilot_limits`; then the route's scope.
//!    After the handler: the `x-ratelimit-*` headers, the environment's log line, and a usage
//!    event for the [`recorder`], with the client address from [`client_ip`] (its country is
//!    looked up by the recorder, off the request path, in [`geo`]).
//! 4. the handler reads its JSON body through [`json::ApiJson`]. AI calls with
//!    `governorMetadata` take the project's settings and compiled policies from the
//!    [`governor`] table and hand each validation to its audit writer.
//!
//! Key, plan and Governor changes reach the index, the plan table and the Governor table
//! through the change-feed follower ([`feed`]), never by a store query per request.

pub(crate) mod access;
pub(crate) mod auth;
pub(crate) mod client_ip;
pub(crate) mod drain;
pub(crate) mod edge;
pub(crate) mod feed;
pub(crate) mod geo;
pub(crate) mod governor;
pub(crate) mod index;
pub(crate) mod json;
pub(crate) mod plans;
pub(crate) mod recorder;
