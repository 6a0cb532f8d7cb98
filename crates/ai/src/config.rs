//! The AI settings: upstream providers, the models each offers with their prices, which model
//! each quality tier uses, and the timeouts of upstream calls. Read from the `[ai]` table of
//! the settings file; every field has a default that works on one machine (the OpenAI API,
//! its key from `OPENAI_API_KEY`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The `[ai]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiConfig {
    /// The upstreams. Absent: one provider, OpenAI (see [`ProviderConfig::openai`]).
    pub providers: Vec<ProviderConfig>,
    /// Which model each quality tier routes to.
    pub quality: QualityConfig,
    /// Longest wait for a TCP (and TLS) connection to an upstream.
    pub connect_timeout_ms: u64,
    /// Longest wait for an upstream's answer to begin; for a non-streamed call, for all of it.
    pub response_timeout_secs: u64,
    /// Longest silence between two chunks of a stream before it is ended with an error event.
    pub stream_idle_timeout_secs: u64,
    /// Longest a stream may run from its first byte to its end, however steadily chunks come:
    /// without it an upstream that never finishes (or trickles under the idle timeout) holds
    /// a connection and a task for ever.
    pub stream_max_duration_secs: u64,
    /// Largest answer read from an upstream: a whole non-streamed body, or one event of a
    /// stream (what the gateway must hold in memory before it can use it).
    pub upstream_body_limit_bytes: usize,
    /// Pause before each chunk of a simulated stream (development keys), to look like a model.
    pub simulator_chunk_delay_ms: u64,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            providers: vec![ProviderConfig::openai()],
            quality: QualityConfig::default(),
            connect_timeout_ms: 5_000,
            response_timeout_secs: 120,
            stream_idle_timeout_secs: 60,
            // A 32k-token answer at 50 tokens/s takes about 11 minutes.
            stream_max_duration_secs: 900,
            upstream_body_limit_bytes: 16 * 1024 * 1024,
            simulator_chunk_delay_ms: 0,
        }
    }
}

impl AiConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn response_timeout(&self) -> Duration {
        Duration::from_secs(self.response_timeout_secs)
    }

    pub fn stream_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.stream_idle_timeout_secs)
    }

    pub fn stream_max_duration(&self) -> Duration {
        Duration::from_secs(self.stream_max_duration_secs)
    }

    pub fn simulator_chunk_delay(&self) -> Duration {
        Duration::from_millis(self.simulator_chunk_delay_ms)
    }
}

/// One OpenAI-compatible upstream (OpenAI, vLLM, Ollama, llama.cpp server, another gateway).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Shown in answers (`provider`) and logs.
    pub name: String,
    /// The API root, e.g. `https://api.openai.com/v1`; calls go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// The environment variable holding the provider's API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// A file holding the provider's API key (e.g. a mounted secret); surrounding whitespace
    /// is ignored. With neither, calls carry no `Authorization` (local servers).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    pub models: Vec<ModelConfig>,
}

/// A model an upstream offers, with its price (US cents per 1,000 tokens).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub id: String,
    #[serde(default)]
    pub prompt_cents_per_1k: f64,
    #[serde(default)]
    pub completion_cents_per_1k: f64,
}

/// `[ai.quality]`: a model id per tier. A tier left out uses its default model when a
/// provider offers it, else the first model configured.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityConfig {
    pub cheap: Option<String>,
    pub balanced: Option<String>,
    pub frontier: Option<String>,
}

/// The default tiers, all offered by the default OpenAI provider.
pub const DEFAULT_CHEAP: &str = "gpt-4o-mini";
pub const DEFAULT_BALANCED: &str = "gpt-4o";
pub const DEFAULT_FRONTIER: &str = "gpt-4.1";

impl ProviderConfig {
    /// The default provider: the OpenAI API (`OPENAI_BASE_URL` may point it elsewhere), its
    /// key from `OPENAI_API_KEY`, with OpenAI's list prices of the default models.
    pub fn openai() -> ProviderConfig {
        let model = |id: &str, prompt, completion| ModelConfig {
            id: id.into(),
            prompt_cents_per_1k: prompt,
            completion_cents_per_1k: completion,
        };
        ProviderConfig {
            name: "openai".into(),
            base_url: std::env::var("OPENAI_BASE_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| "https://api.openai.com/v1".into()),
            api_key_env: Some("OPENAI_API_KEY".into()),
            api_key_file: None,
            models: vec![
                model(DEFAULT_CHEAP, 0.015, 0.06),
                model(DEFAULT_BALANCED, 0.25, 1.0),
                model(DEFAULT_FRONTIER, 0.2, 0.8),
            ],
        }
    }
}
