"""The official `openai` Python SDK against the gateway's OpenAI-compatible /v1 endpoints.

Development keys are answered by the gateway's built-in simulator (no upstream call);
production keys go to the mock upstream, which only answers when the gateway presents the
upstream key from the settings file (else 401), so a normal completion proves it was sent.
"""

from __future__ import annotations

import math
import time

import openai
import pytest
import requests

from regpilot_harness import (
    MOCK_COMPLETION,
    MOCK_MODEL_COMPLETION_CENTS_PER_1K,
    MOCK_MODEL_PROMPT_CENTS_PER_1K,
    Gateway,
    Key,
    wait_until,
)

HELLO = [{"role": "user", "content": "Hello"}]


def joined(stream) -> str:
    parts = []
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta is not None and choice.delta.content:
                parts.append(choice.delta.content)
    return "".join(parts)


def mock_usage(messages: list[dict], completion: str) -> tuple[int, int]:
    """The mock upstream's fixed token formula (documented in crates/mock-upstream/src/lib.rs):
    prompt = 3 + Σ(⌈chars/4⌉ + 4), completion = ⌈chars/4⌉. The gateway's own estimate for the
    simulator differs, so matching this shows the usage came from the upstream."""
    prompt = 3 + sum(math.ceil(len(m["content"]) / 4) + 4 for m in messages)
    return prompt, math.ceil(len(completion) / 4)


# --- a) development key: the simulator ---------------------------------------------------------


def test_dev_key_non_streamed_is_simulated(openai_client, keys):
    client = openai_client(keys.dev.secret)
    raw = client.chat.completions.with_raw_response.create(model="balanced", messages=HELLO)
    response = raw.parse()
    text = response.choices[0].message.content
    assert text.startswith("Simulated reply"), text
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "mock-model"  # the balanced tier, resolved
    assert response.usage is not None and response.usage.total_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    assert raw.headers.get("x-regpilot-test-mode") == "true"
    assert raw.headers.get("x-regpilot-provider") == "simulator"
    assert float(raw.headers.get("x-regpilot-credits-charged")) == 0


def test_dev_key_streamed_equals_non_streamed(openai_client, keys):
    client = openai_client(keys.dev.secret)
    messages = [{"role": "user", "content": "Summarise the gateway in one line"}]
    whole = client.chat.completions.create(model="balanced", messages=messages).choices[0].message.content
    with client.chat.completions.create(model="balanced", messages=messages, stream=True) as stream:
        streamed = joined(stream)
    assert streamed.startswith("Simulated reply")
    assert streamed == whole


def test_dev_key_models_list(openai_client, keys):
    client = openai_client(keys.dev.secret)
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert "mock-model" in ids, ids
    assert all(m.object == "model" for m in models.data)


# --- b) production key: the mock upstream ------------------------------------------------------


def test_prod_key_non_streamed_from_upstream(openai_client, keys):
    client = openai_client(keys.prod.secret)
    response = client.chat.completions.create(model="balanced", messages=HELLO)
    assert response.choices[0].message.content == MOCK_COMPLETION
    assert response.model == "mock-model"
    assert response.choices[0].finish_reason == "stop"
    prompt, completion = mock_usage(HELLO, MOCK_COMPLETION)
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (prompt, completion)
    assert response.usage.total_tokens == prompt + completion


def test_prod_key_by_model_id(openai_client, keys):
    client = openai_client(keys.prod.secret)
    response = client.chat.completions.create(model="mock-small", messages=HELLO)
    assert response.choices[0].message.content == MOCK_COMPLETION
    assert response.model == "mock-small"


def test_prod_key_streamed_equals_non_streamed(openai_client, keys):
    client = openai_client(keys.prod.secret)
    with client.chat.completions.create(model="balanced", messages=HELLO, stream=True) as stream:
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MOCK_COMPLETION
    # The mock splits the completion into 8 chunks; the gateway passes them on as a real stream.
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    assert all(c.usage is None for c in chunks), "usage without stream_options.include_usage"
    assert all(c.model == "mock-model" for c in chunks)


