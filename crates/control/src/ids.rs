//! Record ids: a short type prefix and 16 random base62 characters (about 95 bits).

use crate::ControlError;

pub(crate) fn new_id(prefix: &str) -> Result<String, ControlError> {
    let body =
        regpilot_keys::random_base62(16).map_err(|e| ControlError::Internal(format!("OS random source: {e}")))?;
    Ok(format!("{prefix}_{body}"))
}
