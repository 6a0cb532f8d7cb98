"""Fixtures of the Python SDK's tests: the real `regpilot` binary and the mock upstream, started
once for the session by tests/clients/regpilot_harness.py (SQLite in a temporary folder, free
ports), keys created with the real CLI. scripts/test-sdks.sh builds the binaries and points
REGPILOT_BIN_DIR at them.

Every key secret is registered with the harness, and failure reports are scrubbed of them.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "clients"))

import regpilot_harness as harness  # noqa: E402
from regpilot_harness import MOCK, REGPILOT, Gateway, Key, MockUpstream, redact  # noqa: E402

# One more model for these tests: the mock upstream answers `mock-garbage` streams with a broken
# SSE line, which the gateway turns into an error event after the stream has begun.
harness.SETTINGS_TEMPLATE = harness.SETTINGS_TEMPLATE.replace(
    '{{ id = "mock-status-500" }},', '{{ id = "mock-status-500" }},\n  {{ id = "mock-garbage" }},'
)
assert "mock-garbage" in harness.SETTINGS_TEMPLATE

# Everything here talks to 127.0.0.1 only: keep the caller's proxy settings out of httpx.
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(filter(None, [os.environ.get(_var, ""), "127.0.0.1", "localhost"]))
# The tests decide what the client sees; nothing from the caller's shell.
for _var in ("REGPILOT_API_KEY", "REGPILOT_BASE_URL", "REGPILOT_ENVIRONMENT"):
    os.environ.pop(_var, None)


@dataclass
class Keys:
    project_id: str
    dev: Key  # sk_dev_ of an enterprise project: the simulator, 100 requests/s
    prod: Key  # sk_prod_: answered by the mock upstream
    project: Key  # pk_prod_: compliance read/write, no chat
    project_read_only: Key  # pk_prod_, --read-only: compliance:read only


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    for binary in (REGPILOT, MOCK):
        if not binary.is_file():
            pytest.fail(f"{binary} is missing: run scripts/test-sdks.sh (it builds the binaries)")
    workdir = tmp_path_factory.mktemp("regpilot")
    mock = MockUpstream(workdir)
    try:
        gw = Gateway(workdir, mock.url)
    except BaseException:
        mock.stop()
        raise
    try:
        yield gw
    finally:
        gateway_rc = gw.stop()
        mock_rc = mock.stop()
    assert gateway_rc == 0, f"gateway exit code after SIGTERM: {gateway_rc} (log: {gw.log})"
    assert mock_rc == 0, f"mock upstream exit code after SIGTERM: {mock_rc}"


@pytest.fixture(scope="session")
def keys(gateway: Gateway) -> Keys:
    project_id = gateway.create_project("python-sdk-tests", "enterprise")
    return Keys(
        project_id=project_id,
        dev=gateway.create_key(project_id, "python sdk dev", env="dev"),
        prod=gateway.create_key(project_id, "python sdk prod", env="prod"),
        project=gateway.create_key(project_id, "python sdk project", kind="project", env="prod", wait=False),
        project_read_only=gateway.create_key(project_id, "python sdk ci", kind="project", env="prod",
                                             read_only=True, wait=False),
    )


@pytest.fixture
def compliance_key(gateway: Gateway, request: pytest.FixtureRequest) -> Key:
    """A project key of a fresh enterprise project, so the compliance score starts from nothing."""
    project_id = gateway.create_project(f"compliance {request.node.name}"[:60], "enterprise")
    return gateway.create_key(project_id, "compliance", kind="project", env="prod")


@pytest.fixture(scope="session")
def free_project_id(gateway: Gateway) -> str:
    free = [p for p in gateway.projects() if p.get("plan") == "free"]
    assert free, "no free-plan project after first start"
    return free[0]["id"]


@pytest.fixture
def free_dev_key(gateway: Gateway, free_project_id: str, request: pytest.FixtureRequest) -> Key:
    """A fresh development key of the free project: burst 1 request/s. Creating it used its
    burst (the harness waits until /api/health accepts it), so this waits a second after."""
    key = gateway.create_key(free_project_id, f"free dev {request.node.name}"[:60], env="dev")
    time.sleep(1.1)
    return key


class RequestCounter:
    """An httpx client whose requests are counted (an event hook), to see the retries."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.statuses: list[int] = []
        self.client = httpx.Client(
            timeout=30.0,
            event_hooks={
                "request": [lambda r: self.requests.append((r.method, r.url.path))],
                "response": [lambda r: self.statuses.append(r.status_code)],
            },
        )


@pytest.fixture
def counter() -> Iterator[RequestCounter]:
    c = RequestCounter()
    yield c
    c.client.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.longrepr is not None:
        text = str(report.longrepr)
        scrubbed = redact(text)
        if scrubbed != text:
            report.longrepr = scrubbed
    report.sections = [(name, redact(content)) for name, content in report.sections]
