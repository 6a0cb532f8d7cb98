"""The RegPilot clients: ``RegPilot`` (sync) and ``AsyncRegPilot`` (asyncio), both on httpx."""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import time
from typing import (
    Any, AsyncIterator, Dict, Iterable, Iterator, List, Literal, Mapping, Optional, Sequence, Type, TypeVar, Union,
    overload,
)

import httpx

from ._config import (
    DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, key_hint, make_error, parse_retry_after, resolve_settings,
    retry_delay, scrub, should_retry_status, user_agent,
)
from ._errors import GOVERNOR_BLOCKED, APIConnectionError, APIError, APIStreamError, APITimeoutError, GovernorBlockedError
from .types import (
    ChatCompletion, ComplianceStatus, GovernorAudit, GovernorAuditPage, GovernorMetadata, GovernorMode, GovernorResult,
    GovernorRiskLevel, GovernorSettings, HealthStatus, Message, Mode, Period, Policy, PolicyAction, PolicyAppliesTo, Quality, Record,
    RegisteredModel, RiskLevel, Severity, Usage, UsageReport, Violation,
)

_NOT_GIVEN: Any = object()
_R = TypeVar("_R", bound=Record)
MetadataArg = Optional[Union[GovernorMetadata, Mapping[str, Any]]]


def _drop_unset(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v is not _NOT_GIVEN}


def _drop_not_given(d: Dict[str, Any]) -> Dict[str, Any]:
    """For a PATCH: what was passed, None included (it clears the field)."""
    return {k: v for k, v in d.items() if v is not _NOT_GIVEN}


def _as_record(cls: Type[_R], body: Any, response: httpx.Response, key: Optional[str] = None) -> Any:
    """The answer's JSON object as a record of `cls` (with `key`: the list under that key, as
    records). An answer of another shape raises APIError rather than a bare KeyError."""
    data = body.get(key) if key is not None and isinstance(body, dict) else body
    if key is not None and isinstance(data, list) and all(isinstance(x, dict) for x in data):
        return [cls.from_json(x) for x in data]
    if key is None and isinstance(data, dict):
        return cls.from_json(data)
    what = f"a JSON object with a {key!r} list" if key else "a JSON object"
    raise APIError(
        f"The gateway's answer to {response.request.method} {response.request.url.path} is not {what}",
        status=response.status_code, body=body, headers=response.headers,
    )


