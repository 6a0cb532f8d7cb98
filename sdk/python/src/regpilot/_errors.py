"""The exceptions of the RegPilot client.

    RegPilotError                    anything this package raises
    ├── ConfigurationError           a missing key, an unknown environment, a key/environment mismatch
    │   └── EnvironmentMismatchError
    ├── APIConnectionError           the gateway could not be reached (after the retries)
    │   └── APITimeoutError
    └── APIError                     the gateway answered an error (status, code, message, body)
        ├── BadRequestError          400 (field)
        ├── AuthenticationError      401
        ├── PermissionDeniedError    403 (required)
        ├── NotFoundError            404
        ├── ConflictError            409
        ├── RateLimitError           429 (retry_after, limit)
        ├── InternalServerError      5xx
        ├── APIStreamError           an error event inside a chat stream
        └── GovernorBlockedError     422 GOVERNOR_BLOCKED: the Governor withheld a high-risk answer (rules, governor)

No message, str() or repr() of these ever holds the API key.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional

from .types import GovernorResult


class RegPilotError(Exception):
    """Base class of every exception raised by the RegPilot client."""


class ConfigurationError(RegPilotError, ValueError):
    """The client was constructed with settings that cannot work (raised before any request)."""


class EnvironmentMismatchError(ConfigurationError):
    """The key's environment segment (``sk_prod_…``) disagrees with the client's ``environment``."""

    def __init__(self, message: str, *, key_environment: str, environment: str) -> None:
        super().__init__(message)
        self.key_environment = key_environment
        self.environment = environment


class APIConnectionError(RegPilotError):
    """The request did not get an answer: connection refused or reset, DNS failure, …"""

    def __init__(self, message: str = "Connection error") -> None:
        super().__init__(message)
        self.message = message


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, message: str = "Request timed out") -> None:
        super().__init__(message)


class APIError(RegPilotError):
    """The gateway answered with an error status.

    Attributes: ``status`` (HTTP status, also ``status_code``), ``code`` (the gateway's error code,
    e.g. ``INVALID_API_KEY``; README.md, "Errors"), ``message`` (the body's ``error``), ``body`` (the parsed JSON
    body, or the text), ``headers`` (the response headers)."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int],
        code: Optional[str] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        prefix = " ".join(str(p) for p in (status, code) if p is not None)
        super().__init__(f"{prefix}: {message}" if prefix else message)

    @property
    def status_code(self) -> Optional[int]:
        return self.status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class BadRequestError(APIError):
    """400: the body names the bad ``field``."""

    @property
    def field(self) -> Optional[str]:
        return self.body.get("field") if isinstance(self.body, dict) else None


class AuthenticationError(APIError):
    """401: the key is missing, malformed, unknown, inactive, deleted or expired."""


class PermissionDeniedError(APIError):
    """403: a valid key without the scope the route needs (named in ``required``)."""

    @property
    def required(self) -> Optional[str]:
        return self.body.get("required") if isinstance(self.body, dict) else None


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409 (e.g. changing an archived model)."""


class RateLimitError(APIError):
    """429: ``retry_after`` (seconds, from the ``Retry-After`` header or the body) and ``limit``
    (``burst`` or ``daily``)."""

    @property
    def retry_after(self) -> Optional[float]:
        if isinstance(self.body, dict) and isinstance(self.body.get("retry_after"), (int, float)):
            return float(self.body["retry_after"])
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    @property
    def limit(self) -> Optional[str]:
        return self.body.get("limit") if isinstance(self.body, dict) else None


class InternalServerError(APIError):
    """5xx: the gateway or its upstream failed (502 UPSTREAM_ERROR, 503 UPSTREAM_UNAVAILABLE, …)."""


class APIStreamError(APIError):
    """An ``{"type":"error"}`` event ended a chat stream after it had begun."""


class GovernorBlockedError(APIError):
    """422 ``GOVERNOR_BLOCKED``: a project in the Governor's ``block`` mode withheld a high-risk
    answer. ``rules`` names the findings' rule ids (e.g. ``["pii.card"]``), ``governor`` holds the
    Governor's result (score, level, audit id, findings), when the gateway sent it. Also raised
    when a chat stream ends with an error event of that code."""

    @property
    def rules(self) -> List[str]:
        rules = self.body.get("rules") if isinstance(self.body, dict) else None
        return [str(r) for r in rules] if isinstance(rules, list) else []

    @property
    def governor(self) -> Optional[GovernorResult]:
        data = self.body.get("governor") if isinstance(self.body, dict) else None
        return GovernorResult.from_json(data) if isinstance(data, dict) else None


GOVERNOR_BLOCKED = "GOVERNOR_BLOCKED"


def error_class(status: int, code: Optional[str]) -> type[APIError]:
    """The exception class of an error answer: by its code where the code says more than the
    status (``GOVERNOR_BLOCKED``), else by the status."""
    if code == GOVERNOR_BLOCKED:
        return GovernorBlockedError
    return error_for_status(status)


def error_for_status(status: int) -> type[APIError]:
    if status == 400:
        return BadRequestError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return InternalServerError
    return APIError
