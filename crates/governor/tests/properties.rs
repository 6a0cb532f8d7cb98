//! Property tests of the invariants in the crate documentation: no panic on any UTF-8, offsets
//! on char boundaries, nothing detected survives sanitizing, and streaming in any chunking
//! delivers exactly what a whole-text check delivers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{check_with, ctx, gov};
use proptest::prelude::*;
use regpilot_governor::{
    ActionType, AppliesTo, Category, Delivered, Mode, PolicyAction, PolicyDef, PolicySet, Severity, StreamStep, Target,
};

const FRAGMENTS: &[&str] = &[
    "jane.doe@example.com",
    "4111 1111 1111 1111",
    "5555555555554444",
    "4111 1111 1111 1112",
    "DE89 3704 0044 0532 0130 00",
    "GB29NWBK60161331926819",
    "+44 20 7946 0958",
    "(415) 555-2671",
    "020 7946 0958",
    "123-45-6789",
    "AB 12 34 56 C",
    "192.168.0.1",
    "2001:db8::8a2e:370:7334",
    "born on 12/03/1985",
    "DOB: ",
    "1985-03-12",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "sk-proj-Abc123def456ghi789jkl012mno345pqr",
    "-----BEGIN RSA PRIVATE KEY-----",
    "\nMIIEowIBAAKCAQEA1234567890abcdef",
    "\n-----END RSA PRIVATE KEY-----",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.abcdefghijklmnop",
    "Project Falcon",
    "ticket-12345",
    "guaranteed returns",
    "kill yourself",
    "take 500 mg",
    "human review",
    " ",
    "\n",
    ". ",
    "é",
    "日本語",
    "🦀",
    "0",
    "7",
    "-",
    "@",
    ":",
];

fn pieces() -> impl Strategy<Value = Vec<String>> {
    let piece = prop_oneof![
        4 => proptest::sample::select(FRAGMENTS).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9 .@:/+()-]{0,16}",
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ];
    proptest::collection::vec(piece, 0..160)
}

/// Pieces glued together: look-alikes that touch their neighbours.
fn text() -> impl Strategy<Value = String> {
    pieces().prop_map(|v| v.concat())
}

/// Pieces with a space between them. A look-alike glued to a word is not detected (a card
/// number is not part of a longer digit run or word); when a policy replaces the word beside
/// it, the look-alike can stand alone in the delivered text (docs/governor.md, "Limits").
fn spaced_text() -> impl Strategy<Value = String> {
    pieces().prop_map(|v| v.join(" "))
}

fn policies() -> PolicySet {
    let p = |id: &str, action, keywords: &[&str], pattern: Option<&str>| PolicyDef {
        id: id.into(),
        name: id.into(),
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        pattern: pattern.map(str::to_owned),
        applies_to: AppliesTo::Both,
        action,
        severity: Severity::High,
        replacement: Some("[POLICY]".into()),
        appendix: Some("Appendix.".into()),
        enabled: true,
        shadow: false,
    };
    PolicySet::compile(&[
        p("falcon", PolicyAction::Redact, &["project falcon", "falcon"], None),
        p("ticket", PolicyAction::Replace, &[], Some(r"(?i)ticket-\d{3,8}")),
        p("note", PolicyAction::Append, &["returns"], None),
        p("warn", PolicyAction::Warn, &["é"], Some(r"\d{2} \d{2}")),
        p("bl", PolicyAction::Block, &["mg"], None),
    ])
    .unwrap()
}