def test_prod_key_stream_include_usage(openai_client, keys):
    client = openai_client(keys.prod.secret)
    with client.chat.completions.create(
        model="balanced", messages=HELLO, stream=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = list(stream)
    last = chunks[-1]
    assert last.usage is not None, "the last chunk carries no usage"
    assert last.choices == []
    prompt, completion = mock_usage(HELLO, MOCK_COMPLETION)
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        prompt, completion, prompt + completion)
    assert all(c.usage is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == MOCK_COMPLETION


def test_prod_key_raw_response_headers(openai_client, keys):
    client = openai_client(keys.prod.secret)
    raw = client.chat.completions.with_raw_response.create(model="balanced", messages=HELLO)
    assert raw.status_code == 200
    assert raw.headers.get("x-regpilot-model") == "mock-model"
    assert raw.headers.get("x-regpilot-provider") == "mock"
    assert raw.headers.get("x-regpilot-test-mode") is None  # only development keys
    completion = raw.parse()
    usage = completion.usage
    assert int(raw.headers["x-regpilot-prompt-tokens"]) == usage.prompt_tokens
    assert int(raw.headers["x-regpilot-completion-tokens"]) == usage.completion_tokens
    assert int(raw.headers["x-regpilot-total-tokens"]) == usage.total_tokens
    # mock-model's prices from the settings file, in cents per 1,000 tokens.
    expected = (usage.prompt_tokens * MOCK_MODEL_PROMPT_CENTS_PER_1K
                + usage.completion_tokens * MOCK_MODEL_COMPLETION_CENTS_PER_1K) / 1000
    charged = float(raw.headers["x-regpilot-credits-charged"])
    assert charged == pytest.approx(expected, rel=1e-6, abs=1e-9), raw.headers["x-regpilot-credits-charged"]
    assert charged > 0


@pytest.mark.parametrize("stream", [False, True], ids=["non-streamed", "streamed"])
def test_upstream_500_becomes_502(openai_client, keys, stream):
    client = openai_client(keys.prod.secret)
    with pytest.raises(openai.APIStatusError) as info:
        result = client.chat.completions.create(model="mock-status-500", messages=HELLO, stream=stream)
        if stream:  # an error after the headers would surface while iterating
            with result:
                list(result)
    e = info.value
    assert e.status_code == 502, (e.status_code, e.body)
    assert isinstance(e, openai.InternalServerError)  # the SDK's class for any 5xx
    assert e.code == "UPSTREAM_ERROR", e.body
    assert e.type == "server_error", e.body
    assert isinstance(e.body, dict) and "mock" in e.body.get("message", ""), e.body


def test_usage_report_counts_sdk_calls(gateway: Gateway, openai_client, keys):
    """GET /api/usage?period=day (usage:read, which gateway keys have) shows the AI calls of
    the production key by model and provider, with the configured prices applied."""
    client = openai_client(keys.prod.secret)
    client.chat.completions.create(model="balanced", messages=HELLO)

    def report():
        r = requests.get(f"{gateway.url}/api/usage", params={"period": "day"},
                         headers={"X-API-Key": keys.prod.secret}, timeout=5)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        line = next((k for k in body.get("keys", []) if k.get("key_id") == keys.prod.id), None)
        return line if line and line["ai"]["calls"] > 0 else None

    line = wait_until("the usage report to show the production key's AI calls", report, timeout=10, interval=0.25)
    models = {(m["model"], m["provider"]): m for m in line["ai"]["models"]}
    assert ("mock-model", "mock") in models, line["ai"]
    m = models[("mock-model", "mock")]
    assert m["total_tokens"] == m["prompt_tokens"] + m["completion_tokens"]
    expected = (m["prompt_tokens"] * MOCK_MODEL_PROMPT_CENTS_PER_1K
                + m["completion_tokens"] * MOCK_MODEL_COMPLETION_CENTS_PER_1K) / 1000
    assert m["cost_cents"] == pytest.approx(expected, rel=1e-3)


# --- c) errors, as the SDK's exception classes ------------------------------------------------


def test_invalid_key_is_authentication_error(openai_client):
    client = openai_client("sk_prod_" + "x" * 40)
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="balanced", messages=HELLO)
    assert info.value.status_code == 401
    assert info.value.code == "INVALID_API_KEY", info.value.body
    assert info.value.type == "authentication_error"


def test_deactivated_key_is_authentication_error(gateway: Gateway, openai_client, keys):
    key = gateway.create_key(keys.project_id, "to deactivate", env="prod")
    client = openai_client(key.secret)
    assert client.chat.completions.create(model="balanced", messages=HELLO).choices[0].message.content
    gateway.deactivate_key(key)

    def rejected():
        try:
            client.models.list()
        except openai.AuthenticationError as e:
            return e
        return None

    e = wait_until("the deactivated key to be refused", rejected, timeout=10, interval=0.1)
    assert e.status_code == 401 and e.code == "INVALID_API_KEY", e.body


def test_project_key_is_permission_denied(openai_client, keys):
    client = openai_client(keys.project.secret)
    assert keys.project.secret.startswith("pk_")
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="balanced", messages=HELLO)
    assert info.value.status_code == 403
    assert info.value.type == "permission_error", info.value.body


def test_free_dev_key_second_quick_call_is_rate_limited(openai_client, free_dev_key: Key):
    """Free-plan development keys get a burst of 1 request/s (GCRA: one request per second):
    the second of two back-to-back calls is refused with 429 and Retry-After."""
    client = openai_client(free_dev_key.secret)
    error = None
    for _ in range(3):
        # The fixture's readiness check (/api/health with the key) spent this second's
        # allowance: retry the first call (bounded) until it goes through.
        first = None
        for _ in range(5):
            try:
                started = time.monotonic()
                first = client.chat.completions.create(model="balanced", messages=HELLO)
                break
            except openai.RateLimitError as e:
                time.sleep(float(e.response.headers.get("retry-after", "1")))
        assert first is not None, "the first call never got through"
        assert first.choices[0].message.content.startswith("Simulated reply")
        try:
            client.chat.completions.create(model="balanced", messages=HELLO)
        except openai.RateLimitError as e:
            error = e
            break
        # Admitted: only right if a whole second went by since the first call started (a
        # loaded machine); try the pair again.
        elapsed = time.monotonic() - started
        assert elapsed >= 1.0, f"two calls within {elapsed:.3f}s were both admitted (burst 1/s)"
    assert error is not None, "the second call was never refused"
    assert error.status_code == 429
    assert error.code == "RATE_LIMIT_EXCEEDED", error.body
    assert error.type == "rate_limit_error", error.body
    retry_after = error.response.headers.get("retry-after")
    assert retry_after is not None and int(retry_after) >= 1, retry_after


def test_bad_field_is_bad_request(openai_client, keys):
    client = openai_client(keys.prod.secret)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="balanced", messages=HELLO, temperature=5)
    assert info.value.status_code == 400
    assert info.value.param == "temperature", info.value.body
    assert info.value.type == "invalid_request_error", info.value.body


def test_unknown_model_is_a_4xx_not_a_5xx(openai_client, keys):
    client = openai_client(keys.prod.secret)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert 400 <= info.value.status_code < 500, (info.value.status_code, info.value.body)
    assert isinstance(info.value.body, dict) and info.value.body.get("message"), info.value.body
