//! Streamed answers (docs/governor.md, "Streaming"): text is emitted only once no rule can
//! still match across it, already redacted, so no personal data or secret leaves early; the
//! concatenation of everything emitted equals what [`Governor::check`] delivers for the whole
//! text.
//!
//! Why it is exact: every bounded rule matches at most [`HOLD_BACK`] bytes and looks at most
//! one character beyond its match, so a match starting before `len - HOLD_BACK` is the same in
//! the text so far as in the whole text. Emission stops there, earlier at the start of any
//! redaction crossing that point, and earlier still at the start of an unbounded match (a PEM
//! block, a JWT) that might still grow.
//!
//! Cost: each scan runs over the whole text so far, and a scan happens only once the text has
//! grown by a quarter (at least [`SCAN_STEP`] bytes) since the last one, so the work stays a
//! small multiple of one check of the whole answer.

use std::sync::Arc;

use crate::engine::{self, Scan};
use crate::{Context, Governor, Mode, Outcome, PolicySet, Target, Verdict, HOLD_BACK};

/// The least growth, in bytes, between two scans of a stream.
pub const SCAN_STEP: usize = 256;

/// What to do after a delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStep {
    /// Send this text now (possibly empty).
    Emit(String),
    /// Mode block, and the text so far is already high risk (or hit a `block` policy): stop the
    /// stream. The verdict covers the text received so far.
    Blocked(Verdict),
}

/// Checks one streamed answer incrementally.
pub struct StreamGuard<'g> {
    gov: &'g Governor,
    ctx: Context,
    policies: Arc<PolicySet>,
    mode: Mode,
    /// The original text received so far.
    text: String,
    /// How far into `text` has been emitted.
    emitted_to: usize,
    /// Everything emitted so far.
    emitted: String,
    scanned_len: usize,
    blocked: Option<Verdict>,
}

impl std::fmt::Debug for StreamGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamGuard")
            .field("mode", &self.mode)
            .field("received", &self.text.len())
            .field("emitted_to", &self.emitted_to)
            .finish_non_exhaustive()
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl<'g> StreamGuard<'g> {
    /// Bytes held back: see [`crate::HOLD_BACK`].
    pub const HOLD_BACK: usize = HOLD_BACK;

    pub(crate) fn new(gov: &'g Governor, ctx: Context, policies: Arc<PolicySet>, mode: Mode) -> StreamGuard<'g> {
        StreamGuard {
            gov,
            ctx,
            policies,
            mode,
            text: String::new(),
            emitted_to: 0,
            emitted: String::new(),
            scanned_len: 0,
            blocked: None,
        }
    }

    /// Takes the next piece of the answer; returns the text that is safe to send now.
    pub fn push(&mut self, delta: &str) -> StreamStep {
        if let Some(v) = &self.blocked {
            return StreamStep::Blocked(v.clone());
        }
        self.text.push_str(delta);
        if self.mode == Mode::Monitor {
            // Monitor never changes the text: it can all go at once.
            self.emitted_to = self.text.len();
            return StreamStep::Emit(delta.to_owned());
        }
        let n = self.text.len();
        if n <= HOLD_BACK || n - self.scanned_len < SCAN_STEP.max(self.scanned_len / 4) {
            return StreamStep::Emit(String::new());
        }
        self.scanned_len = n;
        let scan = self.gov.scan(&self.text, Target::Response, &self.ctx, &self.policies);
        let Scan { hits, unbounded } = scan;
        let mut cut = floor_boundary(&self.text, n - HOLD_BACK);
        for &(s, e) in &unbounded {
            if e + HOLD_BACK > n {
                cut = cut.min(s);
            }
        }
        let groups = engine::groups(&hits, &self.policies);
        for g in &groups {
            if g.start < cut && cut < g.end {
                cut = g.start;
            }
        }
        let out = if cut > self.emitted_to {
            let mut out = String::new();
            engine::render(&self.text, self.emitted_to, cut, &groups, &mut out);
            self.emitted_to = cut;
            out
        } else {
            String::new()
        };
        if self.mode == Mode::Block {
            let v = engine::decide(
                self.gov,
                &self.text,
                Target::Response,
                &self.ctx,
                &self.policies,
                self.mode,
                hits,
                false,
            );
            if v.outcome == Outcome::Blocked {
                self.blocked = Some(v.clone());
                return StreamStep::Blocked(v);
            }
        }
        self.emitted.push_str(&out);
        StreamStep::Emit(out)
    }

    /// The end of the answer: the rest to send (with any appended notices) and the verdict over
    /// the whole text, offsets into the whole original text. In mode block a withheld verdict
    /// comes with an empty rest; the caller ends the stream with the verdict.
    pub fn finish(self) -> (String, Verdict) {
        let check = crate::Check {
            text: &self.text,
            target: Target::Response,
            context: &self.ctx,
            policies: &self.policies,
            mode: self.mode,
        };
        let verdict = self.gov.check(&check);
        if self.mode == Mode::Monitor {
            return (String::new(), verdict);
        }
        let rest = match verdict.delivered_text(&self.text) {
            None => String::new(),
            Some(all) => all.strip_prefix(self.emitted.as_str()).unwrap_or_default().to_owned(),
        };
        (rest, verdict)
    }

    /// The original text received so far.
    pub fn received(&self) -> &str {
        &self.text
    }
}
