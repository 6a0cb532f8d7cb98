//! One check: scan the text for every rule, then decide the verdict and the text to deliver
//! (docs/governor.md, "Modes").

use std::borrow::Cow;

use crate::builtins::whole_word;
use crate::{
    duties, score, Category, Context, Delivered, Finding, Governor, Level, Mode, Outcome, PolicyAction, PolicySet,
    Severity, Target, Verdict,
};

/// Who raised a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A built-in rule; `label` is its redaction label, if it redacts.
    Builtin { id: &'static str, label: Option<&'static str> },
    /// The policy at this index of the set.
    Policy(usize),
    /// A missing notice.
    Duty(&'static duties::Duty),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    pub source: Source,
    pub category: Category,
    pub severity: Severity,
    pub start: usize,
    pub end: usize,
    pub shadow: bool,
}

/// What a scan of a text found, before any decision.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub hits: Vec<Hit>,
    /// Start and end of every raw match of a rule whose length is not bounded.
    pub unbounded: Vec<(usize, usize)>,
}

pub(crate) fn scan(gov: &Governor, text: &str, target: Target, _ctx: &Context, policies: &PolicySet) -> Scan {
    let b = &gov.builtins;
    let mut out = Scan::default();
    for i in b.set.matches(text).iter() {
        let rule = &b.rules[i];
        if target == Target::Prompt && rule.category == Category::Content {
            continue;
        }
        let push = |m_start: usize, m_end: usize, s: usize, e: usize, out: &mut Scan| {
            if rule.unbounded {
                out.unbounded.push((m_start, m_end));
            }
            let (s, e) = (rule.validate)(text, s, e)?;
            out.hits.push(Hit {
                source: Source::Builtin { id: rule.id, label: rule.label },
                category: rule.category,
                severity: rule.severity,
                start: s,
                end: e,
                shadow: false,
            });
            Some(e)
        };
        // A candidate the validator refuses may hide a valid one overlapping it (a 16-digit run
        // failing Luhn that starts one group before a card): bounded rules try again one
        // character later. Unbounded rules move past the refused match, which keeps them linear.
        let mut at = 0;
        while at <= text.len() {
            let (m_start, m_end, s, e) = if rule.group == 0 {
                match rule.regex.find_at(text, at) {
                    Some(m) => (m.start(), m.end(), m.start(), m.end()),
                    None => break,
                }
            } else {
                match rule.regex.captures_at(text, at) {
                    Some(c) => match (c.get(0), c.get(rule.group)) {
                        (Some(m), Some(g)) => (m.start(), m.end(), g.start(), g.end()),
                        _ => break,
                    },
                    None => break,
                }
            };
            let next = m_start + text[m_start..].chars().next().map_or(1, char::len_utf8);
            at = match push(m_start, m_end, s, e, &mut out) {
                _ if rule.unbounded => m_end.max(next),
                // A validator may cut the match short (an IBAN at its country's length): the
                // rest of the match is searched again.
                Some(end) => end.max(next),
                None => next,
            };
        }
    }
    if target == Target::Response {
        for m in b.content.find_iter(text) {
            if whole_word(text, m.start(), m.end()) {
                let (id, severity, _) = crate::builtins::LISTS[b.content_owner[m.pattern().as_usize()]];
                out.hits.push(Hit {
                    source: Source::Builtin { id, label: None },
                    category: Category::Content,
                    severity,
                    start: m.start(),
                    end: m.end(),
                    shadow: false,
                });
            }
        }
    }
    scan_policies(text, target, policies, &mut out.hits);
    out
}

fn scan_policies(text: &str, target: Target, set: &PolicySet, hits: &mut Vec<Hit>) {
    let hit = |i: usize, s: usize, e: usize| {
        let p = &set.policies[i];
        Hit {
            source: Source::Policy(i),
            category: Category::Policy,
            severity: p.severity,
            start: s,
            end: e,
            shadow: p.shadow,
        }
    };
    if let Some(ac) = &set.keywords {
        for m in ac.find_iter(text) {
            if !whole_word(text, m.start(), m.end()) {
                continue;
            }
            for &i in &set.keyword_owners[m.pattern().as_usize()] {
                if set.policies[i].applies_to.covers(target) {
                    hits.push(hit(i, m.start(), m.end()));
                }
            }
        }
    }
    if let Some(rs) = &set.patterns {
        for k in rs.matches(text).iter() {
            let i = set.pattern_owners[k];
            let p = &set.policies[i];
            if !p.applies_to.covers(target) {
                continue;
            }
            if let Some(re) = &p.regex {
                for m in re.find_iter(text).filter(|m| !m.is_empty()) {
                    hits.push(hit(i, m.start(), m.end()));
                }
            }
        }
    }
}

