use regpilot_store::StoreError;
use thiserror::Error;

/// What a control-plane call can fail with. Every variant but `Store` and `Internal` is the
/// caller's mistake and says how to fix it.
#[derive(Debug, Error)]
pub enum ControlError {
    /// A field is missing or wrong; `field` names it.
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("{what} '{id}' not found")]
    NotFound { what: &'static str, id: String },
    /// The action cannot apply to the record in its current state.
    #[error("{0}")]
    Conflict(String),
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ControlError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ControlError {
        ControlError::Invalid { field, message: message.into() }
    }

    pub fn not_found(what: &'static str, id: &str) -> ControlError {
        ControlError::NotFound { what, id: id.to_owned() }
    }
}
