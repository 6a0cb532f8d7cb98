"""The Governor through the Python SDK against the real gateway (conftest.py starts it): a
development key's answer comes from the simulator, and a user line ``governor-demo: TEXT`` makes
it answer TEXT verbatim, so the Governor's findings are deterministic (docs/governor.md, "In the
gateway").

Mode changes run on a project of their own, so these tests do not depend on their order nor
change what the other modules' tests see."""

from __future__ import annotations

import uuid
from typing import List

import pytest

from regpilot import (
    BadRequestError, ChatCompletion, GovernorAudit, GovernorBlockedError, GovernorSettings, PermissionDeniedError, Policy, RegPilot,
)
from regpilot_harness import Gateway, Key, wait_until

METADATA = {"actionType": "refund_denial", "senderId": "sdk-test", "recipientCountry": "DE"}
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
DEMO = f"governor-demo: Mail {EMAIL}, card {CARD}"


def client_for(gateway: Gateway, key: Key) -> RegPilot:
    return RegPilot(api_key=key.secret, base_url=gateway.url, max_retries=0)


def demo_messages(text: str = DEMO) -> List[dict]:
    return [{"role": "user", "content": text}]


def assert_redacted_high(text: str, governor: object) -> None:
    assert EMAIL not in text and CARD not in text, "personal data reached the caller"
    assert "[EMAIL]" in text and "[CARD]" in text, text
    assert governor is not None
    assert governor.validated is True  # type: ignore[attr-defined]
    assert governor.risk_level == "high"  # type: ignore[attr-defined]
    assert governor.action == "sanitized"  # type: ignore[attr-defined]
    assert governor.audit_id and governor.audit_id.startswith("gva_")  # type: ignore[attr-defined]
    rules = {f.rule for f in governor.findings}  # type: ignore[attr-defined]
    assert {"pii.email", "pii.card"} <= rules, rules


@pytest.fixture(scope="module")
def governed(gateway: Gateway, keys) -> ChatCompletion:
    """One validated answer of the shared project (sanitize mode, never changed here)."""
    with client_for(gateway, keys.dev) as client:
        return client.chat.create(messages=demo_messages(), governor_metadata=METADATA)


def test_chat_answer_is_sanitized_and_carries_the_result(governed: ChatCompletion) -> None:
    assert_redacted_high(governed.text, governed.governor)
    assert governed.governor is not None
    assert governed.governor.mode == "sanitize"
    assert governed.governor.recipient_country == "DE"
    for f in governed.governor.findings:
        if f.rule in ("pii.email", "pii.card"):
            assert f.category == "personal_data"


def test_chat_without_metadata_has_no_governor(gateway: Gateway, keys) -> None:
    with client_for(gateway, keys.dev) as client:
        answer = client.chat.create(messages=demo_messages())
    assert answer.governor is None
    assert EMAIL in answer.text, "without metadata the simulator's text is delivered as is"


def test_stream_is_sanitized_and_carries_the_result(gateway: Gateway, keys) -> None:
    with client_for(gateway, keys.dev) as client:
        with client.chat.create(messages=demo_messages(), stream=True, governor_metadata=METADATA) as stream:
            assert stream.governor is None, "set only once the stream is consumed"
            pieces = list(stream)
        text = "".join(pieces)
        assert_redacted_high(text, stream.governor)
        assert stream.content == text


def test_stream_without_metadata_has_no_governor(gateway: Gateway, keys) -> None:
    with client_for(gateway, keys.dev) as client:
        with client.chat.create(messages=demo_messages(), stream=True) as stream:
            text = "".join(stream)
    assert stream.governor is None
    assert EMAIL in text


def test_block_mode_raises_governor_blocked(gateway: Gateway) -> None:
    project_id = gateway.create_project(f"python governor block {uuid.uuid4().hex[:8]}", "enterprise")
    dev = gateway.create_key(project_id, "block dev", env="dev")
    project = gateway.create_key(project_id, "block project", kind="project", env="prod")
    with client_for(gateway, project) as admin, client_for(gateway, dev) as client:
        before = admin.compliance.governor_settings.get()
        assert isinstance(before, GovernorSettings)
        assert before.project_id == project_id
        assert before.available is True and before.enabled is True
        assert before.mode == "sanitize"
        changed = admin.compliance.governor_settings.update(mode="block")
        assert changed.mode == "block"
        assert admin.compliance.governor_settings.get().mode == "block"
        try:
            with pytest.raises(GovernorBlockedError) as raised:
                client.chat.create(messages=demo_messages(), governor_metadata=METADATA)
            err = raised.value
            assert err.status_code == 422
            assert "pii.card" in err.rules, err.rules
            assert EMAIL not in str(err) and CARD not in str(err)
            if err.governor is not None:
                assert err.governor.action == "blocked"
                assert err.governor.risk_level == "high"
            # A streamed request is withheld likewise.
            with pytest.raises(GovernorBlockedError) as streamed:
                with client.chat.create(messages=demo_messages(), stream=True, governor_metadata=METADATA) as s:
                    leaked = "".join(s)
                    assert CARD not in leaked
            assert "pii.card" in streamed.value.rules
        finally:
            restored = admin.compliance.governor_settings.update(mode="sanitize")
        assert restored.mode == "sanitize"
        after = client.chat.create(messages=demo_messages(), governor_metadata=METADATA)
        assert_redacted_high(after.text, after.governor)


