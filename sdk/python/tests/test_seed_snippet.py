"""The seed's Python SDK example (authentication.md, "Method 3: SDK Authentication", the Python
SDK tab), copied verbatim to examples/seed_snippet.py, run with this interpreter against the
local gateway: REGPILOT_API_KEY and REGPILOT_BASE_URL in the environment, nothing else given.

As written it cannot run: it uses `os.environ` but never imports `os`, so Python stops at its
third line with `NameError: name 'os' is not defined` before the client is even built. The test
shows that exact failure, then runs the snippet with the one missing line, `import os`, put in
front of it, unchanged otherwise."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from regpilot_harness import REPO, redact

SNIPPET = Path(__file__).resolve().parents[1] / "examples" / "seed_snippet.py"
SEED_DOC = REPO / "tests" / "clients" / "seed" / "authentication.md"
SEED_BLOCK = 6  # the Python SDK tab of Method 3 (tests/clients/seed/README.md numbers the others)

# Runs a snippet file, optionally with a prefix line, then prints what `response` holds.
RUNNER = """
import json, sys
path, prefix = sys.argv[1], sys.argv[2]
source = open(path, encoding="utf-8").read()
namespace = {"__name__": "__main__", "__file__": path}
exec(compile(prefix + source, path, "exec"), namespace)
r = namespace["response"]
print("SNIPPET-RESPONSE " + json.dumps({"type": type(r).__name__, "content": r.content, "model": r.model,
      "provider": r.provider, "test_mode": r.test_mode, "total_tokens": r.usage.total_tokens}))
"""


def code_blocks(markdown: str) -> list[str]:
    """The fenced code blocks of a Markdown document, in order, without their indentation (as
    tests/clients/test_seed_examples.py reads them)."""
    blocks = []
    for indent, body in re.findall(r"^([ \t]*)```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", markdown, re.S | re.M):
        lines = [line[len(indent):] if line.startswith(indent) else line.lstrip(" \t")
                 for line in body.splitlines(keepends=True)]
        blocks.append("".join(lines))
    return blocks


def run_snippet(gateway, key, prefix: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGPILOT_")}
    env.update(REGPILOT_API_KEY=key.secret, REGPILOT_BASE_URL=gateway.url)
    return subprocess.run([sys.executable, "-c", RUNNER, str(SNIPPET), prefix], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_the_copy_is_verbatim():
    blocks = code_blocks(SEED_DOC.read_text(encoding="utf-8"))
    assert SNIPPET.read_text(encoding="utf-8") == blocks[SEED_BLOCK]
    assert blocks[SEED_BLOCK].startswith("from regpilot import RegPilot\n")


def test_as_written_it_stops_at_the_missing_import_os(gateway, keys, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGPILOT_")}
    env.update(REGPILOT_API_KEY=keys.dev.secret, REGPILOT_BASE_URL=gateway.url)
    proc = subprocess.run([sys.executable, str(SNIPPET)], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, redact(proc.stderr)
    assert proc.stderr.rstrip().endswith("NameError: name 'os' is not defined"), redact(proc.stderr)
    assert 'line 3, in <module>' in proc.stderr and proc.stdout == ""


def test_with_import_os_added_it_chats_through_the_local_gateway(gateway, keys, tmp_path):
    proc = run_snippet(gateway, keys.dev, "import os\n", tmp_path)
    assert proc.returncode == 0, redact(proc.stderr)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("SNIPPET-RESPONSE "))
    got = json.loads(line.split(" ", 1)[1])
    assert got["type"] == "ChatCompletion" and got["content"].startswith("Simulated reply"), got
    assert got["provider"] == "simulator" and got["test_mode"] is True and got["total_tokens"] > 0
    assert keys.dev.secret not in proc.stdout + proc.stderr
