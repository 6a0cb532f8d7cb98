"""The Python SDK against the real gateway: health, chat (simulator and mock upstream), streaming,
compliance, usage, every error type, retries on a real 429 and on 5xx, the environment check,
and that the key never shows in a repr or an exception."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
import time

import pytest

import regpilot
from regpilot import (
    AIUsage, APIConnectionError, APIError, APIStreamError, AsyncRegPilot, AuthenticationError, BadRequestError,
    ChatCompletion, ComplianceStatus, ConfigurationError, ConflictError, DayUsage, EnvironmentMismatchError,
    HealthStatus, InternalServerError, KeyUsageSummary, ModelUsage, NotFoundError, PermissionDeniedError,
    RateLimitError, Record, RegisteredModel, RegistrySummary, RegPilot, RegPilotError, SeverityCounts, UsageReport,
    Violation,
)
from regpilot_harness import MOCK_COMPLETION, free_port

HELLO = [{"role": "user", "content": "Hello"}]


def client_for(gateway, key, **kw) -> RegPilot:
    return RegPilot(api_key=key.secret, base_url=gateway.url, **kw)


def assert_declared(record: Record) -> None:
    """The record's declared fields are exactly the keys of the JSON the gateway sent, nested
    records included: the types match the server, no field missing, none unknown."""
    declared = {f.metadata.get("json", f.name) for f in dataclasses.fields(record)}  # type: ignore[arg-type]
    sent = set(record.to_dict())
    assert sent == declared, f"{type(record).__name__}: only sent {sent - declared}, only declared {declared - sent}"
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Record):
                assert_declared(item)


def assert_no_secret(secret: str, *objects: object) -> None:
    for obj in objects:
        for text in (str(obj), repr(obj)):
            assert secret not in text, f"the key leaked into {type(obj).__name__}"
        if isinstance(obj, BaseException):
            assert all(secret not in str(a) for a in obj.args)


# --- health, chat, streaming ------------------------------------------------------------------------


def test_health_check_with_a_gateway_key(gateway, keys):
    with client_for(gateway, keys.dev) as client:
        health = client.health.check()
    assert isinstance(health, HealthStatus)
    assert health == HealthStatus(status="ok", authenticated=True, project_id=keys.project_id,
                                  key_type="gateway", environment="development")
    assert health.status == "ok" and health.authenticated is True and health.project_id == keys.project_id
    assert_declared(health)
    # The JSON as received, and dict-style reads for code written against plain dicts.
    assert health.to_dict() == {"status": "ok", "authenticated": True, "project_id": keys.project_id,
                                "key_type": "gateway", "environment": "development"}
    assert health["key_type"] == "gateway" and health.get("nope") is None and "environment" in health
    with pytest.raises(KeyError):
        health["nope"]
    with pytest.raises(AttributeError):
        health.status = "changed"  # type: ignore[misc]


def test_chat_create_is_answered_by_the_simulator_for_a_development_key(gateway, keys):
    with client_for(gateway, keys.dev, environment="development") as client:
        response = client.chat.create(messages=HELLO)
    assert isinstance(response, ChatCompletion)
    assert response.content.startswith("Simulated reply"), response.content
    assert response.model == "mock-model" and response.provider == "simulator"
    assert response.test_mode is True and response.finish_reason == "stop"
    u = response.usage
    assert u.prompt_tokens > 0 and u.completion_tokens > 0 and u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.cost_cents == 0


def test_chat_create_passes_its_parameters(gateway, keys):
    with client_for(gateway, keys.dev) as client:
        short = client.chat.create(messages=HELLO, max_tokens=2, temperature=0.2, quality="cheap")
        as_json = client.chat.create(messages=[{"role": "user", "content": "a JSON object please"}], mode="json")
    assert short.finish_reason == "length" and short.usage.completion_tokens <= 2, short
    assert short.model == "mock-small"  # the cheap tier of the test deployment
    import json
    assert isinstance(json.loads(as_json.content), dict)


def test_chat_create_with_a_production_key_reaches_the_upstream(gateway, keys):
    with client_for(gateway, keys.prod, environment="production") as client:
        response = client.chat.create(messages=HELLO)
    assert response.content == MOCK_COMPLETION
    assert response.provider == "mock" and response.model == "mock-model" and response.test_mode is False
    assert response.usage.cost_cents > 0


def test_streaming_yields_text_chunks_then_usage(gateway, keys):
    with client_for(gateway, keys.dev) as client:
        whole = client.chat.create(messages=HELLO).content
        stream = client.chat.create(messages=HELLO, stream=True)
        assert stream.usage is None
        chunks = list(stream)
    assert len(chunks) > 1 and all(isinstance(c, str) for c in chunks), chunks
    assert "".join(chunks) == stream.content == whole  # the simulator is deterministic
    assert stream.usage is not None and stream.usage.total_tokens > 0 and stream.usage.cost_cents == 0
    assert stream.model == "mock-model" and stream.provider == "simulator" and stream.test_mode
    assert stream.finish_reason == "stop"


def test_streaming_through_the_upstream(gateway, keys):
    with client_for(gateway, keys.prod) as client:
        with client.chat.create(messages=HELLO, stream=True) as stream:
            text = stream.text()
    assert text == MOCK_COMPLETION and stream.provider == "mock" and stream.usage.cost_cents > 0


def test_an_error_event_in_the_stream_raises_api_stream_error(gateway, keys):
    with client_for(gateway, keys.prod) as client:
        stream = client.chat.create(messages=HELLO, model="mock-garbage", stream=True)
        with pytest.raises(APIStreamError) as info:
            list(stream)
    assert isinstance(info.value, APIError) and info.value.code, repr(info.value)
    assert_no_secret(keys.prod.secret, info.value)


def test_async_client(gateway, keys):
    async def main():
        async with AsyncRegPilot(api_key=keys.dev.secret, base_url=gateway.url) as client:
            health = await client.health.check()
            response = await client.chat.create(messages=HELLO)
            stream = await client.chat.create(messages=HELLO, stream=True)
            chunks = [c async for c in stream]
            with pytest.raises(PermissionDeniedError):
                await client.compliance.status()
            return health, response, stream, chunks

    health, response, stream, chunks = asyncio.run(main())
    assert isinstance(health, HealthStatus) and health.authenticated is True
    assert response.content.startswith("Simulated reply")
    assert "".join(chunks) == response.content and stream.usage is not None


# --- compliance and usage ------------------------------------------------------------------------


def test_compliance_resources_with_a_project_key(gateway, compliance_key):
    client = client_for(gateway, compliance_key)
    first = client.compliance.status()
    assert isinstance(first, ComplianceStatus) and first.score == 100 and first.status == "compliant"
    assert isinstance(first.open_violations, SeverityCounts) and first.open_violations.total == 0
    assert isinstance(first.registry, RegistrySummary) and first.registry.completeness == 1.0
    assert isinstance(first.registry.completeness, float) and first.formula.startswith("score = ")
    assert_declared(first)

    model = client.compliance.models.register(name="Support bot", risk_level="high", provider="openai")
    assert isinstance(model, RegisteredModel)
    assert model.status == "active" and model.risk_level == "high" and model.id and model.archived_at is None
    assert model.project_id == first.project_id and model.created_at
    assert_declared(model)
    assert client.compliance.models.get(model.id) == model
    updated = client.compliance.models.update(model.id, version="2024-08", purpose="support", owner="ops")
    assert (updated.version, updated.purpose, updated.owner) == ("2024-08", "support", "ops")
    assert [m.id for m in client.compliance.models.list()] == [model.id]

    high = client.compliance.violations.create(title="PII in a prompt", severity="high", model_id=model.id)
    medium = client.compliance.violations.create(description="No human review\nmore text", severity="medium")
    assert isinstance(high, Violation) and high.status == "open" and high.model_id == model.id
    assert high.resolved_at is None and high.created_by
    assert_declared(high)
    assert medium.title == "No human review"
    assert {v.id for v in client.compliance.violations.list()} == {high.id, medium.id}
    assert [v.id for v in client.compliance.violations.list(severity="high")] == [high.id]

    status = client.compliance.status()
    # V = 100 - 10 - 5 = 85, R = 100 (4 of 4 fields): round(59.5 + 30) = 90 → compliant (nothing critical)
    assert status.score == 90 and status.open_violations.high == 1, status
    assert status.registry.active == 1 and status.registry.high_risk == 1
    # Dict-style reads still work, nested too (JSON names).
    assert status["score"] == 90 and status["open_violations"]["high"] == 1 and high["model_id"] == model.id

    with pytest.raises(BadRequestError) as info:
        client.compliance.violations.update(high.id, status="resolved")
    assert info.value.field == "note" and info.value.code == "INVALID_REQUEST"
    resolved = client.compliance.violations.resolve(high.id, note="prompt scrubbed")
    assert resolved.status == "resolved" and resolved.resolution_note == "prompt scrubbed"
    assert resolved.resolved_at and resolved.resolved_by
    assert [v.id for v in client.compliance.violations.list(status="open")] == [medium.id]
    assert client.compliance.violations.reopen(high.id).status == "open"

    archived = client.compliance.models.archive(model.id)
    assert archived.status == "archived" and archived.archived_at
    assert client.compliance.models.list() == []
    assert [m.id for m in client.compliance.models.list(status="archived")] == [model.id]
    with pytest.raises(ConflictError) as conflict:
        client.compliance.models.update(model.id, owner="someone")
    assert conflict.value.status == 409
    with pytest.raises(NotFoundError) as missing:
        client.compliance.models.get("mdl_doesnotexist")
    assert missing.value.status == 404 and missing.value.code
    client.close()


def test_read_only_project_key_reads_but_cannot_write(gateway, keys):
    with client_for(gateway, keys.project_read_only) as client:
        listed = client.compliance.violations.list()
        assert isinstance(listed, list) and all(isinstance(v, Violation) for v in listed)
        with pytest.raises(PermissionDeniedError) as info:
            client.compliance.violations.create(title="x", severity="low")
    assert info.value.status == 403 and info.value.code == "INSUFFICIENT_PERMISSIONS"
    assert info.value.required == "compliance:write"


def test_usage_get(gateway, keys):
    with client_for(gateway, keys.dev) as client:
        client.chat.create(messages=HELLO)
        # Usage reaches the store within a second (the recorder's flush): wait for the AI call.
        report = client.usage.get(period="week")
        deadline = time.monotonic() + 5
        while (report.ai is None or report.ai.calls < 1) and time.monotonic() < deadline:
            time.sleep(0.2)
            report = client.usage.get(period="week")
        with pytest.raises(BadRequestError) as info:
            client.usage.get(period="year")  # type: ignore[arg-type]
    assert isinstance(report, UsageReport)
    assert report.project_id == keys.project_id and report.period == "week"
    assert report.requests >= 1 and len(report.days) == 7
    assert report.from_ == report["from"] and report.from_.endswith("T00:00:00Z") and report.to > report.from_
    assert all(isinstance(d, DayUsage) and len(d.date) == 10 for d in report.days)
    assert isinstance(report.ai, AIUsage) and report.ai.calls >= 1 and report.ai.total_tokens > 0
    assert all(isinstance(m, ModelUsage) for m in report.ai.models)
    assert any(m.provider == "simulator" for m in report.ai.models), report.ai
    line = next(k for k in report.keys if k.key_id == keys.dev.id)
    assert isinstance(line, KeyUsageSummary) and line.type == "gateway" and line.environment == "development"
    assert line.status == "active" and line.requests >= 1 and isinstance(line.ai, AIUsage)
    assert line.prefix.startswith("sk_dev_") and line.name == "python sdk dev"
    assert report["keys"][0]["key_id"] == report.keys[0].key_id
    assert_declared(report)  # and every key line, day, model and country in it
    assert info.value.field == "period"


# --- errors ----------------------------------------------------------------------------------------


def test_authentication_error_for_a_key_that_is_not_valid(gateway):
    bogus = "sk_dev_" + "A" * 38  # the right shape, a wrong checksum
    client = RegPilot(api_key=bogus, base_url=gateway.url)
    with pytest.raises(AuthenticationError) as info:
        client.health.check()
    e = info.value
    assert e.status == 401 and e.code == "INVALID_API_KEY" and e.message == "Invalid or inactive API key"
    assert_no_secret(bogus, e, client)


def test_authentication_error_for_a_deactivated_key(gateway, keys):
    key = gateway.create_key(keys.project_id, "python sdk to deactivate", env="dev")
    gateway.deactivate_key(key)
    client = client_for(gateway, key, max_retries=0)
    deadline = time.monotonic() + 5
    while True:  # a deactivation reaches the server within a second
        try:
            client.health.check()
        except AuthenticationError as e:
            assert e.code == "INVALID_API_KEY"
            assert_no_secret(key.secret, e)
            break
        assert time.monotonic() < deadline, "the deactivated key is still accepted"
        time.sleep(0.2)


def test_permission_denied_for_the_wrong_key_type(gateway, keys):
    with client_for(gateway, keys.project) as project_client, client_for(gateway, keys.dev) as gateway_client:
        with pytest.raises(PermissionDeniedError) as chat:
            project_client.chat.create(messages=HELLO)
        with pytest.raises(PermissionDeniedError) as compliance:
            gateway_client.compliance.violations.list()
    assert chat.value.required == "chat" and chat.value.code == "INSUFFICIENT_PERMISSIONS"
    assert compliance.value.required == "compliance:read"
    assert_no_secret(keys.project.secret, chat.value)


def test_bad_request_names_the_field(gateway, keys):
    with client_for(gateway, keys.dev) as client:
        with pytest.raises(BadRequestError) as info:
            client.chat.create(messages=HELLO, temperature=5)
    assert info.value.status == 400 and info.value.code == "INVALID_REQUEST" and info.value.field == "temperature"


def test_rate_limit_error_when_retries_are_off(gateway, free_dev_key, counter):
    client = RegPilot(api_key=free_dev_key.secret, base_url=gateway.url, max_retries=0, http_client=counter.client)
    client.health.check()
    with pytest.raises(RateLimitError) as info:
        client.health.check()  # burst 1/s: refused
    e = info.value
    assert e.status == 429 and e.code == "RATE_LIMIT_EXCEEDED" and e.limit == "burst"
    assert e.retry_after == 1 and e.headers["retry-after"] == "1"
    assert counter.statuses == [200, 429], "max_retries=0 must not retry"
    assert_no_secret(free_dev_key.secret, e)


def test_a_real_429_is_retried_after_retry_after(gateway, free_dev_key, counter):
    client = RegPilot(api_key=free_dev_key.secret, base_url=gateway.url, max_retries=2, http_client=counter.client)
    client.chat.create(messages=HELLO)
    started = time.monotonic()
    response = client.chat.create(messages=HELLO)  # refused at once (burst 1/s), then retried
    elapsed = time.monotonic() - started
    assert response.content.startswith("Simulated reply")
    assert counter.statuses[0] == 200 and counter.statuses[1] == 429 and counter.statuses[-1] == 200, counter.statuses
    assert len(counter.requests) >= 3 and all(p == "/api/ai/complete" for _, p in counter.requests)
    assert elapsed >= 0.95, f"retried after {elapsed:.2f}s, before Retry-After: 1"


def test_async_client_retries_a_real_429(gateway, free_dev_key):
    async def main():
        async with AsyncRegPilot(api_key=free_dev_key.secret, base_url=gateway.url) as client:
            await client.health.check()
            started = time.monotonic()
            await client.health.check()
            return time.monotonic() - started

    assert asyncio.run(main()) >= 0.95


def test_5xx_is_retried_up_to_max_retries(gateway, keys, counter):
    client = RegPilot(api_key=keys.prod.secret, base_url=gateway.url, max_retries=2, http_client=counter.client)
    with pytest.raises(InternalServerError) as info:
        client.chat.create(messages=HELLO, model="mock-status-500")
    assert info.value.status == 502 and info.value.code == "UPSTREAM_ERROR"
    assert counter.statuses == [502, 502, 502], "one request and two retries"
    assert_no_secret(keys.prod.secret, info.value)


def test_connection_error_after_retries(counter):
    key = "sk_dev_" + "B" * 38
    client = RegPilot(api_key=key, base_url=f"http://127.0.0.1:{free_port()}", max_retries=1,
                      http_client=counter.client)
    with pytest.raises(APIConnectionError) as info:
        client.health.check()
    assert len(counter.requests) == 2
    assert_no_secret(key, info.value, client)


# --- construction: key, environment, base URL --------------------------------------------------------


def test_environment_mismatch_is_refused_before_any_request(gateway, keys, counter, monkeypatch):
    with pytest.raises(EnvironmentMismatchError) as info:
        RegPilot(api_key=keys.prod.secret, base_url=gateway.url, environment="development", http_client=counter.client)
    e = info.value
    assert e.key_environment == "production" and e.environment == "development"
    assert "production key" in str(e) and "sk_prod_…" in str(e)
    assert_no_secret(keys.prod.secret, e)
    assert counter.requests == []

    monkeypatch.setenv("REGPILOT_ENVIRONMENT", "prod")
    with pytest.raises(EnvironmentMismatchError):
        RegPilot(api_key=keys.dev.secret, base_url=gateway.url)
    # The short forms and the key's own environment are fine.
    assert RegPilot(api_key=keys.prod.secret, base_url=gateway.url).environment == "production"
    monkeypatch.delenv("REGPILOT_ENVIRONMENT")
    assert RegPilot(api_key=keys.dev.secret, environment="dev").environment == "development"
    assert RegPilot(api_key=keys.dev.secret).environment == "development"
    with pytest.raises(ConfigurationError, match="Unknown environment"):
        RegPilot(api_key=keys.dev.secret, environment="prodution")
    with pytest.raises(EnvironmentMismatchError):
        AsyncRegPilot(api_key=keys.prod.secret, environment="staging")


def test_missing_key_fails_at_construction(monkeypatch):
    monkeypatch.delenv("REGPILOT_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="REGPILOT_API_KEY"):
        RegPilot()
    monkeypatch.setenv("REGPILOT_API_KEY", "  ")
    with pytest.raises(ConfigurationError):
        RegPilot()
    with pytest.raises(ConfigurationError):
        AsyncRegPilot(api_key="")
    assert issubclass(ConfigurationError, RegPilotError)


def test_environment_variables_are_the_fallbacks(gateway, keys, monkeypatch):
    monkeypatch.delenv("REGPILOT_BASE_URL", raising=False)
    assert RegPilot(api_key=keys.dev.secret).base_url == "http://127.0.0.1:8080" == regpilot.DEFAULT_BASE_URL
    monkeypatch.setenv("REGPILOT_API_KEY", keys.dev.secret)
    monkeypatch.setenv("REGPILOT_BASE_URL", gateway.url + "/")
    monkeypatch.setenv("REGPILOT_ENVIRONMENT", "development")
    client = RegPilot()
    assert client.base_url == gateway.url and client.environment == "development"
    assert client.health.check().project_id == keys.project_id


def test_the_key_never_shows_in_a_repr(gateway, keys):
    client = client_for(gateway, keys.dev)
    async_client = AsyncRegPilot(api_key=keys.dev.secret, base_url=gateway.url)
    response = client.chat.create(messages=HELLO)
    stream = client.chat.create(messages=HELLO, stream=True)
    list(stream)
    assert_no_secret(keys.dev.secret, client, async_client, response, stream, client.chat, client.compliance,
                     vars(client.chat), client.health.check())
    assert "sk_dev_…" in repr(client)
    with pytest.raises(TypeError):
        pickle.dumps(client)
    asyncio.run(async_client.close())