def _since(value: Union[str, _dt.datetime, None]) -> Optional[str]:
    """A `since` bound as RFC 3339 (a naive datetime is taken as UTC)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _audit_params(level: Optional[str], since: Union[str, _dt.datetime, None], limit: Optional[int],
                  cursor: Optional[str]) -> Dict[str, Any]:
    return {"level": level, "since": _since(since), "limit": None if limit is None else str(int(limit)),
            "cursor": cursor}


def _chat_body(
    messages: Sequence[Message], quality: Optional[str], model: Optional[str], temperature: Optional[float],
    max_tokens: Optional[int], mode: Optional[str], governor_metadata: MetadataArg,
) -> Dict[str, Any]:
    return _drop_unset({
        "messages": list(messages), "quality": quality, "model": model, "temperature": temperature,
        "maxTokens": max_tokens, "mode": mode,
        "governorMetadata": None if governor_metadata is None else dict(governor_metadata),
    })


def _governor(data: Any, headers: Mapping[str, str]) -> Optional[GovernorResult]:
    """The Governor's result: the body's `governor` object, else the `x-governor-*` headers."""
    body = data.get("governor") if isinstance(data, dict) else None
    if isinstance(body, dict):
        return GovernorResult.from_json(body)
    return GovernorResult.from_headers(headers)


def _completion(data: Dict[str, Any], headers: httpx.Headers) -> ChatCompletion:
    return ChatCompletion(
        content=data.get("text", ""),
        model=data.get("model", headers.get("x-regpilot-model", "")),
        provider=data.get("provider", headers.get("x-regpilot-provider", "")),
        usage=Usage.from_json(data.get("usage") or {}),
        finish_reason=data.get("finishReason"),
        cache_hit=bool(data.get("cacheHit", False)),
        test_mode=headers.get("x-regpilot-test-mode", "").lower() == "true",
        warning=headers.get("x-regpilot-warning"),
        governor=_governor(data, headers),
        raw=data,
    )


def _parse_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return response.text


def _sse_payloads(lines: Iterable[str]) -> Iterator[Dict[str, Any]]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        if payload:
            yield json.loads(payload)


class _StreamState:
    """What a chat stream has seen so far: text, and after the end the usage event."""

    def __init__(self, response: httpx.Response, api_key: str) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.model: str = response.headers.get("x-regpilot-model", "")
        self.provider: str = response.headers.get("x-regpilot-provider", "")
        self.test_mode: bool = response.headers.get("x-regpilot-test-mode", "").lower() == "true"
        self.warning: Optional[str] = response.headers.get("x-regpilot-warning")
        self.usage: Optional[Usage] = None
        self.finish_reason: Optional[str] = None
        self.cache_hit = False
        self.governor: Optional[GovernorResult] = None
        self._governor_event: Optional[Dict[str, Any]] = None
        self.parts: List[str] = []
        self.done = False
        self._api_key = api_key

    def handle(self, event: Dict[str, Any]) -> Optional[str]:
        kind = event.get("type")
        if kind == "chunk":
            text = str(event.get("content", ""))
            self.parts.append(text)
            return text
        if kind == "usage":
            self.usage = Usage.from_json(event.get("usage") or {})
            self.model = event.get("model", self.model)
            self.provider = event.get("provider", self.provider)
            self.finish_reason = event.get("finishReason")
            self.cache_hit = bool(event.get("cacheHit", False))
            return None
        if kind == "governor":
            self._governor_event = {k: v for k, v in event.items() if k != "type"}
            self.governor = GovernorResult.from_json(self._governor_event)
            return None
        if kind == "error":
            blocked = event.get("code") == GOVERNOR_BLOCKED
            cls = GovernorBlockedError if blocked else APIStreamError
            raise cls(
                scrub(str(event.get("error") or "The stream failed"), self._api_key),
                status=self.status, code=event.get("code"), body=self._blocked_body(event) if blocked else event,
                headers=self.headers,
            )
        return None


    def _blocked_body(self, event: Dict[str, Any]) -> Dict[str, Any]:
        """A withheld stream ends with the ``governor`` event, then the error event
        (docs/governor.md, "Answers"): the error's body gains that result and its rule ids, as a
        422 ``GOVERNOR_BLOCKED`` body carries them."""
        body = dict(event)
        g = self._governor_event
        if g is not None:
            body.setdefault("governor", g)
            if "rules" not in body:
                findings = g.get("findings") if isinstance(g.get("findings"), list) else []
                rules: List[str] = []
                for f in findings:
                    if isinstance(f, dict) and not f.get("shadow") and isinstance(f.get("rule"), str):
                        if f["rule"] not in rules:
                            rules.append(f["rule"])
                body["rules"] = rules
        return body


class _StreamBase:
    _state: _StreamState

    @property
    def content(self) -> str:
        """The text received so far (all of it once the stream is consumed)."""
        return "".join(self._state.parts)

    @property
    def usage(self) -> Optional[Usage]:
        """Token counts and cost, from the stream's final usage event (None until then)."""
        return self._state.usage

    @property
    def model(self) -> str:
        return self._state.model

    @property
    def provider(self) -> str:
        return self._state.provider

    @property
    def finish_reason(self) -> Optional[str]:
        return self._state.finish_reason

    @property
    def test_mode(self) -> bool:
        return self._state.test_mode

    @property
    def warning(self) -> Optional[str]:
        return self._state.warning

    @property
    def governor(self) -> Optional[GovernorResult]:
        """The Governor's result, from the stream's ``governor`` event: None until the stream is
        consumed, and for a request without ``governor_metadata``."""
        return self._state.governor

    def __repr__(self) -> str:
        return f"<{type(self).__name__} model={self.model!r} done={self._state.done}>"


