//! Modes, duties and custom policies (docs/governor.md, "Modes", "Country packs", "Policies").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{check_with, ctx};
use regpilot_governor::{
    ActionType, AppliesTo, Category, Delivered, Level, Mode, Outcome, PolicyAction, PolicyDef, PolicySet, Severity,
    Target,
};

fn none() -> PolicySet {
    PolicySet::empty()
}

fn policy(id: &str, action: PolicyAction) -> PolicyDef {
    PolicyDef {
        id: id.into(),
        name: format!("policy {id}"),
        keywords: vec!["Project Falcon".into()],
        pattern: None,
        applies_to: AppliesTo::Both,
        action,
        severity: Severity::Medium,
        replacement: None,
        appendix: None,
        enabled: true,
        shadow: false,
    }
}

const CARD: &str = "Your card 4111 1111 1111 1111 was charged.";

#[test]
fn an_ordinary_answer_is_approved_unchanged() {
    let c = ctx(ActionType::CustomerSupport, "DE");
    for mode in Mode::ALL {
        let v = check_with("Your parcel ships on Monday.", &c, &none(), *mode, Target::Response);
        assert_eq!((v.level, v.outcome, v.delivered.clone()), (Level::Low, Outcome::Approved, Delivered::Unchanged));
        assert_eq!(v.score, 5);
        assert_eq!(v.violations(), 0);
    }
}

#[test]
fn sanitize_block_and_monitor_on_a_card() {
    let c = ctx(ActionType::CustomerSupport, "US");
    let v = check_with(CARD, &c, &none(), Mode::Sanitize, Target::Response);
    assert_eq!(v.level, Level::High);
    assert_eq!(v.outcome, Outcome::Sanitized);
    assert_eq!(v.delivered, Delivered::Changed("Your card [CARD] was charged.".into()));
    assert_eq!(v.rule_ids(), ["pii.card"]);
    let v = check_with(CARD, &c, &none(), Mode::Block, Target::Response);
    assert_eq!((v.outcome, v.delivered), (Outcome::Blocked, Delivered::Withheld));
    let v = check_with(CARD, &c, &none(), Mode::Monitor, Target::Response);
    assert_eq!((v.outcome, v.delivered, v.level), (Outcome::Flagged, Delivered::Unchanged, Level::High));
    // Block mode delivers what is not high, sanitized.
    let v = check_with("Mail me at a@example.com.", &c, &none(), Mode::Block, Target::Response);
    assert_eq!(v.outcome, Outcome::Sanitized);
    assert_eq!(v.delivered, Delivered::Changed("Mail me at [EMAIL].".into()));
}

#[test]
fn eu_personal_data_weighs_more() {
    let text = "Mail me at a@example.com.";
    let us = check_with(text, &ctx(ActionType::CustomerSupport, "US"), &none(), Mode::Monitor, Target::Response);
    let de = check_with(text, &ctx(ActionType::CustomerSupport, "DE"), &none(), Mode::Monitor, Target::Response);
    assert_eq!((us.score, us.level, us.outcome), (25, Level::Low, Outcome::Approved));
    assert_eq!((de.score, de.level, de.outcome), (35, Level::Medium, Outcome::Flagged));
}

#[test]
fn eu_suspension_gets_its_notices_appended() {
    let c = ctx(ActionType::Suspension, "FR");
    let text = "Your account is suspended for repeated chargebacks.";
    let v = check_with(text, &c, &none(), Mode::Sanitize, Target::Response);
    assert_eq!(v.rule_ids(), ["duty.eu.ai_disclosure", "duty.eu.human_review"]);
    assert!(v.findings.iter().all(|f| f.category == Category::Duty && f.start == text.len() && f.end == text.len()));
    assert_eq!(v.level, Level::Medium);
    assert_eq!(v.outcome, Outcome::Sanitized);
    let out = v.delivered_text(text).unwrap();
    assert!(out.starts_with(text) && out.contains("human review") && out.contains("AI-generated"), "{out}");
    // The delivered text fulfils the duties: checking it again finds none.
    let again = check_with(out, &c, &none(), Mode::Sanitize, Target::Response);
    assert!(again.findings.is_empty(), "{:?}", again.findings);
    assert_eq!(again.delivered, Delivered::Unchanged);
    // Monitor reports the duties but changes nothing; prompts have no duties.
    let m = check_with(text, &c, &none(), Mode::Monitor, Target::Response);
    assert_eq!((m.outcome, m.delivered, m.findings.len()), (Outcome::Flagged, Delivered::Unchanged, 2));
    assert!(check_with(text, &c, &none(), Mode::Sanitize, Target::Prompt).findings.is_empty());
    // Not a duty in the US; the UK asks for human review only.
    assert!(check_with(text, &ctx(ActionType::Suspension, "US"), &none(), Mode::Sanitize, Target::Response)
        .findings
        .is_empty());
    let uk = check_with(text, &ctx(ActionType::Suspension, "GB"), &none(), Mode::Sanitize, Target::Response);
    assert_eq!(uk.rule_ids(), ["duty.uk.human_review"]);
    // hr_message is an EU duty, not a UK one.
    let hr = check_with(text, &ctx(ActionType::HrMessage, "GB"), &none(), Mode::Sanitize, Target::Response);
    assert!(hr.findings.is_empty());
}

