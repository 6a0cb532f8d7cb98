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
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RegPilotError,
)
from .types import ChatCompletion, Usage

__all__ = [
    "RegPilot", "AsyncRegPilot", "ChatStream", "AsyncChatStream", "ChatCompletion", "Usage",
    "DEFAULT_BASE_URL", "__version__",
    "RegPilotError", "ConfigurationError", "EnvironmentMismatchError", "APIConnectionError", "APITimeoutError",
    "APIError", "BadRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError",
    "ConflictError", "RateLimitError", "InternalServerError", "APIStreamError",
]
