//! The decision itself, on one key's state. The Redis backend runs the same algorithm on the
//! key's shared state (`lease.lua`) and inside each lease (`lease.rs`); change them together.

use crate::spec::{day_number, next_midnight, LimitKind, LimitSpec, Verdict};
use crate::Micros;

/// One key's state: the GCRA theoretical arrival time and today's admitted count.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyState {
    pub tat: Micros,
    pub day: i64,
    pub count: u64,
}

impl Default for KeyState {
    fn default() -> Self {
        KeyState { tat: Micros::MIN, day: i64::MIN, count: 0 }
    }
}

/// Decides one request (README.md, "Rate limits"): daily quota first, then the burst limiter; only
/// an admission changes the state (refused requests use up neither quota nor burst capacity).
pub(crate) fn decide(state: &mut KeyState, spec: LimitSpec, now: Micros) -> Verdict {
    let today = day_number(now);
    if state.day != today {
        // A new UTC day: the count restarts. (Not a commitment: an old day's count means nothing.)
        state.day = today;
        state.count = 0;
    }
    let interval = spec.emission_interval();
    let tat = state.tat.max(now);
    // The earliest instant this request conforms: `burst` intervals before the new TAT.
    let allow_at = tat + interval - spec.tolerance();
    if let Some(limit) = spec.daily {
        if state.count >= limit {
            // The true wait is until midnight; the burst wait is at most one interval (≤ 1 s) and
            // is folded in so the answer can never be too short.
            let wait = (next_midnight(now) - now).max(allow_at - now);
            return Verdict::refuse(LimitKind::Daily, spec, state.count, now, wait);
        }
    }
    if allow_at > now {
        return Verdict::refuse(LimitKind::Burst, spec, state.count, now, allow_at - now);
    }
    state.tat = tat + interval;
    state.count += 1;
    Verdict::admit(spec, state.count, now)
}
