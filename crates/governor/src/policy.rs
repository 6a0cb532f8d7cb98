//! Custom policies of a project (docs/governor.md, "Policies"): validated definitions, compiled
//! once per change into one keyword automaton and one `RegexSet`.

use std::fmt;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_syntax::hir::Look;

use crate::{AppliesTo, PolicyAction, Severity};

/// Longest policy name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Most keywords of one policy.
pub const MAX_KEYWORDS: usize = 200;
/// Longest keyword, in characters (at most 800 bytes, within the hold-back).
pub const MAX_KEYWORD_CHARS: usize = 200;
/// Longest pattern source, in characters.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// Compiled size limit of one pattern, in bytes.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;
/// Longest replacement or appendix text, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest policy id, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// The longest span a policy pattern may match, in bytes: the streaming hold-back.
pub const MAX_PATTERN_MATCH_BYTES: usize = crate::HOLD_BACK;

/// One custom policy as stored and edited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyDef {
    pub id: String,
    pub name: String,
    pub keywords: Vec<String>,
    pub pattern: Option<String>,
    pub applies_to: AppliesTo,
    pub action: PolicyAction,
    pub severity: Severity,
    pub replacement: Option<String>,
    pub appendix: Option<String>,
    pub enabled: bool,
    pub shadow: bool,
}

/// Why a policy was refused, naming its field (`name`, `keywords`, `pattern`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for PolicyError {}

fn refuse(field: &'static str, message: impl Into<String>) -> PolicyError {
    PolicyError { field, message: message.into() }
}

fn text_field(field: &'static str, v: &Option<String>) -> Result<(), PolicyError> {
    if let Some(t) = v {
        if t.chars().count() > MAX_TEXT_CHARS {
            return Err(refuse(field, format!("at most {MAX_TEXT_CHARS} characters")));
        }
    }
    Ok(())
}

impl PolicyDef {
    /// Checks every limit of docs/governor.md, "Policies"; the pattern is compiled here too.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.compile_pattern().map(|_| ())
    }

    fn compile_pattern(&self) -> Result<Option<Regex>, PolicyError> {
        let id_len = self.id.chars().count();
        if id_len == 0 || id_len > MAX_ID_CHARS || self.id.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(refuse("id", format!("1 to {MAX_ID_CHARS} characters, no spaces")));
        }
        let name_len = self.name.trim().chars().count();
        if name_len == 0 || self.name.chars().count() > MAX_NAME_CHARS {
            return Err(refuse("name", format!("1 to {MAX_NAME_CHARS} characters")));
        }
        if self.keywords.is_empty() && self.pattern.is_none() {
            return Err(refuse("keywords", "a policy needs keywords or a pattern"));
        }
        if self.keywords.len() > MAX_KEYWORDS {
            return Err(refuse("keywords", format!("at most {MAX_KEYWORDS} keywords")));
        }
        for k in &self.keywords {
            if k.trim().is_empty() || k.chars().count() > MAX_KEYWORD_CHARS {
                return Err(refuse("keywords", format!("each keyword has 1 to {MAX_KEYWORD_CHARS} characters")));
            }
        }
        text_field("replacement", &self.replacement)?;
        text_field("appendix", &self.appendix)?;
        if self.action == PolicyAction::Replace && self.replacement.is_none() {
            return Err(refuse("replacement", "action replace needs a replacement text"));
        }
        if self.action == PolicyAction::Append && self.appendix.as_deref().is_none_or(|a| a.trim().is_empty()) {
            return Err(refuse("appendix", "action append needs an appendix text"));
        }
        let Some(p) = &self.pattern else { return Ok(None) };
        if p.is_empty() || p.chars().count() > MAX_PATTERN_CHARS {
            return Err(refuse("pattern", format!("1 to {MAX_PATTERN_CHARS} characters")));
        }
        let hir = regex_syntax::Parser::new().parse(p).map_err(|e| refuse("pattern", first_line(&e.to_string())))?;
        let props = hir.properties();
        if props.look_set().contains(Look::End)
            || props.look_set().contains(Look::EndLF)
            || props.look_set().contains(Look::EndCRLF)
        {
            return Err(refuse("pattern", "end-of-text anchors ($, \\z) are not supported"));
        }
        match props.maximum_len() {
            Some(n) if n <= MAX_PATTERN_MATCH_BYTES => {}
            _ => {
                return Err(refuse(
                    "pattern",
                    format!(
                        "the pattern must match at most {MAX_PATTERN_MATCH_BYTES} bytes: bound every repetition, e.g. \\w{{0,40}} instead of \\w*"
                    ),
                ))
            }
        }
        if props.minimum_len() == Some(0) {
            return Err(refuse("pattern", "the pattern must not match the empty text"));
        }
        let re = RegexBuilder::new(p)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map_err(|e| refuse("pattern", first_line(&e.to_string())))?;
        Ok(Some(re))
    }
}

