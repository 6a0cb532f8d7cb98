//! The API key itself: types, environments, scopes, the secret format with its checksum,
//! generation from the OS CSPRNG, the stored digest and the display prefix.
//!
//! Everything here is pure (no I/O) so the request path can reject a string that is not a
//! real key before it touches anything else.

mod admin_token;
mod base62;
mod format;
mod kinds;
mod scopes;
mod secret;

pub use admin_token::{
    admin_token_display_prefix, generate_admin_token, is_admin_token, ADMIN_TOKEN_LEN, ADMIN_TOKEN_PATTERN,
    ADMIN_TOKEN_PREFIX,
};
pub use base62::{random_base62, ALPHABET};
pub use format::{
    checksum, digest, display_prefix, display_prefix_of, generate, parse, DigestBuildHasher, DigestHasher, KeyDigest,
    ParseError, ParsedKey, KEY_PATTERN,
};
pub use kinds::{Environment, KeyType, UnknownName};
pub use scopes::{Scope, Scopes};
pub use secret::SecretKey;
