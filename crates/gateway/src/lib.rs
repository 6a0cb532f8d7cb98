//! The HTTP side of RegPilot Gateway, in three rooms (drawn in `docs/architecture.md`):
//!
//! - `path/`: what every request goes through — the edge, the drain, authentication and the
//!   per-key limit, the key index and plan table the change feeds keep current, the usage
//!   recorder, the client address and its country;
//! - `ai/`: the AI proxy — RegPilot's and OpenAI's chat endpoints, their body checks, one AI
//!   call, the streamed answer;
//! - `admin/`: the control plane's HTTP side — compliance and usage routes, probes and
//!   metrics, the OpenAPI document, the web dashboard.
//!
//! Beside them: the route table (`router.rs`), the request path's shared state (`state.rs`),
//! errors in both dialects (`error.rs`), the metrics (`metrics.rs`), serving connections
//! (`conn.rs`: timeouts, the cap, lingering close), and running the server (`server.rs`).
//! Everything is crate-private; what the CLI, the tests and the benchmarks use is re-exported
//! here.

#![warn(unreachable_pub)]

mod admin;
mod ai;
mod conn;
mod error;
mod metrics;
mod path;
mod router;
mod server;
mod state;

pub use admin::dashboard::state::Dashboard;
pub use conn::{default_max_connections, serve_connections, ConnLimits};
pub use path::access::{Access, AdminAccess};
pub use path::auth::{find_key, verify, AuthOutcome, Presented};
pub use path::auth::{LeakReporterToken, LeakResponse};
pub use path::client_ip::TrustedProxies;
pub use path::feed::{FeedPosition, FeedSync};
pub use path::index::{IndexedKey, KeyIndex};
pub use path::recorder::RecorderConfig;
pub use regpilot_limits::FailureMode;
pub use router::{build_router, route_table, RouteDef};
pub use server::{serve, GatewayConfig, ServeError};
pub use state::AppState;

/// Test support: small MaxMind-format country databases.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    pub use crate::path::geo::testing::{country_db, Layout};
}
