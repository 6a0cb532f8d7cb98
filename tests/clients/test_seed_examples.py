"""The seed's own authentication examples (seed/, copied verbatim from authentication.md),
pointed at the local gateway and otherwise run as written: curl through bash, the Python
`requests` snippets with this venv's python, the TypeScript `fetch` snippets transpiled with
the pinned `typescript` package and run with node.

All of them use the session's development key of the enterprise project (simulator answers),
except where a test says otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from regpilot_harness import REPO, Gateway, Key, redact

HERE = Path(__file__).resolve().parent
SEED = HERE / "seed"
NODE_MODULES = HERE / "node_modules"
SEED_BASE_URL = "https://regpilot.dev"
SEED_KEY_PLACEHOLDER = "YOUR_API_KEY"

# The seed's examples as copied (see seed/README.md): file → index of its code block in authentication.md.
SEED_FILES = {
    "curl_method1.sh": 1,
    "chat_request.ts": 2,
    "chat_request.py": 3,
    "curl_method2_as_written.sh": 4,
    "curl_health.sh": 12,
    "test-auth.ts": 13,
    "test_auth.py": 14,
}

# Method 2's header line in the seed: the `"` after Content-Type closes the string early and the
# one after application/json opens a new one that never closes before the end of the snippet.
METHOD2_TYPO = '-H "Content-Type": application/json"'
METHOD2_FIXED = '-H "Content-Type: application/json"'


# --- helpers -----------------------------------------------------------------------------------


def code_blocks(markdown: str) -> list[str]:
    """The fenced code blocks of a Markdown document, in order, each with the block's own
    indentation removed (blank lines keep whatever whitespace is left after it)."""
    blocks = []
    for indent, body in re.findall(r"^([ \t]*)```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", markdown, re.S | re.M):
        lines = []
        for line in body.splitlines(keepends=True):
            if line.startswith(indent):
                lines.append(line[len(indent):])
            else:
                assert not line.strip(), f"line less indented than its block: {line!r}"
                lines.append(line.lstrip(" \t"))
        blocks.append("".join(lines))
    return blocks


def shell_example(name: str, base_url: str) -> str:
    """A seed shell example pointed at `base_url`, with the key placeholder as a reference to
    $REGPILOT_API_KEY (the placeholder always stands inside double quotes, so bash expands it to
    the key: the same command as with the key pasted in, without the secret on a command line)."""
    text = (SEED / name).read_text(encoding="utf-8")
    assert SEED_BASE_URL in text and SEED_KEY_PLACEHOLDER in text
    return text.replace(SEED_BASE_URL, base_url).replace(SEED_KEY_PLACEHOLDER, "${REGPILOT_API_KEY}")


def run(argv: list[str], key: Key | None, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "REGPILOT_API_KEY"}
    if key is not None:
        env["REGPILOT_API_KEY"] = key.secret
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def run_bash(script: str, key: Key | None, tmp_path: Path, name: str = "example.sh") -> subprocess.CompletedProcess:
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed (scripts/test-clients.sh installs it on CI)")
    path = tmp_path / name
    path.write_text(script, encoding="utf-8")
    return run(["bash", str(path)], key, tmp_path)


def describe(proc: subprocess.CompletedProcess) -> str:
    return redact(f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")


def sse_events(text: str) -> list[object]:
    """The `data:` payloads of an SSE body: parsed JSON, or the string "[DONE]"."""
    events: list[object] = []
    for line in text.splitlines():
        if line.startswith("data:"):
            payload = line[len("data:"):].strip()
            events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def assert_simulated_chat_stream(body: str) -> None:
    """The /api/ai/chat SSE of a development key: chunks, one usage event, then [DONE]."""
    events = sse_events(body)
    assert events, f"no SSE data lines in: {body[:500]!r}"
    assert events[-1] == "[DONE]", events[-3:]
    chunks = [e for e in events[:-1] if e.get("type") == "chunk"]
    usage = [e for e in events[:-1] if e.get("type") == "usage"]
    assert chunks and len(usage) == 1, events
    assert events[-2] is usage[0], "the usage event is not the last before [DONE]"
    text = "".join(c["content"] for c in chunks)
    assert text.startswith("Simulated reply"), text
    u = usage[0]
    assert u["provider"] == "simulator" and u["model"] == "mock-model" and u["cacheHit"] is False, u
    assert u["usage"]["totalTokens"] == u["usage"]["promptTokens"] + u["usage"]["completionTokens"] > 0, u
    assert u["usage"]["costCents"] == 0, u


def node_bin() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed")
    if not (NODE_MODULES / "typescript").is_dir():
        pytest.fail("tests/clients/node_modules has no typescript: run scripts/test-clients.sh (npm install)")
    return node


def run_typescript(source: str, key: Key, tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    node = node_bin()
    ts_file, js_file = tmp_path / f"{name}.ts", tmp_path / f"{name}.mjs"
    ts_file.write_text(source, encoding="utf-8")
    transpiled = run([node, str(HERE / "transpile.cjs"), str(ts_file), str(js_file)], None, tmp_path)
    assert transpiled.returncode == 0, describe(transpiled)
    return run([node, str(js_file)], key, tmp_path)


# --- the copies ------------------------------------------------------------------------------


def test_seed_copies_are_verbatim():
    doc = (SEED / "authentication.md").read_text(encoding="utf-8")
    blocks = code_blocks(doc)
    for name, index in SEED_FILES.items():
        copy = (SEED / name).read_text(encoding="utf-8")
        if name == "curl_health.sh":
            # The block goes on with "# Expected response" and a JSON object, which is not shell.
            assert blocks[index].startswith(copy) and blocks[index][len(copy):].startswith("\n# Expected response")
        else:
            assert copy == blocks[index], f"seed/{name} differs from block {index} of authentication.md"
    shared = REPO.parent / "shared" / "seed" / "authentication.md"
    if shared.is_file():  # a developer's machine; CI's clone may have no shared folder beside it
        assert shared.read_text(encoding="utf-8") == doc, f"{shared} changed: refresh tests/clients/seed/"


# --- curl --------------------------------------------------------------------------------------


def test_curl_method1_x_api_key_streams(gateway: Gateway, keys, tmp_path):
    proc = run_bash(shell_example("curl_method1.sh", gateway.url), keys.dev, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.startswith("data: "), describe(proc)
    assert_simulated_chat_stream(proc.stdout)


def test_curl_health_says_authenticated(gateway: Gateway, keys, tmp_path):
    proc = run_bash(shell_example("curl_health.sh", gateway.url), keys.dev, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert '"authenticated":true' in proc.stdout, describe(proc)
    body = json.loads(proc.stdout)
    # The shape the seed shows under "# Expected response".
    assert body["status"] == "ok" and body["authenticated"] is True, body
    assert body["project_id"] == keys.project_id, body


def test_curl_method2_as_written_is_a_shell_syntax_error(gateway: Gateway, keys, tmp_path):
    """The seed's Method 2 example has a quoting typo: `-H "Content-Type": application/json" \\`.
    The `"` after Content-Type ends the string, and the `"` after application/json opens one
    that swallows the rest of the snippet and never closes. Run as a script, bash refuses it
    before running anything (exit 2, "unexpected EOF while looking for matching `\"'"), so no
    request reaches the server; pasted into an interactive shell it just waits at the `>`
    continuation prompt. Either way the reader gets no answer from the gateway at all."""
    script = shell_example("curl_method2_as_written.sh", gateway.url)
    assert METHOD2_TYPO in script
    proc = run_bash(script, keys.dev, tmp_path)
    assert proc.returncode == 2, describe(proc)
    assert "unexpected EOF while looking for matching" in proc.stderr, describe(proc)
    assert proc.stdout == "", describe(proc)
    syntax = run(["bash", "-n", str(tmp_path / "example.sh")], None, tmp_path)
    assert syntax.returncode == 2, "bash -n should reject the snippet as a syntax error"


def test_curl_method2_corrected_streams(gateway: Gateway, keys, tmp_path):
    script = shell_example("curl_method2_as_written.sh", gateway.url).replace(METHOD2_TYPO, METHOD2_FIXED)
    assert METHOD2_TYPO not in script and "Authorization: Bearer ${REGPILOT_API_KEY}" in script
    proc = run_bash(script, keys.dev, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert_simulated_chat_stream(proc.stdout)


def test_curl_method2_without_the_broken_header_is_a_clear_400(gateway: Gateway, keys, tmp_path):
    """A reader who "fixes" the typo by deleting that header line sends curl's default
    form content type: the gateway answers a 400 JSON error naming Content-Type (not a 500)."""
    script = shell_example("curl_method2_as_written.sh", gateway.url)
    script = "".join(line for line in script.splitlines(keepends=True) if METHOD2_TYPO not in line)
    script = script.replace('curl -X POST', 'curl -sS -w "\\nHTTP %{http_code}\\n" -X POST', 1)
    proc = run_bash(script, keys.dev, tmp_path)
    assert proc.returncode == 0, describe(proc)
    body, status = proc.stdout.rsplit("\nHTTP ", 1)
    assert status.strip() == "400", describe(proc)
    error = json.loads(body)
    assert error["code"] == "INVALID_REQUEST" and error.get("field") == "Content-Type", error


# --- Python requests ---------------------------------------------------------------------------


def test_python_chat_request_streams(gateway: Gateway, keys, tmp_path):
    proc = run([sys.executable, str(HERE / "run_seed_python.py"), str(SEED / "chat_request.py"), gateway.url],
               keys.dev, tmp_path)
    assert proc.returncode == 0, describe(proc)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("SEED-RESPONSE ")]
    assert len(lines) == 1, describe(proc)
    got = json.loads(lines[0][len("SEED-RESPONSE "):])
    assert got["status"] == 200, got
    assert got["content_type"].startswith("text/event-stream"), got
    assert got["head"].startswith('data: {"'), got
    assert "Simulated" in got["head"], got


def seed_python(name: str, base_url: str, tmp_path: Path) -> Path:
    source = (SEED / name).read_text(encoding="utf-8")
    assert SEED_BASE_URL in source
    path = tmp_path / name
    path.write_text(source.replace(SEED_BASE_URL, base_url), encoding="utf-8")
    return path


def test_python_test_auth_succeeds(gateway: Gateway, keys, tmp_path):
    proc = run([sys.executable, str(seed_python("test_auth.py", gateway.url, tmp_path))], keys.dev, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert "✅ Authentication successful" in proc.stdout, describe(proc)
    assert f"Project ID: {keys.project_id}" in proc.stdout, describe(proc)


def test_python_test_auth_with_an_invalid_key_reports_failure(gateway: Gateway, tmp_path):
    """With a wrong key /api/health answers 401 with `"authenticated": false` in its JSON, so
    the seed's script takes its else branch instead of crashing on a missing field."""
    wrong = Key(id="none", project_id="none", kind="gateway", env="dev", secret="sk_dev_" + "0" * 40)
    proc = run([sys.executable, str(seed_python("test_auth.py", gateway.url, tmp_path))], wrong, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert "❌ Authentication failed" in proc.stdout, describe(proc)


# --- TypeScript fetch --------------------------------------------------------------------------

# The chat snippet only assigns `response`; these lines, appended to it, show what it got.
TS_CHAT_EPILOGUE = """
// --- appended by test_seed_examples.py: report what the snippet got
const body = await response.text();
console.log('SEED-RESPONSE ' + JSON.stringify({
  status: response.status,
  contentType: response.headers.get('content-type'),
  head: body.slice(0, 400),
}));
"""


def test_typescript_chat_request_streams(gateway: Gateway, keys, tmp_path):
    source = (SEED / "chat_request.ts").read_text(encoding="utf-8").replace(SEED_BASE_URL, gateway.url)
    proc = run_typescript(source + TS_CHAT_EPILOGUE, keys.dev, tmp_path, "chat_request")
    assert proc.returncode == 0, describe(proc)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("SEED-RESPONSE ")]
    assert len(lines) == 1, describe(proc)
    got = json.loads(lines[0][len("SEED-RESPONSE "):])
    assert got["status"] == 200, got
    assert got["contentType"].startswith("text/event-stream"), got
    assert got["head"].startswith('data: {"'), got
    assert "Simulated" in got["head"], got


