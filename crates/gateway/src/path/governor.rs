//! What the Governor needs on the request path (docs/governor.md): each project's settings and
//! compiled policy set, kept current by the project change feed ([`crate::path::feed`]) so a
//! change reaches every instance within a second; and the audit writer, which takes each
//! validation off the request path and writes them in batches.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use foldhash::fast::RandomState;
use regpilot_control::{policy_def, Control, GovernorConfig, Plan, ValidationRecord};
use regpilot_governor::{Governor, PolicySet};
use regpilot_store::{GovernorSettingsRow, PolicyRow, ProjectRow};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

/// The built-in rules, compiled once per process.
pub(crate) static ENGINE: LazyLock<Governor> = LazyLock::new(Governor::new);

/// A project's Governor, as a request uses it.
pub(crate) struct ProjectGovernor {
    pub config: GovernorConfig,
    pub policies: Arc<PolicySet>,
    /// The (id, version) of each enabled policy compiled into `policies`: rebuilt only when it
    /// changes.
    versions: Vec<(String, i64)>,
}

#[derive(Default)]
pub struct GovernorTable {
    projects: RwLock<HashMap<Box<str>, Arc<ProjectGovernor>, RandomState>>,
}

impl GovernorTable {
    pub(crate) fn new() -> GovernorTable {
        GovernorTable::default()
    }

    pub(crate) fn get(&self, project_id: &str) -> Option<Arc<ProjectGovernor>> {
        self.projects.read().unwrap_or_else(|p| p.into_inner()).get(project_id).cloned()
    }

    /// Sets a project's settings and policies from its stored rows. A policy that no longer
    /// compiles (stored by another version) is left out and logged.
    pub(crate) fn apply(&self, project: &ProjectRow, settings: Option<&GovernorSettingsRow>, policies: &[&PolicyRow]) {
        let plan = project.plan.parse::<Plan>().unwrap_or(Plan::Free);
        let config = GovernorConfig::of(plan, settings);
        let versions: Vec<(String, i64)> =
            policies.iter().filter(|p| p.enabled).map(|p| (p.id.clone(), p.version)).collect();
        let current = self.get(&project.id);
        let policies = match current {
            Some(c) if c.versions == versions => c.policies.clone(),
            _ => Arc::new(compile(&project.id, policies)),
        };
        let entry = Arc::new(ProjectGovernor { config, policies, versions });
        self.projects.write().unwrap_or_else(|p| p.into_inner()).insert(project.id.as_str().into(), entry);
    }

