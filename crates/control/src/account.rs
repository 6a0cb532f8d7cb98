//! A dashboard user changing their own password: the current one must be given, the new one
//! must be long enough and different. The change clears `must_change_password` (set for the
//! bootstrap admin's generated password), is audited, and ends every other session of the user.

use crate::sessions::SessionId;
use crate::users::MIN_PASSWORD_LEN;
use crate::{Actor, Control, ControlError};

impl Control {
    /// Changes `user_id`'s password from `current` to `new`. `keep_session` (the session the
    /// change was made from) stays open; every other session of the user ends. Errors name the
    /// field: `current_password` (wrong) or `new_password` (too short, or unchanged); nothing
    /// changes on an error.
    pub async fn change_password(
        &self,
        user_id: &str,
        current: String,
        new: String,
        keep_session: Option<&SessionId>,
    ) -> Result<(), ControlError> {
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .filter(|u| u.status == "active")
            .ok_or_else(|| ControlError::not_found("user", user_id))?;
        let unchanged = current == new;
        if !self.passwords.verify(current, user.password_hash.clone()).await? {
            return Err(ControlError::invalid("current_password", "the current password is wrong"));
        }
        if new.chars().count() < MIN_PASSWORD_LEN {
            return Err(ControlError::invalid(
                "new_password",
                format!("the new password must be at least {MIN_PASSWORD_LEN} characters"),
            ));
        }
        if unchanged {
            return Err(ControlError::invalid("new_password", "the new password must differ from the current one"));
        }
        let hash = self.passwords.hash(new).await?;
        let actor = Actor(format!("user:{}", user.email));
        let audit = actor.audit("user.password_change", ("user", user_id), None, None);
        let keep = keep_session.map(SessionId::digest);
        if self.store.set_user_password(user_id, &hash, keep.as_deref(), &audit).await? {
            Ok(())
        } else {
            Err(ControlError::not_found("user", user_id))
        }
    }
}
