//! Leases: how the Redis backend decides most requests in this process with the same limits
//! (the crate documentation, "Leases", states the design, the exact bound and its proof).
//!
//! Per key, an instance holds at most one lease: a **segment** `[start, end)` of the key's GCRA
//! time axis, which Redis has already counted (its TAT was moved to `end`), and some **units**
//! of the key's daily count, which Redis has already added. Locally the instance runs the same
//! GCRA inside its segment: a request at `now` takes the slot `[x, x + T)` with
//! `x = max(local TAT, now)`, if it conforms (`x + T − τ ≤ now`) and fits (`x + T ≤ end`), and
//! one unit. When it does not fit, one script call (`lease.lua`) gives back what is unused (the
//! segment's tail, if no lease was granted on the key since, and the units) and takes a fresh
//! lease from the key's state in Redis, deciding exactly as one shared GCRA would. A busy
//! key's lease is renewed ahead ([`Leases::renew_ahead`]) before it runs out. The
//! [`Store`] trait is that script call; `Model` (tests only) is the script in Rust.

use std::future::Future;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use compact_str::CompactString;
use dashmap::DashMap;

use crate::spec::{day_number, next_midnight, LimitKind, LimitSpec, Verdict};
use crate::{LimiterError, Micros};

/// The wall time a lease is sized to last at the key's observed rate: a hot key renews about
/// five times a second per instance, whatever its rate.
pub(crate) const LEASE_SPAN: Micros = 200_000;

/// The most daily units one lease takes.
const MAX_UNITS: u64 = 1 << 20;

/// Lua numbers are doubles: larger daily limits are as good as unlimited anyway.
const MAX_EXACT: u64 = 1 << 53;

/// Give-backs per script call.
pub(crate) const GIVE_BACK_BATCH: usize = 256;

/// One lease request: give back what is held, then take up to `want_slots` / `want_units`.
#[derive(Clone, Debug)]
pub(crate) struct Ask {
    pub now: Micros,
    pub interval: Micros,
    pub tolerance: Micros,
    /// −1 for unlimited.
    pub limit: i64,
    pub to_midnight: Micros,
    /// The token of the lease held, empty for none.
    pub held: String,
    /// The local TAT in the lease held: every slot admitted from it ends at or before it.
    pub held_tat: Micros,
    pub held_units: u64,
    pub want_slots: u64,
    pub want_units: u64,
    pub token: String,
}

/// The script's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    /// 0 granted, 1 refused (burst), 2 refused (daily).
    pub refused: u8,
    /// The day's count in Redis after the call (admitted, or leased and not given back).
    pub count: u64,
    pub wait: Micros,
    pub slots: u64,
    pub units: u64,
    /// `max(TAT, now)` after the give-back: the new segment starts here.
    pub start: Micros,
}

/// What one key's lease gives back when idle or at shutdown.
#[derive(Clone, Debug)]
pub(crate) struct GiveBack {
    pub key: CompactString,
    pub day: i64,
    pub token: String,
    pub tat: Micros,
    pub units: u64,
}

/// Where leases come from: the Redis scripts, or `Model` in tests.
pub(crate) trait Store: Send + Sync {
    fn lease(&self, key: &str, day: i64, ask: &Ask) -> impl Future<Output = Result<Grant, LimiterError>> + Send;
    /// At most [`GIVE_BACK_BATCH`] items, in one call.
    fn give_back(&self, now: Micros, items: &[GiveBack]) -> impl Future<Output = Result<(), LimiterError>> + Send;
}

/// How a request was decided by [`Leases::decide`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decided {
    /// From the lease held, with no Redis call.
    Lease(Verdict),
    /// By a lease call to Redis that answered.
    Redis(Verdict),
    /// Not at all: a call was needed and `may_call` said no.
    NotCalled,
}

/// One key's lease in this instance.
#[derive(Default)]
struct KeyLease {
    state: Mutex<State>,
    /// Held across a lease call, so one call per key is in flight; the others wait for it.
    renew: tokio::sync::Mutex<()>,
}

