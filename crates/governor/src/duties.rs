//! Duties by action type and country (docs/governor.md, "Country packs"): a notice the answer
//! must carry. When the text lacks it, that is a finding, and modes sanitize and block append
//! the notice.
//!
//! - EU (GDPR art. 22, EU AI Act art. 50): `hr_message`, `suspension` and `refund_denial`
//!   answers need the human-review and right-to-contest notice and the AI-generated-content
//!   disclosure.
//! - UK (UK GDPR art. 22, DPA 2018): `suspension` and `refund_denial` answers need the
//!   human-review notice.
//! - US (FTC rules): an answer with a guaranteed-return financial claim needs the
//!   not-financial-advice disclosure.
//! - Other and unknown countries: the baseline, no duties.

use crate::builtins::{Builtins, Marker};
use crate::{ActionType, Context, Region, Severity};

/// One duty: its rule id, its severity and the notice that fulfils it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Duty {
    pub rule: &'static str,
    pub severity: Severity,
    pub marker: Marker,
    pub notice: &'static str,
}

pub(crate) static EU_HUMAN_REVIEW: Duty = Duty {
    rule: "duty.eu.human_review",
    severity: Severity::Medium,
    marker: Marker::HumanReview,
    notice: "Your rights: this decision was prepared with automated means. Under the GDPR (art. 22) you may request human review of this decision, express your point of view and contest it: reply to this message and a person will review it.",
};

pub(crate) static EU_AI_DISCLOSURE: Duty = Duty {
    rule: "duty.eu.ai_disclosure",
    severity: Severity::Low,
    marker: Marker::AiDisclosure,
    notice: "This message contains AI-generated content (EU AI Act, art. 50).",
};

pub(crate) static UK_HUMAN_REVIEW: Duty = Duty {
    rule: "duty.uk.human_review",
    severity: Severity::Medium,
    marker: Marker::HumanReview,
    notice: "Your rights: this decision was prepared with automated means. Under the UK GDPR (art. 22) you may request human review of this decision and contest it: reply to this message and a person will review it.",
};

pub(crate) static US_FTC_DISCLOSURE: Duty = Duty {
    rule: "duty.us.ftc_disclosure",
    severity: Severity::Medium,
    marker: Marker::FinancialDisclaimer,
    notice: "This is not financial advice. Investments carry risk, and no return is guaranteed.",
};

/// Every duty.
pub(crate) static ALL: [&Duty; 4] = [&EU_HUMAN_REVIEW, &EU_AI_DISCLOSURE, &UK_HUMAN_REVIEW, &US_FTC_DISCLOSURE];

/// The duties that apply to this answer and that its text does not already fulfil.
/// `financial_claim`: the text holds a guaranteed-return claim (a `content.financial_guarantee`
/// finding that is not in shadow).
pub(crate) fn missing(b: &Builtins, text: &str, ctx: &Context, financial_claim: bool) -> Vec<&'static Duty> {
    use ActionType::*;
    let action = ctx.metadata.action_type;
    let mut due: Vec<&'static Duty> = Vec::new();
    match ctx.country.region() {
        Region::Eu if matches!(action, HrMessage | Suspension | RefundDenial) => {
            due.push(&EU_HUMAN_REVIEW);
            due.push(&EU_AI_DISCLOSURE);
        }
        Region::Uk if matches!(action, Suspension | RefundDenial) => due.push(&UK_HUMAN_REVIEW),
        Region::Us if financial_claim => due.push(&US_FTC_DISCLOSURE),
        _ => {}
    }
    if due.is_empty() {
        return due;
    }
    let mut present: Vec<Marker> = Vec::new();
    for m in b.markers.find_iter(text) {
        present.push(b.marker_owner[m.pattern().as_usize()]);
    }
    due.retain(|d| !present.contains(&d.marker));
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Country, Metadata};

    #[test]
    fn every_notice_fulfils_its_own_duty() {
        let b = Builtins::new();
        for d in ALL {
            let found: Vec<Marker> =
                b.markers.find_iter(d.notice).map(|m| b.marker_owner[m.pattern().as_usize()]).collect();
            assert!(found.contains(&d.marker), "{}", d.rule);
        }
    }

    #[test]
    fn eu_suspension_needs_both_notices_unless_present() {
        let b = Builtins::new();
        let mut m = Metadata::new(ActionType::Suspension, "s");
        m.recipient_country = Country::parse("FR");
        let ctx = Context::resolve(m, None);
        assert_eq!(missing(&b, "Your account is suspended.", &ctx, false), vec![&EU_HUMAN_REVIEW, &EU_AI_DISCLOSURE]);
        let ok = "Your account is suspended. This AI-generated message can be contested: request a review by a person.";
        assert!(missing(&b, ok, &ctx, false).is_empty());
        let us = Context::resolve(Metadata::new(ActionType::Suspension, "s"), Country::parse("US"));
        assert!(missing(&b, "Suspended.", &us, false).is_empty());
    }
}
