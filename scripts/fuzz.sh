#!/usr/bin/env bash
# `make fuzz`: schemathesis against the local server, described by docs/openapi.json,
# authenticated as an agent and as a customer: no 5xx, every response as documented.
# It brings up its own DynamoDB Local (in memory), SNS emulator and local server on free
# loopback ports and stops them after. EXAMPLES bounds the examples per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${EXAMPLES:-25}

source scripts/stack.sh
start_stack

agent=$(curl -sf -X POST "$API/dev/tokens" -d '{"userId":"fuzz-agent","name":"Fuzz","roles":["admin"]}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
customer=$(curl -sf -X POST "$API/chats" -d '{"channelId":"fuzz","nickname":"Fuzz"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')

status=0
for who in agent customer; do
  token=${!who}
  echo "== schemathesis as $who ($EXAMPLES examples per operation)"
  .venv/bin/schemathesis run docs/openapi.json --url "$API" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
    --phases examples,coverage,fuzzing --max-examples "$EXAMPLES" --seed 1 --request-timeout 10 \
    --suppress-health-check all --no-color || status=1
done
if [ "$status" -ne 0 ]; then echo "== server log (tail)"; tail -n 40 "$STACK_DIR/server.log"; fi
exit "$status"