struct State {
    /// The spec the lease was taken under; another one (a plan change) takes a fresh lease.
    spec: Option<LimitSpec>,
    /// The lease's token number (0: none held).
    token: u64,
    /// The local TAT. Known to be at or below the key's TAT in Redis.
    tat: Micros,
    /// The segment's end: a slot must end at or before it.
    end: Micros,
    /// The UTC day of `units` and `count`.
    day: i64,
    units: u64,
    /// The day's count in Redis at the last call, including `units` then held.
    count: u64,
    /// Admissions per second, a moving average over leases.
    rate: f64,
    /// Admitted since the last lease call, and when that was (virtual time).
    since: u64,
    since_at: Micros,
    /// Last use, µs on the instance's monotonic clock.
    used_at: u64,
    /// Slots and units of the last grant: the lease is renewed ahead when a quarter is left.
    size: u64,
    size_units: u64,
    /// A renewal ahead is in flight.
    extending: bool,
}

impl Default for State {
    fn default() -> Self {
        State {
            spec: None,
            token: 0,
            tat: Micros::MIN,
            end: Micros::MIN,
            day: i64::MIN,
            units: 0,
            count: 0,
            rate: 0.0,
            since: 0,
            since_at: Micros::MIN,
            used_at: 0,
            size: 0,
            size_units: 0,
            extending: false,
        }
    }
}

impl State {
    fn holds_anything(&self) -> bool {
        self.token != 0 || self.units > 0
    }

    /// Nothing may be admitted from the lease any more (it is being given back or renewed).
    fn freeze(&mut self) {
        self.token = 0;
        self.end = self.tat;
        self.units = 0;
    }

    /// Yesterday's units belong to yesterday's count, which expires on its own.
    fn roll_day(&mut self, today: i64) {
        if self.day != today {
            self.day = today;
            self.units = 0;
            self.count = 0;
        }
    }

    /// The decision from the lease alone, or `None` when it takes Redis.
    fn decide(&mut self, spec: LimitSpec, now: Micros) -> Option<Verdict> {
        if self.spec != Some(spec) {
            return None;
        }
        self.roll_day(day_number(now));
        if spec.daily.is_some() && self.units == 0 {
            return None; // whether the day's quota is gone is Redis's to say
        }
        let interval = spec.emission_interval();
        let x = self.tat.max(now);
        let allow_at = x + interval - spec.tolerance();
        let used = self.count.saturating_sub(self.units);
        if allow_at > now {
            // The key's TAT in Redis is at or past the local one: one shared GCRA refuses too.
            return Some(Verdict::refuse(LimitKind::Burst, spec, used, now, allow_at - now));
        }
        if x + interval > self.end {
            return None;
        }
        self.tat = x + interval;
        if spec.daily.is_some() {
            self.units -= 1;
        }
        self.since += 1;
        Some(Verdict::admit(spec, used + 1, now))
    }

    /// Whether the lease should be renewed ahead, in the background: it was more than one slot,
    /// and a quarter or less of its slots (or of its units) is left.
    fn wants_ahead(&self, spec: LimitSpec) -> bool {
        if self.extending || self.token == 0 || self.size <= 1 || self.spec != Some(spec) {
            return false;
        }
        let slots_left = u64::try_from((self.end - self.tat) / spec.emission_interval()).unwrap_or(0);
        slots_left <= self.size / 4
            || (spec.daily.is_some() && self.size_units > 1 && self.units <= self.size_units / 4)
    }

    /// The lease call of a renewal ahead: nothing given back, the segment continued from Redis's
    /// TAT (which is this lease's end if no other lease was granted since). Local decisions go on
    /// meanwhile from the lease held.
    fn ahead_ask(&mut self, spec: LimitSpec, now: Micros, token: String) -> Ask {
        self.extending = true;
        self.observe_rate(now);
        let (want_slots, want_units) = self.wants(spec);
        Ask {
            now,
            interval: spec.emission_interval(),
            tolerance: spec.tolerance(),
            limit: spec.daily.map_or(-1, |d| d.min(MAX_EXACT) as i64),
            to_midnight: next_midnight(now) - now,
            held: String::new(),
            held_tat: 0,
            held_units: 0,
            want_slots,
            want_units: if spec.daily.is_some() { want_units } else { 0 },
            token,
        }
    }

