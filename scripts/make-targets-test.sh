#!/usr/bin/env bash
# Every `make` target the README names, run as a user would, so that no documented command
# rots unnoticed (make test runs this). Long ones run in their quick form: soak for a few
# seconds, bench and bench-cold on small data with debug builds. `make package` is the
# exception (about 8 minutes from clean): the README says so. `make test` and `make fuzz` are what
# make test itself runs.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
check() { # check NAME COMMAND...: runs the command, counts the result
  local name=$1
  shift
  echo "== make-targets: $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# What `make generate` writes, committed as it writes it.
generated_unchanged() {
  local before
  before=$(mktemp -d)
  cp -r docs/openapi.json events functions template.yaml "$before/"
  make --no-print-directory generate >/dev/null || return 1
  diff -r "$before/openapi.json" docs/openapi.json >/dev/null && diff -r "$before/events" events >/dev/null \
    && diff -r "$before/functions" functions >/dev/null && diff "$before/template.yaml" template.yaml >/dev/null \
    || { echo "make generate changed what it generates"; diff -r "$before/functions" functions | head; return 1; }
}

lint() { make --no-print-directory lint >/tmp/make-lint.$$ 2>&1 || { tail -n 40 /tmp/make-lint.$$; return 1; }; }

soak() { make --no-print-directory soak SOAK_SECONDS=3 SOAK_WIDGETS=4 SOAK_AGENTS=2 2>&1 | tail -n 5; }

bench_quick() {
  local out
  out=$(BENCH_QUICK=1 make --no-print-directory bench BENCH_PROFILE=dev 2>&1) || { echo "$out" | tail -n 20; return 1; }
  echo "$out" | grep -E '^(message-add|scaling|written)'
  echo "$out" | grep -q 'written to bench/results/latest.json and cost.json' &&
    json_field "['usdPerMillionMessages']" <bench/results/cost.json | grep -Eq '^[0-9]+\.[0-9]+$'
}

bench_cold_quick() {
  local out
  out=$(make --no-print-directory bench-cold BENCH_FUNCTIONS=chat-get COLD_PROFILE=dev COLD_STARTS=2 BENCH_PROFILE=dev COLD_TLS=1 2>&1) ||
    { echo "$out" | tail -n 20; return 1; }
  echo "$out" | grep -E '^(binary|chat-get|sdk-floor|\(floor|\(DynamoDB)'
  echo "$out" | grep -Eq '^chat-get .* 2/2$' && echo "$out" | grep -Eq '^sdk-floor .* 2/2$' &&
    echo "$out" | grep -q '^(floor: hello-lambda' &&
    echo "$out" | grep -q '^(DynamoDB Local behind a TLS endpoint'
}

# `make run` on free ports with its own RUN_DIR; then `make cleanup`, `make webhooks-import`
# against it, a stop, and `make reset`. The stop is SIGTERM to make run's process group:
# a script's background job ignores SIGINT, and run-local.sh traps both alike.
run_pid=
stop_run() {
  [ -n "$run_pid" ] || return 0
  kill -TERM -- "-$run_pid" 2>/dev/null
  wait "$run_pid" 2>/dev/null
  run_pid=
}

run_and_friends() {
  local dir port api agent chat token summary cfg
  dir=$(mktemp -d)
  port=$(free_port)
  api="http://127.0.0.1:$port"
  RUN_DIR="$dir" PORT="$port" DYNAMODB_PORT=$(free_port) SNS_PORT=$(free_port) \
    CLOSED_RETENTION_SECONDS=0 CLEANUP_INTERVAL_SECONDS=0 RUST_LOG=warn \
    setsid make --no-print-directory run >"$dir/run.log" 2>&1 &
  run_pid=$!
  local up=0
  for _ in $(seq 1 600); do
    curl -sf "$api/health" >/dev/null && { up=1; break; }
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ "$up" != 1 ]; then echo "make run did not answer /health"; tail -n 30 "$dir/run.log"; return 1; fi

  # A closed chat whose retention (0 s here) has passed: make cleanup removes it.
  # An admin: webhooks (below) are managed by admins only.
  agent=$(curl -sf -X POST "$api/dev/tokens" -d '{"userId":"ann","name":"Ann","roles":["admin"]}' | json_field '["token"]') || return 1
  read -r chat token < <(curl -sf -X POST "$api/chats" -d '{"channelId":"sales","nickname":"Vic"}' |
    python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["chat"]["chatId"], b["token"])')
  for status in active closed; do
    curl -sf -o /dev/null -X PATCH "$api/chats/$chat" -H "authorization: Bearer $agent" -d "{\"status\":\"$status\"}" ||
      { echo "PATCH $status failed"; return 1; }
  done
  summary=$(make --no-print-directory cleanup PORT="$port") || { echo "make cleanup failed"; return 1; }
  echo "$summary"
  local ok=1
  echo "$summary" | grep -Eq '^cleanup: examined [0-9]+, outdated [0-9]+, closed [0-9]+, removed [1-9]' || { echo "nothing removed"; ok=0; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/chats/$chat" -H "authorization: Bearer $agent")" = 404 ] ||
    { echo "the closed chat is still there"; ok=0; }
  # make cleanup fails when the server does not answer.
  if make --no-print-directory cleanup PORT="$(free_port)" >/dev/null 2>&1; then echo "make cleanup exited 0 with no server"; ok=0; fi

  # make webhooks-import with a two-line lc_serv.cfg: two URLs, one rpc webhook each.
  cfg="$dir/lc_serv.cfg"
  printf 'EVENT_CHAT_STARTED http://127.0.0.1:9/started\nEVENT_OPERATOR_STOPED_CHAT http://127.0.0.1:9/stopped\n' >"$cfg"
  make --no-print-directory webhooks-import PORT="$port" TOKEN="$agent" CFG="$cfg" || { echo "make webhooks-import failed"; ok=0; }
  local hooks
  hooks=$(curl -sf "$api/webhooks" -H "authorization: Bearer $agent" |
    python3 -c 'import json,sys; print(" ".join(sorted(e for w in json.load(sys.stdin)["webhooks"] if w["webhook"]["format"]=="rpc" for e in w["webhook"]["events"])))')
  [ "$hooks" = "CHAT_STARTED OPERATOR_STOPED_CHAT" ] || { echo "webhooks after import: '$hooks'"; ok=0; }

  # Stopping make run stops everything it started; make reset wipes what it kept.
  stop_run
  if curl -s "$api/health" >/dev/null; then echo "the server still answers after Ctrl-C"; ok=0; fi
  [ -d "$dir/data" ] || { echo "make run kept no data in RUN_DIR"; ok=0; }
  make --no-print-directory reset RUN_DIR="$dir" >/dev/null || ok=0
  [ ! -e "$dir/data" ] && [ ! -e "$dir/sns" ] || { echo "make reset left data behind"; ok=0; }
  [ "$ok" = 1 ] && rm -rf "$dir"
  [ "$ok" = 1 ]
}
# make deploy-local and sam build without make package (8 minutes from clean, more than
# CI's time): they run when every function's zip exists and is newer than the source;
# otherwise a note says why not.
packaged() {
  local target=${CARGO_TARGET_DIR:-target} oldest
  oldest=$(ls -tr "$target"/lambda/*/bootstrap.zip 2>/dev/null | head -n 1)
  if [ "$(ls "$target"/lambda/*/bootstrap.zip 2>/dev/null | wc -l)" != "$(ls functions | wc -l)" ]; then
    echo "skipped: no zips from make package (make deploy-local builds them: about 8 minutes from clean)"
    return 1
  fi
  if [ -n "$(find shared functions Cargo.lock template.yaml -newer "$oldest" -type f | head -n 1)" ]; then
    echo "skipped: the zips are older than the source (make deploy-local rebuilds them)"
    return 1
  fi
}
deploy_local_if_packaged() {
  packaged || return 0
  scripts/deploy-local.sh
}
# sam build through the Makefile's build-<LogicalId> targets: every function gets its own
# bootstrap, the one make package zipped.
sam_build_if_packaged() {
  packaged || return 0
  local target=${CARGO_TARGET_DIR:-target} log=/tmp/sam-build-$$.log ok=1 f id
  SAM_CLI_TELEMETRY=0 .venv/bin/sam build >"$log" 2>&1 || { cat "$log"; return 1; }
  for f in functions/*; do
    f=$(basename "$f")
    id=$(echo "$f" | sed -E 's/(^|-)([a-z])/\U\2/g')Function
    python3 -c 'import sys, zipfile; sys.exit(zipfile.ZipFile(sys.argv[1]).read("bootstrap") != open(sys.argv[2], "rb").read())' \
      "$target/lambda/$f/bootstrap.zip" ".aws-sam/build/$id/bootstrap" || { echo "$id: not $f's bootstrap"; ok=0; }
    [ -x ".aws-sam/build/$id/bootstrap" ] || { echo "$id: bootstrap not executable"; ok=0; }
  done
  rm -f "$log"
  [ "$ok" = 1 ]
}

trap stop_run EXIT
run_checked() { run_and_friends; local rc=$?; stop_run; return $rc; }

check "make generate leaves docs/openapi.json, events/, functions/ and template.yaml unchanged" generated_unchanged
check "make lint" lint
check "make run, make cleanup, make webhooks-import, make reset" run_checked
check "make soak (3 s)" soak
check "make bench (quick)" bench_quick
check "make bench-cold (quick)" bench_cold_quick
check "make deploy-local (when packaged)" deploy_local_if_packaged
check "sam build (when packaged)" sam_build_if_packaged
echo "make-targets: $passed passed, $failed failed"
# What the builds took: CI's disk is small (see .ci/run).
echo "disk: $(du -sh "${CARGO_TARGET_DIR:-target}" | cut -f1) in ${CARGO_TARGET_DIR:-target}/, $(df -h --output=avail . | tail -n 1 | tr -d ' ') free"
[ "$failed" = 0 ]
