//! Login throttling, in memory, checked before any password is hashed: at most
//! [`MAX_ATTEMPTS`] attempts per (account, client IP) and [`MAX_ATTEMPTS_PER_IP`] per client IP
//! across all accounts, in any [`WINDOW_MS`]; the next one is refused with the seconds to wait.
//! Per instance: several instances each allow their own share, which still bounds password
//! guessing.
//!
//! Each table tracks at most [`MAX_TRACKED`] entries. When one is full, a new entry evicts the
//! oldest (first seen) instead of being refused: a spray of made-up accounts from many
//! addresses can make the throttle forget old entries, never lock a real admin out.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::Mutex;

pub(crate) const MAX_ATTEMPTS: usize = 5;
/// Per client address, across accounts: a spray of distinct emails from one address is stopped
/// before it costs more than this many Argon2 verifications a minute. 30 leaves room for a
/// few people behind one NAT, each mistyping their password a few times, while one address
/// alone can keep at most a fraction of one core busy hashing.
pub(crate) const MAX_ATTEMPTS_PER_IP: usize = 30;
pub(crate) const WINDOW_MS: i64 = 60_000;
/// Past this many tracked entries, entries with no attempt in the window are forgotten.
const PRUNE_AT: usize = 10_000;
/// At most this many entries per table, so a spray cannot grow memory without bound.
const MAX_TRACKED: usize = 100_000;
/// The longest account name taken into account (an email address is at most 254 characters).
const MAX_ACCOUNT_CHARS: usize = 254;

/// Where an attempt comes from, for the per-IP limit: an IPv4 address, or an IPv6 /64 (one
/// host is usually given a whole /64, so its addresses count as one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4(u32),
    V6Net(u64),
    Unknown,
}

impl Source {
    fn of(ip: Option<IpAddr>) -> Source {
        match ip {
            Some(IpAddr::V4(v4)) => Source::V4(v4.into()),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.into()),
                None => Source::V6Net((u128::from(v6) >> 64) as u64),
            },
            None => Source::Unknown,
        }
    }
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    tables: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    /// Keyed by a hash of (account, IP) with this table's random seed, so that an entry is a
    /// few bytes however long the account name, and an attacker cannot aim at collisions.
    pairs: Table<u64>,
    sources: Table<Source>,
    seed: RandomState,
}

/// Attempt times per key, and the keys in the order they were first seen.
#[derive(Debug)]
struct Table<K> {
    attempts: HashMap<K, VecDeque<i64>>,
    /// Exactly the keys of `attempts`, oldest first: the next to go when the table is full.
    order: VecDeque<K>,
    /// When the next prune (a full scan) runs: once the table has doubled since the last one,
    /// or, while it is full, once a window. An attempt costs O(1), amortized.
    prune_at: usize,
    last_prune_ms: i64,
    capacity: usize,
}

impl<K> Default for Table<K> {
    fn default() -> Table<K> {
        Table::with_capacity(MAX_TRACKED)
    }
}

impl<K> Table<K> {
    fn with_capacity(capacity: usize) -> Table<K> {
        let prune_at = PRUNE_AT.min(capacity);
        Table { attempts: HashMap::new(), order: VecDeque::new(), prune_at, last_prune_ms: 0, capacity }
    }
}

impl<K: Hash + Eq + Copy> Table<K> {
    /// `Err(seconds to wait)` when `key` already has `limit` attempts in the window.
    fn check(&mut self, key: &K, limit: usize, now_ms: i64) -> Result<(), u64> {
        let Some(times) = self.attempts.get_mut(key) else { return Ok(()) };
        while times.front().is_some_and(|t| now_ms - t >= WINDOW_MS) {
            times.pop_front();
        }
        if times.len() < limit {
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now_ms);
        let wait_ms = (oldest + WINDOW_MS - now_ms).max(1);
        Err(((wait_ms + 999) / 1000) as u64)
    }