    /// Takes in the answer to [`State::ahead_ask`], made while the lease numbered `held` was
    /// held, for the UTC day `day`.
    fn ahead_merge(&mut self, ask: &Ask, grant: &Grant, held: u64, token: u64, day: i64) {
        self.extending = false;
        if grant.refused != 0 || grant.slots == 0 {
            return; // nothing granted, nothing changed
        }
        let end = grant.start + i64::try_from(grant.slots).unwrap_or(0) * ask.interval;
        if !(self.token != 0 && self.token == held && grant.start == self.end) {
            // Not contiguous: what is left of the old segment lapses (it is never used twice).
            self.tat = self.tat.max(grant.start);
        }
        self.end = end;
        self.token = token;
        self.size = grant.slots;
        if self.day == day {
            self.units += grant.units;
            self.count = grant.count;
            if grant.units > 0 {
                self.size_units = grant.units;
            }
        }
    }

    /// Slots and units to ask for: one of each for a key seen less than once a lease span;
    /// otherwise a segment of [`LEASE_SPAN`] (at most a quarter of the burst), and units for
    /// twice the requests expected in a span.
    fn wants(&self, spec: LimitSpec) -> (u64, u64) {
        let expected = self.rate * LEASE_SPAN as f64 / 1e6;
        if expected < 1.0 {
            return (1, 1);
        }
        let interval = spec.emission_interval();
        let span_slots = u64::try_from((LEASE_SPAN + interval - 1) / interval).unwrap_or(1);
        let cap = u64::from(spec.burst.max(1) / 4).max(1);
        let slots = span_slots.max(expected.ceil() as u64).clamp(1, cap);
        let units = ((2.0 * expected).ceil() as u64).clamp(1, MAX_UNITS);
        (slots, units)
    }

    fn observe_rate(&mut self, now: Micros) {
        if self.since_at != Micros::MIN && now >= self.since_at {
            let elapsed = (now - self.since_at).max(1_000) as f64 / 1e6;
            let observed = self.since as f64 / elapsed;
            self.rate = if self.rate == 0.0 { observed } else { (self.rate + observed) / 2.0 };
        }
        self.since = 0;
        self.since_at = now;
    }
}

/// Every key's lease in this instance.
pub(crate) struct Leases {
    keys: DashMap<CompactString, Arc<KeyLease>, foldhash::fast::RandomState>,
    /// This instance's id in lease tokens (`{owner}.{n}`), unique across instances.
    owner: u64,
    next_token: AtomicU64,
    epoch: Instant,
}

static INSTANCES: AtomicU64 = AtomicU64::new(0);

impl Leases {
    pub fn new() -> Leases {
        // foldhash's RandomState is seeded per process; hashed with the pid, the time and a
        // counter it gives an id no other instance (or other limiter in this process) has.
        let mut h = foldhash::fast::RandomState::default().build_hasher();
        std::process::id().hash(&mut h);
        INSTANCES.fetch_add(1, Ordering::Relaxed).hash(&mut h);
        crate::now_micros().hash(&mut h);
        Leases { keys: DashMap::default(), owner: h.finish(), next_token: AtomicU64::new(1), epoch: Instant::now() }
    }

