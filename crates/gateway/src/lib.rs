//! The HTTP side of RegPilot Gateway.
//!
//! The request path, in the order each request meets it (see `router.rs`):
//!
//! 1. `observe`: starts the clock; afterwards records the request in the metrics (by route
//!    template, method and status — never the URL's query, never a header).
//! 2. `refuse_oversized`: a body declared larger than `max_body_bytes` is answered 413 at once.
//! 3. `SetSensitiveRequestHeaders`: marks every header that can carry a key as sensitive, so
//!    no `Debug` print of a request shows it.
//! 4. `auth` (per route, from the route's declared [`access::Access`]): reads the key from the
//!    headers in the SPEC's order, parses it (format + checksum, no I/O), digests it and looks
//!    it up in the in-memory [`index::KeyIndex`]; then checks the scope the route needs. It
//!    answers 401/403 itself; otherwise it adds the [`auth::Authenticated`] key to the request.
//! 5. the handler: reads its JSON body through [`json::ApiJson`] (size limit → 413, field errors
//!    → 400 naming the field) and calls the control-plane service layer.
//!
//! Key changes reach the index through the change feed ([`feed`]), never by a store query per
//! request.

pub mod access;
pub mod auth;
pub mod error;
pub mod feed;
pub mod index;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod router;
pub mod routes;
pub mod server;
pub mod state;

pub use router::build_router;
pub use server::{serve, GatewayConfig};
pub use state::AppState;
