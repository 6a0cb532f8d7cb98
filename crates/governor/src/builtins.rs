//! The built-in rules (docs/governor.md, "Rules"): personal data and secrets found by regex
//! plus a validator (Luhn, mod-97, key checksums, …), content found by versioned phrase lists,
//! and the markers that show a required notice is already present.
//!
//! Every pattern's longest match is bounded by [`crate::HOLD_BACK`] except the two marked
//! `unbounded` (PEM blocks, JWTs), which the stream guard holds open until they are complete.

use std::borrow::Cow;
use std::net::Ipv6Addr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexSet};

use crate::{Category, Severity};

/// A span validator: given the whole text and a candidate match, the span to report, if any.
type Validate = fn(&str, usize, usize) -> Option<(usize, usize)>;

#[derive(Debug, Clone)]
pub(crate) struct RegexRule {
    pub id: &'static str,
    pub category: Category,
    pub severity: Severity,
    /// The redaction label in modes sanitize and block; `None` for finding-only rules.
    pub label: Option<&'static str>,
    pub regex: Regex,
    /// The capture group that is the reported span (0: the whole match).
    pub group: usize,
    pub validate: Validate,
    /// The match length is not bounded by the hold-back (see the module doc).
    pub unbounded: bool,
}

pub(crate) struct RuleSpec {
    pub(crate) id: &'static str,
    pub(crate) category: Category,
    pub(crate) severity: Severity,
    label: Option<&'static str>,
    pattern: Cow<'static, str>,
    group: usize,
    validate: Validate,
    unbounded: bool,
}

const fn pii(
    id: &'static str,
    severity: Severity,
    label: &'static str,
    pattern: &'static str,
    validate: Validate,
) -> RuleSpec {
    RuleSpec {
        id,
        category: Category::PersonalData,
        severity,
        label: Some(label),
        pattern: Cow::Borrowed(pattern),
        group: 0,
        validate,
        unbounded: false,
    }
}

const fn secret(id: &'static str, pattern: &'static str, validate: Validate) -> RuleSpec {
    RuleSpec {
        id,
        category: Category::Secret,
        severity: Severity::Critical,
        label: Some("[SECRET]"),
        pattern: Cow::Borrowed(pattern),
        group: 0,
        validate,
        unbounded: false,
    }
}

fn any(_: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    Some((s, e))
}

const DATE: &str = r"(\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?\s(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?,?\s\d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?\s\d{1,2}(?:st|nd|rd|th)?,?\s\d{4})\b";

