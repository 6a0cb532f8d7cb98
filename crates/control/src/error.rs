use regpilot_store::StoreError;
use thiserror::Error;

/// What a control-plane call can fail with. Every variant but `Busy`, `Store` and `Internal` is
/// the caller's mistake and says how to fix it.
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
    /// Too many password checks at once (the bound on Argon2 work): try again after a moment.
    #[error("the server is busy checking passwords; try again in {retry_after_secs} seconds")]
    Busy { retry_after_secs: u64 },
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ControlError {
    /// The store could not be reached ([`StoreError::is_unavailable`]): answered 503, not 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ControlError::Store(e) if e.is_unavailable())
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> ControlError {
        ControlError::Invalid { field, message: message.into() }
    }

    /// A record that does not exist. An "id" that is really a key secret (a common mix-up
    /// on the command line) is never echoed back, so it cannot reach a terminal log.
    pub fn not_found(what: &'static str, id: &str) -> ControlError {
        if looks_like_secret(id) {
            return ControlError::invalid(
                "id",
                format!(
                    "that is a secret (an API key or admin token), not a {what} id ({what} ids look like {}_…); it was not stored",
                    id_prefix(what)
                ),
            );
        }
        ControlError::NotFound { what, id: id.to_owned() }
    }
}

fn looks_like_secret(s: &str) -> bool {
    regpilot_keys::parse(s).is_ok() || s.starts_with("sk_") || s.starts_with("pk_") || s.starts_with("rpa_")
}

fn id_prefix(what: &str) -> &'static str {
    match what {
        "project" => "proj",
        "key" => "key",
        "violation" => "vio",
        "model" => "mdl",
        "policy" => "pol",
        "audit" => "gva",
        "admin token" => "tok",
        "user" => "usr",
        _ => "…",
    }
}
