"""Starts the mock upstream and the regpilot gateway as real processes, and drives the CLI.

Used by conftest.py (session fixtures) and the tests. Nothing here builds anything: the
binaries must already be in target/debug (scripts/test-clients.sh builds them), or in the
folder named by REGPILOT_BIN_DIR.

Secrets: every key secret created here is registered with `register_secret`, and `redact`
replaces them (conftest.py also scrubs pytest's failure reports with it), so no full secret
reaches a log, an assertion message or a report.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("REGPILOT_BIN_DIR", REPO / "target" / "debug"))
REGPILOT = BIN_DIR / "regpilot"
MOCK = BIN_DIR / "regpilot-mock-upstream"

# The key the gateway must present to the mock upstream; the mock answers 401 to anything else,
# so a normal completion through a production key proves the gateway sent it.
UPSTREAM_KEY = "upstream-secret"
MOCK_COMPLETION = "The quick brown fox jumps over the lazy dog."
# Prices from the settings file below, in cents per 1,000 tokens.
MOCK_MODEL_PROMPT_CENTS_PER_1K = 0.5
MOCK_MODEL_COMPLETION_CENTS_PER_1K = 1.5

STOP_GRACE_SECS = 10.0

_SECRETS: set[str] = set()


def register_secret(secret: str) -> None:
    if secret:
        _SECRETS.add(secret)


# Anything shaped like a key secret, including pytest's shortened 'sk_dev_AbC...xYz' form.
_SECRET_SHAPE = re.compile(r"\b((?:sk|pk)_(?:dev|stg|prod)_)[A-Za-z0-9_\-]+(?:(?:\.\.\.|…)[A-Za-z0-9_\-]+)?")


def redact(text: object) -> str:
    """`text` as a string with every registered secret, and anything shaped like one, cut
    down to its type and environment prefix."""
    out = text if isinstance(text, str) else str(text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        out = out.replace(secret, "[redacted secret]")
    return _SECRET_SHAPE.sub(lambda m: m.group(1) + "…[redacted]", out)


@dataclass(frozen=True)
class Key:
    id: str
    project_id: str
    kind: str  # gateway | project
    env: str  # dev | stg | prod
    secret: str = field(repr=False)

    def __str__(self) -> str:
        return f"{self.id} ({self.kind} key, {self.env})"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Calls `check` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = check()
            if last:
                return last
        except requests.RequestException as e:  # server not up yet, connection reset, …
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(redact(f"timed out after {timeout}s waiting for {what}; last: {last!r}"))
        time.sleep(interval)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return redact("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
    except OSError:
        return "(no log)"


def stop_process(proc: subprocess.Popen, grace: float = STOP_GRACE_SECS) -> int | None:
    """SIGTERM, then SIGKILL if still alive after `grace` seconds. Returns the exit code
    (negative: killed by that signal)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


class MockUpstream:
    def __init__(self, workdir: Path):
        self.log = workdir / "mock-upstream.log"
        self.out = workdir / "mock-upstream.out"
        env = dict(os.environ, MOCK_KEY=UPSTREAM_KEY)
        with open(self.out, "wb") as out, open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [str(MOCK), "--listen", "127.0.0.1:0", "--api-key-env", "MOCK_KEY",
                 "--chunks", "8", "--chunk-delay-ms", "5"],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
            )

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"mock upstream exited with {self.proc.returncode}: {_tail(self.log)}")
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.out.read_text())
            return m and m.group(1)

        self.url: str = wait_until("the mock upstream's 'listening on' line", listening, timeout=15)

    def stop(self) -> int | None:
        return stop_process(self.proc)


SETTINGS_TEMPLATE = """\
[ai]
response_timeout_secs = 5

[ai.quality]
cheap = "mock-small"
balanced = "mock-model"
frontier = "mock-model"

[[ai.providers]]
name = "mock"
base_url = "{mock_url}/v1"
api_key_env = "MOCK_KEY"
models = [
  {{ id = "mock-model", prompt_cents_per_1k = {p}, completion_cents_per_1k = {c} }},
  {{ id = "mock-small" }},
  {{ id = "mock-status-500" }},
]
"""