#[test]
fn us_financial_claims_need_the_ftc_disclosure() {
    let text = "This plan has guaranteed returns of 12% a year.";
    let v = check_with(text, &ctx(ActionType::Other, "US"), &none(), Mode::Sanitize, Target::Response);
    assert_eq!(v.rule_ids(), ["content.financial_guarantee", "duty.us.ftc_disclosure"]);
    assert!(v.delivered_text(text).unwrap().ends_with("no return is guaranteed."));
    let jp = check_with(text, &ctx(ActionType::Other, "JP"), &none(), Mode::Sanitize, Target::Response);
    assert_eq!(jp.rule_ids(), ["content.financial_guarantee"]);
    assert_eq!(jp.delivered, Delivered::Unchanged);
    assert_eq!(jp.outcome, Outcome::Flagged);
}

#[test]
fn each_policy_action() {
    let c = ctx(ActionType::CustomerSupport, "US");
    let text = "Status of Project Falcon: on track.";
    let run = |def: PolicyDef, mode: Mode| {
        let set = PolicySet::compile(&[def]).unwrap();
        check_with(text, &c, &set, mode, Target::Response)
    };
    let warn = run(policy("w", PolicyAction::Warn), Mode::Sanitize);
    assert_eq!(warn.rule_ids(), ["policy.w"]);
    assert_eq!((warn.delivered.clone(), warn.score), (Delivered::Unchanged, 25));
    let f = &warn.findings[0];
    assert_eq!((&text[f.start..f.end], f.category), ("Project Falcon", Category::Policy));

    let redact = run(policy("r", PolicyAction::Redact), Mode::Sanitize);
    assert_eq!(redact.delivered, Delivered::Changed("Status of [REDACTED]: on track.".into()));
    let redact_with =
        run(PolicyDef { replacement: Some("[PROJECT]".into()), ..policy("r", PolicyAction::Redact) }, Mode::Sanitize);
    assert_eq!(redact_with.delivered, Delivered::Changed("Status of [PROJECT]: on track.".into()));

    let replace = run(
        PolicyDef { replacement: Some("our project".into()), ..policy("x", PolicyAction::Replace) },
        Mode::Sanitize,
    );
    assert_eq!(replace.delivered, Delivered::Changed("Status of our project: on track.".into()));
    assert_eq!(replace.outcome, Outcome::Sanitized);

    let append =
        run(PolicyDef { appendix: Some("Internal only.".into()), ..policy("a", PolicyAction::Append) }, Mode::Sanitize);
    assert_eq!(append.delivered, Delivered::Changed(format!("{text}\n\nInternal only.")));
    let twice = "Project Falcon and project falcon.";
    let set = PolicySet::compile(&[PolicyDef { appendix: Some("Once.".into()), ..policy("a", PolicyAction::Append) }])
        .unwrap();
    let v = check_with(twice, &c, &set, Mode::Sanitize, Target::Response);
    assert_eq!(v.delivered, Delivered::Changed(format!("{twice}\n\nOnce.")));
    assert_eq!(v.findings.len(), 2);

    let approval =
        run(PolicyDef { severity: Severity::Low, ..policy("q", PolicyAction::RequireApproval) }, Mode::Sanitize);
    assert_eq!(approval.findings[0].severity, Severity::Medium);

    let log = run(PolicyDef { severity: Severity::Critical, ..policy("l", PolicyAction::Log) }, Mode::Sanitize);
    assert_eq!((log.findings.len(), log.score, log.outcome), (1, 5, Outcome::Approved));

    let notify = run(policy("n", PolicyAction::Notify), Mode::Sanitize);
    assert!(notify.notify);
    assert!(!warn.notify);

    let block_s = run(policy("b", PolicyAction::Block), Mode::Sanitize);
    assert_eq!(block_s.delivered, Delivered::Changed("Status of [REDACTED]: on track.".into()));
    let block_b = run(PolicyDef { severity: Severity::Low, ..policy("b", PolicyAction::Block) }, Mode::Block);
    assert_eq!(
        (block_b.outcome, block_b.delivered, block_b.level),
        (Outcome::Blocked, Delivered::Withheld, Level::Low)
    );
    let block_m = run(policy("b", PolicyAction::Block), Mode::Monitor);
    assert_eq!(block_m.delivered, Delivered::Unchanged);
}

