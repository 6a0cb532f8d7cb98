"""Types of the RegPilot client's requests and answers.

Every answer is a typed, immutable object with attribute access (``client.health.check().status``),
as the ``openai`` and ``stripe`` packages hand back. Each is a frozen dataclass built from the
gateway's JSON by ``from_json``:

- field names are the JSON's (snake_case in the compliance and usage APIs); the two exceptions
  are ``UsageReport.from_`` (JSON ``from``, a Python keyword) and the Governor's result, whose
  camelCase JSON (``riskScore``) becomes snake_case attributes (``risk_score``);
- nested objects are typed too (``report.keys[0].ai.models[0].cost_cents``);
- a field the gateway adds later is kept, not refused: ``to_dict()`` returns the JSON as received,
  unknown fields included, and ``record["field"]`` reads it;
- ``record["project_id"]``, ``record.get(...)`` and ``"x" in record`` read the object by its JSON
  names, for code written when these answers were plain dicts.
"""

from __future__ import annotations

import copy
import typing
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import (
    Any, Callable, Dict, List, Literal, Mapping, NamedTuple, Optional, Tuple, Type, TypedDict, TypeVar, Union,
)

Role = Literal["system", "user", "assistant"]
Quality = Literal["cheap", "balanced", "frontier"]
Mode = Literal["text", "json"]
Period = Literal["day", "week", "month"]
Severity = Literal["low", "medium", "high", "critical"]
RiskLevel = Literal["unacceptable", "high", "limited", "minimal"]
"""A registered model's EU AI Act risk level."""

ActionType = Literal[
    "customer_support", "legal_advice", "medical_advice", "hr_message", "policy_warning", "suspension",
    "refund_denial", "other",
]
GovernorRiskLevel = Literal["low", "medium", "high"]
"""The Governor's band of a 0–100 risk score: 0–30 low, 31–70 medium, 71–100 high."""
GovernorAction = Literal["approved", "sanitized", "flagged", "blocked"]
GovernorMode = Literal["sanitize", "block", "monitor"]
PolicyAppliesTo = Literal["response", "prompt", "both"]
PolicyAction = Literal["block", "warn", "redact", "replace", "append", "require_approval", "log", "notify"]


class Message(TypedDict):
    role: Role
    content: Union[str, List[Dict[str, Any]]]


class _GovernorMetadataRequired(TypedDict):
    actionType: str
    senderId: str


class GovernorMetadata(_GovernorMetadataRequired, total=False):
    """The ``governorMetadata`` object of a chat request, sent as given (camelCase keys):
    ``actionType`` (an ``ActionType``) and ``senderId`` are required."""

    recipientCountry: str
    """ISO 3166-1 alpha-2; the gateway uses the client IP's country when it is absent."""
    recipientUserId: str
    senderRole: str
    department: str
    contextTags: List[str]


# --- the typed-record machinery ---------------------------------------------------------------------

_R = TypeVar("_R", bound="Record")


def _identity(value: Any) -> Any:
    return value