    fn clock(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn token(&self, n: u64) -> String {
        if n == 0 {
            String::new()
        } else {
            format!("{:016x}.{n}", self.owner)
        }
    }

    /// The decision from the key's lease, when it needs no Redis call.
    pub fn decide_local(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Option<Verdict> {
        self.decide_local_ahead(key_id, spec, now).map(|(v, _)| v)
    }

    /// [`Leases::decide_local`], and whether the lease should now be renewed ahead
    /// ([`Leases::renew_ahead`]).
    pub fn decide_local_ahead(&self, key_id: &str, spec: LimitSpec, now: Micros) -> Option<(Verdict, bool)> {
        let entry = self.keys.get(key_id)?;
        let mut state = lock(&entry.state);
        let verdict = state.decide(spec, now)?;
        state.used_at = self.clock();
        Some((verdict, verdict.admitted && state.wants_ahead(spec)))
    }

    /// Renews a key's lease ahead of its end, unless a lease call for the key is in flight or
    /// the lease no longer wants it. `Ok(true)`: a call was made and answered.
    pub async fn renew_ahead<S: Store>(
        &self,
        store: &S,
        key_id: &str,
        spec: LimitSpec,
        now: Micros,
    ) -> Result<bool, LimiterError> {
        let Some(entry) = self.keys.get(key_id).map(|e| e.clone()) else { return Ok(false) };
        let Ok(_turn) = entry.renew.try_lock() else { return Ok(false) };
        let today = day_number(now);
        let (ask, held, token) = {
            let mut state = lock(&entry.state);
            if !state.wants_ahead(spec) {
                return Ok(false);
            }
            let token = self.next_token.fetch_add(1, Ordering::Relaxed);
            let held = state.token;
            (state.ahead_ask(spec, now, self.token(token)), held, token)
        };
        let grant = store.lease(key_id, today, &ask).await;
        let mut state = lock(&entry.state);
        match grant {
            Ok(grant) => {
                state.ahead_merge(&ask, &grant, held, token, today);
                Ok(true)
            }
            Err(e) => {
                state.extending = false;
                Err(e)
            }
        }
    }

    /// The decision, with a lease call when the lease cannot decide. `may_call` is asked once
    /// it is this request's turn to call (the circuit breaker).
    pub async fn decide<S: Store>(
        &self,
        store: &S,
        key_id: &str,
        spec: LimitSpec,
        now: Micros,
        may_call: impl FnOnce() -> bool,
    ) -> Result<Decided, LimiterError> {
        if let Some(v) = self.decide_local(key_id, spec, now) {
            return Ok(Decided::Lease(v));
        }
        let entry = match self.keys.get(key_id) {
            Some(e) => e.clone(),
            None => self.keys.entry(key_id.into()).or_default().clone(),
        };
        let _turn = entry.renew.lock().await;
        let today = day_number(now);
        let (ask, token) = {
            let mut state = lock(&entry.state);
            state.used_at = self.clock();
            // A call that finished meanwhile may have brought what this request needs.
            if let Some(v) = state.decide(spec, now) {
                return Ok(Decided::Lease(v));
            }
            if !may_call() {
                return Ok(Decided::NotCalled);
            }
            state.roll_day(today);
            state.observe_rate(now);
            let (want_slots, want_units) = state.wants(spec);
            let token = self.next_token.fetch_add(1, Ordering::Relaxed);
            let ask = Ask {
                now,
                interval: spec.emission_interval(),
                tolerance: spec.tolerance(),
                limit: spec.daily.map_or(-1, |d| d.min(MAX_EXACT) as i64),
                to_midnight: next_midnight(now) - now,
                held: self.token(state.token),
                held_tat: if state.token == 0 { 0 } else { state.tat },
                held_units: state.units,
                want_slots,
                want_units: if spec.daily.is_some() { want_units } else { 0 },
                token: self.token(token),
            };
            // Whatever the call's fate, what was held is no longer ours: given back if the
            // call ran, and lost (never used twice) if its answer did not come back.
            state.freeze();
            (ask, token)
        };
        let grant = store.lease(key_id, today, &ask).await;
        let mut state = lock(&entry.state);
        let grant = grant?;
        state.spec = Some(spec);
        state.day = today;
        state.count = grant.count;
        state.tat = grant.start;
        state.end = grant.start;
        match grant.refused {
            0 => {
                state.token = token;
                state.end = grant.start + i64::try_from(grant.slots).unwrap_or(0) * ask.interval;
                state.units = grant.units;
                state.size = grant.slots;
                state.size_units = grant.units;
                state
                    .decide(spec, now)
                    .filter(|v| v.admitted)
                    .map(Decided::Redis)
                    .ok_or_else(|| LimiterError::Redis(format!("the lease script granted too little: {grant:?}")))
            }
            1 => Ok(Decided::Redis(Verdict::refuse(LimitKind::Burst, spec, grant.count, now, grant.wait))),
            2 => Ok(Decided::Redis(Verdict::refuse(LimitKind::Daily, spec, grant.count, now, grant.wait))),
            _ => Err(LimiterError::Redis(format!("unexpected reply from the lease script: {grant:?}"))),
        }
    }

    /// Gives back the leases unused for `idle` (all of them with `Duration::ZERO`), in script
    /// calls of up to [`GIVE_BACK_BATCH`] keys, and forgets keys that then hold nothing.
    /// Returns how many leases were given back.
    pub async fn give_back_idle<S: Store>(&self, store: &S, idle: Duration) -> Result<usize, LimiterError> {
        let now_clock = self.clock();
        let idle = u64::try_from(idle.as_micros()).unwrap_or(u64::MAX);
        let mut items = Vec::new();
        // The TTLs are counted from the earliest time among them: longer, never too short.
        let mut earliest = Micros::MAX;
        for entry in self.keys.iter() {
            if entry.renew.try_lock().is_err() {
                continue; // a lease call in flight: the key is not idle
            }
            let mut state = lock(&entry.state);
            if !state.holds_anything() || now_clock.saturating_sub(state.used_at) < idle {
                continue;
            }
            earliest = earliest.min(state.since_at);
            items.push(GiveBack {
                key: entry.key().clone(),
                day: state.day,
                token: self.token(state.token),
                tat: state.tat,
                units: state.units,
            });
            state.freeze();
        }
        // Keys that hold nothing and have not been used for a while cost only memory.
        self.keys.retain(|_, e| {
            Arc::strong_count(e) > 1 || {
                let s = lock(&e.state);
                s.holds_anything() || now_clock.saturating_sub(s.used_at) < idle.max(1_000_000)
            }
        });
        let given = items.len();
        let mut result = Ok(given);
        for batch in items.chunks(GIVE_BACK_BATCH) {
            if let Err(e) = store.give_back(earliest, batch).await {
                result = Err(e);
            }
        }
        result
    }

    /// Keys with a lease state held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `lease.lua` and `giveback.lua` in Rust, line for line, on an in-memory Redis: the property
/// tests run many instances against it without a server.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Model {
    burst: Mutex<std::collections::HashMap<String, (Micros, String)>>,
    days: Mutex<std::collections::HashMap<(String, i64), u64>>,
    pub calls: AtomicU64,
}

#[cfg(test)]
impl Model {
    /// The day's count in the model (admitted, or leased and not given back).
    pub fn count(&self, key: &str, day: i64) -> u64 {
        lock(&self.days).get(&(key.to_owned(), day)).copied().unwrap_or(0)
    }

    pub fn lease_now(&self, key: &str, day: i64, a: &Ask) -> Grant {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut burst = lock(&self.burst);
        let mut days = lock(&self.days);
        let (mut tat, owner) = burst.get(key).cloned().unwrap_or((0, String::new()));
        let mut burst_back = false;
        if !a.held.is_empty() && owner == a.held {
            tat = a.held_tat;
            burst_back = true;
        }
        let count_ref = days.entry((key.to_owned(), day)).or_insert(0);
        let mut count = *count_ref;
        if a.held_units > 0 {
            count = count.saturating_sub(a.held_units);
        }
        let start = tat.max(a.now);
        let allow_at = start + a.interval - a.tolerance;
        let (mut refused, mut wait) = (0, 0);
        if a.limit >= 0 && count >= a.limit as u64 {
            refused = 2;
            wait = a.to_midnight.max(allow_at - a.now);
        } else if allow_at > a.now {
            refused = 1;
            wait = allow_at - a.now;
        }
        let (mut slots, mut units) = (0u64, 0u64);
        if refused == 0 && a.want_slots > 0 {
            slots = (((a.now + a.tolerance - start) / a.interval) as u64).min(a.want_slots);
            if a.limit >= 0 {
                units = ((a.limit as u64 - count) / 8).max(1).min(a.want_units);
            }
        }
        if slots > 0 {
            tat = start + slots as i64 * a.interval;
            burst.insert(key.to_owned(), (tat, a.token.clone()));
        } else if burst_back {
            burst.insert(key.to_owned(), (tat, String::new()));
        }
        count += units;
        *count_ref = count;
        Grant { refused, count, wait, slots, units, start }
    }

    pub fn give_back_now(&self, items: &[GiveBack]) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut burst = lock(&self.burst);
        let mut days = lock(&self.days);
        for item in items {
            if !item.token.is_empty() {
                if let Some(b) = burst.get_mut(item.key.as_str()) {
                    if b.1 == item.token {
                        *b = (item.tat, String::new());
                    }
                }
            }
            if item.units > 0 {
                if let Some(c) = days.get_mut(&(item.key.to_string(), item.day)) {
                    *c = c.saturating_sub(item.units);
                }
            }
        }
    }
}

#[cfg(test)]
impl Store for Model {
    fn lease(&self, key: &str, day: i64, ask: &Ask) -> impl Future<Output = Result<Grant, LimiterError>> + Send {
        std::future::ready(Ok(self.lease_now(key, day, ask)))
    }

