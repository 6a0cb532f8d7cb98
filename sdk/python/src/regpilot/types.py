"""Types of the RegPilot client's answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, TypedDict, Union

Role = Literal["system", "user", "assistant"]
Quality = Literal["cheap", "balanced", "frontier"]
Mode = Literal["text", "json"]
Period = Literal["day", "week", "month"]
Severity = Literal["low", "medium", "high", "critical"]
RiskLevel = Literal["unacceptable", "high", "limited", "minimal"]


class Message(TypedDict):
    role: Role
    content: Union[str, List[Dict[str, Any]]]


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
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def text(self) -> str:
        return self.content

    def __str__(self) -> str:
        return self.content


class _HealthBase(TypedDict):
    status: str
    authenticated: bool


class HealthStatus(_HealthBase, total=False):
    project_id: str
    key_type: Literal["gateway", "project"]
    environment: Literal["development", "staging", "production"]


class Violation(TypedDict):
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
    resolved_at: Optional[str]
    resolved_by: Optional[str]
    resolution_note: Optional[str]


class RegisteredModel(TypedDict):
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
    archived_at: Optional[str]


class ComplianceStatus(TypedDict):
    project_id: str
    score: int
    status: Literal["compliant", "at_risk", "non_compliant"]
    open_violations: Dict[str, int]
    registry: Dict[str, Any]
    formula: str


UsageReport = Dict[str, Any]
"""GET /api/usage: project_id, period, from, to, requests, errors, error_rate, rate_limited,
avg_latency_ms, ai, keys, days (docs/usage-monitoring.md)."""
