//! Each project's rate limits, as the limiter needs them. Filled at start and kept current by
//! the project change feed ([`crate::path::feed`]), so a plan change reaches every instance within a
//! second without a store query per request.

use std::collections::HashMap;
use std::sync::RwLock;

use foldhash::fast::RandomState;

use regpilot_control::{Limits, Plan};
use regpilot_keys::Environment;
use regpilot_limits::LimitSpec;
use regpilot_store::ProjectRow;

/// The limits a key of an unknown project, or of a plan this version cannot read, gets: the
/// free plan's, the strictest. (Every key's project is loaded before its key, so this only
/// guards against a broken store.)
fn fallback() -> Limits {
    Plan::Free.limits(None, None)
}

#[derive(Default)]
pub struct PlanTable {
    /// foldhash: project ids are the server's own, and every request looks one up.
    projects: RwLock<HashMap<Box<str>, Entry, RandomState>>,
}

#[derive(Clone, Copy)]
struct Entry {
    spec: LimitSpec,
    /// Whether the plan includes Governor (docs/ai-gateway.md, "Errors": pro and enterprise).
    governor: bool,
}

/// The plan's figures, which staging and production keys get.
fn base_spec(limits: Limits) -> LimitSpec {
    LimitSpec {
        burst: u32::try_from(limits.burst.max(1)).unwrap_or(u32::MAX),
        daily: limits.daily_limit.map(|d| u64::try_from(d.max(1)).unwrap_or(1)),
    }
}

impl PlanTable {
    pub fn new() -> PlanTable {
        PlanTable::default()
    }

    /// Inserts or replaces projects. A row whose plan this version cannot read keeps the
    /// strictest limits, and is logged.
    pub fn upsert_rows<'a>(&self, rows: impl IntoIterator<Item = &'a ProjectRow>) {
        let mut map = self.projects.write().unwrap_or_else(|p| p.into_inner());
        for row in rows {
            let limits = match row.plan.parse::<Plan>() {
                Ok(plan) => plan.limits(row.daily_limit, row.burst),
                Err(_) => {
                    tracing::error!(project_id = %row.id, "stored project has an unknown plan; it gets the free plan's limits");
                    fallback()
                }
            };
            // The environment is applied per key, in `spec`.
            map.insert(row.id.as_str().into(), Entry { spec: base_spec(limits), governor: limits.governor });
        }
    }

    /// The limits of a key of `project_id` in `environment`: the plan's figures, a tenth of
    /// them for development keys (README.md, "Rate limits").
    pub fn spec(&self, project_id: &str, environment: Environment) -> LimitSpec {
        let base = self.projects.read().unwrap_or_else(|p| p.into_inner()).get(project_id).map(|e| e.spec);
        let base = base.unwrap_or_else(|| base_spec(fallback()));
        match environment {
            Environment::Development => base.development(),
            Environment::Staging | Environment::Production => base,
        }
    }

    /// Whether the project's plan includes Governor (an unknown project's does not).
    pub fn governor(&self, project_id: &str) -> bool {
        self.projects.read().unwrap_or_else(|p| p.into_inner()).get(project_id).is_some_and(|e| e.governor)
    }

    pub fn len(&self) -> usize {
        self.projects.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, plan: &str, daily: Option<i64>, burst: Option<i64>) -> ProjectRow {
        ProjectRow { id: id.into(), name: "p".into(), plan: plan.into(), daily_limit: daily, burst, created_at: 0 }
    }

    #[test]
    fn plans_give_the_spec_figures_and_development_keys_a_tenth() {
        let t = PlanTable::new();
        t.upsert_rows(&[
            row("free", "free", None, None),
            row("pro", "pro", None, None),
            row("ent", "enterprise", None, None),
            row("ent2", "enterprise", Some(5_000), Some(7)),
        ]);
        assert_eq!(t.spec("free", Environment::Production), LimitSpec { burst: 10, daily: Some(1_000) });
        assert_eq!(t.spec("free", Environment::Staging), LimitSpec { burst: 10, daily: Some(1_000) });
        assert_eq!(t.spec("free", Environment::Development), LimitSpec { burst: 1, daily: Some(100) });
        assert_eq!(t.spec("pro", Environment::Production), LimitSpec { burst: 100, daily: Some(100_000) });
        assert_eq!(t.spec("pro", Environment::Development), LimitSpec { burst: 10, daily: Some(10_000) });
        assert_eq!(t.spec("ent", Environment::Production), LimitSpec { burst: 1_000, daily: None });
        assert_eq!(t.spec("ent", Environment::Development), LimitSpec { burst: 100, daily: None });
        // A tenth, rounded down, at least 1.
        assert_eq!(t.spec("ent2", Environment::Development), LimitSpec { burst: 1, daily: Some(500) });
        assert_eq!(t.spec("unknown", Environment::Production), LimitSpec { burst: 10, daily: Some(1_000) });
        assert!(!t.governor("free") && t.governor("pro") && t.governor("ent") && !t.governor("unknown"));
    }

    #[test]
    fn a_plan_change_replaces_the_figures() {
        let t = PlanTable::new();
        t.upsert_rows(&[row("p", "free", None, None)]);
        t.upsert_rows(&[row("p", "pro", None, None)]);
        assert_eq!(t.spec("p", Environment::Production).burst, 100);
        assert_eq!(t.len(), 1);
    }
}