    fn give_back(&self, _now: Micros, items: &[GiveBack]) -> impl Future<Output = Result<(), LimiterError>> + Send {
        self.give_back_now(items);
        std::future::ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::spec::{DAY, SECOND};
    use crate::LocalLimiter;
    use proptest::prelude::*;

    /// 2026-03-14 00:00:00 UTC.
    const MIDNIGHT_2026: Micros = 20_526 * DAY;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().build().unwrap()
    }

    fn check(rt: &tokio::runtime::Runtime, leases: &Leases, model: &Model, spec: LimitSpec, now: Micros) -> Verdict {
        match rt.block_on(leases.decide(model, "k", spec, now, || true)).unwrap() {
            Decided::Lease(v) | Decided::Redis(v) => v,
            Decided::NotCalled => unreachable!("may_call said yes"),
        }
    }

    fn give_back(rt: &tokio::runtime::Runtime, leases: &Leases, model: &Model) {
        rt.block_on(leases.give_back_idle(model, Duration::ZERO)).unwrap();
    }

    /// Units the instance holds for `day`.
    fn held_units(leases: &Leases, day: i64) -> u64 {
        leases.keys.get("k").map_or(0, |e| {
            let s = lock(&e.state);
            if s.day == day {
                s.units
            } else {
                0
            }
        })
    }