    fn record(&mut self, key: K, now_ms: i64) {
        if let Some(times) = self.attempts.get_mut(&key) {
            times.push_back(now_ms);
            return;
        }
        let len = self.attempts.len();
        let grown = len >= self.prune_at && len < self.capacity;
        let full_and_due = len >= self.capacity && now_ms - self.last_prune_ms >= WINDOW_MS;
        if grown || full_and_due {
            self.attempts.retain(|_, times| times.back().is_some_and(|t| now_ms - t < WINDOW_MS));
            let attempts = &self.attempts;
            self.order.retain(|k| attempts.contains_key(k));
            self.prune_at = (self.attempts.len() * 2).clamp(PRUNE_AT.min(self.capacity), self.capacity);
            self.last_prune_ms = now_ms;
        }
        while self.attempts.len() >= self.capacity {
            match self.order.pop_front() {
                Some(oldest) => self.attempts.remove(&oldest),
                None => break,
            };
        }
        self.attempts.insert(key, VecDeque::from([now_ms]));
        self.order.push_back(key);
    }
}

impl LoginThrottle {
    /// Counts an attempt. `Err(seconds)` when it is over either limit (not counted then).
    pub fn attempt(&self, account: &str, ip: Option<IpAddr>, now_ms: i64) -> Result<(), u64> {
        let mut tables = self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let account: String = account.trim().to_lowercase().chars().take(MAX_ACCOUNT_CHARS).collect();
        let pair = tables.seed.hash_one((account, ip));
        let source = Source::of(ip);
        tables.sources.check(&source, MAX_ATTEMPTS_PER_IP, now_ms)?;
        tables.pairs.check(&pair, MAX_ATTEMPTS, now_ms)?;
        tables.sources.record(source, now_ms);
        tables.pairs.record(pair, now_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    /// Distinct addresses: 10.1.x.y.
    fn nth_ip(i: usize) -> Option<IpAddr> {
        Some(IpAddr::from([10, 1, (i >> 8) as u8, i as u8]))
    }

    #[test]
    fn the_sixth_attempt_in_a_minute_is_refused() {
        let t = LoginThrottle::default();
        for i in 0..5 {
            assert!(t.attempt("a@example.com", ip(1), 1000 + i).is_ok());
        }
        assert_eq!(t.attempt("A@example.com ", ip(1), 2000), Err(59));
        assert!(t.attempt("b@example.com", ip(1), 2000).is_ok(), "another account");
        assert!(t.attempt("a@example.com", ip(2), 2000).is_ok(), "another IP");
        assert!(t.attempt("a@example.com", ip(1), 1000 + WINDOW_MS).is_ok(), "the first one left the window");
    }

    #[test]
    fn one_address_is_stopped_after_thirty_attempts_across_accounts() {
        let t = LoginThrottle::default();
        for i in 0..MAX_ATTEMPTS_PER_IP {
            assert!(t.attempt(&format!("u{i}@example.com"), ip(3), 1000 + i as i64).is_ok(), "{i}");
        }
        assert_eq!(t.attempt("fresh@example.com", ip(3), 2000), Err(59), "a new account from the same address");
        assert!(t.attempt("fresh@example.com", ip(4), 2000).is_ok(), "another address is not held back");
        assert!(t.attempt("fresh@example.com", ip(3), 1000 + WINDOW_MS).is_ok(), "the first one left the window");
        // The refused attempt was not counted against the pair.
        let pairs = t.tables.lock().unwrap().pairs.attempts.len();
        assert_eq!(pairs, MAX_ATTEMPTS_PER_IP + 2);
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        let t = LoginThrottle::default();
        let in_net = |i: u16| Some(IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, i]));
        for i in 0..MAX_ATTEMPTS_PER_IP as u16 {
            assert!(t.attempt(&format!("u{i}@example.com"), in_net(i), 1000).is_ok());
        }
        assert!(t.attempt("x@example.com", in_net(999), 1000).is_err(), "another address of the same /64");
        assert!(t.attempt("x@example.com", Some(IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1])), 1000).is_ok());
        // An IPv4 address seen through an IPv6 socket is the IPv4 address.
        for i in 0..MAX_ATTEMPTS_PER_IP {
            assert!(t.attempt(&format!("v{i}@example.com"), ip(5), 1000).is_ok());
        }
        assert!(t.attempt("y@example.com", Some("::ffff:10.0.0.5".parse().unwrap()), 1000).is_err());
    }

    /// The table used to refuse every new pair for up to a minute once full.
    #[test]
    fn a_full_table_evicts_the_oldest_instead_of_refusing_a_new_admin() {
        let t = LoginThrottle::default();
        // The attacker's pairs come from many addresses, each under the per-IP limit.
        for i in 0..MAX_TRACKED {
            assert!(t.attempt(&format!("u{i}@example.com"), nth_ip(i / 20), 1000).is_ok());
        }
        assert_eq!(t.tables.lock().unwrap().pairs.attempts.len(), MAX_TRACKED);
        assert!(t.attempt("admin@example.com", ip(200), 1000).is_ok(), "a new admin's first attempt");
        let tables = t.tables.lock().unwrap();
        assert_eq!(tables.pairs.attempts.len(), MAX_TRACKED, "still bounded");
        assert_eq!(tables.pairs.order.len(), MAX_TRACKED);
        let evicted = tables.seed.hash_one(("u0@example.com".to_owned(), nth_ip(0)));
        assert!(!tables.pairs.attempts.contains_key(&evicted), "the oldest pair went");
    }

    #[test]
    fn the_per_account_limit_still_holds_for_pairs_not_evicted() {
        let t = LoginThrottle::default();
        for i in 0..MAX_ATTEMPTS {
            assert!(t.attempt("victim@example.com", ip(7), 1000 + i as i64).is_ok());
        }
        // Newer than the victim's pair: fill the table but for one slot, then one more.
        for i in 0..MAX_TRACKED {
            assert!(t.attempt(&format!("u{i}@example.com"), nth_ip(i / 20), 2000).is_ok());
        }
        // The victim's pair, the oldest, was evicted by the last of them: it may start over,
        // which is the price of never refusing a newcomer. A pair seen after it is still held.
        assert!(t.attempt("victim@example.com", ip(7), 3000).is_ok());
        for _ in 1..MAX_ATTEMPTS {
            assert!(t.attempt("u99999@example.com", nth_ip(99_999 / 20), 3000).is_ok());
        }
        assert_eq!(t.attempt("u99999@example.com", nth_ip(99_999 / 20), 3000), Err(59));
    }

    #[test]
    fn pruning_forgets_idle_entries_and_keeps_the_order_in_step() {
        let mut table: Table<u32> = Table::with_capacity(100);
        for k in 0..PRUNE_AT.min(100) as u32 {
            table.record(k, 1000);
        }
        assert_eq!(table.attempts.len(), 100);
        // A minute later everything is idle: the next new key prunes instead of evicting one.
        table.record(1000, 1000 + WINDOW_MS);
        assert_eq!(table.attempts.len(), 1);
        assert_eq!(table.order, [1000]);
        // Full again within the window: new keys evict the oldest, with no scan.
        for k in 0..200 {
            table.record(k, 2000 + WINDOW_MS);
        }
        assert_eq!(table.attempts.len(), 100);
        assert_eq!(table.last_prune_ms, 1000 + WINDOW_MS);
        assert!(!table.attempts.contains_key(&1000) && !table.attempts.contains_key(&99));
        assert!(table.attempts.contains_key(&100) && table.attempts.contains_key(&199));
        assert!(table.order.iter().all(|k| table.attempts.contains_key(k)));
        assert_eq!(table.order.len(), table.attempts.len());
    }

    #[test]
    fn long_account_names_are_cut() {
        let t = LoginThrottle::default();
        let long = "x".repeat(100_000);
        for _ in 0..MAX_ATTEMPTS {
            assert!(t.attempt(&long, ip(8), 1000).is_ok());
        }
        let longer = format!("{long}y");
        assert!(t.attempt(&longer, ip(8), 1000).is_err(), "the same first 254 characters: the same account");
    }
}
