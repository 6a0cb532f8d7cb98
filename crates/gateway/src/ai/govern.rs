//! The Governor on an AI call (docs/governor.md): the request's `governorMetadata` checked and
//! resolved (recipient country from the metadata, else the client address), the prompt checked
//! on its way out when the project asks for it, the answer checked before it is delivered —
//! whole, or incrementally while it streams — and each validation handed to the audit writer.
//! The rules themselves are `regpilot_governor`'s; this module only wires them in.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use regpilot_ai::ChatRequest;
use regpilot_control::{new_audit_id, FindingRecord, ValidationRecord};
use regpilot_governor::{
    Check, Context, Country, Delivered, Finding, Level, Metadata, Mode, Outcome, StreamGuard, Target, Verdict,
};
use regpilot_keys::Scope;
use serde::Serialize;
use serde_json::Value;

use super::validate::GovernorMetadata;
use crate::error::ApiError;
use crate::path::governor::{ProjectGovernor, ENGINE};
use crate::path::index::IndexedKey;
use crate::state::AppState;

pub(crate) static VALIDATED: HeaderName = HeaderName::from_static("x-governor-validated");
pub(crate) static RISK_SCORE: HeaderName = HeaderName::from_static("x-governor-risk-score");
pub(crate) static RISK_LEVEL: HeaderName = HeaderName::from_static("x-governor-risk-level");
pub(crate) static VIOLATIONS: HeaderName = HeaderName::from_static("x-governor-violations");
pub(crate) static AUDIT_ID: HeaderName = HeaderName::from_static("x-governor-audit-id");
pub(crate) static ACTION: HeaderName = HeaderName::from_static("x-governor-action");

/// The Governor's part of one call: the project's settings and policies as they were when the
/// request arrived, the resolved context, and the audit id the answer will name.
pub(crate) struct Governed {
    project: Arc<ProjectGovernor>,
    context: Context,
    audit_id: String,
    key_id: String,
    project_id: String,
}

/// One finding as answers show it.
#[derive(Debug, Serialize)]
struct FindingOut<'a> {
    rule: &'a str,
    category: &'static str,
    severity: &'static str,
    start: usize,
    end: usize,
    shadow: bool,
}

/// The `governor` object of an answer (the body of `/api/ai/complete`, the extra field of
/// `/v1` answers, the stream's `governor` event).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GovernorResult<'a> {
    validated: bool,
    risk_score: u8,
    risk_level: &'static str,
    action: &'static str,
    audit_id: &'a str,
    mode: &'static str,
    recipient_country: &'a str,
    violations: usize,
    findings: Vec<FindingOut<'a>>,
}

impl Governed {
    /// Checks what the request asks of the Governor: the key's scope, a plan with it and the
    /// project's switch (else 403 naming `governor`), then the metadata (400 naming the field).
    pub(crate) fn prepare(
        state: &AppState,
        key: &IndexedKey,
        metadata: GovernorMetadata<'_>,
        client_ip: Option<IpAddr>,
    ) -> Result<Governed, ApiError> {
        let project = state.governors.get(&key.project_id).filter(|p| p.config.enabled);
        let Some(project) =
            project.filter(|_| key.scopes.contains(Scope::Governor) && state.plans.governor(&key.project_id))
        else {
            state.metrics.forbidden();
            return Err(ApiError::Forbidden { required: Scope::Governor });
        };
        let metadata = Metadata::from_json_at(metadata.value, metadata.path)
            .map_err(|e| ApiError::bad_request(e.field.clone(), e.to_string()))?;
        let ip_country = match (&state.geo, client_ip) {
            (Some(geo), Some(ip)) => geo.country(ip).and_then(|c| Country::parse(&c)),
            _ => None,
        };
        let audit_id = new_audit_id().map_err(ApiError::from)?;
        Ok(Governed {
            project,
            context: Context::resolve(metadata, ip_country),
            audit_id,
            key_id: key.id.to_string(),
            project_id: key.project_id.to_string(),
        })
    }

    pub(crate) fn mode(&self) -> Mode {
        self.project.config.mode
    }

    pub(crate) fn audit_id(&self) -> &str {
        &self.audit_id
    }

