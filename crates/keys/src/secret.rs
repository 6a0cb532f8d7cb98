//! The plaintext secret as a type whose `Debug` and `Display` never show it.

use std::fmt;

/// A full API key secret. It can only be read with [`SecretKey::expose`], so it cannot reach
/// a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub(crate) fn new(s: String) -> Self {
        SecretKey(s)
    }

    /// The plaintext. Call it only where the secret must leave: the one create response.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