fn first_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let text = lines.join(" ");
    text.chars().take(300).collect()
}

/// A policy as the engine applies it.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub rule: String,
    pub applies_to: AppliesTo,
    pub action: PolicyAction,
    pub severity: Severity,
    pub replacement: Option<String>,
    pub appendix: Option<String>,
    pub shadow: bool,
    pub regex: Option<Regex>,
}

/// A project's enabled policies, compiled once (docs/governor.md, "Policies").
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub(crate) policies: Vec<Compiled>,
    /// Every keyword of every policy, lower-cased and deduplicated, in one automaton.
    pub(crate) keywords: Option<AhoCorasick>,
    /// For each automaton pattern, the policies that listed it.
    pub(crate) keyword_owners: Vec<Vec<usize>>,
    pub(crate) patterns: Option<RegexSet>,
    /// For each `RegexSet` entry, its policy.
    pub(crate) pattern_owners: Vec<usize>,
}

impl Default for PolicySet {
    fn default() -> PolicySet {
        PolicySet::empty()
    }
}

impl PolicySet {
    pub fn empty() -> PolicySet {
        PolicySet {
            policies: Vec::new(),
            keywords: None,
            keyword_owners: Vec::new(),
            patterns: None,
            pattern_owners: Vec::new(),
        }
    }

