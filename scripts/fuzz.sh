#!/usr/bin/env bash
# `make fuzz`: schemathesis against the local server, described by docs/openapi.json: no
# 5xx, every response as documented. scripts/fuzz_hooks.py points each case at real objects
# with a caller its route lets through, so the inputs are fuzzed behind the door; the run
# then prints, per operation, how many cases reached the handler (not 401/403) and fails
# when, for an operation with a body or parameters, that is under FUZZ_REACH percent.
# It brings up its own DynamoDB Local (in memory), SNS emulator and local server on free
# loopback ports and stops them after. EXAMPLES bounds the examples per operation; other
# arguments go to schemathesis (`--include-operation-id message-add`, with FUZZ_SHOW=1 to
# see what the handler refused).
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${EXAMPLES:-25}
FUZZ_REACH=${FUZZ_REACH:-80}

source scripts/stack.sh
# The seeds start a chat for each case of a route that changes its chat: more than the
# default 10 a minute from one address.
export CHATS_PER_MINUTE_PER_ADDRESS=100000
start_stack

export FUZZ_API=$API FUZZ_REPORT=$STACK_DIR/reach.json SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH=scripts
status=0
echo "== schemathesis ($EXAMPLES examples per operation)"
.venv/bin/schemathesis run docs/openapi.json --url "$API" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
  --phases examples,coverage,fuzzing --max-examples "$EXAMPLES" --seed 1 --request-timeout 10 \
  --suppress-health-check all --no-color "$@" || status=1
.venv/bin/python scripts/fuzz_reach.py docs/openapi.json "$FUZZ_REPORT" "$FUZZ_REACH" || status=1
if [ "$status" -ne 0 ]; then echo "== server log (tail)"; tail -n 40 "$STACK_DIR/server.log"; fi
exit "$status"