fn contexts() -> impl Strategy<Value = regpilot_governor::Context> {
    (proptest::sample::select(ActionType::ALL), proptest::sample::select(&["DE", "GB", "US", "JP", "??"][..]))
        .prop_map(|(a, c)| ctx(a, c))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_offsets_are_char_boundaries(t in text(), c in contexts(), mode in proptest::sample::select(Mode::ALL)) {
        let set = policies();
        for target in [Target::Response, Target::Prompt] {
            let v = check_with(&t, &c, &set, mode, target);
            prop_assert!(v.score <= 100);
            for f in &v.findings {
                prop_assert!(f.start <= f.end && f.end <= t.len());
                prop_assert!(t.is_char_boundary(f.start) && t.is_char_boundary(f.end));
            }
        }
    }

    #[test]
    fn arbitrary_utf8_never_panics(t in any::<String>()) {
        let set = policies();
        let c = ctx(ActionType::Suspension, "DE");
        let v = check_with(&t, &c, &set, Mode::Sanitize, Target::Response);
        for f in &v.findings {
            prop_assert!(t.is_char_boundary(f.start) && t.is_char_boundary(f.end));
        }
    }

    #[test]
    fn sanitized_text_has_no_personal_data_or_secret_left(t in spaced_text(), c in contexts()) {
        let set = policies();
        let v = check_with(&t, &c, &set, Mode::Sanitize, Target::Response);
        let out = v.delivered_text(&t).unwrap().to_owned();
        let again = check_with(&out, &c, &PolicySet::empty(), Mode::Sanitize, Target::Response);
        let left: Vec<&str> = again
            .findings
            .iter()
            .filter(|f| matches!(f.category, Category::PersonalData | Category::Secret))
            .map(|f| f.rule.as_str())
            .collect();
        prop_assert!(left.is_empty(), "{left:?} left in {out:?}");
    }

    #[test]
    fn streaming_delivers_what_check_delivers(
        t in text(),
        c in contexts(),
        mode in proptest::sample::select(Mode::ALL),
        cuts in proptest::collection::vec(1usize..64, 1..400),
    ) {
        let set = Arc::new(policies());
        let whole = check_with(&t, &c, &set, mode, Target::Response);
        let mut g = gov().stream(c.clone(), set.clone(), mode);
        let mut out = String::new();
        let mut at = 0;
        let mut blocked = None;
        let mut i = 0;
        while at < t.len() {
            let mut end = (at + cuts[i % cuts.len()]).min(t.len());
            while !t.is_char_boundary(end) {
                end += 1;
            }
            i += 1;
            match g.push(&t[at..end]) {
                StreamStep::Emit(s) => out.push_str(&s),
                StreamStep::Blocked(v) => {
                    blocked = Some(v);
                    break;
                }
            }
            at = end;
        }
        match blocked {
            Some(v) => {
                prop_assert_eq!(mode, Mode::Block);
                prop_assert_eq!(whole.delivered, Delivered::Withheld, "blocked early: {:?}", v.rule_ids());
                // What left before the block was already sanitized: a prefix of the sanitized text.
                let sanitized = check_with(&t, &c, &set, Mode::Sanitize, Target::Response);
                prop_assert!(sanitized.delivered_text(&t).unwrap().starts_with(&out));
            }
            None => {
                let (rest, v) = g.finish();
                out.push_str(&rest);
                prop_assert_eq!(&v, &whole);
                match whole.delivered_text(&t) {
                    Some(d) => prop_assert_eq!(out, d),
                    None => {
                        let sanitized = check_with(&t, &c, &set, Mode::Sanitize, Target::Response);
                        prop_assert!(sanitized.delivered_text(&t).unwrap().starts_with(&out));
                    }
                }
            }
        }
    }
}

#[test]
fn a_long_stream_emits_early_and_holds_back_a_key() {
    let filler = "The parcel is on its way and should arrive soon. ".repeat(60);
    let pem = "-----BEGIN PRIVATE KEY-----\n".to_owned()
        + &"MIIEowIBAAKCAQEA1234567890abcdefABCDEFghij\n".repeat(60)
        + "-----END PRIVATE KEY-----";
    let t = format!("{filler}{pem} Thanks. {filler}");
    let c = ctx(ActionType::CustomerSupport, "DE");
    let set = Arc::new(PolicySet::empty());
    let mut g = gov().stream(c.clone(), set.clone(), Mode::Sanitize);
    let mut out = String::new();
    let mut first_emit = None;
    for (i, ch) in t.char_indices() {
        if let StreamStep::Emit(s) = g.push(&t[i..i + ch.len_utf8()]) {
            if !s.is_empty() && first_emit.is_none() {
                first_emit = Some(i);
            }
            assert!(!s.contains("MIIEow"), "key material emitted at {i}");
            out.push_str(&s);
        }
    }
    assert!(first_emit.unwrap() < filler.len(), "nothing emitted before the key");
    let (rest, v) = g.finish();
    out.push_str(&rest);
    assert_eq!(v.rule_ids(), ["secret.private_key"]);
    assert_eq!(out, format!("{filler}[SECRET] Thanks. {filler}"));
}

#[test]
fn block_mode_stops_a_stream_once_high() {
    let t = format!("{} 4111 1111 1111 1111 {}", "word ".repeat(400), "more ".repeat(400));
    let c = ctx(ActionType::CustomerSupport, "US");
    let mut g = gov().stream(c, Arc::new(PolicySet::empty()), Mode::Block);
    let mut out = String::new();
    let mut blocked = false;
    for piece in t.split_inclusive(' ') {
        match g.push(piece) {
            StreamStep::Emit(s) => out.push_str(&s),
            StreamStep::Blocked(v) => {
                assert_eq!(v.rule_ids(), ["pii.card"]);
                blocked = true;
                break;
            }
        }
    }
    assert!(blocked);
    assert!(!out.contains("4111"));
    assert!(out.starts_with("word word"));
}

#[test]
fn the_engine_is_shareable_and_a_guard_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<regpilot_governor::Governor>();
    send_sync::<PolicySet>();
    send::<regpilot_governor::StreamGuard<'static>>();
}

#[test]
fn a_streamed_eu_suspension_ends_with_its_notices() {
    let c = ctx(ActionType::Suspension, "DE");
    let text = "Your account is suspended. ".repeat(80);
    let mut g = gov().stream(c.clone(), Arc::new(PolicySet::empty()), Mode::Sanitize);
    let mut out = String::new();
    for piece in text.split_inclusive(' ') {
        match g.push(piece) {
            StreamStep::Emit(s) => out.push_str(&s),
            StreamStep::Blocked(_) => unreachable!("mode sanitize never blocks"),
        }
    }
    assert!(!out.is_empty() && text.starts_with(&out), "the text streams before the end");
    let (rest, v) = g.finish();
    assert!(rest.contains("human review") && rest.contains("AI-generated"));
    out.push_str(&rest);
    assert_eq!(v.rule_ids(), ["duty.eu.ai_disclosure", "duty.eu.human_review"]);
    assert_eq!(Some(out.as_str()), v.delivered_text(&text));
}
