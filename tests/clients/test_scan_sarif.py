"""`regpilot scan --format sarif` validated against the SARIF 2.1.0 JSON schema (OASIS, the
final rtm.5 text, vendored in tests/fixtures from the npm package @microsoft/jest-sarif), on a
tree holding a live key, a deactivated one, an admin-token-shaped string that is not one, and
a checksum-broken key, checked against the gateway's store (README.md, "Secret scanning")."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import jsonschema

from regpilot_harness import REGPILOT, REPO, Gateway, redact

SCHEMA = json.loads((REPO / "tests" / "fixtures" / "sarif-2.1.0-rtm.5.json").read_text())


def scan(gateway: Gateway, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REGPILOT), "--config", str(gateway.config), "scan", *args],
        env=gateway.env, cwd=cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


def test_sarif_output_is_valid_sarif_2_1_0(gateway: Gateway, keys, tmp_path: Path) -> None:
    live = keys.prod.secret
    off = gateway.create_key(keys.project_id, "scan sarif deactivated", env="stg", wait=False)
    gateway.cli("key", "deactivate", off.id)
    broken = live[:-1] + ("B" if live.endswith("A") else "A")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "settings.py").write_text(f'KEY = "{live}"\n# old: {off.secret}\n')
    (tmp_path / "src" / "my notes.txt").write_text(f"broken: {broken}\nnot a token: rpa_short\n")

    proc = scan(gateway, ".", "--check", "--format", "sarif", cwd=tmp_path)
    assert proc.returncode == 1, redact(proc.stderr)
    for secret in (live, off.secret):
        assert secret not in proc.stdout and secret not in proc.stderr
    doc = json.loads(proc.stdout)

    jsonschema.Draft4Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft4Validator(SCHEMA)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == [], errors

    results = doc["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("regpilot/api-key", "error"), ("regpilot/api-key", "note")]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/settings.py"
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1

    # The schema does catch a broken document: the check above is not vacuous.
    bad = copy.deepcopy(doc)
    del bad["runs"][0]["results"][0]["message"]
    bad["runs"][0]["results"][0]["level"] = "fatal"
    assert len(list(validator.iter_errors(bad))) >= 2

    # A clean tree is a valid SARIF log with no results, and exit 0.
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("nothing here\n")
    proc = scan(gateway, ".", "--format", "sarif", cwd=clean)
    assert proc.returncode == 0, redact(proc.stderr)
    empty = json.loads(proc.stdout)
    assert list(validator.iter_errors(empty)) == []
    assert empty["runs"][0]["results"] == []
