//! The Governor engine (docs/governor.md): takes a text (an AI answer, or a prompt on its way
//! out), the request's `governorMetadata`, the recipient country and the project's policies, and
//! returns findings, a 0–100 risk score, a level and the text to deliver.
//!
//! Pure: no I/O, no clock, no async. Every regex and automaton is compiled once, in
//! [`Governor::new`] and [`PolicySet::compile`]; a check only runs them.
//!
//! Invariants (proven by the property tests in `tests/properties.rs`):
//! - a check never panics, on any UTF-8 text and any compiled policy set;
//! - every finding's offsets are char boundaries of the original text, and a finding never
//!   carries the matched text;
//! - after sanitizing, checking the delivered text again finds no personal data or secret;
//! - streaming ([`StreamGuard`]) in any chunking emits exactly what [`Governor::check`]
//!   delivers for the whole text.

mod builtins;
mod country;
mod duties;
mod engine;
mod metadata;
mod names;
mod policy;
mod rules;
mod score;
mod stream;

pub use builtins::list_versions;
pub use country::{Country, Region};
pub use metadata::{Metadata, MetadataError, MAX_FIELD_CHARS, MAX_TAGS};
pub use names::{ActionType, AppliesTo, Category, Level, Mode, Outcome, PolicyAction, Severity, Target, UnknownName};
pub use policy::{PolicyDef, PolicyError, PolicySet};
pub use rules::builtin_rules;
pub use score::{base, multiplier_percent, risk_score, weight};
pub use stream::{StreamGuard, StreamStep};

/// Bytes of text a stream holds back before emitting it: at least the longest span any
/// built-in rule or policy pattern or keyword can match (docs/governor.md, "Streaming").
/// Policy patterns are refused unless their longest match fits; the two built-in rules whose
/// matches are not bounded (PEM private-key blocks and JWTs) additionally hold the stream at
/// their start until they are complete.
pub const HOLD_BACK: usize = 1024;

/// The compiled built-in rules. Build it once and share it (it is `Send + Sync`).
#[derive(Debug, Clone)]
pub struct Governor {
    pub(crate) builtins: builtins::Builtins,
}

impl Default for Governor {
    fn default() -> Governor {
        Governor::new()
    }
}

/// What to check, and against what. Its `Debug` shows the text's length, never the text.
#[derive(Clone, Copy)]
pub struct Check<'a> {
    pub text: &'a str,
    pub target: Target,
    pub context: &'a Context,
    pub policies: &'a PolicySet,
    pub mode: Mode,
}

impl std::fmt::Debug for Check<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("text_len", &self.text.len())
            .field("target", &self.target)
            .field("context", &self.context)
            .field("policies", &self.policies.len())
            .field("mode", &self.mode)
            .finish()
    }
}

/// The request's metadata and the recipient country, already resolved by the caller
/// ([`Context::resolve`] does it the documented way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub metadata: Metadata,
    pub country: Country,
}

impl Context {
    /// The recipient country is `recipientCountry` when given, else the country of the client's
    /// IP address when known, else unknown (docs/governor.md, "Countries").
    pub fn resolve(metadata: Metadata, ip_country: Option<Country>) -> Context {
        let country = metadata.recipient_country.or(ip_country).unwrap_or(Country::Unknown);
        Context { metadata, country }
    }
}

/// One thing the Governor found. Never carries the matched text: only where it was. Serializes
/// as `{"rule","category","severity","start","end","shadow"}` (for the audit trail).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// `pii.email`, `secret.regpilot_key`, `content.bias`, `duty.eu.human_review`,
    /// `policy.<policy id>`… (docs/governor.md, "Rules").
    pub rule: String,
    pub category: Category,
    pub severity: Severity,
    /// Byte offsets into the original text, on char boundaries. A duty finding (something
    /// missing) is the empty span at the end of the text, where its notice is appended.
    pub start: usize,
    pub end: usize,
    /// A shadow policy matched: reported, but it neither scores nor acts.
    pub shadow: bool,
}

/// The text to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Deliver the original text as it is.
    Unchanged,
    /// Deliver this text instead (redacted, replaced, notices appended).
    Changed(String),
    /// Deliver nothing (mode `block`).
    Withheld,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Sorted by start offset, then rule id.
    pub findings: Vec<Finding>,
    pub score: u8,
    pub level: Level,
    pub outcome: Outcome,
    pub delivered: Delivered,
    /// A `notify` policy matched (not in shadow).
    pub notify: bool,
}

impl Verdict {
    /// The findings' rule ids, deduplicated, in order of first appearance.
    pub fn rule_ids(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in &self.findings {
            if !out.contains(&f.rule.as_str()) {
                out.push(&f.rule);
            }
        }
        out
    }

    /// How many findings count (the shadow ones do not): the `x-governor-violations` header.
    pub fn violations(&self) -> usize {
        self.findings.iter().filter(|f| !f.shadow).count()
    }

    /// How many findings count, by category (shadow ones left out), for metrics.
    pub fn count(&self, category: Category) -> usize {
        self.findings.iter().filter(|f| !f.shadow && f.category == category).count()
    }

    /// The delivered text, given the original (`None` when withheld).
    pub fn delivered_text<'t>(&'t self, original: &'t str) -> Option<&'t str> {
        match &self.delivered {
            Delivered::Unchanged => Some(original),
            Delivered::Changed(s) => Some(s),
            Delivered::Withheld => None,
        }
    }
}

impl Governor {
    /// Compiles the built-in rules (a few milliseconds: do it once).
    pub fn new() -> Governor {
        Governor { builtins: builtins::Builtins::new() }
    }

    /// Checks a whole text.
    pub fn check(&self, c: &Check<'_>) -> Verdict {
        let scan = self.scan(c.text, c.target, c.context, c.policies);
        engine::decide(self, c.text, c.target, c.context, c.policies, c.mode, scan.hits, true)
    }

    /// A guard for a streamed answer (always [`Target::Response`]).
    pub fn stream(&self, ctx: Context, policies: std::sync::Arc<PolicySet>, mode: Mode) -> StreamGuard<'_> {
        StreamGuard::new(self, ctx, policies, mode)
    }

    pub(crate) fn scan(&self, text: &str, target: Target, ctx: &Context, policies: &PolicySet) -> engine::Scan {
        engine::scan(self, text, target, ctx, policies)
    }
}