class Gateway:
    def __init__(self, workdir: Path, mock_url: str):
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.data_dir.mkdir()
        self.config = workdir / "regpilot.toml"
        self.config.write_text(SETTINGS_TEMPLATE.format(
            mock_url=mock_url, p=MOCK_MODEL_PROMPT_CENTS_PER_1K, c=MOCK_MODEL_COMPLETION_CENTS_PER_1K))
        self.log = workdir / "gateway.log"
        # Nothing from the caller's REGPILOT_* settings (a database URL, Redis, a listen address)
        # leaks into this throwaway instance.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REGPILOT_")}
        self.env.update(REGPILOT_DATA_DIR=str(self.data_dir), MOCK_KEY=UPSTREAM_KEY)
        self.proc: subprocess.Popen | None = None
        self.url = ""
        for attempt in range(3):  # a free port can be taken between our probe and the bind
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            with open(self.log, "ab") as err:
                self.proc = subprocess.Popen(
                    [str(REGPILOT), "--config", str(self.config), "serve", "--listen", f"127.0.0.1:{port}"],
                    stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, env=self.env,
                )
            if self._wait_healthy():
                return
        raise AssertionError(f"the gateway did not start: {_tail(self.log)}")

    def _wait_healthy(self) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if requests.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        stop_process(self.proc)
        return False

    def stop(self) -> int | None:
        return stop_process(self.proc) if self.proc else None

    # --- CLI -------------------------------------------------------------------------------

    def cli(self, *args: str) -> dict:
        """Runs `regpilot --config … ARGS --json` against this gateway's store; the parsed JSON."""
        proc = subprocess.run(
            [str(REGPILOT), "--config", str(self.config), *args, "--json"],
            env=self.env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise AssertionError(redact(
                f"regpilot {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"))
        out = proc.stdout.strip()
        try:
            data = json.loads(out) if out else {}
        except json.JSONDecodeError:
            raise AssertionError(redact(f"regpilot {' '.join(args)} printed no JSON: {out[:500]}")) from None
        if isinstance(data, dict) and isinstance(data.get("secret"), str):
            register_secret(data["secret"])
        return data

    def projects(self) -> list[dict]:
        return self.cli("project", "list")["projects"]

    def create_project(self, name: str, plan: str) -> str:
        return self.cli("project", "create", "--name", name, "--plan", plan)["id"]

    def create_key(self, project_id: str, name: str, *, kind: str = "gateway", env: str = "dev",
                   read_only: bool = False, wait: bool = True) -> Key:
        args = ["key", "create", "--project", project_id, "--type", kind, "--env", env, "--name", name]
        if read_only:
            args.append("--read-only")
        data = self.cli(*args)
        key = Key(id=data["id"], project_id=project_id, kind=kind, env=env, secret=data["secret"])
        assert key.secret.startswith("sk_" if kind == "gateway" else "pk_"), f"unexpected prefix for {key}"
        if wait:
            self.wait_authenticated(key)
        return key

    def deactivate_key(self, key: Key) -> None:
        self.cli("key", "deactivate", key.id)

    # --- HTTP ------------------------------------------------------------------------------

    def health(self, key: Key | None = None) -> requests.Response:
        headers = {"X-API-Key": key.secret} if key else {}
        return requests.get(f"{self.url}/api/health", headers=headers, timeout=5)

    def wait_authenticated(self, key: Key, timeout: float = 10.0) -> None:
        """Waits until the running server knows a freshly created key (changes reach it within
        about a second). Note: /api/health with a key counts against that key's rate limit."""

        def known():
            r = self.health(key)
            return r.status_code == 200 and r.json().get("authenticated") is True

        wait_until(f"the gateway to accept {key}", known, timeout=timeout, interval=0.1)
