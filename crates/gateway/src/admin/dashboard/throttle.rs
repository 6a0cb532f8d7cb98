//! Login throttling, in memory: at most [`MAX_ATTEMPTS`] attempts per (account, client IP) in
//! any [`WINDOW_MS`]; the next one is refused with the seconds to wait. Per instance: several
//! instances each allow their own share, which still bounds password guessing.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

pub(crate) const MAX_ATTEMPTS: usize = 5;
pub(crate) const WINDOW_MS: i64 = 60_000;
/// Past this many tracked pairs, pairs with no attempt in the window are forgotten.
const PRUNE_AT: usize = 10_000;
/// At most this many pairs are tracked: a spray of distinct accounts cannot grow the map without
/// bound; while it is full, attempts from new pairs are refused until the window frees room.
const MAX_TRACKED: usize = 100_000;
/// The longest account name kept (an email address is at most 254 characters).
const MAX_ACCOUNT_CHARS: usize = 254;

type Attempts = HashMap<(String, Option<IpAddr>), VecDeque<i64>>;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    attempts: Mutex<Attempts>,
    prune: Mutex<Prune>,
}

/// When the next prune (a full scan) runs: once the map has doubled since the last one, or,
/// while it is full, at most once a second. An attempt costs O(1), amortized.
#[derive(Debug, Default)]
struct Prune {
    next_len: usize,
    last_ms: i64,
}

impl LoginThrottle {
    /// Counts an attempt. `Err(seconds)` when it is over the limit (not counted then).
    pub fn attempt(&self, account: &str, ip: Option<IpAddr>, now_ms: i64) -> Result<(), u64> {
        let mut map = self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut prune = self.prune.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let grown = map.len() >= prune.next_len.max(PRUNE_AT) && map.len() < MAX_TRACKED;
        let full_and_due = map.len() >= MAX_TRACKED && now_ms - prune.last_ms >= 1000;
        if grown || full_and_due {
            map.retain(|_, times| times.back().is_some_and(|t| now_ms - t < WINDOW_MS));
            prune.next_len = (map.len() * 2).clamp(PRUNE_AT, MAX_TRACKED);
            prune.last_ms = now_ms;
        }
        let account: String = account.trim().to_lowercase().chars().take(MAX_ACCOUNT_CHARS).collect();
        let key = (account, ip);
        if map.len() >= MAX_TRACKED && !map.contains_key(&key) {
            return Err((WINDOW_MS / 1000) as u64);
        }
        let times = map.entry(key).or_default();
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

    #[test]
    fn a_spray_of_accounts_cannot_grow_the_map_without_bound() {
        let t = LoginThrottle::default();
        let ip = Some(IpAddr::from([10, 0, 0, 9]));
        for i in 0..MAX_TRACKED {
            assert!(t.attempt(&format!("u{i}@example.com"), ip, 1000).is_ok());
        }
        assert!(t.attempt("one-more@example.com", ip, 1000).is_err(), "full: new pairs wait");
        assert!(t.attempt("u1@example.com", ip, 1000).is_ok(), "known pairs still count normally");
        // A minute later the old pairs are pruned and there is room again.
        assert!(t.attempt("one-more@example.com", ip, 1000 + WINDOW_MS).is_ok());
        // Very long names are cut: they cannot make one entry large.
        let long = "x".repeat(100_000);
        assert!(t.attempt(&long, ip, 1000 + WINDOW_MS).is_ok());
        let map = t.attempts.lock().unwrap();
        assert!(map.keys().all(|(a, _)| a.chars().count() <= MAX_ACCOUNT_CHARS));
    }
}
