//! Who answers a call, decided from the caller's key environment: development keys get the
//! simulator (test mode: no network, no cost), the others the model's configured provider. The
//! simulator is chosen here like any provider, so the gateway never branches on the environment.
//! The model is checked the same way in every environment: test mode exists so that a mistake
//! shows up before production, so a name no provider offers is a 400 for a development key too.

use std::sync::Arc;

use regpilot_keys::Environment;

use crate::catalogue::{Catalogue, ModelEntry, UnknownModel};
use crate::quality::Quality;
use crate::tokens::TokenUsage;

/// Who answers a [`Route`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answerer {
    Simulator,
    /// The model's configured provider, which can be called.
    Provider,
}

/// A model and who answers it: what [`crate::Ai::complete`] and [`crate::Ai::stream`] take.
#[derive(Debug, Clone)]
pub struct Route {
    pub(crate) model: Arc<ModelEntry>,
    pub(crate) answerer: Answerer,
}

/// Why a request cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A model no provider offers (a 400 on `model`, whatever the key's environment).
    #[error("Unknown model '{0}'; GET /api/ai/models lists the models offered")]
    UnknownModel(String),
    /// The model's provider cannot be called, e.g. its API key is not set (a 503).
    #[error(
        "No upstream is configured for model '{model}': provider '{provider}' cannot be called because {why}. \
         Set it, or configure [[ai.providers]] in the settings file (see docs/ai-gateway.md). \
         Development keys (sk_dev_…) are answered by the built-in simulator."
    )]
    Unavailable { model: String, provider: String, why: String },
}

impl Route {
    /// The route of a request from a key of `environment`: the explicit `model`, else the
    /// `quality` tier's, answered by the simulator in test mode, else by its provider.
    pub(crate) fn decide(
        catalogue: &Catalogue,
        environment: Environment,
        quality: Quality,
        model: Option<&str>,
    ) -> Result<Route, RouteError> {
        let answerer = match environment {
            Environment::Development => Answerer::Simulator,
            Environment::Staging | Environment::Production => Answerer::Provider,
        };
        let model = catalogue.route(quality, model).map_err(|UnknownModel(m)| RouteError::UnknownModel(m))?.clone();
        if answerer == Answerer::Provider {
            if let Some(why) = &model.provider.unavailable {
                return Err(RouteError::Unavailable {
                    model: model.id.clone(),
                    provider: model.provider.name.clone(),
                    why: why.clone(),
                });
            }
        }
        Ok(Route { model, answerer })
    }

    pub fn model_id(&self) -> &str {
        &self.model.id
    }

    /// The name shown in answers, headers, metrics and usage: [`crate::SIMULATOR`] in test mode.
    pub fn provider(&self) -> &str {
        match self.answerer {
            Answerer::Simulator => crate::SIMULATOR,
            Answerer::Provider => &self.model.provider.name,
        }
    }

    /// Answered by the simulator (development keys).
    pub fn test_mode(&self) -> bool {
        self.answerer == Answerer::Simulator
    }

    /// Millionths of a cent; nothing in test mode.
    pub fn cost_ucents(&self, usage: TokenUsage) -> i64 {
        match self.answerer {
            Answerer::Simulator => 0,
            Answerer::Provider => self.model.price.cost_ucents(usage),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AiConfig, ModelConfig, ProviderConfig, QualityConfig};

    fn provider(name: &str, model: &str, api_key_env: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            name: name.into(),
            base_url: "http://127.0.0.1:9/v1".into(),
            api_key_env: api_key_env.map(Into::into),
            api_key_file: None,
            models: vec![ModelConfig { id: model.into(), prompt_cents_per_1k: 1.0, completion_cents_per_1k: 2.0 }],
        }
    }

    /// `local` offers `small` (callable); `paid` offers `big`, whose key is not set.
    fn catalogue() -> Catalogue {
        let config = AiConfig {
            providers: vec![
                provider("local", "small", None),
                provider("paid", "big", Some("REGPILOT_TEST_ROUTE_SURELY_UNSET_KEY")),
            ],
            quality: QualityConfig::default(),
            ..AiConfig::default()
        };
        Catalogue::build(&config).unwrap()
    }

    const USAGE: TokenUsage = TokenUsage { prompt: 1000, completion: 1000 };

    #[test]
    fn development_keys_are_answered_by_the_simulator_for_free() {
        let r = Route::decide(&catalogue(), Environment::Development, Quality::Balanced, Some("small")).unwrap();
        assert_eq!((r.model_id(), r.provider(), r.test_mode()), ("small", "simulator", true));
        assert_eq!(r.cost_ucents(USAGE), 0);
        // The tier's model when none is named.
        let r = Route::decide(&catalogue(), Environment::Development, Quality::Cheap, None).unwrap();
        assert_eq!((r.model_id(), r.provider()), ("small", "simulator"));
    }

    #[test]
    fn other_keys_are_answered_by_the_models_provider_at_its_price() {
        for env in [Environment::Staging, Environment::Production] {
            let r = Route::decide(&catalogue(), env, Quality::Balanced, Some("small")).unwrap();
            assert_eq!((r.model_id(), r.provider(), r.test_mode()), ("small", "local", false), "{env}");
            assert_eq!(r.cost_ucents(USAGE), 3_000_000, "{env}");
        }
    }

    /// Test mode catches a wrong model name before production does.
    #[test]
    fn unknown_models_are_refused_in_every_environment() {
        for env in [Environment::Development, Environment::Staging, Environment::Production] {
            for name in ["gpt-9", "with space", "modèle"] {
                let e = Route::decide(&catalogue(), env, Quality::Balanced, Some(name)).unwrap_err();
                assert_eq!(e, RouteError::UnknownModel(name.into()), "{env}");
            }
            let e = Route::decide(&catalogue(), env, Quality::Balanced, Some("gpt-9")).unwrap_err();
            assert_eq!(e.to_string(), "Unknown model 'gpt-9'; GET /api/ai/models lists the models offered");
        }
    }

    #[test]
    fn an_unavailable_provider_refuses_all_but_test_mode() {
        let r = Route::decide(&catalogue(), Environment::Development, Quality::Balanced, Some("big")).unwrap();
        assert_eq!((r.provider(), r.test_mode()), ("simulator", true));
        for env in [Environment::Staging, Environment::Production] {
            let e = Route::decide(&catalogue(), env, Quality::Balanced, Some("big")).unwrap_err();
            let why = "the environment variable REGPILOT_TEST_ROUTE_SURELY_UNSET_KEY that holds its API key is not set";
            assert_eq!(e, RouteError::Unavailable { model: "big".into(), provider: "paid".into(), why: why.into() });
            assert_eq!(
                e.to_string(),
                format!(
                    "No upstream is configured for model 'big': provider 'paid' cannot be called because {why}. \
                     Set it, or configure [[ai.providers]] in the settings file (see docs/ai-gateway.md). \
                     Development keys (sk_dev_…) are answered by the built-in simulator."
                ),
                "{env}"
            );
        }
    }
}
