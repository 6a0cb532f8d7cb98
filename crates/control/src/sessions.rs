//! Dashboard sessions: login, the per-request session check, logout, and user deactivation
//! (which ends every session of the user).
//!
//! The browser holds a random 128-bit session id; the store keeps its SHA-256 digest only.
//! Every time is a parameter (`now_ms`), so tests drive the clock.

use std::fmt;

use regpilot_store::{SessionRow, UserRow};
use tokio::sync::OnceCell;

use crate::passwords::PasswordHashing;
use crate::users::normalize_email;
use crate::{Actor, Control, ControlError};

/// `last_seen_at` is written at most this often, so that browsing is not a write per page.
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// How long a session lives: idle timeout and absolute lifetime, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_ms: i64,
    pub lifetime_ms: i64,
}

impl Default for SessionPolicy {
    /// 30 minutes idle, 12 hours in all.
    fn default() -> SessionPolicy {
        SessionPolicy { idle_ms: 30 * 60_000, lifetime_ms: 12 * 3_600_000 }
    }
}

/// A session id as the browser holds it. `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    /// Wraps what a cookie says (not checked: an unknown id simply finds no session).
    pub fn from_cookie(value: &str) -> SessionId {
        SessionId(value.to_owned())
    }

    /// The value for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn digest(&self) -> String {
        regpilot_keys::digest(&self.0).to_hex()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// What a successful login returns: the new session's id (for the cookie) and who it is.
#[derive(Debug)]
pub struct NewSession {
    pub id: SessionId,
    pub user: SessionUser,
    pub expires_at: i64,
}

/// The user behind a live session, and the session's CSRF token.
#[derive(Clone)]
pub struct SessionUser {
    pub user_id: String,
    pub email: String,
    pub role: String,
    /// Set for a generated password (the bootstrap admin's): the dashboard lets the user do
    /// nothing but set a new one.
    pub must_change_password: bool,
    pub csrf_token: String,
}

impl fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionUser")
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("must_change_password", &self.must_change_password)
            .finish_non_exhaustive()
    }
}

impl SessionUser {
    /// The actor the audit log names for this user's actions.
    pub fn actor(&self) -> Actor {
        Actor(format!("user:{}", self.email))
    }

    fn new(user: &UserRow, csrf_token: String) -> SessionUser {
        SessionUser {
            user_id: user.id.clone(),
            email: user.email.clone(),
            role: user.role.clone(),
            must_change_password: user.must_change_password,
            csrf_token,
        }
    }
}

/// 128 random bits from the OS, as 32 lowercase hex characters.
fn random_token() -> Result<String, ControlError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ControlError::Internal(format!("OS random source: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A real Argon2id hash of nothing anyone knows, verified against when the email is unknown so
/// that the answer takes as long as for a known one.
async fn dummy_hash(passwords: &PasswordHashing) -> Result<&'static str, ControlError> {
    static DUMMY: OnceCell<String> = OnceCell::const_new();
    let hash = DUMMY.get_or_try_init(|| async { passwords.hash(random_token()?).await }).await?;
    Ok(hash.as_str())
}

impl Control {
    /// Checks email and password and opens a new session. `None` for a wrong password, an
    /// unknown email or an inactive user alike (the caller says the same thing for all three).
    /// `Busy` when too many passwords are being checked at once.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        policy: SessionPolicy,
        now_ms: i64,
    ) -> Result<Option<NewSession>, ControlError> {
        let user = match normalize_email(email) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            self.passwords.verify(password, dummy_hash(&self.passwords).await?.to_owned()).await?;
            return Ok(None);
        };
        if !self.passwords.verify(password, user.password_hash.clone()).await? || user.status != "active" {
            return Ok(None);
        }
        let id = SessionId(random_token()?);
        let row = SessionRow {
            id_digest: id.digest(),
            user_id: user.id.clone(),
            csrf_token: random_token()?,
            created_at: now_ms,
            last_seen_at: now_ms,
            expires_at: now_ms + policy.lifetime_ms,
        };
        self.store.insert_session(&row).await?;
        Ok(Some(NewSession { id, user: SessionUser::new(&user, row.csrf_token), expires_at: row.expires_at }))
    }

    /// The user of a live session. A session past its idle timeout or its lifetime, or whose
    /// user is no longer active, is deleted and gives `None`.
    pub async fn session(
        &self,
        id: &SessionId,
        policy: SessionPolicy,
        now_ms: i64,
    ) -> Result<Option<SessionUser>, ControlError> {
        let digest = id.digest();
        let Some(row) = self.store.get_session(&digest).await? else {
            return Ok(None);
        };
        let expired = now_ms >= row.expires_at || now_ms - row.last_seen_at >= policy.idle_ms;
        let user = if expired { None } else { self.store.user_by_id(&row.user_id).await? };
        let Some(user) = user.filter(|u| u.status == "active") else {
            self.store.delete_session(&digest).await?;
            return Ok(None);
        };
        if now_ms - row.last_seen_at >= TOUCH_EVERY_MS {
            self.store.touch_session(&digest, now_ms).await?;
        }
        Ok(Some(SessionUser::new(&user, row.csrf_token)))
    }

    /// Ends a session. True when there was one.
    pub async fn logout(&self, id: &SessionId) -> Result<bool, ControlError> {
        Ok(self.store.delete_session(&id.digest()).await?)
    }

    /// Deletes every session past its lifetime or idle timeout; returns how many.
    pub async fn sweep_sessions(&self, policy: SessionPolicy, now_ms: i64) -> Result<u64, ControlError> {
        Ok(self.store.delete_expired_sessions(now_ms, now_ms - policy.idle_ms).await?)
    }

    /// A deactivated user cannot log in, and every session of the user ends at once.
    pub async fn deactivate_user(&self, actor: &Actor, user_id: &str) -> Result<(), ControlError> {
        let audit = actor.audit("user.deactivate", ("user", user_id), None, None);
        if self.store.set_user_status(user_id, "inactive", &audit).await? {
            Ok(())
        } else {
            Err(ControlError::not_found("user", user_id))
        }
    }

    pub async fn reactivate_user(&self, actor: &Actor, user_id: &str) -> Result<(), ControlError> {
        let audit = actor.audit("user.reactivate", ("user", user_id), None, None);
        if self.store.set_user_status(user_id, "active", &audit).await? {
            Ok(())
        } else {
            Err(ControlError::not_found("user", user_id))
        }
    }
}
