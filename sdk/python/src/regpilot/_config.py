"""Settings shared by the sync and async clients: key, base URL, environment, retry policy."""

from __future__ import annotations

import email.utils
import os
import random
import re
import time
from typing import Any, Mapping, Optional

from ._errors import APIError, ConfigurationError, EnvironmentMismatchError, error_class

__version__ = "0.1.0"

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
# Backoff without Retry-After: 0.5 s, 1 s, 2 s, … capped, with ±25 % jitter.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A Retry-After beyond this is not waited for: the error is raised instead.
MAX_RETRY_AFTER = 60.0

ENVIRONMENTS = {
    "development": "development", "dev": "development",
    "staging": "staging", "stg": "staging",
    "production": "production", "prod": "production",
}
_SEGMENT_TO_ENV = {"dev": "development", "stg": "staging", "prod": "production"}
_KEY_SHAPE = re.compile(r"^(sk|pk)_(dev|stg|prod)_")


def key_hint(api_key: str) -> str:
    """What may be shown of a key: its type and environment segment, e.g. ``sk_prod_…``."""
    m = _KEY_SHAPE.match(api_key)
    return f"{m.group(0)}…" if m else "…"


def resolve_settings(
    api_key: Optional[str], base_url: Optional[str], environment: Optional[str]
) -> tuple[str, str, Optional[str]]:
    """The key, base URL and environment, from the arguments or REGPILOT_* variables. Raises
    ConfigurationError for a missing key or an unknown environment, and EnvironmentMismatchError
    when the key's segment disagrees with the environment — all before any request."""
    if api_key is None:
        api_key = os.environ.get("REGPILOT_API_KEY")
    if api_key is not None:
        api_key = api_key.strip()
    if not api_key:
        raise ConfigurationError(
            "No RegPilot API key: pass api_key=... to RegPilot() or set the REGPILOT_API_KEY environment variable"
        )
    if not base_url:
        base_url = os.environ.get("REGPILOT_BASE_URL") or DEFAULT_BASE_URL
    base_url = base_url.rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"base_url must start with http:// or https:// (got {base_url!r})")

    if environment is None:
        environment = os.environ.get("REGPILOT_ENVIRONMENT") or None
    env: Optional[str] = None
    if environment is not None:
        env = ENVIRONMENTS.get(environment.strip().lower())
        if env is None:
            raise ConfigurationError(
                f"Unknown environment {environment!r}: use development, staging or production (or dev, stg, prod)"
            )
    m = _KEY_SHAPE.match(api_key)
    if env is not None and m is not None:
        key_env = _SEGMENT_TO_ENV[m.group(2)]
        if key_env != env:
            raise EnvironmentMismatchError(
                f"The API key is a {key_env} key ({key_hint(api_key)}) but the client's environment is "
                f"{env!r}: refusing to use it. Use a {env} key, or fix REGPILOT_ENVIRONMENT / environment=.",
                key_environment=key_env,
                environment=env,
            )
    if env is None and m is not None:
        env = _SEGMENT_TO_ENV[m.group(2)]
    return api_key, base_url, env


def scrub(text: str, api_key: str) -> str:
    """`text` without the key (defence in depth: the gateway never echoes keys)."""
    return text.replace(api_key, key_hint(api_key)) if api_key and api_key in text else text


def make_error(status: int, body: Any, headers: Mapping[str, str], api_key: str) -> APIError:
    code = None
    message = f"HTTP {status}"
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # OpenAI's shape (/v1 routes)
            message = str(err.get("message") or message)
            code = body.get("code") or err.get("code")
        elif err is not None:
            message = str(err)
            code = body.get("code")
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:500]
    return error_class(status, code if isinstance(code, str) else None)(
        scrub(message, api_key), status=status, code=code, body=body, headers=headers
    )


def should_retry_status(status: int) -> bool:
    # 501 NOT_IMPLEMENTED is permanent; every other 5xx and 429 may pass.
    return status == 429 or (status >= 500 and status != 501)


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_delay(attempt: int, retry_after: Optional[float]) -> Optional[float]:
    """Seconds to wait before retry number `attempt` (0-based), or None to give up (a
    Retry-After longer than MAX_RETRY_AFTER). Honours Retry-After: never retries sooner,
    and adds a little jitter on top so clients refused together do not come back together."""
    if retry_after is not None:
        if retry_after > MAX_RETRY_AFTER:
            return None
        return retry_after + random.uniform(0.0, 0.1 * max(retry_after, 0.5))
    base: float = min(INITIAL_RETRY_DELAY * (2 ** attempt), MAX_RETRY_DELAY)
    return base * random.uniform(0.75, 1.25)


def user_agent() -> str:
    return f"regpilot-python/{__version__}"