/// A merged run of redacted text and what replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group<'p> {
    pub start: usize,
    pub end: usize,
    pub with: Cow<'p, str>,
}

/// What a hit puts in place of its span in modes sanitize and block, if anything.
fn replacement<'p>(hit: &Hit, set: &'p PolicySet) -> Option<Cow<'p, str>> {
    if hit.shadow {
        return None;
    }
    match hit.source {
        Source::Builtin { label, .. } => label.map(Cow::Borrowed),
        Source::Policy(i) => {
            let p = &set.policies[i];
            match p.action {
                PolicyAction::Redact | PolicyAction::Block => {
                    Some(p.replacement.as_deref().map_or(Cow::Borrowed("[REDACTED]"), Cow::Borrowed))
                }
                PolicyAction::Replace => p.replacement.as_deref().map(Cow::Borrowed),
                _ => None,
            }
        }
        Source::Duty(_) => None,
    }
}

/// The redactions, merged so that overlapping spans become one (labelled by the earliest,
/// longest one), sorted by start.
pub(crate) fn groups<'p>(hits: &[Hit], set: &'p PolicySet) -> Vec<Group<'p>> {
    let mut spans: Vec<(usize, usize, Cow<'p, str>)> = hits
        .iter()
        .filter(|h| h.end > h.start)
        .filter_map(|h| replacement(h, set).map(|w| (h.start, h.end, w)))
        .collect();
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out: Vec<Group<'p>> = Vec::new();
    for (s, e, w) in spans {
        match out.last_mut() {
            Some(g) if s < g.end => g.end = g.end.max(e),
            _ => out.push(Group { start: s, end: e, with: w }),
        }
    }
    out
}

/// `text[from..to]` with every group inside it replaced; groups must not straddle the bounds.
pub(crate) fn render(text: &str, from: usize, to: usize, groups: &[Group<'_>], out: &mut String) {
    let mut at = from;
    for g in groups.iter().filter(|g| g.start >= from && g.end <= to) {
        out.push_str(&text[at..g.start]);
        out.push_str(&g.with);
        at = g.end;
    }
    out.push_str(&text[at..to]);
}

/// The appended texts, in order: policy appendices (once per policy), then the notices.
pub(crate) fn appendices<'p>(hits: &[Hit], set: &'p PolicySet) -> Vec<&'p str> {
    let mut out: Vec<&'p str> = Vec::new();
    let mut seen: Vec<usize> = Vec::new();
    for h in hits.iter().filter(|h| !h.shadow) {
        if let Source::Policy(i) = h.source {
            let p = &set.policies[i];
            if p.action == PolicyAction::Append && !seen.contains(&i) {
                seen.push(i);
                if let Some(a) = p.appendix.as_deref() {
                    out.push(a);
                }
            }
        }
    }
    for h in hits {
        if let Source::Duty(d) = h.source {
            if !out.contains(&d.notice) {
                out.push(d.notice);
            }
        }
    }
    out
}

/// The separator before each appended text.
pub(crate) const APPEND_SEPARATOR: &str = "\n\n";