class ChatStream(_StreamBase):
    """A streamed chat answer (POST /api/ai/chat): iterate it for the text chunks (str). After
    the iteration, ``usage``, ``model``, ``provider``, ``finish_reason`` and ``content`` hold the
    totals, and ``governor`` the Governor's result when the request asked for it. Use it as a
    context manager (or call ``close()``) to end it early."""

    def __init__(self, response: httpx.Response, api_key: str) -> None:
        self._response = response
        self._state = _StreamState(response, api_key)

    def __iter__(self) -> Iterator[str]:
        try:
            for event in _sse_payloads(self._response.iter_lines()):
                text = self._state.handle(event)
                if text is not None:
                    yield text
            self._state.done = True
        except httpx.TimeoutException as e:
            raise APITimeoutError("The chat stream timed out") from e
        except httpx.TransportError as e:
            raise APIConnectionError(f"The chat stream was interrupted: {type(e).__name__}") from e
        finally:
            self._response.close()

    def text(self) -> str:
        """Consumes the stream and returns the whole text."""
        for _ in self:
            pass
        return self.content

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> "ChatStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncChatStream(_StreamBase):
    """The asyncio form of ChatStream: ``async for chunk in stream``."""

    def __init__(self, response: httpx.Response, api_key: str) -> None:
        self._response = response
        self._state = _StreamState(response, api_key)

    async def __aiter__(self) -> AsyncIterator[str]:
        try:
            async for line in self._response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                if not payload:
                    continue
                text = self._state.handle(json.loads(payload))
                if text is not None:
                    yield text
            self._state.done = True
        except httpx.TimeoutException as e:
            raise APITimeoutError("The chat stream timed out") from e
        except httpx.TransportError as e:
            raise APIConnectionError(f"The chat stream was interrupted: {type(e).__name__}") from e
        finally:
            await self._response.aclose()

    async def text(self) -> str:
        async for _ in self:
            pass
        return self.content

    async def close(self) -> None:
        await self._response.aclose()

    async def __aenter__(self) -> "AsyncChatStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# --- the clients ---------------------------------------------------------------------------------


class _ClientBase:
    def __init__(
        self, api_key: Optional[str], base_url: Optional[str], environment: Optional[str],
        timeout: Optional[float], max_retries: Optional[int],
    ) -> None:
        key, url, env = resolve_settings(api_key, base_url, environment)
        self.__api_key = key
        self.base_url: str = url
        self.environment: Optional[str] = env
        """development, staging or production: as given, else the key's own segment."""
        self.timeout: float = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        self.max_retries: int = DEFAULT_MAX_RETRIES if max_retries is None else max(0, int(max_retries))

    @property
    def _api_key(self) -> str:
        return self.__api_key

    @property
    def api_key_hint(self) -> str:
        """The part of the key that may be shown, e.g. ``sk_dev_…``."""
        return key_hint(self.__api_key)

    def _headers(self, stream: bool) -> Dict[str, str]:
        return {
            "X-API-Key": self.__api_key,
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": user_agent(),
        }

    def _url(self, path: str) -> str:
        return self.base_url + path

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(base_url={self.base_url!r}, environment={self.environment!r}, "
                f"api_key={self.api_key_hint!r})")

    def __getstate__(self) -> None:
        raise TypeError(f"{type(self).__name__} cannot be pickled (it holds an API key)")


