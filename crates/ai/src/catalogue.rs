//! The catalogue: every configured model, the provider that offers it, its price, and the model
//! each quality tier uses. Built once at start from [`AiConfig`]; the API keys are read then
//! (from the environment or a file) and kept only in memory, marked sensitive.

use std::collections::HashMap;
use std::sync::Arc;

use hyper::header::HeaderValue;

use crate::config::{AiConfig, ProviderConfig, DEFAULT_BALANCED, DEFAULT_CHEAP, DEFAULT_FRONTIER};
use crate::endpoint::Endpoint;
use crate::quality::Quality;
use crate::tokens::Price;

/// One upstream, ready to be called (or not, and why).
pub struct Provider {
    pub name: String,
    /// `{base_url}/chat/completions` and its `Host`, parsed once (`None` for the simulator's
    /// stand-in).
    pub(crate) endpoint: Option<Endpoint>,
    /// `Bearer <key>`, marked sensitive; `None` for upstreams that need no key.
    pub(crate) authorization: Option<HeaderValue>,
    /// The key itself, to scrub it from anything an upstream echoes back.
    pub(crate) key: Option<String>,
    /// Why calls cannot be made (its key is not configured); `None` when they can.
    pub unavailable: Option<String>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint.as_ref().map(Endpoint::as_str))
            .field("authorization", &self.authorization.as_ref().map(|_| "[redacted]"))
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

impl Provider {
    /// `text` with this provider's key (if it appears) replaced, cut to `max` characters.
    pub(crate) fn scrub(&self, text: &str, max: usize) -> String {
        let mut s = match &self.key {
            Some(k) if !k.is_empty() => text.replace(k.as_str(), "[redacted]"),
            _ => text.to_owned(),
        };
        if let Some((cut, _)) = s.char_indices().nth(max) {
            s.truncate(cut);
            s.push('…');
        }
        s
    }
}

/// A model as offered.
#[derive(Debug)]
pub struct ModelEntry {
    pub id: String,
    pub provider: Arc<Provider>,
    pub price: Price,
    /// The tiers that route to this model.
    pub qualities: Vec<Quality>,
}

