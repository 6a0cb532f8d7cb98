//! The AI side of RegPilot Gateway, free of HTTP-server concerns: the models on offer
//! ([`catalogue`]), which model a request goes to and who answers it ([`Route`]), the
//! OpenAI-compatible upstream client ([`upstream`]), the simulator that answers development keys
//! ([`simulator`]), and token counts and cost ([`tokens`]).
//!
//! [`Ai`] is what the gateway holds: [`Ai::route`] decides, from the caller's key environment,
//! the model and whether the simulator or the model's provider answers; `complete` and `stream`
//! then call whichever the route names (the simulator never touches the network).

mod answer;
pub mod catalogue;
pub mod config;
mod endpoint;
mod error;
mod quality;
mod request;
mod route;
pub mod simulator;
mod sse;
pub mod tokens;
mod upstream;

use std::time::Duration;

/// The provider name of the simulator's answers (reserved: no configured provider may take it).
pub const SIMULATOR: &str = "simulator";

pub use answer::{Chunk, Completion};
pub use catalogue::{Catalogue, ConfigError, ModelEntry, Provider, UnknownModel};
pub use config::{AiConfig, ModelConfig, ProviderConfig, QualityConfig};
pub use error::UpstreamError;
pub use quality::{Mode, Quality};
pub use request::{ChatRequest, Message, Role};
pub use route::{Route, RouteError};
pub use sse::SseParser;
pub use tokens::{Price, TokenUsage};

use regpilot_keys::Environment;
use route::Answerer;
use simulator::SimStream;
use tokio::time::Instant;
use upstream::UpstreamStream;

pub struct Ai {
    catalogue: Catalogue,
    client: upstream::Client,
    response_timeout: Duration,
    idle_timeout: Duration,
    stream_max_duration: Duration,
    body_limit: usize,
    sim_delay: Duration,
}

impl Ai {
    pub fn new(config: &AiConfig) -> Result<Ai, ConfigError> {
        let catalogue = Catalogue::build(config)?;
        let client = upstream::client(config.connect_timeout())
            .map_err(|e| ConfigError::Invalid(format!("cannot set up the upstream client's TLS: {e}")))?;
        Ok(Ai {
            catalogue,
            client,
            response_timeout: config.response_timeout(),
            idle_timeout: config.stream_idle_timeout(),
            stream_max_duration: config.stream_max_duration(),
            body_limit: config.upstream_body_limit_bytes,
            sim_delay: config.simulator_chunk_delay(),
        })
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The route of a request from a key of `environment`: the explicit `model`, else the
    /// `quality` tier's; see [`Route`].
    pub fn route(&self, environment: Environment, quality: Quality, model: Option<&str>) -> Result<Route, RouteError> {
        Route::decide(&self.catalogue, environment, quality, model)
    }

    /// A whole answer from whoever the route names.
    pub async fn complete(&self, route: &Route, req: &ChatRequest) -> Result<Completion, UpstreamError> {
        let model = &route.model;
        match route.answerer {
            Answerer::Simulator => return Ok(simulator::complete(&model.id, req)),
            Answerer::Provider => {}
        }
        let deadline = in_at_most(self.response_timeout);
        let body = req.upstream_body(&model.id, false);
        let response = upstream::send(&self.client, &model.provider, body, false, self.response_timeout).await?;
        let prompt = tokens::estimate_prompt(&req.messages);
        let bounds = upstream::ReadBounds { deadline, waited: self.response_timeout, limit: self.body_limit };
        upstream::read_completion(&model.provider, response, bounds, prompt).await
    }

    /// A stream from whoever the route names, once its answer has begun.
    pub async fn stream(&self, route: &Route, req: &ChatRequest) -> Result<ChatStream, UpstreamError> {
        let model = &route.model;
        let source = match route.answerer {
            Answerer::Simulator => Source::Sim(SimStream::new(&model.id, req, self.sim_delay)),
            Answerer::Provider => {
                let body = req.upstream_body(&model.id, true);
                let response = upstream::send(&self.client, &model.provider, body, true, self.response_timeout).await?;
                Source::Upstream(Box::new(UpstreamStream {
                    provider: model.provider.clone(),
                    response,
                    parser: SseParser::default(),
                    idle: self.idle_timeout,
                    ends_by: in_at_most(self.stream_max_duration),
                    max_duration: self.stream_max_duration,
                    event_limit: self.body_limit,
                    reported: None,
                    finished: false,
                    done: false,
                }))
            }
        };
        Ok(ChatStream { source, prompt_estimate: tokens::estimate_prompt(&req.messages), completion_chars: 0 })
    }
}

/// `now + wait`, or a far future for a wait so long (a setting of years) that it would overflow.
fn in_at_most(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

/// A streamed answer, from an upstream or the simulator.
pub struct ChatStream {
    source: Source,
    prompt_estimate: u32,
    completion_chars: usize,
}

enum Source {
    Upstream(Box<UpstreamStream>),
    Sim(SimStream),
}

impl ChatStream {
    /// The next chunk; `None` at the end. An upstream silent for longer than the idle timeout
    /// gives [`UpstreamError::Timeout`], one still streaming at the longest duration
    /// [`UpstreamError::Unfinished`], an event over the body limit [`UpstreamError::TooLarge`].
    pub async fn next(&mut self) -> Result<Option<Chunk>, UpstreamError> {
        let chunk = match &mut self.source {
            Source::Upstream(s) => s.next_chunk().await?,
            Source::Sim(s) => {
                if !s.at_start() && !s.delay.is_zero() {
                    tokio::time::sleep(s.delay).await;
                }
                s.next_chunk()
            }
        };
        if let Some(c) = &chunk {
            self.completion_chars += c.text.chars().count();
        }
        Ok(chunk)
    }

    /// Tokens so far: as the upstream reported them, else estimated from what has arrived.
    pub fn usage(&self) -> TokenUsage {
        let reported = match &self.source {
            Source::Upstream(s) => s.reported,
            Source::Sim(s) => s.text_done().then(|| s.usage()),
        };
        reported.unwrap_or(TokenUsage {
            prompt: self.prompt_estimate,
            completion: u32::try_from(self.completion_chars.div_ceil(4)).unwrap_or(u32::MAX),
        })
    }
}
