//! Keeps the key index current by following the store's change feed: a short poll (every
//! instance, both backends) plus PostgreSQL `NOTIFY` wake-ups. A change made anywhere — the CLI
//! in another process, another instance — reaches this instance's index well within a second.

use std::sync::Arc;
use std::time::Duration;

use regpilot_store::{Store, StoreError};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::index::KeyIndex;
use crate::metrics::Metrics;

/// Events read per store round trip.
const BATCH: i64 = 1000;
/// Keys read per store round trip at start.
const LOAD_PAGE: i64 = 1000;

/// Fills the index from the store and returns the feed position to follow from. The head is
/// read before the keys, so a change committed in between is read again, never missed.
pub async fn load_index(store: &Store, index: &KeyIndex, metrics: &Metrics) -> Result<i64, StoreError> {
    let head = store.feed_head().await?;
    // A few more than counted: keys created during the load need no regrowth either.
    index.reserve(usize::try_from(store.count_keys().await?).unwrap_or(0) + 1024);
    let mut after = String::new();
    loop {
        let page = store.keys_page(&after, LOAD_PAGE).await?;
        for id in index.upsert_rows(&page) {
            tracing::error!(key_id = %id, "stored key cannot be read; it will be refused");
        }
        match page.last() {
            Some(last) if page.len() as i64 == LOAD_PAGE => after = last.id.clone(),
            _ => break,
        }
    }
    metrics.feed_position(head, index.len());
    tracing::info!(keys = index.len(), feed_seq = head, "key index loaded");
    Ok(head)
}

/// Applies every event after `after`. Returns the new position.
pub async fn catch_up(store: &Store, index: &KeyIndex, metrics: &Metrics, mut after: i64) -> Result<i64, StoreError> {
    loop {
        let batch = store.feed_since(after, BATCH).await?;
        let n = batch.events.len();
        for id in index.upsert_rows(batch.events.iter().map(|e| &e.key)) {
            tracing::error!(key_id = %id, "changed key cannot be read; it will be refused");
        }
        for e in &batch.events {
            tracing::debug!(seq = e.seq, key_id = %e.key.id, action = %e.action, "key change applied");
        }
        after = batch.last_seq;
        metrics.feed_position(after, index.len());
        if (n as i64) < BATCH {
            return Ok(after);
        }
    }
}

/// Follows the feed until `shutdown` turns true.
pub fn spawn_follower(
    store: Store,
    index: Arc<KeyIndex>,
    metrics: Arc<Metrics>,
    start: i64,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let notify = Arc::new(Notify::new());
        let listener = {
            let (store, notify) = (store.clone(), notify.clone());
            tokio::spawn(async move { store.forward_change_notifications(notify).await })
        };
        let mut position = start;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = notify.notified() => {}
                _ = shutdown.changed() => break,
            }
            match catch_up(&store, &index, &metrics, position).await {
                Ok(p) => position = p,
                Err(e) => {
                    metrics.feed_error();
                    tracing::warn!(error = %e, "reading the change feed failed; retrying");
                }
            }
        }
        listener.abort();
    })
}
