//! Dashboard passwords: Argon2id (the crate's defaults, OWASP's minimum) on a blocking thread,
//! at most a fixed number at a time.
//!
//! Each hash or verification holds about 19 MiB while it runs, and `POST /login` needs no
//! account: unbounded, 200 concurrent logins with unknown emails took the server from 55 MB to
//! 1.43 GB. [`PasswordHashing`] bounds them with one semaphore per process, sized to the cores
//! (more permits than cores only queue on the blocking pool, holding memory, with no gain).

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ControlError;

/// How long a hash or verification waits for a permit before [`ControlError::Busy`]. Long
/// enough to ride out a few logins at once (one verification takes tens of milliseconds per
/// core in a release build), short enough that a flood of logins turns into quick 503s instead
/// of an ever longer queue of held connections, and a person sees an answer at once.
pub const HASH_WAIT: Duration = Duration::from_secs(2);

/// What [`ControlError::Busy`] tells the caller to wait, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// The bound on concurrent Argon2 work. Cheap to clone: clones share the permits.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
    size: usize,
    wait: Duration,
}

impl Default for PasswordHashing {
    fn default() -> PasswordHashing {
        PasswordHashing::new(0)
    }
}

impl PasswordHashing {
    /// At most `concurrency` hashes or verifications at once; 0 means one per core.
    pub fn new(concurrency: usize) -> PasswordHashing {
        let size = match concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        PasswordHashing { permits: Arc::new(Semaphore::new(size)), size, wait: HASH_WAIT }
    }

    /// As [`PasswordHashing::new`], waiting `wait` for a permit instead of [`HASH_WAIT`].
    pub fn with_wait(self, wait: Duration) -> PasswordHashing {
        PasswordHashing { wait, ..self }
    }

    /// How many may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Permits not in use now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// A permit, or `Busy` after the wait. The permit is moved into the blocking task, so it is
    /// held until Argon2 is done even when the caller (a client gone away) is dropped first.
    async fn permit(&self) -> Result<OwnedSemaphorePermit, ControlError> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(ControlError::Internal("password hashing permits closed".into())),
            Err(_elapsed) => Err(ControlError::Busy { retry_after_secs: BUSY_RETRY_AFTER_SECS }),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, ControlError> {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
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

    /// True when `password` matches `hash`. A malformed hash never matches. `Err` only when no
    /// permit came in time (`Busy`) or the task failed.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, ControlError> {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .map_err(|e| ControlError::Internal(format!("password verification task: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn past_the_bound_a_hash_waits_then_is_busy() {
        let hashing = PasswordHashing::new(1).with_wait(Duration::from_millis(50));
        assert_eq!(hashing.size(), 1);
        let held = hashing.permits.clone().acquire_owned().await.unwrap();
        let err = hashing.hash("a long enough password".into()).await.unwrap_err();
        assert!(matches!(err, ControlError::Busy { retry_after_secs: BUSY_RETRY_AFTER_SECS }), "{err}");
        assert!(matches!(hashing.verify("x".into(), "y".into()).await, Err(ControlError::Busy { .. })));
        drop(held);
        let hash = hashing.hash("a long enough password".into()).await.unwrap();
        assert!(hashing.verify("a long enough password".into(), hash.clone()).await.unwrap());
        assert!(!hashing.verify("another password".into(), hash).await.unwrap());
        assert_eq!(hashing.available(), 1, "every permit is given back");
    }

    #[tokio::test]
    async fn zero_means_one_per_core() {
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(PasswordHashing::new(0).size(), cores);
        assert_eq!(PasswordHashing::default().available(), cores);
    }

    /// A caller dropped while Argon2 runs (a client gone away) does not give its permit back
    /// early: the memory is still in use.
    #[tokio::test]
    async fn a_dropped_caller_keeps_the_permit_until_the_hash_ends() {
        let hashing = PasswordHashing::new(1);
        let h = hashing.clone();
        let task = tokio::spawn(async move { h.hash("a long enough password".into()).await });
        while hashing.available() == 1 {
            tokio::task::yield_now().await;
        }
        task.abort();
        let _ = task.await;
        assert_eq!(hashing.available(), 0, "still hashing on the blocking thread");
        let _permit = hashing.permits.clone().acquire_owned().await.unwrap();
    }
}
