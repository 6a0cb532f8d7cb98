//! Authentication: which header carries a key, and what that key is.

pub(crate) mod extract;
mod layer;
mod verify;

pub use extract::{find_key, key_header_index, Presented};
pub use layer::{AuthLayer, Authenticated, RouteCtx};
pub use verify::{verify, AuthOutcome};
