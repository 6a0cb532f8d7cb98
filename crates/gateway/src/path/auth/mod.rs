//! Authentication: which header carries a key, and what that key is.

mod extract;
mod layer;
mod reporter;
mod verify;

pub(crate) use extract::key_header_index;
pub use extract::{find_key, Presented};
pub(crate) use layer::{AuthLayer, Authenticated, ClientAddr, RouteCtx};
pub use reporter::{LeakReporterToken, LeakResponse};
pub use verify::{verify, AuthOutcome};