def _converter(tp: Any) -> Callable[[Any], Any]:
    """How a JSON value becomes the declared type: records and lists of records are built,
    an integer where a float is declared becomes a float, anything else is kept as it came."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            convert = _converter(inner[0])
            return lambda v: None if v is None else convert(v)
        return _identity
    if origin is list:
        convert = _converter(args[0]) if args else _identity
        return lambda v: [convert(x) for x in v] if isinstance(v, list) else v
    if isinstance(tp, type) and issubclass(tp, Record):
        record = tp
        return lambda v: record.from_json(v) if isinstance(v, Mapping) else v
    if tp is float:
        return lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
    return _identity


def _when_missing(f: "Field[Any]", tp: Any) -> Callable[[], Any]:
    """The value of a field the JSON lacks: its default, else ``[]`` for a list, else None."""
    if f.default is not MISSING:
        default = f.default
        return lambda: default
    if f.default_factory is not MISSING:
        return f.default_factory
    if typing.get_origin(tp) is list:
        return list
    return lambda: None


def _dump(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return copy.deepcopy(value)


class _FieldSpec(NamedTuple):
    attr: str
    key: str
    """The JSON key."""
    convert: Callable[[Any], Any]
    missing: Callable[[], Any]


_SPECS: Dict[type, Tuple[_FieldSpec, ...]] = {}


class Record:
    """Base of every typed answer (a frozen dataclass): see this module's documentation."""

    __iter__ = None  # not a mapping to iterate: use to_dict()

    @classmethod
    def _spec(cls) -> Tuple[_FieldSpec, ...]:
        spec = _SPECS.get(cls)
        if spec is None:
            hints = typing.get_type_hints(cls)
            spec = tuple(
                _FieldSpec(f.name, f.metadata.get("json", f.name), _converter(hints[f.name]),
                           _when_missing(f, hints[f.name]))
                for f in fields(cls)  # type: ignore[arg-type]
            )
            _SPECS[cls] = spec
        return spec

    @classmethod
    def from_json(cls: Type[_R], data: Mapping[str, Any]) -> _R:
        """Builds the record from the gateway's JSON object. Unknown keys are kept (``to_dict()``);
        a missing key gets the field's default (None, or ``[]`` for a list)."""
        values = {
            s.attr: s.convert(data[s.key]) if s.key in data else s.missing() for s in cls._spec()
        }
        record = cls(**values)
        object.__setattr__(record, "_raw", dict(data))
        return record

    def to_dict(self) -> Dict[str, Any]:
        """The JSON object (a copy): as received, unknown fields included, for a record built by
        ``from_json``; else from the fields, by their JSON names."""
        raw = getattr(self, "_raw", None)
        if raw is not None:
            return copy.deepcopy(raw)
        return {s.key: _dump(getattr(self, s.attr)) for s in self._spec()}

    def __getitem__(self, key: str) -> Any:
        for s in self._spec():
            if s.key == key:
                return getattr(self, s.attr)
        raw = getattr(self, "_raw", None) or {}
        if key in raw:
            return raw[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return any(s.key == key for s in self._spec()) or key in (getattr(self, "_raw", None) or {})


# --- chat ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_cents: float

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Usage":
        return cls(
            prompt_tokens=int(data.get("promptTokens", 0)),
            completion_tokens=int(data.get("completionTokens", 0)),
            total_tokens=int(data.get("totalTokens", 0)),
            cost_cents=float(data.get("costCents", 0.0)),
        )


# --- the Governor ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GovernorFinding(Record):
    """One finding: its rule, category and severity, and where in the text it was (character
    offsets) — never the matched text itself."""

    rule: str
    """e.g. ``pii.email``, ``secret.regpilot_key``, or a custom policy's rule id."""
    category: str
    """e.g. ``personal_data``, ``secret``, ``content``, ``duty``, ``policy``."""
    severity: Severity
    start: Optional[int] = None
    end: Optional[int] = None
    shadow: bool = False
    """True for a finding of a shadow policy: reported, not acted on."""


@dataclass(frozen=True)
class GovernorResult(Record):
    """The Governor's verdict on an answer: ``completion.governor`` and ``stream.governor``
    (JSON ``governor``, camelCase keys)."""

    validated: bool
    risk_score: int = field(metadata={"json": "riskScore"})
    """0–100."""
    risk_level: GovernorRiskLevel = field(metadata={"json": "riskLevel"})
    action: GovernorAction
    """What was done: ``approved``, ``sanitized`` (redacted or given notices), ``flagged`` (delivered,
    for review), ``blocked``."""
    audit_id: Optional[str] = field(metadata={"json": "auditId"}, default=None)
    """The audit entry (``gva_…``): ``client.compliance.governor_audits``."""
    mode: Optional[GovernorMode] = None
    recipient_country: Optional[str] = field(metadata={"json": "recipientCountry"}, default=None)
    """ISO 3166-1 alpha-2, or ``unknown``."""
    violations: int = 0
    """The number of findings acted on."""
    findings: List[GovernorFinding] = field(default_factory=list)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Optional["GovernorResult"]:
        """The result from the ``x-governor-*`` headers of an answer (no findings, mode or country:
        those are only in the body), or None when the answer has none."""
        validated = headers.get("x-governor-validated")
        if validated is None:
            return None

        def number(name: str) -> int:
            try:
                return int(headers.get(name) or 0)
            except ValueError:
                return 0

        data: Dict[str, Any] = {
            "validated": validated.strip().lower() == "true",
            "riskScore": number("x-governor-risk-score"),
            "riskLevel": headers.get("x-governor-risk-level"),
            "action": headers.get("x-governor-action"),
            "auditId": headers.get("x-governor-audit-id"),
            "violations": number("x-governor-violations"),
        }
        return cls.from_json({k: v for k, v in data.items() if v is not None})


@dataclass(frozen=True)
class ChatCompletion:
    """The answer of ``client.chat.create(...)`` (POST /api/ai/complete)."""

    content: str
    model: str
    provider: str
    usage: Usage
    finish_reason: Optional[str] = None
    cache_hit: bool = False
    test_mode: bool = False
    """True when a development key was answered by the gateway's simulator."""
    warning: Optional[str] = None
    """The gateway's ``x-regpilot-warning`` header, if any."""
    governor: Optional[GovernorResult] = None
    """The Governor's result when the request carried ``governor_metadata``, else None."""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def text(self) -> str:
        return self.content

    def __str__(self) -> str:
        return self.content


# --- health ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthStatus(Record):
    """GET /api/health. ``project_id``, ``key_type`` and ``environment`` are None without a key."""

    status: str
    authenticated: bool
    project_id: Optional[str] = None
    key_type: Optional[Literal["gateway", "project"]] = None
    environment: Optional[Literal["development", "staging", "production"]] = None


# --- compliance ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation(Record):
    id: str
    project_id: str
    title: str
    description: Optional[str]
    severity: Severity
    category: Optional[str]
    model_id: Optional[str]
    status: Literal["open", "resolved"]
    created_at: str
    created_by: str
    resolved_at: Optional[str] = None
    resolved_by: Optional[str] = None
    resolution_note: Optional[str] = None


@dataclass(frozen=True)
class RegisteredModel(Record):
    id: str
    project_id: str
    name: str
    provider: Optional[str]
    version: Optional[str]
    purpose: Optional[str]
    risk_level: RiskLevel
    owner: Optional[str]
    status: Literal["active", "archived"]
    created_at: str
    updated_at: str
    archived_at: Optional[str] = None


@dataclass(frozen=True)
class SeverityCounts(Record):
    """Open violations by severity."""

    critical: int
    high: int
    medium: int
    low: int
    total: int


@dataclass(frozen=True)
class RegistrySummary(Record):
    active: int
    archived: int
    unacceptable: int
    """Active models at ``unacceptable`` risk (practices the EU AI Act prohibits)."""
    high_risk: int
    completeness: float
    """Share of the documentation fields filled in across active models, 0 to 1."""


@dataclass(frozen=True)
class ComplianceStatus(Record):
    """GET /api/compliance/status (the formula: docs/compliance.md)."""

    project_id: str
    score: int
    status: Literal["compliant", "at_risk", "non_compliant"]
    open_violations: SeverityCounts
    registry: RegistrySummary
    formula: str


@dataclass(frozen=True)
class Policy(Record):
    """A custom Governor policy of the project (``client.compliance.policies``)."""

    id: str
    project_id: str
    name: str
    keywords: List[str]
    pattern: Optional[str]
    """A regular expression, or None for a keyword policy."""
    applies_to: PolicyAppliesTo
    action: PolicyAction
    severity: Severity
    replacement: Optional[str] = None
    appendix: Optional[str] = None
    enabled: bool = True
    shadow: bool = False
    """A shadow policy reports its findings without acting on them."""
    version: int = 1
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


@dataclass(frozen=True)
class GovernorAudit(Record):
    """One Governor validation (``client.compliance.governor_audits``): never the text itself, only
    the SHA-256 digests of the original and the delivered text."""

    id: str
    project_id: str
    key_id: Optional[str]
    created_at: str
    target: Literal["response", "prompt"]
    action_type: Optional[str]
    sender_id: Optional[str]
    recipient_country: Optional[str]
    risk_score: int
    risk_level: GovernorRiskLevel
    action: GovernorAction
    mode: GovernorMode
    findings: List[GovernorFinding] = field(default_factory=list)
    original_sha256: Optional[str] = None
    delivered_sha256: Optional[str] = None
    violation_id: Optional[str] = None
    """The compliance violation opened for this result, if any."""


@dataclass(frozen=True)
class GovernorSettings(Record):
    """The project's Governor settings (``client.compliance.governor_settings``; docs/governor.md,
    "Project settings")."""

    project_id: str
    available: bool
    """Whether the project's plan offers the Governor (pro and enterprise)."""
    enabled: bool
    """Whether chat requests with ``governor_metadata`` are validated."""
    mode: GovernorMode
    check_prompts: bool = False
    violations: Literal["high", "medium"] = "high"
    """The lowest level that opens a compliance violation: ``high`` or ``medium``."""
    updated_at: Optional[str] = None


@dataclass(frozen=True)
class GovernorAuditPage(Record):
    """A page of GET /api/compliance/governor/audits, newest first: pass ``next_cursor`` as
    ``cursor`` for the next one (None on the last page)."""

    audits: List[GovernorAudit]
    next_cursor: Optional[str] = None


# --- usage -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelUsage(Record):
    """One model of one provider over the period."""

    model: str
    provider: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_cents: float


@dataclass(frozen=True)
class AIUsage(Record):
    """AI calls, tokens and cost over the period, and each model's share."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_cents: float
    models: List[ModelUsage] = field(default_factory=list)


@dataclass(frozen=True)
class CountryUsage(Record):
    country: str
    """ISO 3166-1 alpha-2, or ``unknown``."""
    requests: int


@dataclass(frozen=True)
class DayUsage(Record):
    date: str
    """``YYYY-MM-DD`` (UTC)."""
    requests: int
    errors: int
    error_rate: float


@dataclass(frozen=True)
class KeyUsageSummary(Record):
    """One key's line in the usage report."""

    key_id: str
    name: str
    prefix: str
    type: Literal["gateway", "project"]
    environment: Literal["development", "staging", "production"]
    status: Literal["active", "inactive", "deleted"]
    requests: int
    errors: int
    error_rate: float
    rate_limited: int
    avg_latency_ms: Optional[float]
    last_used_at: Optional[str]
    countries: List[CountryUsage]
    ai: AIUsage


@dataclass(frozen=True)
class UsageReport(Record):
    """GET /api/usage (docs/usage-monitoring.md). ``from_`` is the JSON's ``from`` (also
    ``report["from"]``)."""

    project_id: str
    period: Period
    from_: str = field(metadata={"json": "from"})
    """RFC 3339: UTC midnight of the period's first day."""
    to: str
    """RFC 3339: the time of the report."""
    requests: int
    errors: int
    error_rate: float
    rate_limited: int
    avg_latency_ms: Optional[float] = None
    ai: Optional[AIUsage] = None
    keys: List[KeyUsageSummary] = field(default_factory=list)
    days: List[DayUsage] = field(default_factory=list)