    fn model_tat(model: &Model) -> Micros {
        lock(&model.burst).get("k").map_or(0, |b| b.0)
    }

    /// In any window [a, a+t], admitted ≤ burst + burst·t: with g(i) = i·1e6 − burst·ts[i],
    /// the condition for admissions i ≤ j is g(j) − g(i) ≤ (burst − 1)·1e6 (as in the suite).
    fn window_bound_holds(admitted_at: &[Micros], burst: u32) -> bool {
        let b = i128::from(burst);
        let mut min_g = i128::MAX;
        admitted_at.iter().enumerate().all(|(j, &t)| {
            let g = j as i128 * 1_000_000 - b * i128::from(t);
            min_g = min_g.min(g);
            g - min_g <= (b - 1) * 1_000_000
        })
    }

    /// What an instance does after a request.
    #[derive(Clone, Copy, Debug)]
    enum Then {
        Nothing,
        /// Goes idle: gives back what it holds (not while a renewal ahead is in flight).
        Idle,
        /// Starts a renewal ahead if its lease wants one; the script runs at once or later.
        StartAhead {
            runs_now: bool,
        },
        /// The renewal ahead's answer arrives.
        FinishAhead,
    }

    /// One request: the gap before it (µs), the instance it reaches, and what that instance
    /// does next.
    fn events(max_len: usize) -> impl Strategy<Value = Vec<(i64, usize, Then)>> {
        let gap = prop_oneof![3 => Just(0i64), 3 => 0..20_000i64, 2 => 0..400_000i64, 1 => 0..3_000_000i64];
        let then = prop_oneof![
            14 => Just(Then::Nothing),
            2 => Just(Then::Idle),
            2 => any::<bool>().prop_map(|runs_now| Then::StartAhead { runs_now }),
            2 => Just(Then::FinishAhead),
        ];
        prop::collection::vec((gap, 0..4usize, then), 1..max_len)
    }

    /// A renewal ahead in flight: its call, and the answer once the script has run.
    struct Ahead {
        ask: Ask,
        held: u64,
        token: u64,
        day: i64,
        grant: Option<Grant>,
    }

    /// One instance and its renewal ahead in flight, if any: requests that need a lease call
    /// wait for that answer first, as they wait for the key's turn in `Leases::decide`.
    #[derive(Default)]
    struct Instance {
        leases: Option<Leases>,
        ahead: Option<Ahead>,
    }

    impl Instance {
        fn new() -> Instance {
            Instance { leases: Some(Leases::new()), ahead: None }
        }

        fn leases(&self) -> &Leases {
            self.leases.as_ref().unwrap()
        }

        fn check(&mut self, rt: &tokio::runtime::Runtime, model: &Model, spec: LimitSpec, now: Micros) -> Verdict {
            if let Some(v) = self.leases().decide_local("k", spec, now) {
                return v;
            }
            self.finish(model);
            check(rt, self.leases(), model, spec, now)
        }

