//! The change feed: a numbered log of key changes that every instance follows to keep its
//! in-memory key index current, and one of project changes (plans and their limits) for the
//! limiter. PostgreSQL also sends a `NOTIFY` so followers wake at once.

use sqlx::{Any, Row, Transaction};

use crate::rows::project_from_row;
use crate::rows::{key_from_row, KEY_COLUMNS};
use crate::{Backend, KeyRow, ProjectRow, Store, StoreError};

/// The channel PostgreSQL notifies on after each key change.
pub const NOTIFY_CHANNEL: &str = "regpilot_key_events";

/// One change, with the key as it is now.
#[derive(Debug, Clone)]
pub struct KeyEvent {
    pub seq: i64,
    pub action: String,
    pub key: KeyRow,
}

#[derive(Debug, Clone, Default)]
pub struct FeedBatch {
    pub events: Vec<KeyEvent>,
    /// The highest sequence number read; pass it to the next call.
    pub last_seq: i64,
}

pub(crate) async fn append_event(
    backend: Backend,
    tx: &mut Transaction<'_, Any>,
    key_id: &str,
    action: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO key_events (key_id, action, at) VALUES ($1, $2, $3)")
        .bind(key_id)
        .bind(action)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    if backend == Backend::Postgres {
        sqlx::query(&format!("NOTIFY {NOTIFY_CHANNEL}")).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Projects changed after a position, as they are now.
#[derive(Debug, Clone, Default)]
pub struct ProjectFeedBatch {
    pub projects: Vec<ProjectRow>,
    pub last_seq: i64,
}

pub(crate) async fn append_project_event(
    backend: Backend,
    tx: &mut Transaction<'_, Any>,
    project_id: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO project_events (project_id, at) VALUES ($1, $2)")
        .bind(project_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    if backend == Backend::Postgres {
        sqlx::query(&format!("NOTIFY {NOTIFY_CHANNEL}")).execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// The newest project-event number; a follower that loaded every project starts here.
    pub async fn project_feed_head(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS head FROM project_events").fetch_one(&self.pool).await?;
        Ok(row.try_get("head")?)
    }

    /// Projects changed after `after` (each once, as it is now), at most `limit` events read.
    pub async fn project_feed_since(&self, after: i64, limit: i64) -> Result<ProjectFeedBatch, StoreError> {
        let rows = sqlx::query(
            "SELECT e.seq, p.id, p.name, p.plan, p.daily_limit, p.burst, p.created_at \
             FROM project_events e JOIN projects p ON p.id = e.project_id WHERE e.seq > $1 ORDER BY e.seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut batch = ProjectFeedBatch { projects: Vec::with_capacity(rows.len()), last_seq: after };
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            batch.last_seq = batch.last_seq.max(seq);
            batch.projects.push(project_from_row(r)?);
        }
        Ok(batch)
    }

    /// The newest sequence number; a follower that loaded every key starts from here.
    pub async fn feed_head(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS head FROM key_events").fetch_one(&self.pool).await?;
        Ok(row.try_get("head")?)
    }

    /// Events after `after`, oldest first, at most `limit`.
    pub async fn feed_since(&self, after: i64, limit: i64) -> Result<FeedBatch, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT e.seq, e.action, {KEY_COLUMNS} FROM key_events e JOIN api_keys k ON k.id = e.key_id \
             WHERE e.seq > $1 ORDER BY e.seq LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut batch = FeedBatch { events: Vec::with_capacity(rows.len()), last_seq: after };
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            batch.last_seq = batch.last_seq.max(seq);
            batch.events.push(KeyEvent { seq, action: r.try_get("action")?, key: key_from_row(r)? });
        }
        Ok(batch)
    }
}

impl Store {
    /// On PostgreSQL, wakes `notify` whenever any instance commits a key change (`LISTEN`),
    /// reconnecting after errors; runs until dropped. On SQLite there is nothing to listen to
    /// and it returns at once: followers poll.
    pub async fn forward_change_notifications(&self, notify: std::sync::Arc<tokio::sync::Notify>) {
        if self.backend() != Backend::Postgres {
            return;
        }
        loop {
            match sqlx::postgres::PgListener::connect(self.url()).await {
                Ok(mut listener) => match listener.listen(NOTIFY_CHANNEL).await {
                    Ok(()) => {
                        // Anything committed while we were not listening is read by this wake-up.
                        notify.notify_one();
                        while listener.recv().await.is_ok() {
                            notify.notify_one();
                        }
                        tracing::warn!("change-feed LISTEN connection lost; reconnecting");
                    }
                    Err(e) => tracing::warn!(error = %e, "LISTEN on the change feed failed"),
                },
                Err(e) => tracing::warn!(error = %e, "could not open the change-feed LISTEN connection"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}