class RegPilot(_ClientBase):
    """The RegPilot client.

    ``RegPilot(api_key=None, base_url=None, environment=None, timeout=60.0, max_retries=2)``:
    the key falls back to REGPILOT_API_KEY, the base URL to REGPILOT_BASE_URL and then
    ``http://127.0.0.1:8080``, the environment to REGPILOT_ENVIRONMENT. Raises
    ConfigurationError without a key, EnvironmentMismatchError when the key's environment
    (``sk_prod_…``) is not ``environment``."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        environment: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        http_client: Optional[httpx.Client] = None,
    ) -> None:
        super().__init__(api_key, base_url, environment, timeout, max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout, follow_redirects=False)
        self.chat = Chat(self)
        self.health = Health(self)
        self.compliance = Compliance(self)
        self.usage = UsageResource(self)

    def _send(self, method: str, path: str, *, json_body: Any = None, params: Optional[Dict[str, Any]] = None,
              stream: bool = False) -> httpx.Response:
        """Sends with retries; returns a successful response (streamed: still open) or raises."""
        attempt = 0
        while True:
            request = self._http.build_request(
                method, self._url(path), json=json_body, params=_drop_unset(params or {}) or None,
                headers=self._headers(stream), timeout=self.timeout,
            )
            try:
                response = self._http.send(request, stream=stream, follow_redirects=False)
            except httpx.TimeoutException as e:
                error: Exception = APITimeoutError(f"{method} {path} timed out after {self.timeout} s")
                cause: Exception = e
                retry_after = None
            except httpx.TransportError as e:
                error = APIConnectionError(f"Could not reach the gateway at {self.base_url} ({type(e).__name__})")
                cause = e
                retry_after = None
            else:
                if response.status_code < 400:
                    return response
                if stream:
                    response.read()
                response.close()
                error = make_error(response.status_code, _parse_body(response), response.headers, self._api_key)
                cause = None  # type: ignore[assignment]
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if not should_retry_status(response.status_code):
                    raise error
            delay = retry_delay(attempt, retry_after) if attempt < self.max_retries else None
            if delay is None:
                raise error from cause
            attempt += 1
            time.sleep(delay)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = self._send(method, path, **kw)
        return _parse_body(response)

    def _record(self, cls: Type[_R], method: str, path: str, **kw: Any) -> _R:
        response = self._send(method, path, **kw)
        return _as_record(cls, _parse_body(response), response)  # type: ignore[no-any-return]

    def _records(self, cls: Type[_R], key: str, method: str, path: str, **kw: Any) -> List[_R]:
        response = self._send(method, path, **kw)
        return _as_record(cls, _parse_body(response), response, key)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "RegPilot":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRegPilot(_ClientBase):
    """The asyncio client: the same resources as RegPilot, every call awaited."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        environment: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        super().__init__(api_key, base_url, environment, timeout, max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        self.chat = AsyncChat(self)
        self.health = AsyncHealth(self)
        self.compliance = AsyncCompliance(self)
        self.usage = AsyncUsageResource(self)

    async def _send(self, method: str, path: str, *, json_body: Any = None,
                    params: Optional[Dict[str, Any]] = None, stream: bool = False) -> httpx.Response:
        attempt = 0
        while True:
            request = self._http.build_request(
                method, self._url(path), json=json_body, params=_drop_unset(params or {}) or None,
                headers=self._headers(stream), timeout=self.timeout,
            )
            try:
                response = await self._http.send(request, stream=stream, follow_redirects=False)
            except httpx.TimeoutException as e:
                error: Exception = APITimeoutError(f"{method} {path} timed out after {self.timeout} s")
                cause: Exception = e
                retry_after = None
            except httpx.TransportError as e:
                error = APIConnectionError(f"Could not reach the gateway at {self.base_url} ({type(e).__name__})")
                cause = e
                retry_after = None
            else:
                if response.status_code < 400:
                    return response
                if stream:
                    await response.aread()
                await response.aclose()
                error = make_error(response.status_code, _parse_body(response), response.headers, self._api_key)
                cause = None  # type: ignore[assignment]
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if not should_retry_status(response.status_code):
                    raise error
            delay = retry_delay(attempt, retry_after) if attempt < self.max_retries else None
            if delay is None:
                raise error from cause
            attempt += 1
            await asyncio.sleep(delay)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self._send(method, path, **kw)
        return _parse_body(response)

    async def _record(self, cls: Type[_R], method: str, path: str, **kw: Any) -> _R:
        response = await self._send(method, path, **kw)
        return _as_record(cls, _parse_body(response), response)  # type: ignore[no-any-return]

    async def _records(self, cls: Type[_R], key: str, method: str, path: str, **kw: Any) -> List[_R]:
        response = await self._send(method, path, **kw)
        return _as_record(cls, _parse_body(response), response, key)  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncRegPilot":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# --- resources (sync) ---------------------------------------------------------------------------


class Chat:
    def __init__(self, client: RegPilot) -> None:
        self._client = client

    @overload
    def create(self, *, messages: Sequence[Message], stream: Literal[False] = False, quality: Optional[Quality] = None,
               model: Optional[str] = None, temperature: Optional[float] = None, max_tokens: Optional[int] = None,
               mode: Optional[Mode] = None, governor_metadata: MetadataArg = None) -> ChatCompletion: ...

    @overload
    def create(self, *, messages: Sequence[Message], stream: Literal[True], quality: Optional[Quality] = None,
               model: Optional[str] = None, temperature: Optional[float] = None, max_tokens: Optional[int] = None,
               mode: Optional[Mode] = None, governor_metadata: MetadataArg = None) -> ChatStream: ...

    def create(self, *, messages: Sequence[Message], stream: bool = False, quality: Optional[Quality] = None,
               model: Optional[str] = None, temperature: Optional[float] = None, max_tokens: Optional[int] = None,
               mode: Optional[Mode] = None, governor_metadata: MetadataArg = None,
               ) -> Union[ChatCompletion, ChatStream]:
        """A chat completion through the gateway. ``stream=False`` (default): POST /api/ai/complete,
        a ChatCompletion. ``stream=True``: POST /api/ai/chat, a ChatStream yielding text chunks.
        ``governor_metadata`` (camelCase keys, sent as given: ``actionType``, ``senderId``, …) asks
        the Governor to validate the answer: its result is ``.governor``; a withheld answer raises
        GovernorBlockedError."""
        body = _chat_body(messages, quality, model, temperature, max_tokens, mode, governor_metadata)
        if stream:
            response = self._client._send("POST", "/api/ai/chat", json_body=body, stream=True)
            return ChatStream(response, self._client._api_key)
        response = self._client._send("POST", "/api/ai/complete", json_body=body)
        return _completion(_parse_body(response), response.headers)