def test_settings_refuse_a_bad_mode(gateway: Gateway, keys) -> None:
    with client_for(gateway, keys.project) as admin:
        with pytest.raises(BadRequestError) as raised:
            admin.compliance.governor_settings.update(mode="loud")  # type: ignore[arg-type]
    assert raised.value.status_code == 400
    assert raised.value.field == "mode"


def test_policies_create_list_update(gateway: Gateway, keys) -> None:
    name = f"no guarantees {uuid.uuid4().hex[:8]}"
    with client_for(gateway, keys.project) as admin:
        created = admin.compliance.policies.create(name=name, keywords=["guaranteed", "risk-free"],
                                                   action="warn", severity="medium")
        assert isinstance(created, Policy)
        assert created.id and created.project_id == keys.project_id
        assert created.name == name
        assert created.keywords == ["guaranteed", "risk-free"]
        assert created.pattern is None
        assert created.enabled is True and created.shadow is False
        listed = {p.id: p for p in admin.compliance.policies.list()}
        assert created.id in listed and listed[created.id].name == name

        shadowed = admin.compliance.policies.update(created.id, shadow=True)
        assert shadowed.shadow is True
        assert shadowed.version > created.version
        disabled = admin.compliance.policies.update(created.id, enabled=False)
        assert disabled.enabled is False and disabled.shadow is True

        regex = admin.compliance.policies.create(name=f"{name} regex", pattern=r"\bACME-\d{4}\b", action="log")
        assert regex.pattern == r"\bACME-\d{4}\b"
        cleared = admin.compliance.policies.update(regex.id, pattern=None, keywords=["acme"])
        assert cleared.pattern is None
        assert cleared.keywords == ["acme"]
        assert {p.id: p for p in admin.compliance.policies.list()}[regex.id].pattern is None

        with pytest.raises(BadRequestError) as raised:
            admin.compliance.policies.create(name=f"{name} broken", pattern="(unclosed", action="warn")
        assert raised.value.status_code == 400
        assert raised.value.field == "pattern"


def test_policies_need_write_scope(gateway: Gateway, keys) -> None:
    with client_for(gateway, keys.project_read_only) as reader:
        reader.compliance.policies.list()
        with pytest.raises(PermissionDeniedError) as raised:
            reader.compliance.policies.create(name="read only", keywords=["x"], action="log")
    assert raised.value.status_code == 403


def test_audits_list_page_and_filter(gateway: Gateway, keys, governed: ChatCompletion) -> None:
    assert governed.governor is not None
    ids = {governed.governor.audit_id}
    with client_for(gateway, keys.dev) as client:
        for _ in range(2):
            answer = client.chat.create(messages=demo_messages(), governor_metadata=METADATA)
            assert answer.governor is not None
            ids.add(answer.governor.audit_id)
    assert len(ids) == 3
    with client_for(gateway, keys.project) as admin:
        # The audit entry is written beside the answer, not before it: wait for it.
        def listed() -> List[GovernorAudit]:
            audits = list(admin.compliance.governor_audits.iter_all(limit=500))
            return audits if ids <= {a.id for a in audits} else []

        everything = wait_until("the answers' audit entries", listed, timeout=10)
        by_id = {a.id: a for a in everything}
        for audit_id in ids:
            audit = by_id[audit_id]
            assert audit.project_id == keys.project_id
            assert audit.key_id == keys.dev.id
            assert audit.risk_level == "high" and audit.action == "sanitized"
            assert audit.action_type == "refund_denial" and audit.sender_id == "sdk-test"
            assert audit.recipient_country == "DE"
            assert {"pii.email", "pii.card"} <= {f.rule for f in audit.findings}
            assert audit.original_sha256 and audit.original_sha256 != audit.delivered_sha256

        # Paging: pages of one, newest first, nothing twice, the same entries as one big page.
        first = admin.compliance.governor_audits.list(limit=1)
        assert len(first.audits) == 1 and first.next_cursor
        second = admin.compliance.governor_audits.list(limit=1, cursor=first.next_cursor)
        assert len(second.audits) == 1
        assert second.audits[0].id != first.audits[0].id
        assert [first.audits[0].id, second.audits[0].id] == [a.id for a in everything[:2]]
        paged = [a.id for a in admin.compliance.governor_audits.iter_all(limit=2)]
        assert paged == [a.id for a in everything]
        assert len(paged) == len(set(paged))

        high = list(admin.compliance.governor_audits.iter_all(level="high", limit=500))
        assert ids <= {a.id for a in high}
        assert all(a.risk_level == "high" for a in high)
        low = admin.compliance.governor_audits.list(level="low", limit=500)
        assert not ids & {a.id for a in low.audits}
        assert all(a.risk_level == "low" for a in low.audits)


def test_free_project_gets_permission_error(gateway: Gateway, free_dev_key: Key) -> None:
    with client_for(gateway, free_dev_key) as client:
        with pytest.raises(PermissionDeniedError) as raised:
            client.chat.create(messages=demo_messages(), governor_metadata=METADATA)
    assert raised.value.status_code == 403
    assert raised.value.required == "governor"
