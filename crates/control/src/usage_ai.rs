//! The AI section of the usage reports: calls, tokens and cost per model over a period. The
//! store keeps cost in millionths of a US cent (integers, so sums are exact); it leaves the
//! service as cents.

use std::collections::BTreeMap;

use regpilot_store::ModelTotal;
use serde::Serialize;

/// AI usage over a period: the totals and each model's share.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct AiUsage {
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    /// US cents, 6 decimal places.
    pub cost_cents: f64,
    /// Per model and provider, highest cost first, then most calls, then by model.
    pub models: Vec<ModelUsage>,
}

/// One model of one provider over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelUsage {
    pub model: String,
    pub provider: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    /// US cents, 6 decimal places.
    pub cost_cents: f64,
}

/// Millionths of a cent as cents, rounded to 6 places.
pub(crate) fn cost_cents(ucents: i64) -> f64 {
    // The quotient is already the double nearest the exact 6-place decimal (both operands are
    // exact below 2^53); rounding again keeps that and states the intent.
    (ucents as f64 / 1_000_000.0 * 1_000_000.0).round() / 1_000_000.0
}

#[derive(Default)]
struct Sums {
    calls: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    cost_ucents: i64,
}

impl Sums {
    fn add(&mut self, t: &ModelTotal) {
        self.calls += t.calls;
        self.prompt_tokens += t.prompt_tokens;
        self.completion_tokens += t.completion_tokens;
        self.cost_ucents += t.cost_ucents;
    }
}

/// The AI section of `totals` (the store's rows per key and model), of one key or, with
/// `None`, of every key, each model's rows merged across keys. Costs are summed as integers
/// and turned into cents last.
pub(crate) fn ai_usage(totals: &[ModelTotal], key_id: Option<&str>) -> AiUsage {
    let mut total = Sums::default();
    let mut per_model: BTreeMap<(&str, &str), Sums> = BTreeMap::new();
    let wanted = |t: &&ModelTotal| match key_id {
        Some(k) => t.key_id == k,
        None => true,
    };
    for t in totals.iter().filter(wanted) {
        total.add(t);
        per_model.entry((&t.model, &t.provider)).or_default().add(t);
    }
    let mut per_model: Vec<_> = per_model.into_iter().collect();
    // Stable over the (model, provider) order of the map.
    per_model.sort_by(|(_, a), (_, b)| b.cost_ucents.cmp(&a.cost_ucents).then_with(|| b.calls.cmp(&a.calls)));
    AiUsage {
        calls: total.calls,
        prompt_tokens: total.prompt_tokens,
        completion_tokens: total.completion_tokens,
        total_tokens: total.prompt_tokens + total.completion_tokens,
        cost_cents: cost_cents(total.cost_ucents),
        models: per_model
            .into_iter()
            .map(|((model, provider), s)| ModelUsage {
                model: model.to_owned(),
                provider: provider.to_owned(),
                calls: s.calls,
                prompt_tokens: s.prompt_tokens,
                completion_tokens: s.completion_tokens,
                total_tokens: s.prompt_tokens + s.completion_tokens,
                cost_cents: cost_cents(s.cost_ucents),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(key: &str, model: &str, provider: &str, calls: i64, cost_ucents: i64) -> ModelTotal {
        ModelTotal {
            key_id: key.into(),
            model: model.into(),
            provider: provider.into(),
            calls,
            prompt_tokens: calls * 10,
            completion_tokens: calls * 3,
            cost_ucents,
        }
    }

    #[test]
    fn cents_have_six_places() {
        assert_eq!(cost_cents(0), 0.0);
        assert_eq!(cost_cents(1), 0.000001);
        assert_eq!(cost_cents(1_000_001), 1.000001);
        assert_eq!(cost_cents(333_333_333), 333.333333);
        assert_eq!(cost_cents(123_456_789_012), 123_456.789012);
        assert_eq!(serde_json::to_string(&cost_cents(100_000)).unwrap(), "0.1");
        // Ten 0.1-cent calls sum to one cent exactly: the sum is of integers.
        let tenths: Vec<_> = (0..10).map(|i| t(&format!("k{i}"), "m", "p", 1, 100_000)).collect();
        assert_eq!(ai_usage(&tenths, None).cost_cents, 1.0);
    }

    #[test]
    fn models_merge_across_keys_and_sort() {
        let totals = vec![
            t("k1", "gpt-4o", "openai", 2, 500),
            t("k2", "gpt-4o", "openai", 1, 700),
            t("k2", "gpt-4o", "azure", 1, 1_200),
            t("k1", "b", "x", 5, 100),
            t("k1", "a", "x", 5, 100),
            t("k2", "c", "x", 6, 100),
        ];
        let all = ai_usage(&totals, None);
        let got: Vec<_> = all.models.iter().map(|m| (m.model.as_str(), m.provider.as_str(), m.calls)).collect();
        assert_eq!(
            got,
            vec![("gpt-4o", "openai", 3), ("gpt-4o", "azure", 1), ("c", "x", 6), ("a", "x", 5), ("b", "x", 5)]
        );
        assert_eq!((all.calls, all.prompt_tokens, all.completion_tokens, all.total_tokens), (20, 200, 60, 260));
        assert_eq!(all.cost_cents, 0.0027);
        assert_eq!(all.models[0].cost_cents, 0.0012);
        assert_eq!(all.models[0].total_tokens, 39);

        let k1 = ai_usage(&totals, Some("k1"));
        let got: Vec<_> = k1.models.iter().map(|m| (m.model.as_str(), m.calls)).collect();
        assert_eq!(got, vec![("gpt-4o", 2), ("a", 5), ("b", 5)]);
        assert_eq!((k1.calls, k1.cost_cents), (12, 0.0007));
        assert_eq!(ai_usage(&totals, Some("k3")), AiUsage::default());
        assert_eq!(ai_usage(&[], None), AiUsage::default());
    }
}
