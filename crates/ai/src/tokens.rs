//! Token counts and cost. Upstreams report tokens; where one does not (and for the simulator),
//! they are estimated the way OpenAI's own guidance does: about four characters a token, plus a
//! few tokens of framing per message.

use serde::Serialize;

use crate::request::Message;

/// Tokens of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenUsage {
    pub prompt: u32,
    pub completion: u32,
}

impl TokenUsage {
    pub fn total(self) -> u32 {
        self.prompt.saturating_add(self.completion)
    }
}

/// About four characters a token (at least one for any text).
pub fn estimate_text(text: &str) -> u32 {
    let chars = text.chars().count();
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX)
}

/// The prompt's tokens: each message's text, four tokens of framing per message, three to
/// prime the reply.
pub fn estimate_prompt(messages: &[Message]) -> u32 {
    messages.iter().map(|m| estimate_text(&m.plain_text()).saturating_add(4)).fold(3, u32::saturating_add)
}

/// A model's price, in US cents per 1,000 tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Price {
    pub prompt_cents_per_1k: f64,
    pub completion_cents_per_1k: f64,
}

impl Price {
    /// The cost in millionths of a cent (integers, so sums are exact):
    /// `tokens × cents_per_1k / 1000` cents is `tokens × cents_per_1k × 1000` micro-cents.
    pub fn cost_ucents(self, usage: TokenUsage) -> i64 {
        let ucents = f64::from(usage.prompt) * self.prompt_cents_per_1k * 1000.0
            + f64::from(usage.completion) * self.completion_cents_per_1k * 1000.0;
        ucents.round() as i64
    }
}

/// Micro-cents as cents, for answers.
pub fn ucents_to_cents(ucents: i64) -> f64 {
    ucents as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Role;

    #[test]
    fn estimates() {
        assert_eq!(estimate_text(""), 0);
        assert_eq!(estimate_text("abcd"), 1);
        assert_eq!(estimate_text("abcde"), 2);
        assert_eq!(estimate_prompt(&[Message::text(Role::User, "Hello")]), 3 + 2 + 4);
    }

    #[test]
    fn cost_is_exact_in_micro_cents() {
        let price = Price { prompt_cents_per_1k: 0.25, completion_cents_per_1k: 1.0 };
        // 1000 prompt tokens = 0.25 cents; 500 completion tokens = 0.5 cents.
        let c = price.cost_ucents(TokenUsage { prompt: 1000, completion: 500 });
        assert_eq!(c, 750_000);
        assert_eq!(ucents_to_cents(c), 0.75);
        assert_eq!(Price::default().cost_ucents(TokenUsage { prompt: 9, completion: 9 }), 0);
    }
}