class Health:
    def __init__(self, client: RegPilot) -> None:
        self._client = client

    def check(self) -> HealthStatus:
        """GET /api/health with the key: status, authenticated, project_id, key_type, environment."""
        return self._client._record(HealthStatus, "GET", "/api/health")


class Violations:
    def __init__(self, client: RegPilot) -> None:
        self._client = client

    def list(self, *, status: Optional[Literal["open", "resolved"]] = None,
             severity: Optional[Severity] = None) -> List[Violation]:
        return self._client._records(Violation, "violations", "GET", "/api/compliance/violations",
                                     params={"status": status, "severity": severity})

    def create(self, *, severity: Severity, title: Optional[str] = None, description: Optional[str] = None,
               category: Optional[str] = None, model_id: Optional[str] = None) -> Violation:
        return self._client._record(Violation, "POST", "/api/compliance/violations", json_body=_drop_unset({
            "title": title, "severity": severity, "description": description, "category": category,
            "model_id": model_id}))

    def update(self, violation_id: str, *, status: Optional[Literal["open", "resolved"]] = None,
               note: Optional[str] = None) -> Violation:
        return self._client._record(Violation, "PATCH", f"/api/compliance/violations/{_seg(violation_id)}",
                                    json_body=_drop_unset({"status": status, "note": note}))

    def resolve(self, violation_id: str, note: str) -> Violation:
        return self.update(violation_id, status="resolved", note=note)

    def reopen(self, violation_id: str) -> Violation:
        return self.update(violation_id, status="open")


class Models:
    def __init__(self, client: RegPilot) -> None:
        self._client = client

    def list(self, *, status: Optional[Literal["active", "archived", "all"]] = None) -> List[RegisteredModel]:
        return self._client._records(RegisteredModel, "models", "GET", "/api/compliance/models",
                                     params={"status": status})

    def get(self, model_id: str) -> RegisteredModel:
        return self._client._record(RegisteredModel, "GET", f"/api/compliance/models/{_seg(model_id)}")

    def register(self, *, name: str, risk_level: RiskLevel, provider: Optional[str] = None,
                 version: Optional[str] = None, purpose: Optional[str] = None,
                 owner: Optional[str] = None) -> RegisteredModel:
        return self._client._record(RegisteredModel, "POST", "/api/compliance/models", json_body=_drop_unset({
            "name": name, "risk_level": risk_level, "provider": provider, "version": version,
            "purpose": purpose, "owner": owner}))

    def update(self, model_id: str, *, name: Optional[str] = None, risk_level: Optional[RiskLevel] = None,
               provider: Optional[str] = None, version: Optional[str] = None, purpose: Optional[str] = None,
               owner: Optional[str] = None) -> RegisteredModel:
        return self._client._record(
            RegisteredModel, "PATCH", f"/api/compliance/models/{_seg(model_id)}", json_body=_drop_unset({
                "name": name, "risk_level": risk_level, "provider": provider, "version": version,
                "purpose": purpose, "owner": owner}))

    def archive(self, model_id: str) -> RegisteredModel:
        return self._client._record(RegisteredModel, "POST", f"/api/compliance/models/{_seg(model_id)}/archive")


class Policies:
    """The project's custom Governor policies (GET/POST /api/compliance/policies, PATCH
    /api/compliance/policies/{id}): ``compliance:read`` to list, ``compliance:write`` to change."""

    def __init__(self, client: RegPilot) -> None:
        self._client = client

    def list(self) -> List[Policy]:
        return self._client._records(Policy, "policies", "GET", "/api/compliance/policies")

    def create(self, *, name: str, action: PolicyAction, keywords: Optional[Sequence[str]] = None,
               pattern: Optional[str] = None, applies_to: Optional[PolicyAppliesTo] = None,
               severity: Optional[Severity] = None, replacement: Optional[str] = None,
               appendix: Optional[str] = None, enabled: Optional[bool] = None,
               shadow: Optional[bool] = None) -> Policy:
        """A new policy: ``keywords`` or a regular expression ``pattern``; what it ``applies_to``
        (``response``, ``prompt``, ``both``); its ``action`` and ``severity``; the ``replacement`` text
        of a ``replace`` policy or the ``appendix`` of an ``append`` one. ``name`` and ``action`` are
        required; other arguments left out take the gateway's defaults (``applies_to`` response,
        ``severity`` medium, enabled, not shadow). A pattern that does not compile is a BadRequestError naming ``pattern``."""
        return self._client._record(Policy, "POST", "/api/compliance/policies", json_body=_policy_body(
            name=name, action=action, keywords=keywords, pattern=pattern, applies_to=applies_to,
            severity=severity, replacement=replacement, appendix=appendix, enabled=enabled, shadow=shadow))

    def update(self, policy_id: str, *, name: str = _NOT_GIVEN, action: PolicyAction = _NOT_GIVEN,
               keywords: Sequence[str] = _NOT_GIVEN, pattern: Optional[str] = _NOT_GIVEN,
               applies_to: PolicyAppliesTo = _NOT_GIVEN, severity: Severity = _NOT_GIVEN,
               replacement: Optional[str] = _NOT_GIVEN, appendix: Optional[str] = _NOT_GIVEN,
               enabled: bool = _NOT_GIVEN, shadow: bool = _NOT_GIVEN) -> Policy:
        """Changes the fields passed (the gateway raises the policy's ``version``); ``None`` sends a
        JSON null, which clears ``pattern``, ``replacement`` or ``appendix``."""
        return self._client._record(Policy, "PATCH", f"/api/compliance/policies/{_seg(policy_id)}",
                                    json_body=_policy_patch(
                                        name=name, action=action, keywords=keywords, pattern=pattern,
                                        applies_to=applies_to, severity=severity, replacement=replacement,
                                        appendix=appendix, enabled=enabled, shadow=shadow))