    /// Validates and compiles `defs`; disabled policies are skipped (not validated either).
    pub fn compile(defs: &[PolicyDef]) -> Result<PolicySet, PolicyError> {
        let mut set = PolicySet::empty();
        let mut words: Vec<String> = Vec::new();
        let mut sources: Vec<&str> = Vec::new();
        for def in defs.iter().filter(|d| d.enabled) {
            let regex = def.compile_pattern()?;
            let index = set.policies.len();
            for k in &def.keywords {
                let k = k.trim().to_ascii_lowercase();
                match words.iter().position(|w| *w == k) {
                    Some(i) => {
                        if !set.keyword_owners[i].contains(&index) {
                            set.keyword_owners[i].push(index);
                        }
                    }
                    None => {
                        words.push(k);
                        set.keyword_owners.push(vec![index]);
                    }
                }
            }
            if let Some(p) = &def.pattern {
                sources.push(p);
                set.pattern_owners.push(index);
            }
            let severity = if def.action == PolicyAction::RequireApproval {
                def.severity.max(Severity::Medium)
            } else {
                def.severity
            };
            set.policies.push(Compiled {
                rule: format!("policy.{}", def.id),
                applies_to: def.applies_to,
                action: def.action,
                severity,
                replacement: def.replacement.clone(),
                appendix: def.appendix.clone(),
                shadow: def.shadow,
                regex,
            });
        }
        if !words.is_empty() {
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&words)
                .map_err(|e| refuse("keywords", e.to_string()))?;
            set.keywords = Some(ac);
        }
        if !sources.is_empty() {
            let rs = RegexSetBuilder::new(&sources)
                .size_limit(PATTERN_SIZE_LIMIT.saturating_mul(sources.len()).max(PATTERN_SIZE_LIMIT))
                .build()
                .map_err(|e| refuse("pattern", first_line(&e.to_string())))?;
            set.patterns = Some(rs);
        }
        Ok(set)
    }

    /// How many policies are in force.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn def(id: &str, action: PolicyAction) -> PolicyDef {
        PolicyDef {
            id: id.into(),
            name: format!("policy {id}"),
            keywords: vec!["project falcon".into()],
            pattern: None,
            applies_to: AppliesTo::Response,
            action,
            severity: Severity::Medium,
            replacement: None,
            appendix: None,
            enabled: true,
            shadow: false,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let ok = def("p1", PolicyAction::Warn);
        assert_eq!(ok.validate(), Ok(()));
        let cases: Vec<(PolicyDef, &str)> = vec![
            (PolicyDef { name: " ".into(), ..ok.clone() }, "name"),
            (PolicyDef { name: "n".repeat(201), ..ok.clone() }, "name"),
            (PolicyDef { id: String::new(), ..ok.clone() }, "id"),
            (PolicyDef { keywords: vec![], ..ok.clone() }, "keywords"),
            (PolicyDef { keywords: vec!["".into()], ..ok.clone() }, "keywords"),
            (PolicyDef { keywords: vec!["k".repeat(201)], ..ok.clone() }, "keywords"),
            (PolicyDef { keywords: vec!["k".into(); 201], ..ok.clone() }, "keywords"),
            (PolicyDef { pattern: Some("(unclosed".into()), ..ok.clone() }, "pattern"),
            (PolicyDef { pattern: Some("a".repeat(1001)), ..ok.clone() }, "pattern"),
            (PolicyDef { pattern: Some("secret.*".into()), ..ok.clone() }, "pattern"),
            (PolicyDef { pattern: Some("done$".into()), ..ok.clone() }, "pattern"),
            (PolicyDef { pattern: Some("a?".into()), ..ok.clone() }, "pattern"),
            (PolicyDef { pattern: Some("\\w{1000}\\w{1000}".into()), ..ok.clone() }, "pattern"),
            (PolicyDef { action: PolicyAction::Replace, ..ok.clone() }, "replacement"),
            (PolicyDef { action: PolicyAction::Append, ..ok.clone() }, "appendix"),
            (PolicyDef { appendix: Some("x".repeat(2001)), ..ok.clone() }, "appendix"),
        ];
        for (d, field) in cases {
            let e = d.validate().unwrap_err();
            assert_eq!(e.field, field, "{d:?}: {e}");
            assert!(e.to_string().starts_with(field));
            assert_eq!(PolicySet::compile(std::slice::from_ref(&d)).unwrap_err().field, field);
        }
        // Over the compiled size limit although short and bounded.
        let big = PolicyDef { pattern: Some("\\w{500}\\w{500}".into()), ..ok.clone() };
        assert_eq!(big.validate().unwrap_err().field, "pattern");
        let bounded = PolicyDef { pattern: Some("(?i)refund\\s{1,3}[a-z]{0,40}".into()), ..ok.clone() };
        assert_eq!(bounded.validate(), Ok(()));
    }

    #[test]
    fn compile_skips_disabled_and_shares_keywords() {
        let a = def("a", PolicyAction::Warn);
        let b = PolicyDef { keywords: vec!["Project Falcon".into(), "zeta".into()], ..def("b", PolicyAction::Log) };
        let off = PolicyDef { enabled: false, pattern: Some("(broken".into()), ..def("c", PolicyAction::Block) };
        let set = PolicySet::compile(&[a, b, off]).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.keyword_owners, vec![vec![0, 1], vec![1]]);
        assert!(set.patterns.is_none());
        assert!(PolicySet::empty().is_empty());
        let ra = PolicyDef { severity: Severity::Low, ..def("r", PolicyAction::RequireApproval) };
        assert_eq!(PolicySet::compile(&[ra]).unwrap().policies[0].severity, Severity::Medium);
    }
}
