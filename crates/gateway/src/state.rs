//! What every handler can reach.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use regpilot_control::Control;

use crate::index::KeyIndex;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub control: Control,
    pub index: Arc<KeyIndex>,
    pub metrics: Arc<Metrics>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// False until the key index is loaded, and again while shutting down.
    ready: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(control: Control, index: Arc<KeyIndex>, max_body_bytes: usize) -> AppState {
        AppState {
            control,
            index,
            metrics: Arc::new(Metrics::default()),
            max_body_bytes,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