        fn then(&mut self, then: Then, rt: &tokio::runtime::Runtime, model: &Model, spec: LimitSpec, now: Micros) {
            match then {
                Then::Nothing => {}
                Then::Idle if self.ahead.is_none() => give_back(rt, self.leases(), model),
                Then::Idle => {}
                Then::StartAhead { runs_now } if self.ahead.is_none() => {
                    let leases = self.leases.as_ref().unwrap();
                    let Some(entry) = leases.keys.get("k").map(|e| e.clone()) else { return };
                    let mut state = lock(&entry.state);
                    if !state.wants_ahead(spec) {
                        return;
                    }
                    let token = leases.next_token.fetch_add(1, Ordering::Relaxed);
                    let held = state.token;
                    let ask = state.ahead_ask(spec, now, leases.token(token));
                    let day = day_number(now);
                    let grant = runs_now.then(|| model.lease_now("k", day, &ask));
                    self.ahead = Some(Ahead { ask, held, token, day, grant });
                }
                Then::StartAhead { .. } => {}
                Then::FinishAhead => self.finish(model),
            }
        }

        fn finish(&mut self, model: &Model) {
            let Some(a) = self.ahead.take() else { return };
            let grant = a.grant.unwrap_or_else(|| model.lease_now("k", a.day, &a.ask));
            let entry = self.leases().keys.get("k").map(|e| e.clone()).unwrap();
            lock(&entry.state).ahead_merge(&a.ask, &grant, a.held, a.token, a.day);
        }
    }

    fn spec() -> impl Strategy<Value = LimitSpec> {
        (1u32..=40, prop::option::of(1u64..=60)).prop_map(|(burst, daily)| LimitSpec { burst, daily })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// One instance decides every request exactly as the in-process limiter does (the
        /// same verdict, waits and counts included), whenever it gives its lease back.
        #[test]
        fn one_instance_decides_as_one_gcra(spec in spec(), events in events(300), offset in 0..DAY, stretch in 1i64..=40) {
            let (rt, model, local) = (rt(), Model::default(), LocalLimiter::new());
            let mut one = Instance::new();
            let mut now = MIDNIGHT_2026 + offset;
            for (gap, _, then) in events {
                now += gap * stretch;
                prop_assert_eq!(one.check(&rt, &model, spec, now), local.decide("k", spec, now), "at {}", now);
                one.then(then, &rt, &model, spec, now);
            }
        }

        /// Instances that give back what they hold after each request (each idle before the
        /// next) decide together exactly as one in-process limiter.
        #[test]
        fn idle_instances_decide_as_one_gcra(spec in spec(), events in events(200), offset in 0..DAY) {
            let (rt, model, local) = (rt(), Model::default(), LocalLimiter::new());
            let instances: Vec<Leases> = (0..4).map(|_| Leases::new()).collect();
            let mut now = MIDNIGHT_2026 + offset;
            for (gap, i, _) in events {
                now += gap;
                prop_assert_eq!(check(&rt, &instances[i], &model, spec, now), local.decide("k", spec, now));
                give_back(&rt, &instances[i], &model);
            }
        }

        /// Up to four instances sharing one key, leasing at random: the window bound holds for
        /// all admissions together; the day's count in Redis is always exactly what was admitted
        /// plus the units the instances hold, so the quota is never exceeded, a daily refusal
        /// means it is all admitted or held, and once all is given back the count is exact;
        /// a refusal advances neither the count nor the TAT.
        #[test]
        fn instances_together_keep_the_bound_and_the_quota(
            spec in spec(), events in events(400), n in 1usize..=4, offset in 0..DAY, stretch in 1i64..=20,
        ) {
            let (rt, model) = (rt(), Model::default());
            let mut instances: Vec<Instance> = (0..n).map(|_| Instance::new()).collect();
            let mut now = MIDNIGHT_2026 + offset;
            let mut admitted_at = Vec::new();
            let mut admitted_today = 0u64;
            let mut day = day_number(now);
            for (gap, i, then) in events {
                now += gap * stretch;
                if day_number(now) != day {
                    day = day_number(now);
                    admitted_today = 0;
                }
                let i = i % n;
                let (count_before, tat_before) = (model.count("k", day), model_tat(&model));
                let v = instances[i].check(&rt, &model, spec, now);
                if v.admitted {
                    admitted_at.push(now);
                    admitted_today += 1;
                } else {
                    prop_assert!(model.count("k", day) <= count_before, "a refusal took quota");
                    prop_assert!(model_tat(&model) <= tat_before, "a refusal took burst capacity");
                }
                // Units granted to a renewal ahead whose answer has not arrived are held too.
                let in_flight: u64 = instances
                    .iter()
                    .filter_map(|x| x.ahead.as_ref())
                    .filter_map(|a| a.grant.filter(|g| g.refused == 0 && a.day == day))
                    .map(|g| g.units)
                    .sum();
                let held: u64 = instances.iter().map(|x| held_units(x.leases(), day)).sum::<u64>() + in_flight;
                if let Some(limit) = spec.daily {
                    prop_assert_eq!(model.count("k", day), admitted_today + held);
                    prop_assert!(admitted_today <= limit);
                    if v.limit == Some(LimitKind::Daily) {
                        prop_assert_eq!(admitted_today + held, limit, "refused while quota was free");
                    }
                }
                instances[i].then(then, &rt, &model, spec, now);
            }
            prop_assert!(window_bound_holds(&admitted_at, spec.burst), "window bound: {:?}", admitted_at);
            for x in &mut instances {
                x.finish(&model);
                give_back(&rt, x.leases(), &model);
            }
            if spec.daily.is_some() {
                prop_assert_eq!(model.count("k", day), admitted_today, "all given back: the count is exact");
            }
        }
    }