def test_typescript_test_auth_succeeds(gateway: Gateway, keys, tmp_path):
    source = (SEED / "test-auth.ts").read_text(encoding="utf-8").replace(SEED_BASE_URL, gateway.url)
    proc = run_typescript(source, keys.dev, tmp_path, "test-auth")
    assert proc.returncode == 0, describe(proc)
    assert "✅ Authentication successful" in proc.stdout, describe(proc)
    assert f"Project ID: {keys.project_id}" in proc.stdout, describe(proc)


# --- the seed's table of error responses -------------------------------------------------------


def test_error_table_matches_the_server(gateway: Gateway, keys, free_dev_key: Key):
    """| 401 | Missing API key | · | 401 | Invalid or inactive API key | · | 403 | API key lacks
    required permissions | · | 429 | Rate limit exceeded |, on POST /api/ai/chat."""
    url = f"{gateway.url}/api/ai/chat"
    body = {"messages": [{"role": "user", "content": "Hello"}]}

    def post(key: str | None) -> requests.Response:
        headers = {"X-API-Key": key} if key is not None else {}
        return requests.post(url, json=body, headers=headers, timeout=10)

    def check(r: requests.Response, status: int, message: str) -> None:
        assert r.status_code == status, (r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/json"), r.headers
        assert r.json()["error"] == message, r.text[:300]

    check(post(None), 401, "Missing API key")
    check(post("sk_prod_" + "y" * 40), 401, "Invalid or inactive API key")
    check(post(keys.project.secret), 403, "API key lacks required permissions")

    # A free-plan development key allows 1 request/s: keep going (bounded) until one is refused.
    deadline = time.monotonic() + 5
    while True:
        r = post(free_dev_key.secret)
        if r.status_code != 200 or time.monotonic() > deadline:
            break
        r.close()
    check(r, 429, "Rate limit exceeded")
    assert int(r.headers["retry-after"]) >= 1, r.headers
