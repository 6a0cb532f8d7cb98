//! The control plane: projects, keys, users, compliance records and the audit log, with every
//! rule about them. The CLI, the HTTP API and the dashboard all call this one layer, so the
//! three cannot drift.

mod account;
mod alerts;
mod bootstrap;
mod compliance;
mod digest_status;
mod error;
mod found;
mod governor;
mod ids;
mod keys;
mod leaks;
mod passwords;
mod plans;
mod projects;
mod rolls;
mod sessions;
mod time_fmt;
mod tokens;
mod usage;
mod usage_ai;
mod users;

pub use alerts::{AlertKind, AlertRules, AlertSeverity, AlertView};
pub use bootstrap::Bootstrapped;
pub use compliance::{
    ComplianceStatus, ModelPatch, ModelView, NewModel, NewViolation, RegistrySummary, RiskLevel, Severity,
    SeverityCounts, ViolationPatch, ViolationStatus, ViolationView, SCORE_FORMULA,
};
pub use digest_status::{DigestState, DigestStatus, MAX_DIGESTS};
pub use error::ControlError;
pub use found::{FoundStatus, SecretKind, SecretStatus, MAX_STATUS_DIGESTS};
pub use governor::{
    new_audit_id, policy_def, AuditQuery, FindingRecord, GovernorAuditPage, GovernorAuditView, GovernorConfig,
    GovernorSettingsPatch, GovernorSettingsView, LevelCounts, NewPolicy, PolicyPatch, PolicyView, ValidationRecord,
    ViolationThreshold, AUDIT_PAGE_MAX, MAX_POLICIES,
};
pub use keys::{CreatedKey, KeyStatus, KeyView, NewKey};
pub use leaks::{LeakAction, LeakLabel, LeakReportItem, LeakVerdict, ReportedToken, MAX_LEAK_REPORT_ITEMS};
pub use passwords::{PasswordHashing, BUSY_RETRY_AFTER_SECS, HASH_WAIT};
pub use plans::{Limits, Plan};
pub use projects::{NewProject, ProjectView};
pub use rolls::{parse_grace, KeyDetail, RollInfo, RolledKey, DEFAULT_GRACE_MS, MAX_GRACE_MS};
pub use sessions::{NewSession, SessionId, SessionPolicy, SessionUser, TOUCH_EVERY_MS};
pub use time_fmt::rfc3339;
pub use tokens::{AdminAuth, AdminPrincipal, AdminTokenView, CreatedAdminToken};
pub use usage::{CountryUsage, DayUsage, HourUsage, KeyUsage, KeyUsageSummary, UsagePeriod, UsageReport};
pub use usage_ai::{AiUsage, ModelUsage};
pub use users::{OneTimePassword, PasswordReset, UserView, MIN_PASSWORD_LEN, ROLES};

use regpilot_store::Store;

/// Who performs an action, as written in the audit log: `cli:<os user>`, `key:<key id>`,
/// `user:<email>`, `system`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    pub fn cli() -> Actor {
        let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
        Actor(format!("cli:{user}"))
    }

    pub fn key(id: &str) -> Actor {
        Actor(format!("key:{id}"))
    }

    pub fn system() -> Actor {
        Actor("system".into())
    }

    /// An audit-log entry of this actor doing `action` to a record, stamped now.
    pub(crate) fn audit(
        &self,
        action: &str,
        target: (&str, &str),
        project_id: Option<&str>,
        detail: Option<String>,
    ) -> regpilot_store::AuditEntry {
        regpilot_store::AuditEntry {
            at: regpilot_store::now_ms(),
            actor: self.0.clone(),
            action: action.into(),
            target_type: target.0.into(),
            target_id: target.1.into(),
            project_id: project_id.map(Into::into),
            detail,
        }
    }
}

/// The service layer. Cheap to clone.
#[derive(Clone)]
pub struct Control {
    store: Store,
    /// Shared by every clone: the bound on Argon2 work is per process, not per caller.
    passwords: PasswordHashing,
}

impl Control {
    /// With one password hash at a time per core.
    pub fn new(store: Store) -> Control {
        Control { store, passwords: PasswordHashing::default() }
    }

    /// With at most `passwords.size()` password hashes or verifications at once.
    pub fn with_password_hashing(self, passwords: PasswordHashing) -> Control {
        Control { passwords, ..self }
    }

    pub fn passwords(&self) -> &PasswordHashing {
        &self.passwords
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
