//! The AI proxy: RegPilot's own endpoints ([`chat`]: `/api/ai/*`) and the OpenAI-compatible
//! ones ([`openai`]: `/v1/*`). Both check their body field by field ([`validate`]), then make one
//! [`call`] (the model, the simulator or the provider, the answer headers, the usage record);
//! a streamed answer is written by [`sse_body`] in the route's wire format. A request with
//! `governorMetadata` has its answer (and, by project setting, its prompt) checked by the
//! Governor ([`govern`]).

pub(crate) mod call;
pub(crate) mod chat;
pub(crate) mod govern;
pub(crate) mod openai;
pub(crate) mod sse_body;
pub(crate) mod validate;