#[derive(Debug)]
pub struct Catalogue {
    models: Vec<Arc<ModelEntry>>,
    by_id: HashMap<String, usize>,
    tiers: [usize; 3],
    providers: Vec<Arc<Provider>>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("ai: {0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

/// What a route asked for that the catalogue cannot give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModel(pub String);

impl Catalogue {
    pub fn build(config: &AiConfig) -> Result<Catalogue, ConfigError> {
        if config.providers.is_empty() {
            return Err(invalid("at least one provider is needed (remove [[ai.providers]] to use the default)"));
        }
        let mut models: Vec<Arc<ModelEntry>> = Vec::new();
        let mut by_id = HashMap::new();
        let mut providers = Vec::new();
        for p in &config.providers {
            if !is_label(&p.name) {
                return Err(invalid(format!(
                    "provider name '{}' must be 1-64 letters, digits, '.', '_' or '-' (it is shown in answers, headers and metrics)",
                    p.name
                )));
            }
            if p.name == crate::SIMULATOR {
                return Err(invalid("the provider name 'simulator' is reserved (development keys' answers)"));
            }
            if providers.iter().any(|q: &Arc<Provider>| q.name == p.name) {
                return Err(invalid(format!("provider '{}' is configured twice", p.name)));
            }
            let provider = Arc::new(provider(p)?);
            if p.models.is_empty() {
                return Err(invalid(format!("provider '{}' lists no models", p.name)));
            }
            for m in &p.models {
                if m.id.is_empty() || m.id.len() > 200 || !m.id.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(invalid(format!(
                        "provider '{}': model id '{}' must be 1-200 visible ASCII characters (it is sent in headers)",
                        p.name, m.id
                    )));
                }
                let prices = [m.prompt_cents_per_1k, m.completion_cents_per_1k];
                if prices.iter().any(|x| !x.is_finite() || *x < 0.0) {
                    return Err(invalid(format!("model '{}': prices must be numbers ≥ 0", m.id)));
                }
                if by_id.contains_key(&m.id) {
                    return Err(invalid(format!("model '{}' is offered by two providers; ids must be unique", m.id)));
                }
                by_id.insert(m.id.clone(), models.len());
                models.push(Arc::new(ModelEntry {
                    id: m.id.clone(),
                    provider: provider.clone(),
                    price: Price {
                        prompt_cents_per_1k: m.prompt_cents_per_1k,
                        completion_cents_per_1k: m.completion_cents_per_1k,
                    },
                    qualities: Vec::new(),
                }));
            }
            providers.push(provider);
        }
        let q = &config.quality;
        let mut tiers = [0; 3];
        for (i, (tier, chosen, default)) in [
            (Quality::Cheap, &q.cheap, DEFAULT_CHEAP),
            (Quality::Balanced, &q.balanced, DEFAULT_BALANCED),
            (Quality::Frontier, &q.frontier, DEFAULT_FRONTIER),
        ]
        .into_iter()
        .enumerate()
        {
            tiers[i] = match chosen {
                Some(id) => *by_id
                    .get(id)
                    .ok_or_else(|| invalid(format!("quality '{tier}' names model '{id}', which no provider offers")))?,
                None => by_id.get(default).copied().unwrap_or(0),
            };
        }
        for (i, tier) in Quality::ALL.into_iter().enumerate() {
            if let Some(entry) = Arc::get_mut(&mut models[tiers[i]]) {
                entry.qualities.push(tier);
            }
        }
        Ok(Catalogue { models, by_id, tiers, providers })
    }

    /// The model a request routes to: the explicit `model`, else its quality tier's.
    pub fn route(&self, quality: Quality, model: Option<&str>) -> Result<&Arc<ModelEntry>, UnknownModel> {
        match model {
            Some(id) => self.get(id).ok_or_else(|| UnknownModel(id.to_owned())),
            None => Ok(self.tier(quality)),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<ModelEntry>> {
        self.by_id.get(id).map(|&i| &self.models[i])
    }

    pub fn tier(&self, quality: Quality) -> &Arc<ModelEntry> {
        let i = Quality::ALL.iter().position(|q| *q == quality).unwrap_or(1);
        &self.models[self.tiers[i]]
    }

    pub fn models(&self) -> &[Arc<ModelEntry>] {
        &self.models
    }

    pub fn providers(&self) -> &[Arc<Provider>] {
        &self.providers
    }
}

fn is_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn provider(p: &ProviderConfig) -> Result<Provider, ConfigError> {
    let base = p.base_url.trim().trim_end_matches('/');
    let parsed =
        url::Url::parse(base).map_err(|e| invalid(format!("provider '{}': base_url is not a URL ({e})", p.name)))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(format!("provider '{}': base_url must be an http:// or https:// URL", p.name)));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.query().is_some() {
        return Err(invalid(format!(
            "provider '{}': base_url must not carry credentials or a query; use api_key_env or api_key_file",
            p.name
        )));
    }
    let (key, unavailable) = match (&p.api_key_env, &p.api_key_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(format!("provider '{}': set api_key_env or api_key_file, not both", p.name)))
        }
        (Some(var), None) => match std::env::var(var).ok().map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()) {
            Some(k) => (Some(k), None),
            None => (None, Some(format!("the environment variable {var} that holds its API key is not set"))),
        },
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(k) if !k.trim().is_empty() => (Some(k.trim().to_owned()), None),
            Ok(_) => (None, Some(format!("its API key file {} is empty", path.display()))),
            Err(e) => (None, Some(format!("its API key file {} cannot be read ({})", path.display(), e.kind()))),
        },
        (None, None) => (None, None),
    };
    let authorization = match &key {
        Some(k) => {
            let mut v = HeaderValue::from_str(&format!("Bearer {k}"))
                .map_err(|_| invalid(format!("provider '{}': its API key holds characters a header cannot", p.name)))?;
            v.set_sensitive(true);
            Some(v)
        }
        None => None,
    };
    let endpoint = url::Url::parse(&format!("{base}/chat/completions"))
        .ok()
        .and_then(|u| Endpoint::new(&u))
        .ok_or_else(|| invalid(format!("provider '{}': base_url is not a URL the gateway can call", p.name)))?;
    Ok(Provider { name: p.name.clone(), endpoint: Some(endpoint), authorization, key, unavailable })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModelConfig, QualityConfig};

    fn local(models: &[&str]) -> ProviderConfig {
        ProviderConfig {
            name: "local".into(),
            base_url: "http://127.0.0.1:9/v1/".into(),
            api_key_env: None,
            api_key_file: None,
            models: models
                .iter()
                .map(|id| ModelConfig { id: (*id).into(), prompt_cents_per_1k: 0.1, completion_cents_per_1k: 0.2 })
                .collect(),
        }
    }

    fn config(providers: Vec<ProviderConfig>, quality: QualityConfig) -> AiConfig {
        AiConfig { providers, quality, ..AiConfig::default() }
    }

    #[test]
    fn default_routes_tiers_to_openai_models() {
        let c = Catalogue::build(&AiConfig::default()).unwrap();
        assert_eq!(c.tier(Quality::Cheap).id, DEFAULT_CHEAP);
        assert_eq!(c.tier(Quality::Balanced).id, DEFAULT_BALANCED);
        assert_eq!(c.tier(Quality::Frontier).id, DEFAULT_FRONTIER);
        assert_eq!(c.route(Quality::Balanced, Some("gpt-4o-mini")).unwrap().id, "gpt-4o-mini");
        assert_eq!(c.route(Quality::Balanced, Some("nope")).unwrap_err(), UnknownModel("nope".into()));
    }

    #[test]
    fn custom_tiers_and_fallback_to_first_model() {
        let q = QualityConfig { frontier: Some("big".into()), ..QualityConfig::default() };
        let c = Catalogue::build(&config(vec![local(&["small", "big"])], q)).unwrap();
        assert_eq!(c.tier(Quality::Cheap).id, "small");
        assert_eq!(c.tier(Quality::Frontier).id, "big");
        assert_eq!(c.get("big").unwrap().qualities, vec![Quality::Frontier]);
        assert_eq!(
            c.get("small").unwrap().provider.endpoint.as_ref().map(Endpoint::as_str),
            Some("http://127.0.0.1:9/v1/chat/completions")
        );
        assert!(c.get("small").unwrap().provider.unavailable.is_none());
    }

    #[test]
    fn the_host_header_is_made_once_without_a_default_port() {
        for (base, host, uri) in [
            ("http://127.0.0.1:9/v1/", "127.0.0.1:9", "http://127.0.0.1:9/v1/chat/completions"),
            ("https://api.openai.com/v1", "api.openai.com", "https://api.openai.com/v1/chat/completions"),
            ("https://Example.COM:443/v1", "example.com", "https://example.com/v1/chat/completions"),
            ("http://[::1]:8000/openai/v1", "[::1]:8000", "http://[::1]:8000/openai/v1/chat/completions"),
            ("http://localhost:80", "localhost", "http://localhost/chat/completions"),
        ] {
            let mut p = local(&["a"]);
            p.base_url = base.into();
            let c = Catalogue::build(&config(vec![p], QualityConfig::default())).unwrap();
            let endpoint = c.get("a").unwrap().provider.endpoint.clone().unwrap();
            assert_eq!((endpoint.host().to_str().unwrap(), endpoint.as_str()), (host, uri), "{base}");
        }
    }

    #[test]
    fn bad_configs_are_refused() {
        let q = QualityConfig { cheap: Some("absent".into()), ..QualityConfig::default() };
        assert!(Catalogue::build(&config(vec![local(&["a"])], q)).is_err());
        assert!(Catalogue::build(&config(vec![local(&["a", "a"])], QualityConfig::default())).is_err());
        assert!(Catalogue::build(&config(vec![local(&["a"]), local(&["b"])], QualityConfig::default())).is_err());
        let mut p = local(&["a"]);
        p.name = "bad\"name".into();
        assert!(Catalogue::build(&config(vec![p], QualityConfig::default())).is_err());
        assert!(Catalogue::build(&config(vec![local(&["with space"])], QualityConfig::default())).is_err());
        let mut p = local(&["a"]);
        p.name = "simulator".into();
        assert!(Catalogue::build(&config(vec![p], QualityConfig::default())).is_err());
        assert!(Catalogue::build(&config(vec![local(&["modèle"])], QualityConfig::default())).is_err());
        let mut p = local(&["a"]);
        p.base_url = "ftp://x".into();
        assert!(Catalogue::build(&config(vec![p], QualityConfig::default())).is_err());
        let mut p = local(&["a"]);
        p.base_url = "https://user:secret@example.com/v1".into();
        assert!(Catalogue::build(&config(vec![p], QualityConfig::default())).is_err());
    }

    #[test]
    fn a_missing_key_makes_the_provider_unavailable_and_says_why() {
        let mut p = local(&["a"]);
        p.api_key_env = Some("REGPILOT_TEST_SURELY_UNSET_KEY".into());
        let c = Catalogue::build(&config(vec![p], QualityConfig::default())).unwrap();
        let why = c.get("a").unwrap().provider.unavailable.clone().unwrap();
        assert!(why.contains("REGPILOT_TEST_SURELY_UNSET_KEY"), "{why}");
    }

    #[test]
    fn keys_from_files_are_scrubbed_and_never_debug_printed() {
        let dir = std::env::temp_dir().join(format!("regpilot-ai-key-{}", std::process::id()));
        std::fs::write(&dir, "  upstream-secret-123\n").unwrap();
        let mut p = local(&["a"]);
        p.api_key_file = Some(dir.clone());
        let c = Catalogue::build(&config(vec![p], QualityConfig::default())).unwrap();
        let provider = &c.get("a").unwrap().provider;
        assert!(provider.unavailable.is_none());
        assert!(!format!("{provider:?}").contains("upstream-secret-123"));
        assert_eq!(provider.scrub("bad key upstream-secret-123!", 100), "bad key [redacted]!");
        assert_eq!(provider.scrub("abcdef", 3), "abc…");
        std::fs::remove_file(dir).unwrap();
    }
}