    /// Checks the prompt on its way out when the project asks for it: each text of each message
    /// alone (a redaction stays inside its message); the prompt's verdict is the riskiest one.
    /// In mode `block` a high-risk prompt is not sent (422); in `sanitize` the redacted texts
    /// replace the originals.
    pub(crate) async fn check_prompt(&self, state: &AppState, request: &mut ChatRequest) -> Result<(), ApiError> {
        if !self.project.config.check_prompts {
            return Ok(());
        }
        let started = Instant::now();
        let mode = self.mode();
        let mut original = String::new();
        let mut delivered = String::new();
        let mut findings = Vec::new();
        let mut worst: Option<Verdict> = None;
        let mut changed = false;
        let mut blocked = false;
        for message in &mut request.messages {
            for text in texts_mut(&mut message.content) {
                if !original.is_empty() {
                    original.push('\n');
                    delivered.push('\n');
                }
                let base = original.len();
                let verdict = ENGINE.check(&Check {
                    text,
                    target: Target::Prompt,
                    context: &self.context,
                    policies: &self.project.policies,
                    mode,
                });
                original.push_str(text);
                findings.extend(verdict.findings.iter().map(|f| Finding {
                    start: f.start + base,
                    end: f.end + base,
                    ..f.clone()
                }));
                match &verdict.delivered {
                    Delivered::Unchanged => delivered.push_str(text),
                    Delivered::Changed(new) => {
                        delivered.push_str(new);
                        *text = new.clone();
                        changed = true;
                    }
                    Delivered::Withheld => blocked = true,
                }
                if worst.as_ref().is_none_or(|w| verdict.score > w.score) {
                    worst = Some(verdict);
                }
            }
        }
        let Some(mut verdict) = worst else { return Ok(()) };
        findings.sort_by(|a, b| (a.start, &a.rule).cmp(&(b.start, &b.rule)));
        verdict.findings = findings;
        verdict.outcome = if blocked {
            Outcome::Blocked
        } else if changed {
            Outcome::Sanitized
        } else if verdict.level == Level::Low {
            Outcome::Approved
        } else {
            Outcome::Flagged
        };
        verdict.delivered = if blocked { Delivered::Withheld } else { Delivered::Changed(delivered) };
        // The prompt's audit has its own id; the answer's keeps the one named in its headers.
        let audit_id = new_audit_id().map_err(ApiError::from)?;
        self.audit(state, &audit_id, Target::Prompt, &original, &verdict, started).await;
        if blocked {
            return Err(self.blocked(&verdict, &audit_id, "The prompt was not sent: the Governor found it high-risk"));
        }
        Ok(())
    }

    /// Checks a whole answer: the verdict (the text to deliver is in it), audited.
    pub(crate) async fn check_answer(&self, state: &AppState, text: &str) -> Verdict {
        let started = Instant::now();
        let verdict = ENGINE.check(&Check {
            text,
            target: Target::Response,
            context: &self.context,
            policies: &self.project.policies,
            mode: self.mode(),
        });
        self.audit(state, &self.audit_id, Target::Response, text, &verdict, started).await;
        verdict
    }

    /// A guard for a streamed answer.
    pub(crate) fn stream_guard(&self) -> StreamGuard<'static> {
        ENGINE.stream(self.context.clone(), self.project.policies.clone(), self.mode())
    }

    /// The verdict of a finished (or cut) stream, audited; `original` is the whole text.
    pub(crate) async fn finish_stream(&self, state: &AppState, original: &str, verdict: &Verdict, started: Instant) {
        self.audit(state, &self.audit_id, Target::Response, original, verdict, started).await;
    }

    /// The `governor` object of an answer.
    pub(crate) fn result<'a>(&'a self, verdict: &'a Verdict) -> GovernorResult<'a> {
        self.result_with(verdict, &self.audit_id)
    }

    fn result_with<'a>(&'a self, verdict: &'a Verdict, audit_id: &'a str) -> GovernorResult<'a> {
        GovernorResult {
            validated: true,
            risk_score: verdict.score,
            risk_level: verdict.level.as_str(),
            action: verdict.outcome.as_str(),
            audit_id,
            mode: self.mode().as_str(),
            recipient_country: self.context.country.as_str(),
            violations: verdict.violations(),
            findings: verdict
                .findings
                .iter()
                .map(|f| FindingOut {
                    rule: &f.rule,
                    category: f.category.as_str(),
                    severity: f.severity.as_str(),
                    start: f.start,
                    end: f.end,
                    shadow: f.shadow,
                })
                .collect(),
        }
    }

    /// The 422 of a withheld text, naming the rules that found it.
    pub(crate) fn blocked(&self, verdict: &Verdict, audit_id: &str, message: &str) -> ApiError {
        let rules: Vec<String> =
            verdict.findings.iter().filter(|f| !f.shadow).map(|f| f.rule.clone()).fold(Vec::new(), |mut v, r| {
                if !v.contains(&r) {
                    v.push(r);
                }
                v
            });
        let governor = serde_json::to_value(self.result_with(verdict, audit_id)).unwrap_or(Value::Null);
        let mut headers = HeaderMap::new();
        write_headers(&mut headers, verdict, audit_id);
        ApiError::GovernorBlocked {
            message: format!("{message} ({})", rules.join(", ")),
            rules,
            governor,
            headers: Box::new(headers),
        }
    }

    /// The `x-governor-*` headers of an answer that is not streamed.
    pub(crate) fn headers(&self, headers: &mut HeaderMap, verdict: &Verdict) {
        write_headers(headers, verdict, &self.audit_id);
    }

    /// The audit id, known before the answer (streams carry it from the start).
    pub(crate) fn audit_header(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.audit_id) {
            headers.insert(AUDIT_ID.clone(), v);
        }
    }

    async fn audit(
        &self,
        state: &AppState,
        audit_id: &str,
        target: Target,
        original: &str,
        verdict: &Verdict,
        started: Instant,
    ) {
        let record = self.record(state, audit_id, target, original, verdict, started);
        state.audits.send(record, &state.metrics).await;
    }

    /// The audit of a stream the client left: written without waiting (from a `Drop`).
    pub(crate) fn audit_now(&self, state: &AppState, original: &str, verdict: &Verdict, started: Instant) {
        let record = self.record(state, &self.audit_id, Target::Response, original, verdict, started);
        state.audits.send_now(record, &state.metrics);
    }

    fn record(
        &self,
        state: &AppState,
        audit_id: &str,
        target: Target,
        original: &str,
        verdict: &Verdict,
        started: Instant,
    ) -> ValidationRecord {
        let took = started.elapsed();
        state.metrics.governor.validation(
            verdict.level.as_str(),
            verdict.outcome.as_str(),
            verdict.findings.iter().filter(|f| !f.shadow).map(|f| f.rule.as_str()),
            took,
        );
        let delivered = verdict.delivered_text(original).unwrap_or("");
        ValidationRecord {
            audit_id: audit_id.to_owned(),
            project_id: self.project_id.clone(),
            key_id: self.key_id.clone(),
            at_ms: regpilot_store::now_ms(),
            target: target.as_str(),
            action_type: self.context.metadata.action_type.as_str().to_owned(),
            sender_id: self.context.metadata.sender_id.clone(),
            recipient_country: self.context.country.as_str().to_owned(),
            score: verdict.score,
            level: verdict.level,
            action: verdict.outcome.as_str(),
            mode: self.mode(),
            findings: verdict
                .findings
                .iter()
                .map(|f| FindingRecord {
                    rule: f.rule.clone(),
                    category: f.category.as_str().to_owned(),
                    severity: f.severity.as_str().to_owned(),
                    start: f.start,
                    end: f.end,
                    shadow: f.shadow,
                })
                .collect(),
            original_sha256: regpilot_keys::digest(original).to_hex(),
            delivered_sha256: regpilot_keys::digest(delivered).to_hex(),
            // Mode monitor delivers the original text: it is never kept (docs/governor.md, "Audit").
            content: (state.governor_store_content && self.mode() != Mode::Monitor).then(|| delivered.to_owned()),
            // A `notify` policy always tells the compliance team: a violation, whatever the level.
            open_violation: self.project.config.violations.opens(verdict.level) || verdict.notify,
        }
    }
}

