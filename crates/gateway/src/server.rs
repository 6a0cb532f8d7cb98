//! Running the gateway: load the key index, follow the change feed, serve until a signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use regpilot_control::Control;
use regpilot_store::{Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::feed::{load_index, spawn_follower};
use crate::index::KeyIndex;
use crate::{build_router, AppState};

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    /// How often the change feed is polled (PostgreSQL also wakes followers at once).
    pub feed_poll: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("loading the key index: {0}")]
    Store(#[from] StoreError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves until SIGINT or SIGTERM, then stops following the feed and closes the store.
pub async fn serve(config: GatewayConfig, store: Store) -> Result<(), ServeError> {
    let index = Arc::new(KeyIndex::new());
    let state = AppState::new(Control::new(store.clone()), index.clone(), config.max_body_bytes);
    let start = load_index(&store, &index, &state.metrics).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let follower = spawn_follower(store.clone(), index, state.metrics.clone(), start, config.feed_poll, stop_rx);

    let listener =
        TcpListener::bind(config.listen).await.map_err(|source| ServeError::Bind { addr: config.listen, source })?;
    let local = listener.local_addr()?;
    state.set_ready(true);
    tracing::info!(addr = %local, store = store.backend().as_str(), "listening on http://{local}");

    let app = build_router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let shutdown_state = state.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown_state.set_ready(false);
            tracing::info!("shutting down: finishing requests in flight");
        })
        .await?;

    let _ = stop_tx.send(true);
    let _ = follower.await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
