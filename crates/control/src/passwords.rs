//! Dashboard passwords: Argon2id (the crate's defaults, OWASP's minimum) on a blocking thread.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::ControlError;

pub async fn hash_password(password: String) -> Result<String, ControlError> {
    tokio::task::spawn_blocking(move || {
        let mut salt_bytes = [0u8; 16];
        getrandom::fill(&mut salt_bytes).map_err(|e| ControlError::Internal(format!("OS random source: {e}")))?;
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| ControlError::Internal(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ControlError::Internal(format!("password hashing: {e}")))
    })
    .await
    .map_err(|e| ControlError::Internal(format!("password hashing task: {e}")))?
}

/// True when `password` matches `hash`. A malformed hash never matches.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}
