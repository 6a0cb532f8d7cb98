#!/usr/bin/env bash
# The SDKs' tests: sdk/python (pytest) and sdk/typescript (node --test), each against the real
# regpilot binary and the mock upstream that the tests start themselves (SQLite in a temporary
# folder, keys created with the CLI). Installs what they need on first use:
#   - a venv in target/sdks-venv with sdk/python/requirements-test.txt (pinned), falling back to
#     installing python3-venv (as root); then `pip install ./sdk/python` (the package as a user
#     installs it, rebuilt on every run);
#   - sdk/typescript/node_modules (typescript and @types/node, pinned by package-lock.json);
#   - the binaries: cargo build -p regpilot -p regpilot-mock-upstream --bins (debug; honours
#     CARGO_TARGET_DIR; quick when already built).
# Extra arguments go to pytest (e.g. -k rate_limit, -x).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=target/sdks-venv
REQUIREMENTS=sdk/python/requirements-test.txt
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

as_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
for tool in python3 node npm cargo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-sdks: $tool is not installed" >&2; exit 1; }
done

echo "== cargo build -p regpilot -p regpilot-mock-upstream --bins"
cargo build -p regpilot -p regpilot-mock-upstream --bins --quiet
export REGPILOT_BIN_DIR="$PWD/${CARGO_TARGET_DIR:-target}/debug"
case "${CARGO_TARGET_DIR:-}" in /*) REGPILOT_BIN_DIR="$CARGO_TARGET_DIR/debug" ;; esac

echo "== Python SDK (sdk/python)"
mkdir -p target
make_venv() { rm -rf "$VENV"; python3 -m venv "$VENV" >/dev/null 2>&1 && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }
if ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }; then
  if ! make_venv; then
    if as_root; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      make_venv || { echo "test-sdks: cannot create a venv" >&2; exit 1; }
    else
      echo "test-sdks: cannot create a venv (install python3-venv)" >&2; exit 1
    fi
  fi
fi
PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"
WANT=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  "$PY" -m pip install -q -r "$REQUIREMENTS"
  echo "$WANT" > "$STAMP"
fi
# The package itself, as `pip install ./sdk/python` installs it (its build tool, setuptools, is
# pinned in the requirements, hence no build isolation: no download per run).
rm -rf sdk/python/build sdk/python/src/regpilot.egg-info
"$PY" -m pip install -q --no-build-isolation --no-deps --force-reinstall ./sdk/python
rm -rf sdk/python/build sdk/python/src/regpilot.egg-info
"$PY" -c 'import regpilot, httpx, pytest; print(f"regpilot {regpilot.__version__} (from {regpilot.__file__}), httpx {httpx.__version__}, pytest {pytest.__version__}")'
(cd sdk/python && "../../$PY" -m pytest -q "$@")

echo "== TypeScript SDK (sdk/typescript)"
if [ ! -f sdk/typescript/node_modules/typescript/package.json ] \
  || [ sdk/typescript/package-lock.json -nt sdk/typescript/node_modules/.package-lock.json ]; then
  (cd sdk/typescript && npm ci --no-audit --no-fund)
fi
echo "node $(node --version), typescript $(node -p 'require("./sdk/typescript/node_modules/typescript/package.json").version')"
(cd sdk/typescript && npm test --silent)
