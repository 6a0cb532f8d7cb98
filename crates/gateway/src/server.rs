//! Running the gateway: load the plan table and key index, restore today's quotas, follow the
//! change feeds, record usage, watch for unusual activity, and serve until a signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regpilot_ai::{Ai, AiConfig};
use regpilot_control::{Control, PasswordHashing, SessionPolicy};
use regpilot_limits::{now_micros, FailureMode, Limiter};
use regpilot_store::{day_start, now_ms, Store, StoreError, DAY_MS};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::dashboard::state::Dashboard;
use crate::conn::{raise_fd_limit, serve_connections, ConnLimits};
use crate::path::auth::LeakResponse;
use crate::path::client_ip::TrustedProxies;
use crate::path::feed::spawn_follower;
use crate::path::geo::GeoIp;
use crate::path::governor::spawn_audit_writer;
use crate::path::index::KeyIndex;
use crate::path::recorder::{spawn_recorder, RecorderConfig};
use crate::router::build_router;
use crate::state::AppState;

/// What the gateway runs with. The CLI fills it from the settings (`crates/cli/src/settings.rs`
/// declares each one, with its environment variable and default).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub max_body_bytes: usize,
    /// How often the change feeds are polled (PostgreSQL also wakes followers at once).
    pub feed_poll: Duration,
    /// `redis://…` to share limits across instances; `None` limits in-process.
    pub redis_url: Option<String>,
    /// Longest wait for Redis on the request path.
    pub redis_timeout: Duration,
    /// What the limiter does while Redis is unreachable.
    pub redis_failure_mode: FailureMode,
    pub trusted_proxies: TrustedProxies,
    /// A MaxMind-format country database; without one every country is `unknown`.
    pub geoip_db: Option<PathBuf>,
    pub usage: RecorderConfig,
    /// How often the unusual-activity rules run.
    pub alert_check: Duration,
    /// Usage older than this many days is deleted.
    pub usage_retention_days: i64,
    /// Providers, models, quality tiers and upstream timeouts.
    pub ai: AiConfig,
    /// On SIGTERM, how long open streams may run on before they are ended (`drain.rs`).
    pub shutdown_grace: Duration,
    /// Dashboard sessions: idle timeout and absolute lifetime.
    pub session_policy: SessionPolicy,
    /// Adds `Secure` to the dashboard's session cookie.
    pub secure_cookies: bool,
    /// Header-read and keep-alive timeouts, and the connection cap (`conn.rs`).
    pub connections: ConnLimits,
    /// At most this many Argon2 password checks at once (logins); 0: one per core.
    pub login_hash_concurrency: usize,
    /// Whether Governor audits keep the delivered text (else only its digest).
    pub governor_store_content: bool,
    /// `POST /api/leaks`: the reporter token (the endpoint answers 404 without one) and what
    /// a report does to a live key.
    pub leaks: LeakResponse,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("loading the key index: {0}")]
    Store(#[from] StoreError),
    #[error("rate limiter: {0}")]
    Limiter(String),
    #[error("{0}")]
    GeoIp(String),
    #[error(transparent)]
    Ai(#[from] regpilot_ai::ConfigError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on `listen` until SIGINT or SIGTERM, then stops following the feeds, writes the usage
/// still held, and closes the store. (The address is not in [`GatewayConfig`]: the CLI checks
/// it only for `serve`, while every command loads the settings.)
pub async fn serve(listen: SocketAddr, config: GatewayConfig, store: Store) -> Result<(), ServeError> {
    let limiter = match &config.redis_url {
        None => Limiter::local(),
        Some(url) => Limiter::redis(url, config.redis_timeout, config.redis_failure_mode)
            .await
            .map_err(|e| ServeError::Limiter(e.to_string()))?,
    };
    let geo = match &config.geoip_db {
        Some(path) => {
            let geo = GeoIp::open(path).map_err(ServeError::GeoIp)?;
            tracing::info!(database = geo.database_type(), "GeoIP country database loaded");
            Some(Arc::new(geo))
        }
        None => None,
    };
    let ai = Arc::new(Ai::new(&config.ai)?);
    for p in ai.catalogue().providers() {
        match &p.unavailable {
            None => tracing::info!(provider = %p.name, "AI provider ready"),
            Some(why) => tracing::warn!(
                provider = %p.name,
                "AI provider cannot be called: {why}; production and staging keys get 503 for its models \
                 (development keys use the simulator)"
            ),
        }
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let control =
        Control::new(store.clone()).with_password_hashing(PasswordHashing::new(config.login_hash_concurrency));
    let state = AppState::new(control, Arc::new(KeyIndex::new()), config.max_body_bytes);
    let (usage, recorder) =
        spawn_recorder(store.clone(), geo.clone(), state.metrics.clone(), config.usage.clone(), stop_rx.clone());
    let (audits, audit_writer) = spawn_audit_writer(state.control.clone(), state.metrics.clone(), stop_rx.clone());
    let state = state
        .with_governor(audits, config.governor_store_content, geo)
        .with_limiter(Arc::new(limiter))
        .with_usage(usage)
        .with_trusted_proxies(config.trusted_proxies.clone())
        .with_ai(ai)
        .with_leak_response(config.leaks.clone());
    let dashboard = Arc::new(Dashboard::new(config.session_policy, config.secure_cookies));

    state.load_index().await?;
    restore_daily_counts(&store, &state).await?;
    let follower = spawn_follower(state.feed.clone(), config.feed_poll, stop_rx.clone());
    let detector = spawn_alert_detector(state.control.clone(), config.alert_check, stop_rx.clone());
    let housekeeping =
        spawn_housekeeping(store.clone(), state.clone(), config.session_policy, config.usage_retention_days, stop_rx);

    raise_fd_limit();
    let listener = TcpListener::bind(listen).await.map_err(|source| ServeError::Bind { addr: listen, source })?;
    let local = listener.local_addr()?;
    state.set_ready(true);
    tracing::info!(
        addr = %local,
        store = store.backend().as_str(),
        rate_limiter = state.limiter.backend(),
        "listening on http://{local}"
    );

    let app = build_router(state.clone(), dashboard);
    let shutdown_state = state.clone();
    let grace = config.shutdown_grace;
    let limits = config.connections;
    // New connections are still accepted while draining: they are answered 503, and a load
    // balancer's probe of /api/ready gets its 503 instead of a hung connection.
    let shutdown = async move {
        shutdown_signal().await;
        shutdown_state.set_ready(false);
        // Streams ended at the deadline need a moment to write their last event.
        shutdown_state.drain.run(grace, Duration::from_secs(2)).await;
        tracing::info!("shutting down: closing connections");
    };
    let serving = state.clone();
    // Spawned, so connections are accepted on a runtime worker: awaited here, the accept loop
    // would run on the thread that called `block_on`, and every new connection would cost a
    // hand-over between threads (bench/README.md).
    tokio::spawn(async move { serve_connections(listener, app, &serving, limits, shutdown).await })
        .await
        .map_err(std::io::Error::other)?;

    // What this instance's rate-limit leases hold goes back to Redis (README "Rate limits").
    state.limiter.shutdown().await;
    let _ = stop_tx.send(true);
    let _ = follower.await;
    let _ = detector.await;
    let _ = housekeeping.await;
    let _ = recorder.await;
    let _ = audit_writer.await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// A restart does not hand out a fresh daily quota: today's admitted requests per key, as the
/// usage recorder wrote them, are counted again. (With Redis the counts live in Redis; this
/// seeds the in-process fallback.)
async fn restore_daily_counts(store: &Store, state: &AppState) -> Result<(), StoreError> {
    let now_us = now_micros();
    let now = now_us / 1000;
    let used = store.daily_used(day_start(now)).await?;
    for (key_id, n) in &used {
        state.limiter.seed_daily(key_id, u64::try_from(*n).unwrap_or(0), now_us);
    }
    tracing::info!(keys = used.len(), "today's request counts restored");
    Ok(())
}

/// Runs the unusual-activity rules in the background, never on the request path.
fn spawn_alert_detector(control: Control, every: Duration, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => break,
            }
            match control.detect_alerts(now_ms()).await {
                Ok(raised) => {
                    for a in raised {
                        tracing::warn!(
                            alert_id = %a.id,
                            project_id = %a.project_id,
                            key_id = a.key_id.as_deref().unwrap_or(""),
                            kind = a.kind.as_str(),
                            "alert: {}",
                            a.message
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "running the alert rules failed; retrying"),
            }
        }
    })
}

/// Every ten minutes: drops the limiter's state for keys whose burst has refilled and that have
/// no count today (so the in-process limiter holds the keys in use, not every key ever used),
/// and deletes usage older than the retention.
fn spawn_housekeeping(
    store: Store,
    state: AppState,
    sessions: SessionPolicy,
    retention_days: i64,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(600)) => {}
                _ = shutdown.changed() => break,
            }
            let before = state.limiter.local_keys();
            state.limiter.forget_idle(now_micros());
            tracing::debug!(before, after = state.limiter.local_keys(), "idle limiter state dropped");
            let today = day_start(now_ms());
            match store.prune_usage(today - retention_days * DAY_MS).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, retention_days, "old usage deleted"),
                Err(e) => tracing::warn!(error = %e, "deleting old usage failed; retrying later"),
            }
            match state.control.sweep_sessions(sessions, now_ms()).await {
                Ok(0) => {}
                Ok(sessions) => tracing::info!(sessions, "expired dashboard sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "deleting expired sessions failed; retrying later"),
            }
        }
    })
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
