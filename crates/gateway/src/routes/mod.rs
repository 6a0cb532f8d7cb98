//! Handlers, one file per area. Which key each needs is declared in `router.rs`.

pub mod ai;
pub mod compliance;
pub mod health;
pub mod openai;
pub mod system;
pub mod usage;