/// Drops a personal-data or secret hit that lies strictly inside a longer one (the digits of an
/// IBAN that also look like a phone number): the longer one is what the text holds. The
/// redaction is the same either way, since the longer span covers it.
fn drop_contained(hits: &mut Vec<Hit>) {
    let redacting = |h: &Hit| matches!(h.category, Category::PersonalData | Category::Secret);
    let mut order: Vec<usize> = (0..hits.len()).filter(|&i| redacting(&hits[i])).collect();
    order.sort_by(|&a, &b| hits[a].start.cmp(&hits[b].start).then(hits[b].end.cmp(&hits[a].end)));
    let mut inside = vec![false; hits.len()];
    // The processed hit reaching furthest (ties: the earliest start).
    let mut best: Option<(usize, usize)> = None;
    for i in order {
        let h = &hits[i];
        if let Some((end, start)) = best {
            if end > h.end || (end == h.end && start < h.start) {
                inside[i] = true;
                continue;
            }
        }
        if best.is_none_or(|(end, _)| h.end > end) {
            best = Some((h.end, h.start));
        }
    }
    let mut i = 0;
    hits.retain(|_| {
        i += 1;
        !inside[i - 1]
    });
}

fn source_key(s: &Source) -> (u8, usize, &'static str) {
    match *s {
        Source::Builtin { id, .. } => (0, 0, id),
        Source::Policy(i) => (1, i, ""),
        Source::Duty(d) => (2, 0, d.rule),
    }
}

fn counts(hit: &Hit, set: &PolicySet) -> bool {
    !hit.shadow && !matches!(hit.source, Source::Policy(i) if set.policies[i].action == PolicyAction::Log)
}

/// Turns the hits into the verdict. `complete`: the whole text is known, so missing notices
/// (duties) are decided too; a running stream verdict leaves them out.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide(
    gov: &Governor,
    text: &str,
    target: Target,
    ctx: &Context,
    set: &PolicySet,
    mode: Mode,
    mut hits: Vec<Hit>,
    complete: bool,
) -> Verdict {
    if complete && target == Target::Response {
        let financial_claim = hits
            .iter()
            .any(|h| matches!(h.source, Source::Builtin { id: "content.financial_guarantee", .. }) && !h.shadow);
        for d in duties::missing(&gov.builtins, text, ctx, financial_claim) {
            hits.push(Hit {
                source: Source::Duty(d),
                category: Category::Duty,
                severity: d.severity,
                start: text.len(),
                end: text.len(),
                shadow: false,
            });
        }
    }
    hits.sort_by(|a, b| (a.start, a.end, source_key(&a.source)).cmp(&(b.start, b.end, source_key(&b.source))));
    hits.dedup_by(|a, b| a.source == b.source && a.start == b.start && a.end == b.end);
    drop_contained(&mut hits);
    let score = score::risk_score(
        ctx.metadata.action_type,
        ctx.country.region(),
        hits.iter().filter(|h| counts(h, set)).map(|h| (h.category, h.severity)),
    );
    let level = Level::of_score(score);
    let notify = hits
        .iter()
        .any(|h| !h.shadow && matches!(h.source, Source::Policy(i) if set.policies[i].action == PolicyAction::Notify));
    let block_policy = hits
        .iter()
        .any(|h| !h.shadow && matches!(h.source, Source::Policy(i) if set.policies[i].action == PolicyAction::Block));
    let by_level = if level == Level::Low { Outcome::Approved } else { Outcome::Flagged };
    let (outcome, delivered) = match mode {
        Mode::Monitor => (by_level, Delivered::Unchanged),
        Mode::Block if level == Level::High || block_policy => (Outcome::Blocked, Delivered::Withheld),
        Mode::Sanitize | Mode::Block => {
            let mut out = String::with_capacity(text.len() + 64);
            render(text, 0, text.len(), &groups(&hits, set), &mut out);
            for a in appendices(&hits, set) {
                out.push_str(APPEND_SEPARATOR);
                out.push_str(a);
            }
            if out == text {
                (by_level, Delivered::Unchanged)
            } else {
                (Outcome::Sanitized, Delivered::Changed(out))
            }
        }
    };
    let findings = hits
        .iter()
        .map(|h| Finding {
            rule: match h.source {
                Source::Builtin { id, .. } => id.to_owned(),
                Source::Policy(i) => set.policies[i].rule.clone(),
                Source::Duty(d) => d.rule.to_owned(),
            },
            category: h.category,
            severity: h.severity,
            start: h.start,
            end: h.end,
            shadow: h.shadow,
        })
        .collect();
    let mut v = Verdict { findings, score, level, outcome, delivered, notify };
    v.findings.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.rule.cmp(&b.rule)));
    v
}
