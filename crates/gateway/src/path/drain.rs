//! Graceful shutdown. On SIGTERM the server *drains*: `/api/ready` answers 503 (so a load
//! balancer stops sending), new requests are refused with 503, requests in flight finish, and
//! open streams run on until the drain deadline, where each gets a final SSE error event. Then
//! the server stops, the usage recorder writes what it holds, and the process exits 0.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

#[derive(Debug)]
pub struct Drain {
    draining: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
    deadline: watch::Sender<bool>,
}

impl Default for Drain {
    fn default() -> Self {
        Drain {
            draining: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            deadline: watch::channel(false).0,
        }
    }
}

/// Held for as long as a request (or the stream it answered with) runs.
#[derive(Debug)]
pub struct InFlight(Arc<Drain>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Drain {
    pub fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn begin(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Turns true at the drain deadline: open streams end with an error event.
    pub fn deadline(&self) -> watch::Receiver<bool> {
        self.deadline.subscribe()
    }

    pub fn reach_deadline(&self) {
        self.deadline.send_replace(true);
    }

    /// Waits until nothing is in flight, or `until`; true when idle.
    pub async fn wait_idle(&self, until: Instant) -> bool {
        loop {
            let notified = self.idle.notified();
            if self.in_flight() == 0 {
                return true;
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return self.in_flight() == 0;
            }
        }
    }

    /// The whole drain: waits for requests and streams to finish up to `grace`; then ends the
    /// streams still open and gives them (and any request still running) `linger` to close.
    pub async fn run(&self, grace: Duration, linger: Duration) {
        self.begin();
        tracing::info!(
            in_flight = self.in_flight(),
            grace_secs = grace.as_secs_f64(),
            "draining: new requests are refused"
        );
        if self.wait_idle(Instant::now() + grace).await {
            return;
        }
        tracing::info!(in_flight = self.in_flight(), "drain deadline reached: ending open streams");
        self.reach_deadline();
        self.wait_idle(Instant::now() + linger).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_for_work_in_flight_then_signals_the_deadline() {
        let drain = Arc::new(Drain::default());
        let guard = drain.enter();
        let mut deadline = drain.deadline();
        let d = drain.clone();
        let task = tokio::spawn(async move { d.run(Duration::from_secs(10), Duration::from_secs(1)).await });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(drain.is_draining());
        assert!(!*deadline.borrow());
        deadline.changed().await.unwrap();
        assert!(*deadline.borrow());
        drop(guard);
        task.await.unwrap();
        assert_eq!(drain.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn ends_at_once_when_idle() {
        let drain = Arc::new(Drain::default());
        drop(drain.enter());
        drain.run(Duration::from_secs(10), Duration::from_secs(1)).await;
        assert!(!*drain.deadline().borrow());
    }
}
