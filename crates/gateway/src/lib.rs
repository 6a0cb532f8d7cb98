//! The HTTP side of RegPilot Gateway.
//!
//! The request path, in the order each request meets it (see `router.rs`):
//!
//! 1. [`edge`] (around the whole router): while the server drains, new requests get 503; a body
//!    declared larger than `max_body_bytes` gets 413 at once; every header that can carry a key
//!    is marked sensitive, so no `Debug` print of a request shows it; the request counts as in
//!    flight until answered; errors under `/v1/` are rewritten in OpenAI's shape.
//! 2. the router picks the route (unmatched requests go to the fallbacks, which count them).
//! 3. `auth` (per route, [`auth::AuthLayer`], from the route's declared [`access::Access`]):
//!    reads the key from the headers in the SPEC's order, parses it (format + checksum, no
//!    I/O), digests it and looks it up in the in-memory [`index::KeyIndex`] (401 here). Then the **rate limit**: the key's
//!    limits come from the in-memory [`plans::PlanTable`] (a tenth for development keys), and
//!    the [`regpilot_limits::Limiter`] (in-process, or Redis) decides burst and daily quota
//!    (429 here, with `Retry-After`). Then the scope the route needs (403 here). Otherwise it
//!    adds the [`auth::Authenticated`] key to the request. Every answer to a valid key gets the
//!    `x-ratelimit-*` headers, a log line as its environment asks, and a usage event on the
//!    [`recorder`]'s bounded channel (never waited on; a full channel drops and counts). Every
//!    answer of the route, with a key or without, is counted in the metrics by route template,
//!    method and status (never the URL, never a header).
//! 4. the handler: reads its JSON body through [`json::ApiJson`] (size limit → 413, field errors
//!    → 400 naming the field) and calls the control-plane service layer.
//!
//! The web dashboard's pages ([`dashboard`]) are in the same router, in their own table with a
//! session layer of their own instead of the key layer (its order is documented there).
//!
//! Key and plan changes reach the index and the plan table through the change feeds ([`feed`]),
//! never by a store query per request. The client address is the socket peer, or what
//! `X-Forwarded-For` says when the peer is a trusted proxy ([`client_ip`]); its country is
//! looked up by the recorder ([`geo`]), off the request path.

pub mod access;
pub mod ai_call;
pub mod auth;
pub mod client_ip;
pub mod dashboard;
pub mod drain;
pub mod edge;
pub mod error;
pub mod feed;
pub mod geo;
pub mod index;
pub mod json;
pub mod metrics;
pub mod openai_errors;
pub mod openapi;
pub mod plans;
pub mod recorder;
pub mod router;
pub mod routes;
pub mod server;
pub mod sse_body;
pub mod state;

pub use client_ip::TrustedProxies;
pub use recorder::RecorderConfig;
pub use regpilot_limits::FailureMode;
pub use router::build_router;
pub use server::{serve, GatewayConfig};
pub use state::AppState;
