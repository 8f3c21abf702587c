#!/usr/bin/env bash
# `make conformance`: the black-box conformance suite (tests/conformance) against a local
# stack of its own, or against any deployment:
#   make conformance API=<base URL> SOCKET=<wss URL> AGENT_KEY=<the shared agent key> \
#     IDENTITY_KEY=<the customer identity secret>
# (that deployment with AgentSharedKey=on, and CHATS_PER_MINUTE_PER_ADDRESS raised for the
# run: every check starts its chats from this machine's one address).
# Arguments go to the runner (--write-guide, --check-guide).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack.sh
node_clients
browser_deps
if [ -z "${API:-}" ]; then
  # Agents sign in with a shared key here, as AgentSharedKey=on allows in AWS.
  AGENT_TOKEN_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  CUSTOMER_IDENTITY_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  export AGENT_TOKEN_SECRET CUSTOMER_IDENTITY_SECRET
  # Every check starts chats from this one address: a deployment run needs the same.
  export CHATS_PER_MINUTE_PER_ADDRESS=100000
  # ChatCleanup's check asks for one run (POST /dev/cleanup) and finds its closed chat gone.
  export CLOSED_RETENTION_SECONDS=0
  start_stack
  SOCKET="ws://127.0.0.1:$PORT/socket"
  AGENT_KEY=$AGENT_TOKEN_SECRET
  IDENTITY_KEY=$CUSTOMER_IDENTITY_SECRET
fi
API="$API" SOCKET="${SOCKET:-}" AGENT_KEY="${AGENT_KEY:-}" IDENTITY_KEY="${IDENTITY_KEY:-}" \
  NODE_CLIENTS="$PWD/.local/cometd/node_modules" CHROMIUM="$CHROMIUM" PLAYWRIGHT="$PLAYWRIGHT" \
  node tests/conformance/run.mjs "$@"