/// The `x-governor-*` headers of a verdict and its audit entry.
fn write_headers(headers: &mut HeaderMap, verdict: &Verdict, audit_id: &str) {
    headers.insert(VALIDATED.clone(), HeaderValue::from_static("true"));
    headers.insert(RISK_SCORE.clone(), HeaderValue::from(u16::from(verdict.score)));
    headers.insert(RISK_LEVEL.clone(), HeaderValue::from_static(verdict.level.as_str()));
    headers.insert(VIOLATIONS.clone(), HeaderValue::from(verdict.violations()));
    headers.insert(ACTION.clone(), HeaderValue::from_static(verdict.outcome.as_str()));
    if let Ok(v) = HeaderValue::from_str(audit_id) {
        headers.insert(AUDIT_ID.clone(), v);
    }
}

/// The texts of a message's content: the string, or each text part's `text`.
fn texts_mut(content: &mut Value) -> Vec<&mut String> {
    match content {
        Value::String(s) => vec![s],
        Value::Array(parts) => parts
            .iter_mut()
            .filter_map(|p| match p.get_mut("text") {
                Some(Value::String(s)) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The metadata of a `/v1` request, and the path errors name its fields under:
/// `governorMetadata`, or `metadata.governor`.
pub(crate) fn openai_metadata(
    governor_metadata: Option<Value>,
    metadata: Option<serde_json::Map<String, Value>>,
) -> (Option<Value>, &'static str) {
    match governor_metadata {
        Some(v) => (Some(v), "governorMetadata"),
        None => (metadata.and_then(|mut m| m.remove("governor")), "metadata.governor"),
    }
}

/// An OpenAI `chat.completion` body with the delivered text (when the Governor changed it) and
/// the `governor` field added. The upstream's other fields stay as they came.
pub(crate) fn openai_body(body: bytes::Bytes, text: Option<&str>, governor: &GovernorResult<'_>) -> bytes::Bytes {
    let Ok(mut v) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if let Some(text) = text {
        if let Some(content) = v.pointer_mut("/choices/0/message/content") {
            *content = Value::String(text.to_owned());
        }
    }
    if let (Some(obj), Ok(g)) = (v.as_object_mut(), serde_json::to_value(governor)) {
        obj.insert("governor".into(), g);
    }
    serde_json::to_vec(&v).map(bytes::Bytes::from).unwrap_or(body)
}