class GovernorAudits:
    """The Governor's audit entries of the project (GET /api/compliance/governor/audits, newest
    first, ``compliance:read``)."""

    def __init__(self, client: RegPilot) -> None:
        self._client = client

    def list(self, *, level: Optional[GovernorRiskLevel] = None, since: Union[str, _dt.datetime, None] = None,
             limit: Optional[int] = None, cursor: Optional[str] = None) -> GovernorAuditPage:
        """One page: ``level`` (low, medium, high), ``since`` (RFC 3339 or a datetime; a naive one is
        UTC), ``limit``, and ``cursor`` (a page's ``next_cursor``)."""
        return self._client._record(GovernorAuditPage, "GET", "/api/compliance/governor/audits",
                                    params=_audit_params(level, since, limit, cursor))

    def iter_all(self, *, level: Optional[GovernorRiskLevel] = None, since: Union[str, _dt.datetime, None] = None,
                 limit: Optional[int] = None) -> Iterator[GovernorAudit]:
        """Every matching entry, page after page (``limit`` is the page size)."""
        cursor: Optional[str] = None
        while True:
            page = self.list(level=level, since=since, limit=limit, cursor=cursor)
            yield from page.audits
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor


class GovernorSettingsResource:
    """The project's Governor settings (GET/PATCH /api/compliance/governor/settings):
    ``compliance:read`` to read, ``compliance:write`` to change."""

    def __init__(self, client: RegPilot) -> None:
        self._client = client

    def get(self) -> GovernorSettings:
        return self._client._record(GovernorSettings, "GET", "/api/compliance/governor/settings")

    def update(self, *, mode: Optional[GovernorMode] = None, enabled: Optional[bool] = None,
               check_prompts: Optional[bool] = None,
               violations: Optional[Literal["high", "medium"]] = None) -> GovernorSettings:
        """Changes the settings passed (the others stay): ``mode`` (``sanitize``, ``block``,
        ``monitor``), ``enabled`` (pro projects; an enterprise project cannot switch it off),
        ``check_prompts``, ``violations``. Every instance applies it within a second."""
        return self._client._record(GovernorSettings, "PATCH", "/api/compliance/governor/settings",
                                    json_body=_drop_unset({"mode": mode, "enabled": enabled,
                                                           "check_prompts": check_prompts,
                                                           "violations": violations}))


class Compliance:
    def __init__(self, client: RegPilot) -> None:
        self._client = client
        self.violations = Violations(client)
        self.models = Models(client)
        self.policies = Policies(client)
        self.governor_audits = GovernorAudits(client)
        self.governor_settings = GovernorSettingsResource(client)

    def status(self) -> ComplianceStatus:
        """GET /api/compliance/status: the 0–100 score, its status and the counts behind it."""
        return self._client._record(ComplianceStatus, "GET", "/api/compliance/status")


class UsageResource:
    def __init__(self, client: RegPilot) -> None:
        self._client = client

    def get(self, period: Period = "day") -> UsageReport:
        """GET /api/usage?period=day|week|month: the project's requests, errors, AI calls, per key and day."""
        return self._client._record(UsageReport, "GET", "/api/usage", params={"period": period})


# --- resources (async) --------------------------------------------------------------------------


