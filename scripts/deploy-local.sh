#!/usr/bin/env bash
# `make deploy-local`: template.yaml deployed, as it is, into the emulator (ministack's
# CloudFormation, Lambda, API Gateway, DynamoDB and its streams, SNS, SQS, EventBridge,
# Secrets Manager, S3) with `make package`'s zips, then the smoke suite against the stack's
# own API URL. DEPLOY_KEEP=1 keeps the stack up afterwards until Ctrl-C.
# DEPLOY_CONFORMANCE=1 also runs the conformance suite against it (then chats per address are
# raised for the run: CHATS_PER_MINUTE_PER_ADDRESS).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
for f in functions/*; do
  [ -f "$target/lambda/$(basename "$f")/bootstrap.zip" ] || { echo "no $target/lambda/$(basename "$f")/bootstrap.zip: run make package first" >&2; exit 1; }
done
dir=.local/deploy-local  # kept after a run: the emulator's log and what was deployed
if [ "${DEPLOY_CONFORMANCE:-}" = 1 ]; then export CHATS_PER_MINUTE_PER_ADDRESS=${CHATS_PER_MINUTE_PER_ADDRESS:-100000}; fi
rm -rf "$dir"; mkdir -p "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The functions' SDK calls go to the emulator: it hands its own AWS_ENDPOINT_URL to the
# bootstrap processes it starts (AWS's Lambda has no such variable; the SDK reads it).
AUTH=${DEPLOY_AUTH:-true} AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
  BIND_HOST=127.0.0.1 MINISTACK_HOST=127.0.0.1 GATEWAY_PORT="$port" .venv/bin/python scripts/deploy_emulator.py >"$dir/emulator.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
.venv/bin/python scripts/deploy_local.py "http://127.0.0.1:$port" "$dir/deployed.json" ||
  { tail -n 30 "$dir/emulator.log"; exit 1; }
python3 scripts/deploy_smoke.py "$dir/deployed.json" || { grep -E "ERROR|error" "$dir/emulator.log" | tail -n 20; exit 1; }
source scripts/stack.sh
node_clients
COMETD_MODULES="$PWD/.local/cometd/node_modules" node scripts/deploy_push.mjs "$dir/deployed.json" ||
  { grep -E "ERROR|error" "$dir/emulator.log" | tail -n 20; exit 1; }
# DEPLOY_CONFORMANCE=1: the conformance suite too, against the deployed stack (its scorecard
# in $dir/scorecard.json), its pushes through the deployed WebSocket API.
if [ "${DEPLOY_CONFORMANCE:-}" = 1 ]; then
  keys() { python3 -c "import json,sys; print(json.load(open('$dir/deployed.json'))$1)"; }
  API=$(keys "['api']") SOCKET=$(keys "['socket']") AGENT_KEY=$(keys "['keys']['AgentTokenSecretName']") \
    IDENTITY_KEY=$(keys "['keys']['CustomerIdentitySecretName']") CONFORMANCE_OUT="$dir/scorecard.json" \
    scripts/conformance.sh || echo "conformance against the deployed stack: see $dir/scorecard.json"
fi
# A call a function's role does not allow may be retried or only logged: none may happen.
.venv/bin/python scripts/deploy_local.py --refusals "$dir/emulator.log"
if [ "${DEPLOY_KEEP:-}" = 1 ]; then
  echo "the stack stays up (emulator log: $dir/emulator.log); Ctrl-C stops it"
  wait $pid
fi
