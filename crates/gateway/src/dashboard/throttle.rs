//! Login throttling, in memory: at most [`MAX_ATTEMPTS`] attempts per (account, client IP) in
//! any [`WINDOW_MS`]; the next one is refused with the seconds to wait. Per instance: several
//! instances each allow their own share, which still bounds password guessing.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

pub const MAX_ATTEMPTS: usize = 5;
pub const WINDOW_MS: i64 = 60_000;
/// Past this many tracked pairs, pairs with no attempt in the window are forgotten.
const PRUNE_AT: usize = 10_000;

type Attempts = HashMap<(String, Option<IpAddr>), VecDeque<i64>>;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    attempts: Mutex<Attempts>,
}

impl LoginThrottle {
    /// Counts an attempt. `Err(seconds)` when it is over the limit (not counted then).
    pub fn attempt(&self, account: &str, ip: Option<IpAddr>, now_ms: i64) -> Result<(), u64> {
        let mut map = self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() >= PRUNE_AT {
            map.retain(|_, times| times.back().is_some_and(|t| now_ms - t < WINDOW_MS));
        }
        let times = map.entry((account.trim().to_lowercase(), ip)).or_default();
        while times.front().is_some_and(|t| now_ms - t >= WINDOW_MS) {
            times.pop_front();
        }
        if times.len() >= MAX_ATTEMPTS {
            let oldest = times.front().copied().unwrap_or(now_ms);
            let wait_ms = (oldest + WINDOW_MS - now_ms).max(1);
            return Err(((wait_ms + 999) / 1000) as u64);
        }
        times.push_back(now_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_in_a_minute_is_refused() {
        let t = LoginThrottle::default();
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        for i in 0..5 {
            assert!(t.attempt("a@example.com", ip, 1000 + i).is_ok());
        }
        assert_eq!(t.attempt("A@example.com ", ip, 2000), Err(59));
        assert!(t.attempt("b@example.com", ip, 2000).is_ok(), "another account");
        assert!(t.attempt("a@example.com", Some(IpAddr::from([10, 0, 0, 2])), 2000).is_ok(), "another IP");
        assert!(t.attempt("a@example.com", ip, 1000 + WINDOW_MS).is_ok(), "the first one left the window");
    }
}
