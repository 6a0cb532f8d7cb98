#!/usr/bin/env bash
# Client-level tests: real clients (the official openai Python SDK, curl, Python requests,
# TypeScript fetch on node) against the real regpilot binary and the mock upstream, and
# `regpilot scan`'s SARIF validated against the schema with jsonschema (tests/clients, run
# with pytest). Installs what they need on first use:
#   - a venv in target/clients-venv with tests/clients/requirements.txt (pinned), falling back
#     to installing python3-venv (as root) or to `pip install --target target/clients-pydeps`;
#   - tests/clients/node_modules (typescript, pinned by package-lock.json);
#   - the binaries: cargo build --workspace --bins (debug; quick when already built).
# Extra arguments go to pytest (e.g. -k rate_limited, -x).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS=tests/clients/requirements.txt
VENV=target/clients-venv
PYDEPS=target/clients-pydeps
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

as_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
  echo "== apt-get install $*"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

for tool in python3 node npm cargo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-clients: $tool is not installed" >&2; exit 1; }
done
if ! command -v curl >/dev/null 2>&1; then
  if as_root; then apt_install curl; else echo "test-clients: curl is not installed" >&2; exit 1; fi
fi

echo "== Python clients"
PY=""
make_venv() { rm -rf "$VENV"; python3 -m venv "$VENV" >/dev/null 2>&1 && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  PY="$VENV/bin/python"
elif make_venv; then
  PY="$VENV/bin/python"
elif as_root && apt_install python3-venv && make_venv; then
  PY="$VENV/bin/python"
else
  rm -rf "$VENV"
  echo "test-clients: no venv available; installing into $PYDEPS with pip --target"
  PY=python3
  export PYTHONPATH="$PWD/$PYDEPS${PYTHONPATH:+:$PYTHONPATH}"
fi
# Reinstall only when the pinned requirements change.
TARGET_DIR=$([ "$PY" = python3 ] && echo "$PYDEPS" || echo "$VENV")
STAMP="$TARGET_DIR/.requirements.sha256"
WANT=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  if [ "$PY" = python3 ]; then
    rm -rf "$PYDEPS"
    python3 -m pip install -q --target "$PYDEPS" -r "$REQUIREMENTS"
  else
    "$PY" -m pip install -q -r "$REQUIREMENTS"
  fi
  echo "$WANT" > "$STAMP"
fi
"$PY" -c 'import openai, requests, pytest, jsonschema; print(f"openai {openai.__version__}, requests {requests.__version__}, pytest {pytest.__version__}")'

echo "== TypeScript toolchain"
if [ ! -f tests/clients/node_modules/typescript/package.json ] \
  || [ tests/clients/package-lock.json -nt tests/clients/node_modules/.package-lock.json ]; then
  (cd tests/clients && npm install --no-audit --no-fund)
fi
echo "node $(node --version), typescript $(node -p 'require("./tests/clients/node_modules/typescript/package.json").version')"

echo "== cargo build --workspace --bins"
# --workspace: the mock upstream (crates/mock-upstream) is a member, not the root package.
cargo build --workspace --bins --quiet

echo "== pytest tests/clients"
exec "$PY" -m pytest -q tests/clients "$@"
