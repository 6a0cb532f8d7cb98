#!/usr/bin/env bash
# Browser tests: the dashboard in headless Chromium (tests/browser, node --test, driven with
# playwright-core) against the real regpilot binary. Installs what they need on first use:
#   - Chromium: the Debian package `chromium` (/usr/bin/chromium), with apt-get as root;
#   - tests/browser/node_modules (playwright-core, pinned by package-lock.json; it downloads no
#     browser of its own);
#   - the binary: cargo build -p regpilot --bins (debug; quick when already built).
# Writes the dashboard screenshots to docs/screenshots/ (SCREENSHOTS=1; set SCREENSHOTS=0 to
# leave them alone). Extra arguments go to `node --test` (e.g. --test-name-pattern=CSRF).
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium

for tool in node npm cargo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-browser: $tool is not installed" >&2; exit 1; }
done
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
if [ "$NODE_MAJOR" -lt 20 ]; then
  echo "test-browser: node $(node --version) is too old; node 20 or later is needed" >&2
  exit 1
fi

echo "== Chromium"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing the Debian package chromium (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test-browser: $CHROMIUM is missing. Install it as root: apt-get update && apt-get install -y chromium" >&2
    exit 1
  fi
fi
"$CHROMIUM" --version 2>/dev/null || true

echo "== playwright-core (tests/browser/node_modules)"
if [ ! -f tests/browser/node_modules/playwright-core/package.json ] \
  || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  (cd tests/browser && npm install --no-audit --no-fund)
fi
echo "node $(node --version), playwright-core $(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version')"

echo "== cargo build -p regpilot --bins"
cargo build -p regpilot --bins --quiet

echo "== node --test tests/browser"
export SCREENSHOTS="${SCREENSHOTS:-1}"
exec node --test "$@" tests/browser/