class AsyncChat:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client

    @overload
    async def create(self, *, messages: Sequence[Message], stream: Literal[False] = False,
                     quality: Optional[Quality] = None, model: Optional[str] = None,
                     temperature: Optional[float] = None, max_tokens: Optional[int] = None,
                     mode: Optional[Mode] = None, governor_metadata: MetadataArg = None,
                     ) -> ChatCompletion: ...

    @overload
    async def create(self, *, messages: Sequence[Message], stream: Literal[True], quality: Optional[Quality] = None,
                     model: Optional[str] = None, temperature: Optional[float] = None,
                     max_tokens: Optional[int] = None, mode: Optional[Mode] = None,
                     governor_metadata: MetadataArg = None) -> AsyncChatStream: ...

    async def create(self, *, messages: Sequence[Message], stream: bool = False, quality: Optional[Quality] = None,
                     model: Optional[str] = None, temperature: Optional[float] = None,
                     max_tokens: Optional[int] = None, mode: Optional[Mode] = None,
                     governor_metadata: MetadataArg = None,
                     ) -> Union[ChatCompletion, AsyncChatStream]:
        body = _chat_body(messages, quality, model, temperature, max_tokens, mode, governor_metadata)
        if stream:
            response = await self._client._send("POST", "/api/ai/chat", json_body=body, stream=True)
            return AsyncChatStream(response, self._client._api_key)
        response = await self._client._send("POST", "/api/ai/complete", json_body=body)
        return _completion(_parse_body(response), response.headers)


class AsyncHealth:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client

    async def check(self) -> HealthStatus:
        return await self._client._record(HealthStatus, "GET", "/api/health")


class AsyncViolations:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client

    async def list(self, *, status: Optional[Literal["open", "resolved"]] = None,
                   severity: Optional[Severity] = None) -> List[Violation]:
        return await self._client._records(Violation, "violations", "GET", "/api/compliance/violations",
                                           params={"status": status, "severity": severity})

    async def create(self, *, severity: Severity, title: Optional[str] = None, description: Optional[str] = None,
                     category: Optional[str] = None, model_id: Optional[str] = None) -> Violation:
        return await self._client._record(Violation, "POST", "/api/compliance/violations", json_body=_drop_unset({
            "title": title, "severity": severity, "description": description, "category": category,
            "model_id": model_id}))

    async def update(self, violation_id: str, *, status: Optional[Literal["open", "resolved"]] = None,
                     note: Optional[str] = None) -> Violation:
        return await self._client._record(Violation, "PATCH", f"/api/compliance/violations/{_seg(violation_id)}",
                                          json_body=_drop_unset({"status": status, "note": note}))

    async def resolve(self, violation_id: str, note: str) -> Violation:
        return await self.update(violation_id, status="resolved", note=note)

    async def reopen(self, violation_id: str) -> Violation:
        return await self.update(violation_id, status="open")


class AsyncModels:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client

    async def list(self, *, status: Optional[Literal["active", "archived", "all"]] = None) -> List[RegisteredModel]:
        return await self._client._records(RegisteredModel, "models", "GET", "/api/compliance/models",
                                           params={"status": status})

    async def get(self, model_id: str) -> RegisteredModel:
        return await self._client._record(RegisteredModel, "GET", f"/api/compliance/models/{_seg(model_id)}")

    async def register(self, *, name: str, risk_level: RiskLevel, provider: Optional[str] = None,
                       version: Optional[str] = None, purpose: Optional[str] = None,
                       owner: Optional[str] = None) -> RegisteredModel:
        return await self._client._record(RegisteredModel, "POST", "/api/compliance/models", json_body=_drop_unset({
            "name": name, "risk_level": risk_level, "provider": provider, "version": version,
            "purpose": purpose, "owner": owner}))

    async def update(self, model_id: str, *, name: Optional[str] = None, risk_level: Optional[RiskLevel] = None,
                     provider: Optional[str] = None, version: Optional[str] = None, purpose: Optional[str] = None,
                     owner: Optional[str] = None) -> RegisteredModel:
        return await self._client._record(
            RegisteredModel, "PATCH", f"/api/compliance/models/{_seg(model_id)}", json_body=_drop_unset({
                "name": name, "risk_level": risk_level, "provider": provider, "version": version,
                "purpose": purpose, "owner": owner}))

    async def archive(self, model_id: str) -> RegisteredModel:
        return await self._client._record(RegisteredModel, "POST",
                                          f"/api/compliance/models/{_seg(model_id)}/archive")