    #[test]
    fn a_hot_key_takes_a_call_per_lease_span_not_per_request() {
        // 2 instances, 5,000 requests a second each, for 10 s: about 5 calls a second each.
        let (rt, model) = (rt(), Model::default());
        let spec = LimitSpec { burst: 1_000_000_000, daily: None };
        let instances = [Leases::new(), Leases::new()];
        let mut now = MIDNIGHT_2026 + 12 * 3_600 * SECOND;
        let mut admitted = 0u64;
        for step in 0..100_000 {
            now += 100;
            admitted += u64::from(check(&rt, &instances[step % 2], &model, spec, now).admitted);
        }
        let calls = model.calls.load(Ordering::Relaxed);
        assert_eq!(admitted, 100_000);
        assert!(calls as f64 / admitted as f64 <= 0.01, "{calls} calls for {admitted} admitted");
        // A slow key: one slot at a time, so the lease holds back nothing from other instances.
        let slow = LimitSpec { burst: 10, daily: Some(1_000) };
        let l = Leases::new();
        let first = rt.block_on(l.decide(&model, "slow", slow, now, || true)).unwrap();
        assert!(matches!(first, Decided::Redis(v) if v.admitted));
        let e = l.keys.get("slow").unwrap();
        let s = lock(&e.state);
        assert_eq!((s.end - s.tat, s.units), (0, 0), "one slot and one unit, both used");
    }

    #[test]
    fn idle_leases_are_given_back_and_forgotten() {
        let (rt, model, leases) = (rt(), Model::default(), Leases::new());
        let spec = LimitSpec { burst: 100, daily: Some(10_000) };
        let mut now = MIDNIGHT_2026;
        for _ in 0..200 {
            now += 10_000;
            assert!(check(&rt, &leases, &model, spec, now).admitted);
        }
        let day = day_number(now);
        assert!(held_units(&leases, day) > 0, "a busy key holds units ahead");
        assert!(model.count("k", day) > 200);
        // Not idle yet for a second's threshold; idle for a zero one.
        assert_eq!(rt.block_on(leases.give_back_idle(&model, Duration::from_secs(1))).unwrap(), 0);
        assert_eq!(rt.block_on(leases.give_back_idle(&model, Duration::ZERO)).unwrap(), 1);
        assert_eq!(model.count("k", day), 200, "the unused units came back");
        assert!(model_tat(&model) <= now + spec.emission_interval(), "and the unused segment");
        assert_eq!(leases.len(), 1, "used less than a second ago: kept");
        // The next request takes a fresh lease from where the key is.
        assert!(check(&rt, &leases, &model, spec, now + 10_000).admitted);
    }
}
