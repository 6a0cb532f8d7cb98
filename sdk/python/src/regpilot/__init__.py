"""RegPilot Gateway's Python client.

    from regpilot import RegPilot

    client = RegPilot()  # REGPILOT_API_KEY, REGPILOT_BASE_URL, REGPILOT_ENVIRONMENT
    print(client.chat.create(messages=[{"role": "user", "content": "Hello"}]).content)
"""

from ._client import AsyncChatStream, AsyncRegPilot, ChatStream, RegPilot
from ._config import DEFAULT_BASE_URL, __version__
from ._errors import (
    APIConnectionError,
    APIError,
    APIStreamError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    EnvironmentMismatchError,
    GovernorBlockedError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RegPilotError,
)
from .types import (
    AIUsage,
    ChatCompletion,
    ComplianceStatus,
    CountryUsage,
    DayUsage,
    GovernorAudit,
    GovernorAuditPage,
    GovernorFinding,
    GovernorMetadata,
    GovernorResult,
    GovernorSettings,
    HealthStatus,
    KeyUsageSummary,
    ModelUsage,
    Policy,
    Record,
    RegisteredModel,
    RegistrySummary,
    SeverityCounts,
    Usage,
    UsageReport,
    Violation,
)

__all__ = [
    "RegPilot", "AsyncRegPilot", "ChatStream", "AsyncChatStream",
    "DEFAULT_BASE_URL", "__version__",
    # answers
    "Record", "ChatCompletion", "Usage", "HealthStatus", "Violation", "RegisteredModel", "ComplianceStatus",
    "SeverityCounts", "RegistrySummary", "UsageReport", "AIUsage", "ModelUsage", "KeyUsageSummary",
    "CountryUsage", "DayUsage", "GovernorMetadata", "GovernorResult", "GovernorFinding", "Policy",
    "GovernorAudit", "GovernorAuditPage", "GovernorSettings",
    # errors
    "RegPilotError", "ConfigurationError", "EnvironmentMismatchError", "APIConnectionError", "APITimeoutError",
    "APIError", "BadRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError",
    "ConflictError", "RateLimitError", "InternalServerError", "APIStreamError", "GovernorBlockedError",
]
