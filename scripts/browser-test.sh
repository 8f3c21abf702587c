#!/usr/bin/env bash
# `make test-browser`: the customer/agent conversation in headless Chromium (Debian's
# chromium package, driven by playwright-core from npm), and the agent feed through npm's
# CometD client, against a local stack of their own.
# Installs what it needs: chromium with apt-get where it is missing (as root), and
# playwright-core into .local/browser.
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
if [ -z "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }
    CHROMIUM=$(command -v chromium)
  else
    echo "no Chromium and no way to install it: install Debian's chromium package" >&2
    exit 1
  fi
fi
PLAYWRIGHT_VERSION=1.64.1
if [ ! -d .local/browser/node_modules/playwright-core ]; then
  mkdir -p .local/browser
  npm install --prefix .local/browser --no-save --no-audit --no-fund --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
fi
source scripts/stack.sh
# The independent CometD client of the agent feed (tests/cometd): npm's cometd with its Node adapter.
node_clients
start_stack
API="$API" CHROMIUM="$CHROMIUM" PLAYWRIGHT="$PWD/.local/browser/node_modules/playwright-core" \
  COMETD_MODULES="$PWD/.local/cometd/node_modules" node --test --test-reporter=spec tests/browser/ tests/cometd/