#[test]
fn shadow_policies_report_and_do_nothing() {
    let c = ctx(ActionType::CustomerSupport, "US");
    let text = "Status of Project Falcon.";
    for action in PolicyAction::ALL {
        let def = PolicyDef {
            shadow: true,
            severity: Severity::Critical,
            replacement: Some("X".into()),
            appendix: Some("Y".into()),
            ..policy("s", *action)
        };
        let set = PolicySet::compile(&[def]).unwrap();
        for mode in [Mode::Sanitize, Mode::Block] {
            let v = check_with(text, &c, &set, mode, Target::Response);
            assert_eq!(v.findings.len(), 1);
            assert!(v.findings[0].shadow);
            assert_eq!((v.score, v.violations(), v.notify), (5, 0, false), "{action}");
            assert_eq!(v.delivered, Delivered::Unchanged, "{action}");
            assert_eq!(v.outcome, Outcome::Approved);
        }
    }
}

#[test]
fn applies_to_filters_by_target_and_keywords_are_whole_words() {
    let c = ctx(ActionType::CustomerSupport, "US");
    let prompt_only = PolicyDef { applies_to: AppliesTo::Prompt, ..policy("p", PolicyAction::Warn) };
    let set = PolicySet::compile(&[prompt_only]).unwrap();
    let text = "About project falcon.";
    assert!(check_with(text, &c, &set, Mode::Sanitize, Target::Response).findings.is_empty());
    assert_eq!(check_with(text, &c, &set, Mode::Sanitize, Target::Prompt).rule_ids(), ["policy.p"]);
    let set = PolicySet::compile(&[policy("w", PolicyAction::Warn)]).unwrap();
    assert!(check_with("Project Falconry is a hobby.", &c, &set, Mode::Sanitize, Target::Response).findings.is_empty());
    // Prompts are checked for personal data and secrets, not content or duties.
    let p = check_with("Kill yourself, jane@example.com", &c, &none(), Mode::Sanitize, Target::Prompt);
    assert_eq!(p.rule_ids(), ["pii.email"]);
}

#[test]
fn pattern_policies_and_overlaps() {
    let c = ctx(ActionType::CustomerSupport, "US");
    let def = PolicyDef {
        keywords: vec![],
        pattern: Some(r"(?i)\bticket-\d{4,8}\b".into()),
        ..policy("t", PolicyAction::Redact)
    };
    let set = PolicySet::compile(&[def]).unwrap();
    let v = check_with("See TICKET-12345 and ticket-9.", &c, &set, Mode::Sanitize, Target::Response);
    assert_eq!(v.delivered, Delivered::Changed("See [REDACTED] and ticket-9.".into()));
    // A redacting policy overlapping a built-in span: one merged redaction, nothing leaks.
    let def = PolicyDef {
        keywords: vec![],
        pattern: Some(r"card \d{4}".into()),
        replacement: Some("[X]".into()),
        ..policy("o", PolicyAction::Replace)
    };
    let set = PolicySet::compile(&[def]).unwrap();
    let v = check_with("The card 4111 1111 1111 1111 ok", &c, &set, Mode::Sanitize, Target::Response);
    assert_eq!(v.delivered, Delivered::Changed("The [X] ok".into()));
    assert_eq!(v.rule_ids(), ["policy.o", "pii.card"]);
}

#[test]
fn nothing_shows_the_text() {
    let c = ctx(ActionType::CustomerSupport, "DE");
    let text = "Card 4111 1111 1111 1111, mail jane@example.com, key AKIAIOSFODNN7EXAMPLE.";
    let set = none();
    let check =
        regpilot_governor::Check { text, target: Target::Response, context: &c, policies: &set, mode: Mode::Monitor };
    let v = common::gov().check(&check);
    assert_eq!(v.violations(), 3);
    assert_eq!(v.count(Category::Secret), 1);
    let shown = format!("{check:?} {v:?} {}", serde_json::to_string(&v.findings).unwrap());
    for secret in ["4111", "jane@example.com", "AKIAIOSFODNN7EXAMPLE"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let f: serde_json::Value = serde_json::to_value(&v.findings[0]).unwrap();
    assert_eq!(f["rule"], "pii.card");
    assert_eq!(f["category"], "personal_data");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["start"], 5);
}