    pub(crate) fn len(&self) -> usize {
        self.projects.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn compile(project_id: &str, rows: &[&PolicyRow]) -> PolicySet {
    let mut defs = Vec::with_capacity(rows.len());
    for row in rows.iter().filter(|p| p.enabled) {
        match policy_def(row) {
            Ok(def) if def.validate().is_ok() => defs.push(def),
            _ => tracing::error!(project_id, policy_id = %row.id, "stored policy cannot be compiled; it is skipped"),
        }
    }
    match PolicySet::compile(&defs) {
        Ok(set) => set,
        Err(e) => {
            // Each policy compiled alone; together they may still exceed a size limit.
            tracing::error!(project_id, field = e.field, "the project's policies cannot be compiled together: {e}");
            PolicySet::empty()
        }
    }
}

/// Groups every project's rows (the gateway's start).
pub(crate) fn apply_all(
    table: &GovernorTable,
    projects: &[ProjectRow],
    settings: &[GovernorSettingsRow],
    policies: &[PolicyRow],
) {
    let settings: HashMap<&str, &GovernorSettingsRow> = settings.iter().map(|s| (s.project_id.as_str(), s)).collect();
    let mut by_project: HashMap<&str, Vec<&PolicyRow>> = HashMap::new();
    for p in policies {
        by_project.entry(p.project_id.as_str()).or_default().push(p);
    }
    for project in projects {
        let policies = by_project.get(project.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        table.apply(project, settings.get(project.id.as_str()).copied(), policies);
    }
}

/// Hands validations to the writer; requests wait only when it is far behind.
#[derive(Clone)]
pub struct AuditSink {
    tx: Option<mpsc::Sender<ValidationRecord>>,
}

/// Validations the channel holds before requests wait for the writer.
const AUDIT_QUEUE: usize = 16_384;
/// How long a request waits for room in a full audit queue.
const AUDIT_QUEUE_WAIT: Duration = Duration::from_secs(1);
/// How long the writer gathers validations before it writes them (an audit entry is in the
/// store within about this long of its answer).
const AUDIT_FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Validations written per transaction at most.
const AUDIT_BATCH: usize = 512;

impl AuditSink {
    /// Writes nothing (a state built without `serve`, in tests of the router alone).
    pub(crate) fn disabled() -> AuditSink {
        AuditSink { tx: None }
    }

    /// Queues a validation. When the queue is full (the store has been failing for a while),
    /// the request waits up to [`AUDIT_QUEUE_WAIT`], then the audit is counted as lost and
    /// logged, and the answer is delivered: a store outage does not stop the AI routes.
    pub(crate) async fn send(&self, record: ValidationRecord, metrics: &Metrics) {
        let Some(tx) = &self.tx else {
            tracing::debug!(audit_id = %record.audit_id, "governor audits are not recorded by this server state");
            return;
        };
        let audit_id = record.audit_id.clone();
        match tokio::time::timeout(AUDIT_QUEUE_WAIT, tx.send(record)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                metrics.governor.audits_lost(1);
                tracing::error!(%audit_id, "governor audit writer has stopped; a validation was not recorded");
            }
            Err(_) => {
                metrics.governor.audits_lost(1);
                tracing::error!(%audit_id, "governor audit queue full (is the store failing?); a validation was not recorded");
            }
        }
    }
}

impl AuditSink {
    /// Hands a validation over without waiting; when the writer is far behind it is lost, and
    /// counted (only a stream the client left takes this path).
    pub(crate) fn send_now(&self, record: ValidationRecord, metrics: &Metrics) {
        if let Some(tx) = &self.tx {
            if tx.try_send(record).is_err() {
                metrics.governor.audits_lost(1);
                tracing::error!("governor audit queue full; the audit of a cancelled stream was not recorded");
            }
        }
    }
}

/// Starts the audit writer. It stops when `shutdown` fires, after writing what it holds.
pub(crate) fn spawn_audit_writer(
    control: Control,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> (AuditSink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<ValidationRecord>(AUDIT_QUEUE);
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(AUDIT_BATCH);
        loop {
            let n = tokio::select! {
                n = rx.recv_many(&mut batch, AUDIT_BATCH) => n,
                _ = shutdown.changed() => {
                    rx.close();
                    while rx.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
                        write(&control, &metrics, std::mem::take(&mut batch)).await;
                    }
                    break;
                }
            };
            if n == 0 {
                break;
            }
            // A busy server writes one transaction per interval, not one per validation: every
            // write is a durable commit (an fsync on SQLite), which would otherwise cost each
            // governed request as much CPU as the request itself.
            let deadline = tokio::time::Instant::now() + AUDIT_FLUSH_EVERY;
            while batch.len() < AUDIT_BATCH {
                let room = AUDIT_BATCH - batch.len();
                match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            write(&control, &metrics, std::mem::take(&mut batch)).await;
        }
    });
    (AuditSink { tx: Some(tx) }, task)
}

/// Writes a batch, retrying a failed write a few times (the store may be restarting).
async fn write(control: &Control, metrics: &Metrics, batch: Vec<ValidationRecord>) {
    let n = batch.len() as u64;
    for attempt in 0..5u32 {
        match control.record_governor_validations(&batch).await {
            Ok(()) => {
                metrics.governor.audits_written(n);
                return;
            }
            Err(e) => {
                tracing::warn!(attempt, rows = n, "writing governor audits failed: {e}");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
    }
    metrics.governor.audits_lost(n);
    tracing::error!(rows = n, "governor audits could not be written and are lost");
}
