//! The scored corpus (`tests/corpus.json`, docs/governor.md, "Corpus"): every answer gets
//! exactly its expected rule ids and level, and precision and recall per category are printed
//! against what a reviewer finds in each answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{check_with, ctx};
use regpilot_governor::{ActionType, Level, Mode, PolicyDef, PolicySet, Target};
use regpilot_keys::{generate, generate_admin_token, Environment, KeyType};
use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    policies: Vec<PolicyDef>,
    answers: Vec<Answer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Answer {
    id: String,
    action_type: ActionType,
    country: String,
    text: String,
    rules: Vec<String>,
    level: Level,
    #[serde(default)]
    engine_misses: Vec<String>,
    #[serde(default)]
    engine_extra: Vec<String>,
}

fn category(rule: &str) -> &str {
    match rule.split('.').next().unwrap() {
        "pii" => "personal_data",
        other => other,
    }
}

#[derive(Default)]
struct Tally {
    tp: usize,
    fp: usize,
    fn_: usize,
}

#[test]
fn the_corpus_scores_as_expected() {
    let corpus: Corpus = serde_json::from_str(include_str!("corpus.json")).unwrap();
    assert!(corpus.answers.len() >= 60);
    let policies = PolicySet::compile(&corpus.policies).unwrap();
    let key = generate(KeyType::Gateway, Environment::Production).unwrap().expose().to_owned();
    let mut broken = key.clone();
    let last = broken.pop().unwrap();
    broken.push(if last == 'Z' { 'Y' } else { 'Z' });
    let token = generate_admin_token().unwrap().expose().to_owned();

    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut actions = std::collections::BTreeSet::new();
    let mut countries = std::collections::BTreeSet::new();
    for a in &corpus.answers {
        actions.insert(a.action_type);
        countries.insert(a.country.clone());
        let text = a
            .text
            .replace("{regpilot_key}", &key)
            .replace("{broken_regpilot_key}", &broken)
            .replace("{admin_token}", &token);
        let v = check_with(&text, &ctx(a.action_type, &a.country), &policies, Mode::Sanitize, Target::Response);
        let mut found: Vec<String> = v.rule_ids().into_iter().map(str::to_owned).collect();
        found.sort();
        let mut expected: Vec<String> =
            a.rules.iter().filter(|r| !a.engine_misses.contains(r)).chain(&a.engine_extra).cloned().collect();
        expected.sort();
        if found != expected || v.level != a.level {
            failures.push(format!(
                "{}: rules {found:?} (expected {expected:?}), level {} score {} (expected {})",
                a.id, v.level, v.score, a.level
            ));
        }
        for r in &found {
            let t = tallies.entry(category(r).to_owned()).or_default();
            if a.rules.contains(r) {
                t.tp += 1;
            } else {
                t.fp += 1;
            }
        }
        for r in a.rules.iter().filter(|r| !found.contains(r)) {
            tallies.entry(category(r).to_owned()).or_default().fn_ += 1;
        }
    }
    println!("{} answers, {} action types, {} countries", corpus.answers.len(), actions.len(), countries.len());
    println!("| category | rule ids found | false positives | false negatives | precision | recall |");
    println!("|---|---|---|---|---|---|");
    for (cat, t) in &tallies {
        let p = t.tp as f64 / (t.tp + t.fp).max(1) as f64;
        let r = t.tp as f64 / (t.tp + t.fn_).max(1) as f64;
        println!("| {cat} | {} | {} | {} | {p:.2} | {r:.2} |", t.tp, t.fp, t.fn_);
    }
    assert_eq!(actions.len(), ActionType::ALL.len(), "every action type is in the corpus");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
