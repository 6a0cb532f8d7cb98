//! The control plane's HTTP side: what a person or an operator's script calls, not what every
//! AI request goes through. The admin API ([`api`], behind admin tokens), the key-protected
//! compliance and usage routes (the Governor's policies, settings and audits among them:
//! [`governor`]), the probes and metrics ([`system`], [`health`]), leak reports ([`leaks`]), the
//! OpenAPI document, and the web [`dashboard`] (its own
//! page table, layer and state).

pub(crate) mod api;
pub(crate) mod compliance;
pub(crate) mod dashboard;
pub(crate) mod governor;
pub(crate) mod health;
pub(crate) mod leaks;
pub(crate) mod openapi;
pub(crate) mod params;
pub(crate) mod system;
pub(crate) mod usage;
