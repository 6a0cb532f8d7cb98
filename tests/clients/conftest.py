"""Session fixtures for the client-level tests: one mock upstream and one regpilot gateway,
real processes on free ports in a temporary folder, shared by every test and stopped at the
end (SIGTERM, then SIGKILL after 10 s). Run through scripts/test-clients.sh, which builds the
binaries and installs the clients first.

Keys come from the real CLI (`regpilot project create` / `regpilot key create --json`) against
the gateway's store; their secrets are registered for redaction, and every failure report is
scrubbed of them by the hook at the bottom.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

from regpilot_harness import MOCK, REGPILOT, Gateway, Key, MockUpstream, redact

# The seed snippets under seed/ are run by the tests as subprocesses; they are not test modules
# (seed/test_auth.py would otherwise be collected).
collect_ignore = ["seed"]

# Everything here talks to 127.0.0.1 only: keep any proxy settings of the caller out of the
# clients (requests, openai/httpx, curl and node all read these).
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(filter(None, [os.environ.get(_var, ""), "127.0.0.1", "localhost"]))


@dataclass
class Stack:
    mock: MockUpstream
    gateway: Gateway


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for binary in (REGPILOT, MOCK):
        if not binary.is_file():
            pytest.fail(f"{binary} is missing: run scripts/test-clients.sh (or cargo build --workspace --bins)")
    workdir = tmp_path_factory.mktemp("regpilot")
    mock = MockUpstream(workdir)
    try:
        gateway = Gateway(workdir, mock.url)
    except BaseException:
        mock.stop()
        raise
    try:
        yield Stack(mock=mock, gateway=gateway)
    finally:
        gateway_rc = gateway.stop()
        mock_rc = mock.stop()
    # The gateway drains and exits 0 on SIGTERM; anything else (a crash, or a stream a test
    # left open that kept it draining past the 10 s grace) shows up as a teardown error.
    assert gateway_rc == 0, f"gateway exit code after SIGTERM: {gateway_rc} (log: {gateway.log})"
    assert mock_rc == 0, f"mock upstream exit code after SIGTERM: {mock_rc}"


@pytest.fixture(scope="session")
def gateway(stack: Stack) -> Gateway:
    return stack.gateway


@dataclass
class Keys:
    """Keys of one enterprise project (burst 1000/s for production keys, 100/s for development
    keys, no daily cap), so that the happy-path tests never meet a rate limit."""

    project_id: str
    dev: Key  # sk_dev_: answered by the built-in simulator
    prod: Key  # sk_prod_: answered by the mock upstream
    project: Key  # pk_prod_: a project key, which lacks the chat scope


@pytest.fixture(scope="session")
def keys(gateway: Gateway) -> Keys:
    project_id = gateway.create_project("client-tests", "enterprise")
    return Keys(
        project_id=project_id,
        dev=gateway.create_key(project_id, "client-tests dev", env="dev"),
        prod=gateway.create_key(project_id, "client-tests prod", env="prod"),
        project=gateway.create_key(project_id, "client-tests project key", kind="project", env="prod", wait=False),
    )


@pytest.fixture(scope="session")
def free_project_id(gateway: Gateway) -> str:
    """The default project the gateway creates on first start (free plan)."""
    free = [p for p in gateway.projects() if p.get("plan") == "free"]
    assert free, f"no free-plan project after first start: {gateway.projects()}"
    return free[0]["id"]


@pytest.fixture
def free_dev_key(gateway: Gateway, free_project_id: str, request: pytest.FixtureRequest) -> Key:
    """A fresh development gateway key of the free project: 1 request/s burst, 100 a day."""
    return gateway.create_key(free_project_id, f"free dev {request.node.name}"[:60], env="dev")


@pytest.fixture
def openai_client(gateway: Gateway) -> Iterator[Callable[..., object]]:
    """A factory: openai_client(secret) → openai.OpenAI against the gateway's /v1, no retries."""
    from openai import OpenAI

    made: list[OpenAI] = []

    def make(api_key: str) -> OpenAI:
        client = OpenAI(api_key=api_key, base_url=f"{gateway.url}/v1", max_retries=0, timeout=30.0)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Scrubs every registered key secret from failure reports and captured output, whatever
    the assertion introspection or a traceback happened to show."""
    outcome = yield
    report = outcome.get_result()
    if report.longrepr is not None:
        text = str(report.longrepr)
        scrubbed = redact(text)
        if scrubbed != text:
            report.longrepr = scrubbed
    report.sections = [(name, redact(content)) for name, content in report.sections]