pub(crate) fn specs() -> Vec<RuleSpec> {
    use Severity::*;
    let dob = format!(
        r"(?i)\b(?:born(?:\s+on)?|d\.?o\.?b\.?|date\s+of\s+birth|birth\s?date|birthday)\s{{0,3}}(?:is\s+|was\s+|:\s*|-\s*)?{DATE}"
    );
    vec![
        pii(
            "pii.email",
            Medium,
            "[EMAIL]",
            r"(?i)\b[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,4}[a-z]{2,24}\b",
            any,
        ),
        pii("pii.phone", Medium, "[PHONE]", r"\+[1-9](?:[ .\-]?\(?\d\)?){6,14}", phone_international),
        pii("pii.phone", Medium, "[PHONE]", r"(?:\(\d{3}\) ?|\b\d{3}[.\- ])\d{3}[.\-]\d{4}\b", phone_us),
        pii("pii.phone", Medium, "[PHONE]", r"\b0\d{2,4}[ \-/]\d{3,4}[ \-]?\d{3,4}\b", phone_national),
        pii("pii.card", Critical, "[CARD]", r"\b\d(?:[ \-]?\d){12,18}\b", card),
        pii("pii.iban", High, "[IBAN]", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", iban),
        pii("pii.ssn", Critical, "[SSN]", r"\b\d{3}-\d{2}-\d{4}\b", ssn),
        pii(
            "pii.ni_number",
            High,
            "[NI_NUMBER]",
            r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
            ni_number,
        ),
        pii(
            "pii.ip_address",
            Low,
            "[IP_ADDRESS]",
            r"\b(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b",
            ipv4,
        ),
        pii("pii.ip_address", Low, "[IP_ADDRESS]", r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}", ipv6),
        RuleSpec { group: 1, pattern: Cow::Owned(dob), ..pii("pii.date_of_birth", High, "[DATE_OF_BIRTH]", "", any) },
        secret("secret.regpilot_key", r"\b(?:sk|pk)_(?:dev|stg|prod)_[0-9A-Za-z]{38}\b", regpilot_key),
        secret("secret.admin_token", r"\brpa_[0-9A-Za-z]{38}\b", admin_token),
        secret("secret.openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,200}", openai_key),
        secret("secret.anthropic_key", r"\bsk-ant-[A-Za-z0-9_\-]{20,200}", any),
        secret("secret.aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", any),
        secret("secret.github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,251})\b", any),
        secret("secret.slack_token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,250}", any),
        secret("secret.google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}", any),
        RuleSpec {
            unbounded: true,
            ..secret(
                "secret.private_key",
                r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY-----(?:\r?\n[A-Za-z\-]{1,20}: [^\r\n]{1,200})*(?:[\r\n \t]{1,4}[A-Za-z0-9+/=]{2,200})*(?:[\r\n \t]{1,4}-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY-----)?",
                any,
            )
        },
        RuleSpec {
            unbounded: true,
            ..secret("secret.jwt", r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]{8,}", jwt)
        },
        RuleSpec {
            id: "content.medical_dosage",
            category: Category::Content,
            severity: High,
            label: None,
            pattern: Cow::Borrowed(
                r"(?i)\b(?:take|taking|give|double|increase\s+to|dose\s+of|dosage\s+of|administer)\s{1,3}(?:up\s+to\s+)?\d{1,4}(?:[.,]\d{1,2})?\s?(?:mg|mcg|µg|g|ml|units?|iu|tablets?|pills?|capsules?)\b",
            ),
            group: 0,
            validate: any,
            unbounded: false,
        },
    ]
}

/// The content lists, each a versioned file in `lists/` (docs/governor.md, "Content lists").
pub(crate) const LISTS: [(&str, Severity, &str); 7] = [
    ("content.bias", Severity::High, include_str!("../lists/bias.txt")),
    ("content.self_harm", Severity::Critical, include_str!("../lists/self_harm.txt")),
    ("content.violence", Severity::High, include_str!("../lists/violence.txt")),
    ("content.weapons", Severity::High, include_str!("../lists/weapons.txt")),
    ("content.financial_guarantee", Severity::High, include_str!("../lists/financial_guarantee.txt")),
    ("content.medical_dosage", Severity::High, include_str!("../lists/medical_dosage.txt")),
    ("content.legal_advice", Severity::Low, include_str!("../lists/legal_advice.txt")),
];

/// Phrases that show a notice is already in the text.
pub(crate) const MARKERS: [(Marker, &str); 3] = [
    (Marker::HumanReview, include_str!("../lists/markers_human_review.txt")),
    (Marker::AiDisclosure, include_str!("../lists/markers_ai_disclosure.txt")),
    (Marker::FinancialDisclaimer, include_str!("../lists/markers_financial_disclaimer.txt")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    HumanReview,
    AiDisclosure,
    FinancialDisclaimer,
}

/// The entries of a list file: one phrase a line, `#` comments; the first line is the
/// `# <name> list, version <version>` header.
pub(crate) fn entries(file: &str) -> impl Iterator<Item = &str> {
    file.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The version a list file declares in its header.
pub(crate) fn version(file: &str) -> Option<&str> {
    file.lines().next()?.split_once(", version ").map(|(_, v)| v.trim())
}

/// The version of every content list, as `(rule id, version)`.
pub fn list_versions() -> Vec<(&'static str, &'static str)> {
    LISTS.iter().map(|(id, _, file)| (*id, version(file).unwrap_or("unversioned"))).collect()
}

#[derive(Debug, Clone)]
pub(crate) struct Builtins {
    pub set: RegexSet,
    pub rules: Vec<RegexRule>,
    pub content: AhoCorasick,
    /// For each content pattern, its index in [`LISTS`].
    pub content_owner: Vec<usize>,
    pub markers: AhoCorasick,
    pub marker_owner: Vec<Marker>,
}

/// ASCII word boundaries and digits: the fast engines need them (a Unicode `\b` makes the lazy
/// DFA give up on non-ASCII text, a Unicode `\d` is hundreds of ranges), and every built-in
/// pattern is about ASCII.
fn ascii_boundaries(p: &str) -> String {
    p.replace(r"\b", r"(?-u:\b)").replace(r"\d", "[0-9]")
}

fn automaton(words: &[String]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(words)
        .unwrap_or_else(|e| panic!("built-in word list: {e}"))
}

impl Builtins {
    /// Panics only if a built-in pattern does not compile, which the unit tests rule out.
    pub fn new() -> Builtins {
        let specs = specs();
        let sources: Vec<String> = specs.iter().map(|s| ascii_boundaries(&s.pattern)).collect();
        let set = RegexSet::new(&sources).unwrap_or_else(|e| panic!("built-in rule set: {e}"));
        let rules = specs
            .iter()
            .zip(&sources)
            .map(|(s, src)| RegexRule {
                id: s.id,
                category: s.category,
                severity: s.severity,
                label: s.label,
                regex: Regex::new(src).unwrap_or_else(|e| panic!("built-in rule {}: {e}", s.id)),
                group: s.group,
                validate: s.validate,
                unbounded: s.unbounded,
            })
            .collect();
        let mut words = Vec::new();
        let mut content_owner = Vec::new();
        for (i, (_, _, file)) in LISTS.iter().enumerate() {
            for w in entries(file) {
                words.push(w.to_ascii_lowercase());
                content_owner.push(i);
            }
        }
        let mut marks = Vec::new();
        let mut marker_owner = Vec::new();
        for (m, file) in MARKERS {
            for w in entries(file) {
                marks.push(w.to_ascii_lowercase());
                marker_owner.push(m);
            }
        }
        Builtins { set, rules, content: automaton(&words), content_owner, markers: automaton(&marks), marker_owner }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text[s..e]` stands as whole words: no word character glued to either end.
pub(crate) fn whole_word(text: &str, s: usize, e: usize) -> bool {
    let m = &text[s..e];
    let first = m.chars().next().is_some_and(is_word);
    let last = m.chars().next_back().is_some_and(is_word);
    (!first || !text[..s].chars().next_back().is_some_and(is_word))
        && (!last || !text[e..].chars().next().is_some_and(is_word))
}

fn digits(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

fn next_char(text: &str, e: usize) -> Option<char> {
    text[e..].chars().next()
}

fn prev_char(text: &str, s: usize) -> Option<char> {
    text[..s].chars().next_back()
}

fn phone_international(text: &str, s: usize, mut e: usize) -> Option<(usize, usize)> {
    if prev_char(text, s).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    loop {
        // A closing parenthesis the pattern took without its opening one is not part of the number.
        let m = &text[s..e];
        if m.ends_with(')') && m.matches('(').count() < m.matches(')').count() {
            e -= 1;
        }
        let n = digits(&text[s..e]).len();
        if n < 8 {
            return None;
        }
        if n <= 15 && !next_char(text, e).is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Some((s, e));
        }
        // Glued to more digits (the number runs on into another one): end at the last separator.
        let cut = text[s..e].rfind([' ', '.', '-'])?;
        e = s + cut;
    }
}

/// Whether `text[..s]` ends in the head of an IBAN-shaped run (`DE88 3704 `): the digits that
/// follow continue it (its check digits failed, or it is an account number of another shape)
/// and are not a phone or card number of their own.
fn continues_iban(text: &str, s: usize) -> bool {
    let b = text.as_bytes();
    let mut i = s;
    while i >= 5 && b[i - 1] == b' ' {
        let g = &b[i - 5..i - 1];
        if !g.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return false;
        }
        let start = i - 5;
        let head =
            g[0].is_ascii_uppercase() && g[1].is_ascii_uppercase() && g[2].is_ascii_digit() && g[3].is_ascii_digit();
        if head && (start == 0 || !b[start - 1].is_ascii_alphanumeric()) {
            return true;
        }
        i = start;
    }
    false
}

fn phone_us(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    // "(555) 123-4567" and "555-123-4567", not the tail of a longer digit group.
    let before = prev_char(text, s);
    (!before.is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '.' || c == '+')).then_some((s, e))
}

fn phone_national(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let n = digits(&text[s..e]).len();
    let before = prev_char(text, s);
    let joined = before.is_some_and(|c| c == '-' || c == '.' || c == '+' || c == '/');
    ((9..=12).contains(&n) && !joined && !continues_iban(text, s)).then_some((s, e))
}

pub(crate) fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &v)| {
            let v = u32::from(v);
            if i % 2 == 1 {
                let x = v * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn card(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    if prev_char(text, s).is_some_and(|c| c == '-' || c == '.' || c == '+') || continues_iban(text, s) {
        return None;
    }
    // The pattern is greedy: a card followed by another group of digits ("… 1111 020 7946")
    // is tried at each group end, longest first.
    let m = &text[s..e];
    let ends = std::iter::once(m.len()).chain(m.rmatch_indices([' ', '-']).map(|(i, _)| i));
    for end in ends {
        let d = digits(&m[..end]);
        let issuer = matches!(d.first(), Some(2..=6));
        let varied = d.iter().any(|&x| Some(&x) != d.first());
        let rest = &text[s + end..];
        let glued = rest.starts_with(['-', '.']) && rest[1..].starts_with(|c: char| c.is_ascii_digit());
        if (13..=19).contains(&d.len()) && issuer && varied && !glued && luhn(&d) {
            return Some((s, s + end));
        }
    }
    None
}

/// IBAN lengths by country (the SWIFT IBAN registry).
const IBAN_LENGTHS: [(&str, usize); 80] = [
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
];

pub(crate) fn iban_mod97(iban: &[u8]) -> bool {
    let rotated = iban[4..].iter().chain(&iban[..4]);
    let mut rem: u32 = 0;
    for &c in rotated {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

fn iban(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let m = &text.as_bytes()[s..e];
    let country = std::str::from_utf8(&m[..2]).ok()?;
    let len = IBAN_LENGTHS.iter().find(|(c, _)| *c == country)?.1;
    // The pattern may run on into a following upper-case word: cut at the country's length.
    let mut chars = Vec::with_capacity(len);
    let mut end = s;
    for (i, &b) in m.iter().enumerate() {
        if b != b' ' {
            chars.push(b);
            if chars.len() == len {
                end = s + i + 1;
                break;
            }
        }
    }
    if chars.len() != len || next_char(text, end).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    iban_mod97(&chars).then_some((s, end))
}

fn ssn(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let m = &text[s..e];
    let (area, rest) = m.split_at(3);
    let (group, serial) = (&rest[1..3], &rest[4..]);
    let bad = area == "000" || area == "666" || area.starts_with('9') || group == "00" || serial == "0000";
    let glued = prev_char(text, s).is_some_and(|c| c == '-') || next_char(text, e).is_some_and(|c| c == '-');
    (!bad && !glued).then_some((s, e))
}

fn ni_number(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let prefix = &text[s..s + 2];
    (!matches!(prefix, "BG" | "GB" | "NK" | "KN" | "TN" | "NT" | "ZZ")).then_some((s, e))
}

fn ipv4(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let before = prev_char(text, s).is_some_and(|c| c == '.');
    let rest = &text[e..];
    let after = rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit());
    (!before && !after).then_some((s, e))
}

fn ipv6(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let m = &text[s..e];
    let joined = |c: char| c.is_ascii_alphanumeric() || c == ':' || c == '.' || c == '_';
    if prev_char(text, s).is_some_and(joined) || next_char(text, e).is_some_and(joined) {
        return None;
    }
    let groups = m.split(':').filter(|g| !g.is_empty()).count();
    let addr: Ipv6Addr = m.parse().ok()?;
    (groups >= 2 && !addr.is_unspecified()).then_some((s, e))
}

fn regpilot_key(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    regpilot_keys::parse(&text[s..e]).is_ok().then_some((s, e))
}

fn admin_token(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    regpilot_keys::is_admin_token(&text[s..e]).then_some((s, e))
}

fn openai_key(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let m = &text[s..e];
    let body = m.rsplit('-').next().unwrap_or("");
    let mixed = m.bytes().any(|b| b.is_ascii_digit()) && body.bytes().any(|b| b.is_ascii_alphabetic());
    (!m.starts_with("sk-ant-") && mixed).then_some((s, e))
}

/// Decodes unpadded base64url; `None` on any other character.
pub(crate) fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn jwt(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let header = text[s..e].split('.').next()?;
    let bytes = base64url(header)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("alg").is_some().then_some((s, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles_and_lists_are_versioned() {
        let b = Builtins::new();
        assert_eq!(b.rules.len(), b.set.len());
        for (id, _, file) in LISTS {
            assert!(version(file).is_some(), "{id} has no version header");
            assert!(entries(file).count() >= 5, "{id}");
            for e in entries(file) {
                assert!(e.len() <= 200, "{e}");
            }
        }
        for (_, file) in MARKERS {
            assert!(version(file).is_some());
        }
        assert!(list_versions().iter().all(|(_, v)| *v != "unversioned"));
    }

    #[test]
    fn iban_shaped_runs() {
        let t = "to DE88 3704 0044 0532";
        assert!(continues_iban(t, t.find("0044").unwrap()));
        assert!(continues_iban(t, t.find("3704").unwrap()));
        assert!(!continues_iban(t, t.find("DE88").unwrap()));
        let t = "Call us on 020 7946 0958";
        assert!(!continues_iban(t, t.find("020").unwrap()));
        let t = "XDE88 3704 0044";
        assert!(!continues_iban(t, t.find("0044").unwrap()));
    }

    #[test]
    fn luhn_and_mod97() {
        assert!(luhn(&digits("4111111111111111")));
        assert!(!luhn(&digits("4111111111111112")));
        assert!(iban_mod97(b"DE89370400440532013000"));
        assert!(!iban_mod97(b"DE88370400440532013000"));
        assert!(iban_mod97(b"GB29NWBK60161331926819"));
    }

    #[test]
    fn base64url_decodes() {
        assert_eq!(base64url("eyJhbGciOiJIUzI1NiJ9").unwrap(), br#"{"alg":"HS256"}"#);
        assert_eq!(base64url("a*b"), None);
    }

    #[test]
    fn whole_words() {
        assert!(whole_word("a gun here", 2, 5));
        assert!(!whole_word("begun", 2, 5));
        assert!(!whole_word("guns", 0, 3));
        assert!(whole_word("x $$$ y", 2, 5));
    }
}
