//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::OnceLock;

use regpilot_governor::{ActionType, Check, Context, Country, Governor, Metadata, Mode, PolicySet, Target, Verdict};

pub fn gov() -> &'static Governor {
    static G: OnceLock<Governor> = OnceLock::new();
    G.get_or_init(Governor::new)
}

pub fn ctx(action: ActionType, country: &str) -> Context {
    let mut m = Metadata::new(action, "agent-1");
    m.recipient_country = Country::parse(country);
    Context::resolve(m, None)
}

pub fn check_with(text: &str, ctx: &Context, policies: &PolicySet, mode: Mode, target: Target) -> Verdict {
    gov().check(&Check { text, target, context: ctx, policies, mode })
}

/// A customer-support answer to an unknown country, mode sanitize, no policies.
pub fn check(text: &str) -> Verdict {
    check_with(text, &ctx(ActionType::CustomerSupport, "??"), &PolicySet::empty(), Mode::Sanitize, Target::Response)
}

pub fn rules(text: &str) -> Vec<String> {
    check(text).rule_ids().into_iter().map(str::to_owned).collect()
}

pub fn delivered(text: &str) -> String {
    check(text).delivered_text(text).unwrap_or_default().to_owned()
}
