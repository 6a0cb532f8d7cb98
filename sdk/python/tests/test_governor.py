"""The Governor in the Python SDK: ``governor_metadata=`` on chat, the result on the answer and on
the stream, GovernorBlockedError, and the policies and audits resources. These run against an
httpx.MockTransport that answers with the gateway's documented shapes (docs/governor.md): the
request each call sends and the typed objects it returns are checked, offline.

Also here: every typed answer tolerates fields it does not know and fields it lacks."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from typing import Any, Callable, Dict, List, Optional, Tuple

import httpx
import pytest

import regpilot
from regpilot import (
    APIError, APIStreamError, AsyncRegPilot, BadRequestError, ChatCompletion, GovernorAudit, GovernorAuditPage,
    GovernorBlockedError, GovernorFinding, GovernorResult, Policy, Record, RegPilot,
)

KEY = "sk_prod_" + "Gv7" * 12 + "Zq"  # the shape of a key; the mock does not check it
BASE = "http://gateway.test"
METADATA = {"actionType": "refund_denial", "senderId": "support-bot", "recipientCountry": "DE",
            "recipientUserId": "user-42", "contextTags": ["refund", "complaint"]}
GOVERNOR = {
    "validated": True, "riskScore": 64, "riskLevel": "medium", "action": "sanitized", "auditId": "gva_8KQ2mZ",
    "mode": "sanitize", "recipientCountry": "DE", "violations": 2,
    "findings": [
        {"rule": "pii.email", "category": "personal_data", "severity": "medium", "start": 10, "end": 27,
         "shadow": False},
        {"rule": "duty.eu.human_review", "category": "duty", "severity": "high", "start": 0, "end": 0,
         "shadow": False},
        {"rule": "policy.pol_7", "category": "policy", "severity": "low", "start": 30, "end": 36, "shadow": True},
    ],
}
SANITIZED = "Write to [EMAIL] to contest this decision. A person will review it."
POLICY = {
    "id": "pol_7", "project_id": "proj_1", "name": "No guarantees", "keywords": ["guaranteed", "risk-free"],
    "pattern": None, "applies_to": "response", "action": "replace", "severity": "high",
    "replacement": "[removed]", "appendix": None, "enabled": True, "shadow": False, "version": 1,
    "created_at": "2026-12-04T20:00:00Z", "updated_at": "2026-12-04T20:00:00Z",
}
AUDIT = {
    "id": "gva_8KQ2mZ", "project_id": "proj_1", "key_id": "key_9", "created_at": "2026-12-04T20:01:02Z",
    "target": "response", "action_type": "refund_denial", "sender_id": "support-bot", "recipient_country": "DE",
    "risk_score": 82, "risk_level": "high", "action": "blocked", "mode": "block",
    "findings": [{"rule": "pii.card", "category": "personal_data", "severity": "critical", "start": 4, "end": 23,
                  "shadow": False}],
    "original_sha256": "a" * 64, "delivered_sha256": "b" * 64, "violation_id": "vio_3",
}
USAGE = {"promptTokens": 12, "completionTokens": 14, "totalTokens": 26, "costCents": 0.03}

Handler = Callable[[httpx.Request], httpx.Response]


class MockGateway:
    """Answers by (method, path); records every request."""

    def __init__(self, routes: Dict[Tuple[str, str], Handler]) -> None:
        self.routes = routes
        self.requests: List[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"error": "Not found", "code": "NOT_FOUND"})
        return handler(request)

    def client(self, **kw: Any) -> RegPilot:
        http = httpx.Client(transport=httpx.MockTransport(self))
        return RegPilot(api_key=KEY, base_url=BASE, http_client=http, **kw)

    def async_client(self, **kw: Any) -> AsyncRegPilot:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return AsyncRegPilot(api_key=KEY, base_url=BASE, http_client=http, **kw)

    def body(self, i: int = -1) -> Any:
        return json.loads(self.requests[i].content)


def completion(governor: Optional[Dict[str, Any]], headers: Optional[Dict[str, str]] = None,
               text: str = SANITIZED) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        body: Dict[str, Any] = {"text": text, "model": "mock-model", "provider": "mock", "usage": USAGE,
                                "finishReason": "stop", "cacheHit": False}
        if governor is not None:
            body["governor"] = governor
        return httpx.Response(200, json=body, headers={"x-regpilot-model": "mock-model", **(headers or {})})
    return handle


def governor_headers(g: Dict[str, Any]) -> Dict[str, str]:
    return {"x-governor-validated": "true", "x-governor-risk-score": str(g["riskScore"]),
            "x-governor-risk-level": g["riskLevel"], "x-governor-violations": str(g["violations"]),
            "x-governor-audit-id": g["auditId"], "x-governor-action": g["action"]}


def sse(*events: Any) -> bytes:
    return b"".join(
        (b"data: [DONE]\n\n" if e == "[DONE]" else f"data: {json.dumps(e)}\n\n".encode()) for e in events
    )


def stream_of(*events: Any) -> Handler:
    return lambda request: httpx.Response(200, content=sse(*events),
                                          headers={"content-type": "text/event-stream",
                                                   "x-regpilot-model": "mock-model", "x-regpilot-provider": "mock"})


def blocked(request: httpx.Request) -> httpx.Response:
    g = dict(GOVERNOR, riskScore=88, riskLevel="high", action="blocked", mode="block")
    return httpx.Response(422, json={
        "error": "The Governor withheld this answer (risk 88, high): pii.card, secret.regpilot_key",
        "code": "GOVERNOR_BLOCKED", "rules": ["pii.card", "secret.regpilot_key"], "governor": g,
    }, headers=governor_headers(g))


def assert_result(g: Optional[GovernorResult]) -> None:
    assert isinstance(g, GovernorResult)
    assert (g.validated, g.risk_score, g.risk_level, g.action) == (True, 64, "medium", "sanitized")
    assert (g.audit_id, g.mode, g.recipient_country, g.violations) == ("gva_8KQ2mZ", "sanitize", "DE", 2)
    assert [f.rule for f in g.findings] == ["pii.email", "duty.eu.human_review", "policy.pol_7"]
    first = g.findings[0]
    assert isinstance(first, GovernorFinding)
    assert (first.category, first.severity, first.start, first.end, first.shadow) == (
        "personal_data", "medium", 10, 27, False)
    assert g.findings[2].shadow is True


HELLO = [{"role": "user", "content": "Can I get a refund?"}]


# --- chat ------------------------------------------------------------------------------------------


def test_governor_metadata_is_sent_as_given_and_the_result_is_typed():
    gw = MockGateway({("POST", "/api/ai/complete"): completion(dict(GOVERNOR, engineVersion="2026.12"),
                                                               governor_headers(GOVERNOR))})
    with gw.client() as client:
        r = client.chat.create(messages=HELLO, governor_metadata=METADATA)
    assert gw.body()["governorMetadata"] == METADATA  # camelCase keys, unchanged
    assert isinstance(r, ChatCompletion) and r.content == SANITIZED
    assert_result(r.governor)
    assert r.governor is not None
    # A field this version does not know is kept, not refused.
    assert r.governor.to_dict()["engineVersion"] == "2026.12" and r.governor["engineVersion"] == "2026.12"
    assert r.governor["riskScore"] == 64  # dict-style reads use the JSON's names
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.governor.risk_score = 0  # type: ignore[misc]


def test_no_metadata_no_governor():
    gw = MockGateway({("POST", "/api/ai/complete"): completion(None, text="Hello!")})
    with gw.client() as client:
        r = client.chat.create(messages=HELLO)
    assert "governorMetadata" not in gw.body()
    assert r.governor is None and r.content == "Hello!"


def test_the_result_from_the_headers_when_the_body_has_none():
    gw = MockGateway({("POST", "/api/ai/complete"): completion(None, governor_headers(GOVERNOR))})
    with gw.client() as client:
        g = client.chat.create(messages=HELLO, governor_metadata=METADATA).governor
    assert isinstance(g, GovernorResult)
    assert (g.validated, g.risk_score, g.risk_level, g.action, g.audit_id, g.violations) == (
        True, 64, "medium", "sanitized", "gva_8KQ2mZ", 2)
    assert g.findings == [] and g.mode is None and g.recipient_country is None


def test_the_stream_exposes_the_governor_event_once_consumed():
    gw = MockGateway({("POST", "/api/ai/chat"): stream_of(
        {"type": "chunk", "content": "Write to [EMAIL] "}, {"type": "chunk", "content": "to contest this decision."},
        {"type": "governor", **GOVERNOR},
        {"type": "usage", "usage": USAGE, "model": "mock-model", "provider": "mock", "finishReason": "stop"},
        "[DONE]",
    )})
    with gw.client() as client:
        stream = client.chat.create(messages=HELLO, stream=True, governor_metadata=METADATA)
        assert stream.governor is None
        chunks = list(stream)
    assert gw.body()["governorMetadata"] == METADATA and gw.requests[0].headers["accept"] == "text/event-stream"
    assert chunks == ["Write to [EMAIL] ", "to contest this decision."]
    assert_result(stream.governor)
    assert stream.governor is not None and stream.governor.to_dict() == GOVERNOR  # the event's type is not kept
    assert stream.usage is not None and stream.usage.total_tokens == 26


def test_a_stream_without_metadata_has_no_governor():
    gw = MockGateway({("POST", "/api/ai/chat"): stream_of({"type": "chunk", "content": "Hi"},
                                                          {"type": "usage", "usage": USAGE}, "[DONE]")})
    with gw.client() as client:
        stream = client.chat.create(messages=HELLO, stream=True)
        assert stream.text() == "Hi"
    assert stream.governor is None


def test_async_chat_and_stream_carry_the_result():
    gw = MockGateway({
        ("POST", "/api/ai/complete"): completion(GOVERNOR),
        ("POST", "/api/ai/chat"): stream_of({"type": "chunk", "content": SANITIZED}, {"type": "governor", **GOVERNOR},
                                            {"type": "usage", "usage": USAGE}, "[DONE]"),
    })

    async def main():
        async with gw.async_client() as client:
            r = await client.chat.create(messages=HELLO, governor_metadata=METADATA)
            stream = await client.chat.create(messages=HELLO, stream=True, governor_metadata=METADATA)
            text = await stream.text()
            return r, stream, text

    r, stream, text = asyncio.run(main())
    assert_result(r.governor)
    assert_result(stream.governor)
    assert text == SANITIZED
    assert [gw.body(i)["governorMetadata"] for i in range(2)] == [METADATA, METADATA]


def test_a_blocked_answer_raises_governor_blocked_error_without_a_retry():
    gw = MockGateway({("POST", "/api/ai/complete"): blocked})
    client = gw.client(max_retries=2)
    with pytest.raises(GovernorBlockedError) as info:
        client.chat.create(messages=HELLO, governor_metadata=METADATA)
    e = info.value
    assert isinstance(e, APIError) and isinstance(e, regpilot.RegPilotError)
    assert (e.status, e.code) == (422, "GOVERNOR_BLOCKED") and "withheld" in e.message
    assert e.rules == ["pii.card", "secret.regpilot_key"]
    assert isinstance(e.governor, GovernorResult)
    assert (e.governor.action, e.governor.risk_level, e.governor.risk_score) == ("blocked", "high", 88)
    assert e.governor.audit_id == "gva_8KQ2mZ" and e.headers["x-governor-action"] == "blocked"
    assert len(gw.requests) == 1, "a 422 is final: not retried"
    for text in (str(e), repr(e), str(e.args)):
        assert KEY not in text
    client.close()


def test_a_blocked_answer_async():
    gw = MockGateway({("POST", "/api/ai/complete"): blocked})

    async def main():
        async with gw.async_client() as client:
            await client.chat.create(messages=HELLO, governor_metadata=METADATA)

    with pytest.raises(GovernorBlockedError) as info:
        asyncio.run(main())
    assert info.value.rules == ["pii.card", "secret.regpilot_key"] and len(gw.requests) == 1


def test_a_blocked_error_without_details_still_has_empty_rules():
    gw = MockGateway({("POST", "/api/ai/complete"): lambda r: httpx.Response(
        422, json={"error": "Withheld", "code": "GOVERNOR_BLOCKED"})})
    with gw.client() as client, pytest.raises(GovernorBlockedError) as info:
        client.chat.create(messages=HELLO, governor_metadata=METADATA)
    assert info.value.rules == [] and info.value.governor is None


def test_a_stream_ending_in_a_governor_blocked_event():
    gw = MockGateway({("POST", "/api/ai/chat"): stream_of(
        {"type": "error", "error": "The Governor withheld the rest of this answer", "code": "GOVERNOR_BLOCKED",
         "rules": ["pii.card"], "governor": dict(GOVERNOR, action="blocked", riskLevel="high", riskScore=90)},
    )})
    with gw.client() as client:
        stream = client.chat.create(messages=HELLO, stream=True, governor_metadata=METADATA)
        with pytest.raises(GovernorBlockedError) as info:
            list(stream)
    assert info.value.rules == ["pii.card"] and info.value.governor is not None
    assert info.value.governor.risk_score == 90 and not isinstance(info.value, APIStreamError)


def test_a_withheld_stream_takes_rules_and_result_from_the_governor_event():
    """As the gateway sends it (docs/governor.md, "Answers"): the governor event, then an error
    event that names neither; shadow findings are not among the rules."""
    g = dict(GOVERNOR, action="blocked", riskLevel="high", riskScore=88, mode="block")
    gw = MockGateway({("POST", "/api/ai/chat"): stream_of(
        {"type": "chunk", "content": "Mail "},
        dict(g, type="governor"),
        {"type": "error", "error": "The answer was cut", "code": "GOVERNOR_BLOCKED"},
    )})
    with gw.client() as client:
        stream = client.chat.create(messages=HELLO, stream=True, governor_metadata=METADATA)
        with pytest.raises(GovernorBlockedError) as info:
            list(stream)
    assert info.value.rules == ["pii.email", "duty.eu.human_review"]
    assert info.value.governor is not None and info.value.governor.audit_id == g["auditId"]
    assert stream.governor is not None and stream.governor.action == "blocked"


def test_governor_settings_get_and_update():
    settings = {"project_id": "proj_1", "available": True, "enabled": True, "mode": "sanitize",
                "check_prompts": False, "violations": "high", "updated_at": None}
    gw = MockGateway({
        ("GET", "/api/compliance/governor/settings"): lambda r: httpx.Response(200, json=settings),
        ("PATCH", "/api/compliance/governor/settings"): lambda r: httpx.Response(
            200, json=dict(settings, **json.loads(r.content), updated_at="2026-12-04T20:00:00Z")),
    })
    with gw.client() as client:
        got = client.compliance.governor_settings.get()
        assert isinstance(got, regpilot.GovernorSettings) and got.mode == "sanitize" and got.available
        changed = client.compliance.governor_settings.update(mode="block", check_prompts=True)
    assert gw.body() == {"mode": "block", "check_prompts": True}
    assert changed.mode == "block" and changed.check_prompts is True and changed.updated_at


# --- policies --------------------------------------------------------------------------------------


def test_policies_list_create_update():
    def create(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        return httpx.Response(201, json=dict(POLICY, **sent, id="pol_8", version=1, future_field={"x": 1}))

    def update(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=dict(POLICY, **json.loads(request.content), version=2))

    gw = MockGateway({
        ("GET", "/api/compliance/policies"): lambda r: httpx.Response(200, json={"policies": [POLICY]}),
        ("POST", "/api/compliance/policies"): create,
        ("PATCH", "/api/compliance/policies/pol_7"): update,
    })
    with gw.client() as client:
        policies = client.compliance.policies.list()
        created = client.compliance.policies.create(
            name="Card numbers", pattern=r"\b\d{4}-\d{4}\b", applies_to="both", action="redact",
            severity="critical", shadow=True, keywords=("card",))
        updated = client.compliance.policies.update("pol_7", enabled=False, pattern=None, appendix="Not advice.")

    assert [(r.method, r.url.path) for r in gw.requests] == [
        ("GET", "/api/compliance/policies"), ("POST", "/api/compliance/policies"),
        ("PATCH", "/api/compliance/policies/pol_7")]
    assert all(r.headers["x-api-key"] == KEY for r in gw.requests)
    assert len(policies) == 1 and isinstance(policies[0], Policy)
    p = policies[0]
    assert (p.id, p.name, p.keywords, p.pattern, p.applies_to, p.action, p.severity) == (
        "pol_7", "No guarantees", ["guaranteed", "risk-free"], None, "response", "replace", "high")
    assert (p.replacement, p.appendix, p.enabled, p.shadow, p.version) == ("[removed]", None, True, False, 1)
    assert p.created_at == "2026-12-04T20:00:00Z" and p.project_id == "proj_1"

    # Only what was passed is sent; a tuple of keywords becomes a JSON list.
    assert gw.body(1) == {"name": "Card numbers", "pattern": r"\b\d{4}-\d{4}\b", "applies_to": "both",
                          "action": "redact", "severity": "critical", "shadow": True, "keywords": ["card"]}
    assert isinstance(created, Policy) and created.id == "pol_8" and created.shadow is True
    assert created.to_dict()["future_field"] == {"x": 1}
    # PATCH: None is sent as null (it clears the pattern); what was not passed is not sent.
    assert gw.body(2) == {"enabled": False, "pattern": None, "appendix": "Not advice."}
    assert updated.enabled is False and updated.version == 2 and updated.appendix == "Not advice."


def test_a_pattern_that_does_not_compile_is_a_bad_request_naming_the_field():
    gw = MockGateway({("POST", "/api/compliance/policies"): lambda r: httpx.Response(
        400, json={"error": "pattern does not compile: unclosed group", "code": "INVALID_REQUEST",
                   "field": "pattern"})})
    with gw.client() as client, pytest.raises(BadRequestError) as info:
        client.compliance.policies.create(name="broken", pattern="(", action="block")
    assert info.value.field == "pattern" and info.value.code == "INVALID_REQUEST" and len(gw.requests) == 1


# --- audits ----------------------------------------------------------------------------------------


def audit_pages(request: httpx.Request) -> httpx.Response:
    cursor = request.url.params.get("cursor")
    if cursor is None:
        return httpx.Response(200, json={"audits": [AUDIT, dict(AUDIT, id="gva_2", violation_id=None)],
                                         "next_cursor": "c_2"})
    assert cursor == "c_2"
    return httpx.Response(200, json={"audits": [dict(AUDIT, id="gva_3", target="prompt")], "next_cursor": None})


def test_governor_audits_list_sends_the_filters_and_types_the_page():
    gw = MockGateway({("GET", "/api/compliance/governor/audits"): audit_pages})
    with gw.client() as client:
        page = client.compliance.governor_audits.list(level="high", since=dt.datetime(2026, 12, 1, 8, 30), limit=2)
        second = client.compliance.governor_audits.list(cursor=page.next_cursor)
    assert dict(gw.requests[0].url.params) == {"level": "high", "since": "2026-12-01T08:30:00Z", "limit": "2"}
    assert dict(gw.requests[1].url.params) == {"cursor": "c_2"}
    assert isinstance(page, GovernorAuditPage) and page.next_cursor == "c_2" and second.next_cursor is None
    a = page.audits[0]
    assert isinstance(a, GovernorAudit)
    assert (a.id, a.key_id, a.target, a.action_type, a.sender_id, a.recipient_country) == (
        "gva_8KQ2mZ", "key_9", "response", "refund_denial", "support-bot", "DE")
    assert (a.risk_score, a.risk_level, a.action, a.mode, a.violation_id) == (82, "high", "blocked", "block", "vio_3")
    assert a.original_sha256 == "a" * 64 and a.delivered_sha256 == "b" * 64
    assert isinstance(a.findings[0], GovernorFinding) and a.findings[0].rule == "pii.card"
    assert page.audits[1].violation_id is None and second.audits[0].target == "prompt"


def test_governor_audits_iter_all_follows_the_cursor():
    gw = MockGateway({("GET", "/api/compliance/governor/audits"): audit_pages})
    with gw.client() as client:
        ids = [a.id for a in client.compliance.governor_audits.iter_all(level="high", since="2026-12-01T00:00:00Z")]
    assert ids == ["gva_8KQ2mZ", "gva_2", "gva_3"]
    assert [dict(r.url.params) for r in gw.requests] == [
        {"level": "high", "since": "2026-12-01T00:00:00Z"},
        {"level": "high", "since": "2026-12-01T00:00:00Z", "cursor": "c_2"}]


def test_async_policies_and_audits():
    gw = MockGateway({
        ("GET", "/api/compliance/policies"): lambda r: httpx.Response(200, json={"policies": [POLICY]}),
        ("POST", "/api/compliance/policies"): lambda r: httpx.Response(201, json=dict(POLICY, **json.loads(r.content))),
        ("PATCH", "/api/compliance/policies/pol_7"): lambda r: httpx.Response(
            200, json=dict(POLICY, **json.loads(r.content), version=2)),
        ("GET", "/api/compliance/governor/audits"): audit_pages,
    })

    async def main():
        async with gw.async_client() as client:
            listed = await client.compliance.policies.list()
            created = await client.compliance.policies.create(name="Disclaimer", action="append",
                                                              appendix="This is not legal advice.")
            updated = await client.compliance.policies.update("pol_7", shadow=True)
            page = await client.compliance.governor_audits.list(level="medium")
            every = [a.id async for a in client.compliance.governor_audits.iter_all(limit=2)]
            return listed, created, updated, page, every

    listed, created, updated, page, every = asyncio.run(main())
    assert listed[0].id == "pol_7" and created.action == "append" and created.appendix == "This is not legal advice."
    assert gw.body(1) == {"name": "Disclaimer", "action": "append", "appendix": "This is not legal advice."}
    assert gw.body(2) == {"shadow": True} and updated.shadow is True and updated.version == 2
    assert isinstance(page.audits[0], GovernorAudit) and every == ["gva_8KQ2mZ", "gva_2", "gva_3"]
    assert dict(gw.requests[3].url.params) == {"level": "medium"}


# --- robustness ------------------------------------------------------------------------------------


def test_an_answer_of_the_wrong_shape_is_an_api_error():
    gw = MockGateway({
        ("GET", "/api/compliance/policies"): lambda r: httpx.Response(200, json={"items": []}),
        ("GET", "/api/health"): lambda r: httpx.Response(200, json=["ok"]),
    })
    with gw.client() as client:
        with pytest.raises(APIError, match="'policies' list"):
            client.compliance.policies.list()
        with pytest.raises(APIError, match="GET /api/health is not a JSON object") as info:
            client.health.check()
    assert info.value.status == 200 and KEY not in str(info.value)


RECORDS = [getattr(regpilot, name) for name in regpilot.__all__
           if isinstance(getattr(regpilot, name), type) and issubclass(getattr(regpilot, name), Record)
           and getattr(regpilot, name) is not Record]


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_every_record_tolerates_unknown_and_missing_fields(cls):
    assert dataclasses.is_dataclass(cls)
    empty = cls.from_json({})  # every field missing: defaults, None, [] — never a TypeError
    for f in dataclasses.fields(cls):
        value = getattr(empty, f.name)
        assert value is None or value == [] or value == f.default, (f.name, value)
    extra = cls.from_json({"a_field_from_a_later_gateway": [1, 2]})
    assert extra.to_dict() == {"a_field_from_a_later_gateway": [1, 2]}
    assert extra["a_field_from_a_later_gateway"] == [1, 2] and "a_field_from_a_later_gateway" in extra
    assert extra == empty  # unknown fields are kept aside, not compared


def test_nested_records_are_typed_and_to_dict_round_trips():
    page = GovernorAuditPage.from_json({"audits": [AUDIT], "next_cursor": None})
    assert page.to_dict() == {"audits": [AUDIT], "next_cursor": None}
    assert GovernorAuditPage.from_json(page.to_dict()) == page
    built = dataclasses.replace(page.audits[0].findings[0], shadow=True)  # built, not parsed
    assert built.to_dict() == dict(AUDIT["findings"][0], shadow=True)
    status = regpilot.ComplianceStatus.from_json({
        "project_id": "p", "score": 90, "status": "compliant", "formula": "…",
        "open_violations": {"critical": 0, "high": 1, "medium": 0, "low": 0, "total": 1},
        "registry": {"active": 1, "archived": 0, "unacceptable": 0, "high_risk": 1, "completeness": 1},
    })
    assert isinstance(status.open_violations, regpilot.SeverityCounts) and status.open_violations.high == 1
    assert status.registry.completeness == 1.0 and isinstance(status.registry.completeness, float)
