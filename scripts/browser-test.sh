#!/usr/bin/env bash
# `make test-browser`: the customer/agent conversation in headless Chromium (Debian's
# chromium package, driven by playwright-core from npm), and the agent feed through npm's
# CometD client, against a local stack of their own.
# Installs what it needs: chromium with apt-get where it is missing (as root), and
# playwright-core into .local/browser.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack.sh
browser_deps
# The independent CometD client of the agent feed (tests/cometd): npm's cometd with its Node adapter.
node_clients
start_stack
API="$API" CHROMIUM="$CHROMIUM" PLAYWRIGHT="$PWD/.local/browser/node_modules/playwright-core" \
  COMETD_MODULES="$PWD/.local/cometd/node_modules" node --test --test-reporter=spec tests/browser/ tests/cometd/
# The README's pictures, taken by the tests above: `make test-browser UPDATE_SCREENSHOTS=1`
# copies them into docs/screenshots/ (committed; left alone otherwise, so a test run does
# not change tracked files).
if [ "${UPDATE_SCREENSHOTS:-}" = 1 ]; then
  mkdir -p docs/screenshots
  cp web/screenshots/{widget-closed-unread,widget-open,widget-phone,agent,agent-phone}.png docs/screenshots/
fi
