//! The API key itself: types, environments, scopes, the secret format with its checksum,
//! generation from the OS CSPRNG, the stored digest and the display prefix.
//!
//! Everything here is pure (no I/O) so the request path can reject a string that is not a
//! real key before it touches anything else.

mod base62;
mod format;
mod kinds;
mod scopes;
mod secret;

pub use base62::{random_base62, ALPHABET};
pub use format::{
    checksum, digest, display_prefix, generate, parse, DigestBuildHasher, DigestHasher, KeyDigest, ParseError,
    ParsedKey, KEY_PATTERN,
};
pub use kinds::{Environment, KeyType, UnknownName};
pub use scopes::{Scope, Scopes};
pub use secret::SecretKey;
