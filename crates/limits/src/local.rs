//! The in-process backend: one small state per key in a sharded map. The default, and the
//! fallback of the Redis backend in `Local` failure mode.

use compact_str::CompactString;
use dashmap::DashMap;

use crate::gcra::{self, KeyState};
use crate::spec::{day_number, LimitSpec, Verdict};
use crate::{LimiterError, Micros, RateLimiter};

/// Limits held in this process only. Deciding for a key already seen costs one hash of the key
/// id and one shard lock, with no allocation; ids up to 24 bytes are stored inline in the map.
/// The hash is foldhash (seeded per process), not SipHash: only server-generated ids of
/// authenticated keys reach the map, so nobody can choose colliding ids, and SipHash would
/// cost a third of a decision.
#[derive(Default)]
pub struct LocalLimiter {
    keys: DashMap<CompactString, KeyState, foldhash::fast::RandomState>,
}

impl LocalLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decides one request for `key_id` at `now`, and records it if admitted.
    pub fn decide(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Verdict {
        if let Some(mut state) = self.keys.get_mut(key_id) {
            return gcra::decide(&mut state, spec, now);
        }
        // First sight of this key: the only path that allocates.
        let mut state = self.keys.entry(key_id.into()).or_default();
        gcra::decide(&mut state, spec, now)
    }

    /// Restart persistence: the gateway reads today's admitted count per key from its store at
    /// start and seeds it here, so a restart at noon does not hand out a fresh quota. The count
    /// belongs to the UTC day of `now`; it is ignored once that day is over. Seeding never lowers
    /// a count this limiter already holds for that day.
    pub fn seed_daily(&self, key_id: &str, used: u64, now: Micros) {
        let today = day_number(now);
        let mut state = self.keys.entry(key_id.into()).or_default();
        if state.day == today {
            state.count = state.count.max(used);
        } else if state.day < today {
            state.day = today;
            state.count = used;
        }
    }

    /// Drops the state of keys that no longer matter at `now` (burst fully refilled, no count
    /// for today). The gateway may call this now and then to bound memory.
    pub fn forget_idle(&self, now: Micros) {
        let today = day_number(now);
        self.keys.retain(|_, s| s.tat > now || (s.day == today && s.count > 0));
    }

    /// Keys with state held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl RateLimiter for LocalLimiter {
    fn check(
        &self,
        key_id: &str,
        spec: LimitSpec,
        now: Micros,
    ) -> impl std::future::Future<Output = Result<Verdict, LimiterError>> + Send {
        std::future::ready(Ok(self.decide(key_id, spec, now)))
    }
}
