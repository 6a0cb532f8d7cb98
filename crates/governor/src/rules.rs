//! The list of every built-in rule, from the three places rules come from: the regex rules and
//! the content lists (`builtins.rs`) and the duties (`duties.rs`).

use crate::builtins::{specs, LISTS};
use crate::{duties, Category, Severity};

/// Every built-in rule (regex rules, content lists, duties) as `(rule id, category, severity)`,
/// each once, e.g. to label metrics (findings by rule) or list them in a dashboard.
pub fn builtin_rules() -> Vec<(&'static str, Category, Severity)> {
    let mut out: Vec<(&'static str, Category, Severity)> = Vec::new();
    let regex_rules = specs().into_iter().map(|s| (s.id, s.category, s.severity));
    let lists = LISTS.iter().map(|(id, sev, _)| (*id, Category::Content, *sev));
    let duties = duties::ALL.iter().map(|d| (d.rule, Category::Duty, d.severity));
    for r in regex_rules.chain(lists).chain(duties) {
        if !out.iter().any(|o| o.0 == r.0) {
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_every_rule() {
        let docs = include_str!("../../../docs/governor.md");
        let rules = builtin_rules();
        assert_eq!(rules.len(), 29);
        for (id, category, severity) in rules {
            let row = format!("| `{id}` | {} | {} |", category.as_str(), severity.as_str());
            assert!(docs.contains(&row), "docs/governor.md lacks the row {row}");
        }
    }
}
