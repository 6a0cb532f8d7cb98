//! Keeps this instance current by following the store's change feeds: key changes into the key
//! index, project changes (plans, limits, Governor settings and policies) into the plan table
//! and the Governor table. A short poll (every instance,
//! both backends) plus PostgreSQL `NOTIFY` wake-ups: a change made anywhere — the CLI in another
//! process, another instance — is applied here well within a second. A change made on this
//! instance is applied here before its answer ([`FeedSync::read_your_writes`]).

use std::sync::Arc;
use std::time::Duration;

use regpilot_store::{Store, StoreError};
use tokio::sync::{watch, Mutex, Notify};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::path::governor::{apply_all, GovernorTable};
use crate::path::index::KeyIndex;
use crate::path::plans::PlanTable;

/// Longest a writer waits for its own change to be applied here before it answers anyway (the
/// follower then applies it within its poll).
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(1);

/// Events read per store round trip.
const BATCH: i64 = 1000;
/// Keys read per store round trip at start.
const LOAD_PAGE: i64 = 1000;

/// How far this instance has read each feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedPosition {
    pub keys: i64,
    pub projects: i64,
}

async fn apply_since(
    store: &Store,
    index: &KeyIndex,
    plans: &PlanTable,
    governors: &GovernorTable,
    metrics: &Metrics,
    pos: FeedPosition,
) -> Result<FeedPosition, StoreError> {
    // Projects first: a key created in a new project finds its limits.
    let mut projects = pos.projects;
    loop {
        let batch = store.project_feed_since(projects, BATCH).await?;
        plans.upsert_rows(&batch.projects);
        for p in &batch.projects {
            // The project's Governor settings and policies, read again (a project event is
            // also written for each of their changes).
            let settings = store.governor_settings(&p.id).await?;
            let policies = store.list_policies(&p.id).await?;
            governors.apply(p, settings.as_ref(), &policies.iter().collect::<Vec<_>>());
            tracing::debug!(project_id = %p.id, plan = %p.plan, "project change applied");
        }
        projects = batch.last_seq;
        if (batch.projects.len() as i64) < BATCH {
            break;
        }
    }
    let mut keys = pos.keys;
    loop {
        let batch = store.feed_since(keys, BATCH).await?;
        let n = batch.events.len();
        for id in index.upsert_rows(batch.events.iter().map(|e| &e.key)) {
            tracing::error!(key_id = %id, "changed key cannot be read; it will be refused");
        }
        for e in &batch.events {
            tracing::debug!(seq = e.seq, key_id = %e.key.id, action = %e.action, "key change applied");
        }
        keys = batch.last_seq;
        metrics.feed_position(keys, index.len());
        if (n as i64) < BATCH {
            return Ok(FeedPosition { keys, projects });
        }
    }
}

/// How far this instance has applied the feeds, and what applying them changes. The follower
/// and the writers on this instance share it: one applies at a time, so events are applied in
/// order and the position only moves forward.
pub struct FeedSync {
    store: Store,
    index: Arc<KeyIndex>,
    plans: Arc<PlanTable>,
    governors: Arc<GovernorTable>,
    metrics: Arc<Metrics>,
    /// Starts at the beginning of the feeds; [`FeedSync::load`] moves it to where the load ended.
    applied: Mutex<FeedPosition>,
}

impl FeedSync {
    pub(crate) fn new(
        store: Store,
        index: Arc<KeyIndex>,
        plans: Arc<PlanTable>,
        governors: Arc<GovernorTable>,
        metrics: Arc<Metrics>,
    ) -> FeedSync {
        FeedSync { store, index, plans, governors, metrics, applied: Mutex::new(FeedPosition::default()) }
    }

    /// Fills the plan table and the key index from the store and returns the feed positions to
    /// follow from. Each head is read before its rows, so a change committed in between is read
    /// again, never missed.
    pub async fn load(&self) -> Result<FeedPosition, StoreError> {
        let store = &self.store;
        let mut applied = self.applied.lock().await;
        let projects_head = store.project_feed_head().await?;
        let projects = store.list_projects().await?;
        self.plans.upsert_rows(&projects);
        apply_all(&self.governors, &projects, &store.all_governor_settings().await?, &store.all_policies().await?);

        let head = store.feed_head().await?;
        let index = &self.index;
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
        self.metrics.feed_position(head, index.len());
        tracing::info!(
            keys = index.len(),
            projects = self.plans.len(),
            governed_projects = self.governors.len(),
            feed_seq = head,
            "key index loaded"
        );
        *applied = FeedPosition { keys: head, projects: projects_head };
        Ok(*applied)
    }

    /// Applies every event after the position applied so far; returns the new position.
    pub async fn sync(&self) -> Result<FeedPosition, StoreError> {
        let mut applied = self.applied.lock().await;
        *applied = apply_since(&self.store, &self.index, &self.plans, &self.governors, &self.metrics, *applied).await?;
        Ok(*applied)
    }

    /// Called by a writer after its store write: applies the feeds up to now, so the change is
    /// enforced on this instance before it answers (a key made in the dashboard works on the
    /// first call). Bounded; past the wait, or on a store error, the follower applies it.
    pub(crate) async fn read_your_writes(&self) {
        match tokio::time::timeout(READ_YOUR_WRITES_WAIT, self.sync()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                self.metrics.feed_error();
                tracing::warn!(error = %e, "applying this instance's own change failed; the follower will");
            }
            Err(_) => tracing::warn!(
                wait_ms = READ_YOUR_WRITES_WAIT.as_millis() as u64,
                "applying this instance's own change took too long; the follower will"
            ),
        }
    }
}

/// Follows the feeds until `shutdown` turns true, from where [`FeedSync::load`] left them.
pub(crate) fn spawn_follower(
    feed: Arc<FeedSync>,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let notify = std::sync::Arc::new(Notify::new());
        let listener = {
            let (store, notify) = (feed.store.clone(), notify.clone());
            tokio::spawn(async move { store.forward_change_notifications(notify).await })
        };
        loop {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = notify.notified() => {}
                _ = shutdown.changed() => break,
            }
            match feed.sync().await {
                Ok(_) => {}
                Err(e) => {
                    feed.metrics.feed_error();
                    tracing::warn!(error = %e, "reading the change feed failed; retrying");
                }
            }
        }
        listener.abort();
    })
}