class AsyncPolicies:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client

    async def list(self) -> List[Policy]:
        return await self._client._records(Policy, "policies", "GET", "/api/compliance/policies")

    async def create(self, *, name: str, action: PolicyAction,
                     keywords: Optional[Sequence[str]] = None, pattern: Optional[str] = None,
                     applies_to: Optional[PolicyAppliesTo] = None, severity: Optional[Severity] = None,
                     replacement: Optional[str] = None, appendix: Optional[str] = None,
                     enabled: Optional[bool] = None, shadow: Optional[bool] = None) -> Policy:
        return await self._client._record(Policy, "POST", "/api/compliance/policies", json_body=_policy_body(
            name=name, action=action, keywords=keywords, pattern=pattern, applies_to=applies_to,
            severity=severity, replacement=replacement, appendix=appendix, enabled=enabled, shadow=shadow))

    async def update(self, policy_id: str, *, name: str = _NOT_GIVEN, action: PolicyAction = _NOT_GIVEN,
                     keywords: Sequence[str] = _NOT_GIVEN, pattern: Optional[str] = _NOT_GIVEN,
                     applies_to: PolicyAppliesTo = _NOT_GIVEN, severity: Severity = _NOT_GIVEN,
                     replacement: Optional[str] = _NOT_GIVEN, appendix: Optional[str] = _NOT_GIVEN,
                     enabled: bool = _NOT_GIVEN, shadow: bool = _NOT_GIVEN) -> Policy:
        return await self._client._record(Policy, "PATCH", f"/api/compliance/policies/{_seg(policy_id)}",
                                          json_body=_policy_patch(
                                              name=name, action=action, keywords=keywords, pattern=pattern,
                                              applies_to=applies_to, severity=severity, replacement=replacement,
                                              appendix=appendix, enabled=enabled, shadow=shadow))


class AsyncGovernorAudits:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client

    async def list(self, *, level: Optional[GovernorRiskLevel] = None,
                   since: Union[str, _dt.datetime, None] = None, limit: Optional[int] = None,
                   cursor: Optional[str] = None) -> GovernorAuditPage:
        return await self._client._record(GovernorAuditPage, "GET", "/api/compliance/governor/audits",
                                          params=_audit_params(level, since, limit, cursor))

    async def iter_all(self, *, level: Optional[GovernorRiskLevel] = None,
                       since: Union[str, _dt.datetime, None] = None,
                       limit: Optional[int] = None) -> AsyncIterator[GovernorAudit]:
        cursor: Optional[str] = None
        while True:
            page = await self.list(level=level, since=since, limit=limit, cursor=cursor)
            for audit in page.audits:
                yield audit
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor


class AsyncGovernorSettingsResource:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client

    async def get(self) -> GovernorSettings:
        return await self._client._record(GovernorSettings, "GET", "/api/compliance/governor/settings")

    async def update(self, *, mode: Optional[GovernorMode] = None, enabled: Optional[bool] = None,
                     check_prompts: Optional[bool] = None,
                     violations: Optional[Literal["high", "medium"]] = None) -> GovernorSettings:
        return await self._client._record(GovernorSettings, "PATCH", "/api/compliance/governor/settings",
                                          json_body=_drop_unset({"mode": mode, "enabled": enabled,
                                                                 "check_prompts": check_prompts,
                                                                 "violations": violations}))


class AsyncCompliance:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client
        self.violations = AsyncViolations(client)
        self.models = AsyncModels(client)
        self.policies = AsyncPolicies(client)
        self.governor_audits = AsyncGovernorAudits(client)
        self.governor_settings = AsyncGovernorSettingsResource(client)

    async def status(self) -> ComplianceStatus:
        return await self._client._record(ComplianceStatus, "GET", "/api/compliance/status")


class AsyncUsageResource:
    def __init__(self, client: AsyncRegPilot) -> None:
        self._client = client

    async def get(self, period: Period = "day") -> UsageReport:
        return await self._client._record(UsageReport, "GET", "/api/usage", params={"period": period})


def _policy_body(**fields: Any) -> Dict[str, Any]:
    if fields.get("keywords") is not None:
        fields["keywords"] = [str(k) for k in fields["keywords"]]
    return _drop_unset(fields)


def _policy_patch(**fields: Any) -> Dict[str, Any]:
    if fields.get("keywords") not in (None, _NOT_GIVEN):
        fields["keywords"] = [str(k) for k in fields["keywords"]]
    return _drop_not_given(fields)


def _seg(value: str) -> str:
    """A path segment, percent-encoded (ids are plain, but never let one change the path)."""
    from urllib.parse import quote

    return quote(str(value), safe="")
