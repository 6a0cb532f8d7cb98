//! What `regpilot scan` prints on stdout: text (one line per finding), JSON (one object) or
//! SARIF 2.1.0 (for code-scanning tools). Secrets appear by display prefix only.

use std::collections::HashMap;

use regpilot_control::{FoundStatus, LeakVerdict, SecretKind, SecretStatus};
use serde_json::{json, Value};

use super::{describe, Finding, Totals};

pub struct Output<'a> {
    pub findings: &'a [Finding],
    pub statuses: Option<&'a HashMap<String, SecretStatus>>,
    pub verdicts: Option<&'a [LeakVerdict]>,
    pub totals: &'a Totals,
}

const RULE_KEY: &str = "regpilot/api-key";
const RULE_TOKEN: &str = "regpilot/admin-token";

impl Output<'_> {
    fn status(&self, f: &Finding) -> Option<&SecretStatus> {
        self.statuses.and_then(|s| s.get(&f.digest))
    }

    /// `path:line:column: prefix  what  [status]`, then the report's answers.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in self.findings {
            out.push_str(&format!("{}:{}:{}: {}  {}", f.path, f.hit.line, f.hit.column, f.prefix, describe(&f.hit)));
            if let Some(s) = self.status(f) {
                match &s.key_id {
                    Some(id) => out.push_str(&format!("  [{}, {id}]", s.status.as_str())),
                    None => out.push_str(&format!("  [{}]", s.status.as_str())),
                }
            }
            out.push('\n');
        }
        for v in self.verdicts.unwrap_or_default() {
            let label = serde_json::to_value(v.label).unwrap_or_default();
            out.push_str(&format!(
                "reported {}: {}\n",
                v.token_prefix.as_deref().unwrap_or("(invalid)"),
                label.as_str().unwrap_or("?")
            ));
        }
        out
    }

    /// One JSON object: `findings`, `summary`, and `reported` after `--report`.
    pub fn json(&self) -> String {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let mut v = json!({
                    "path": f.path,
                    "line": f.hit.line,
                    "column": f.hit.column,
                    "kind": f.hit.kind.as_str(),
                    "prefix": f.prefix,
                });
                if let Ok(p) = regpilot_keys::parse(&f.hit.secret) {
                    v["key_type"] = json!(p.key_type.as_str());
                    v["environment"] = json!(p.environment.as_str());
                }
                if let Some(s) = self.status(f) {
                    v["status"] = json!(s.status.as_str());
                    v["key_id"] = json!(s.key_id);
                }
                v
            })
            .collect();
        let mut doc = json!({ "findings": findings, "summary": self.summary_json() });
        if let Some(verdicts) = self.verdicts {
            doc["reported"] = json!(verdicts);
        }
        format!("{doc}\n")
    }

    fn summary_json(&self) -> Value {
        let t = self.totals;
        let mut v = json!({
            "files_scanned": t.files,
            "bytes_scanned": t.bytes,
            "binary_files_skipped": t.binary_skipped,
            "unreadable": t.unreadable,
            "found": self.findings.len(),
        });
        if self.statuses.is_some() {
            v["live"] = json!(self.live());
        }
        v
    }

    fn live(&self) -> usize {
        self.findings.iter().filter(|f| self.status(f).is_some_and(|s| s.status == FoundStatus::Live)).count()
    }

    /// The line for stderr.
    pub fn summary(&self) -> String {
        let t = self.totals;
        let mb = t.bytes as f64 / 1e6;
        let rate = if t.seconds > 0.0 { mb / t.seconds } else { 0.0 };
        let mut s = format!(
            "{} secret{} found in {} file{} ({:.1} MB in {:.2} s, {:.0} MB/s; {} binary skipped",
            self.findings.len(),
            if self.findings.len() == 1 { "" } else { "s" },
            t.files,
            if t.files == 1 { "" } else { "s" },
            mb,
            t.seconds,
            rate,
            t.binary_skipped
        );
        if t.unreadable > 0 {
            s.push_str(&format!(", {} unreadable", t.unreadable));
        }
        s.push(')');
        if self.statuses.is_some() {
            s.push_str(&format!("; {} live", self.live()));
        }
        s
    }

    /// SARIF 2.1.0: one run, two rules, one result per finding. Level `error` for a live (or,
    /// without `--check`, any) secret, `warning` for one the store does not know, `note` for
    /// one that no longer authenticates.
    pub fn sarif(&self) -> String {
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let (rule, index) = match f.hit.kind {
                    SecretKind::ApiKey => (RULE_KEY, 0),
                    SecretKind::AdminToken => (RULE_TOKEN, 1),
                };
                let (level, state) = match self.status(f).map(|s| s.status) {
                    None => ("error", String::new()),
                    Some(FoundStatus::Live) => ("error", " It is live: deactivate or roll it now.".into()),
                    Some(FoundStatus::Unknown) => ("warning", " The gateway does not know it.".into()),
                    Some(other) => ("note", format!(" It is {} and no longer authenticates.", other.as_str())),
                };
                let width = f.hit.secret.chars().count() as u64;
                json!({
                    "ruleId": rule,
                    "ruleIndex": index,
                    "level": level,
                    "message": { "text": format!("A RegPilot {} ({}) is written here.{state}", describe(&f.hit), f.prefix) },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri_of(&f.path) },
                            "region": {
                                "startLine": f.hit.line,
                                "startColumn": f.hit.column,
                                "endColumn": f.hit.column + width,
                            }
                        }
                    }],
                })
            })
            .collect();
        let rule = |id: &str, name: &str, what: &str| {
            json!({
                "id": id,
                "name": name,
                "shortDescription": { "text": format!("A RegPilot {what} in the source") },
                "fullDescription": { "text": format!(
                    "A string with the format and a valid checksum of a RegPilot {what}. Anyone who reads it \
                     can use it: deactivate or roll it, and remove it from the history."
                ) },
                "defaultConfiguration": { "level": "error" },
                "help": { "text": "Deactivate or roll the secret (regpilot key deactivate / key roll), then remove it \
                                   from the file and the history. Keep secrets in the environment or a secret store." },
            })
        };
        let doc = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "regpilot scan",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": [rule(RULE_KEY, "RegPilotApiKey", "API key"), rule(RULE_TOKEN, "RegPilotAdminToken", "admin token")],
                } },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }],
        });
        format!("{doc}\n")
    }
}

/// A relative URI reference for a path: `./` dropped, `\` as `/`, and every byte outside the
/// unreserved set and `/` percent-encoded. Standard input is `stdin`.
fn uri_of(path: &str) -> String {
    if path == "-" {
        return "stdin".into();
    }
    let p = path.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p);
    let mut out = String::with_capacity(p.len() + 7);
    if p.starts_with('/') {
        out.push_str("file://");
    }
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::uri_of;

    #[test]
    fn uris_are_relative_references() {
        assert_eq!(uri_of("./src/a b.rs"), "src/a%20b.rs");
        assert_eq!(uri_of("/abs/é.txt"), "file:///abs/%C3%A9.txt");
        assert_eq!(uri_of("-"), "stdin");
    }
}
