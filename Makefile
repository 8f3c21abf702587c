# The two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
export CARGO_TERM_COLOR ?= never
VENV := .venv/bin

.PHONY: run test test-browser deps lint reset build package deploy-local cleanup webhooks-import generate fuzz soak bench bench-cold conformance conformance-guide

run: deps
	scripts/run-local.sh

test: deps
	cargo test --workspace --no-fail-fast
	node --test web/
	$(VENV)/openapi-spec-validator docs/openapi.json
	EXAMPLES=10 scripts/fuzz.sh
	scripts/browser-test.sh
	scripts/conformance.sh --check-guide
	scripts/make-targets-test.sh

deps:
	@scripts/deps.sh

lint: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(VENV)/sam validate --lint --template template.yaml
	@# Every check passes or is skipped in template.yaml with its reason (docs/security.md).
	.local/checkov/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

build:
	cargo build --workspace

# Wipes the local server's DynamoDB data, the emulator's state and the stream position.
RUN_DIR ?= .local
reset:
	rm -rf $(RUN_DIR)/data $(RUN_DIR)/sns

# Runs cleanup-cron's handler once against the running local server and prints its summary;
# fails when the server does not answer 200.
cleanup:
	@set -o pipefail; curl -fsS -X POST http://127.0.0.1:$${PORT:-3000}/dev/cleanup | python3 -c 'import json,sys; s=json.load(sys.stdin); print("cleanup: examined {examined}, outdated {outdated}, closed {closed}, removed {removed}".format(**s) + (" (incomplete: the next run goes on)" if s["incomplete"] else ""))'

# Subscribes the URLs of a LIVECHAT lc_serv.cfg: make webhooks-import CFG=lc_serv.cfg TOKEN=<admin agent token> [API=...]
webhooks-import:
	@python3 scripts/import-lc-serv-cfg.py $${API:-http://127.0.0.1:$${PORT:-3000}} "$(TOKEN)" "$(CFG)"

# Writes what the table of operations (shared/src/routes/table.rs) generates: docs/openapi.json,
# each HTTP function's package under functions/ and its sample event under events/.
generate:
	UPDATE_GENERATED=1 cargo test -p integration-tests --test integration generated:: -- --quiet


# schemathesis against the local server with docs/openapi.json (make test runs a short one).
fuzz: deps
	EXAMPLES=$${EXAMPLES:-100} scripts/fuzz.sh

# The black-box conformance suite, one check per row of docs/compatibility.md: against a
# local stack of its own, or a deployment (API=, SOCKET=, AGENT_KEY=, IDENTITY_KEY=).
# make test runs it with --check-guide; conformance-guide rewrites the guide from a run.
conformance: deps
	API="$(API)" SOCKET="$(SOCKET)" AGENT_KEY="$(AGENT_KEY)" IDENTITY_KEY="$(IDENTITY_KEY)" scripts/conformance.sh

conformance-guide: deps
	scripts/conformance.sh --write-guide

# 60 s of 50 widgets and 10 agents through the local server on loopback; nothing may be lost.
soak: deps
	SOAK_SECONDS=$${SOAK_SECONDS:-60} SOAK_WIDGETS=$${SOAK_WIDGETS:-50} SOAK_AGENTS=$${SOAK_AGENTS:-10} \
	  cargo test -p integration-tests --test integration soak_loses_nothing -- --nocapture

# Every operation's DynamoDB round trips, capacity units and latency against its floor.
# BENCH_QUICK=1 BENCH_PROFILE=dev: a few iterations on small data (what make test runs).
BENCH_PROFILE ?= perf
bench: deps
	cargo run --profile $(BENCH_PROFILE) -p integration-tests --bin bench

# Cold starts of every function's release binary (and a hello-world floor) under a local
# Lambda Runtime API emulator.
# BENCH_FUNCTIONS=chat-get COLD_PROFILE=dev COLD_STARTS=2: the quick form make test runs.
BENCH_FUNCTIONS ?= $(notdir $(wildcard functions/*))
COLD_PROFILE ?= release
bench-cold: deps
	cargo build --profile $(COLD_PROFILE) $(addprefix -p ,$(BENCH_FUNCTIONS))
	cargo build --profile $(COLD_PROFILE) -p integration-tests --bin hello-lambda --bin sdk-floor
	COLD_PROFILE=$(COLD_PROFILE) COLD_FUNCTIONS="$(BENCH_FUNCTIONS)" cargo run --profile $(BENCH_PROFILE) -p integration-tests --bin bench-cold

# The customer/agent conversation in headless Chromium (installs chromium and playwright-core).
test-browser: deps
	scripts/browser-test.sh

# Lambda zips of every function with cargo-lambda (see README: arm64 or x86_64).
package: deps
	scripts/package.sh
	touch $(LAMBDA_DIR)/.packaged

# `sam build` (template.yaml: BuildMethod makefile; samconfig.toml: build in source) runs
# build-<LogicalId> once per function. The first finds the zips older than the source and
# runs make package (every function in one cargo-lambda run); the others find them current
# and only unpack their own bootstrap into SAM's ARTIFACTS_DIR.
LAMBDA_DIR := $(or $(CARGO_TARGET_DIR),target)/lambda
$(LAMBDA_DIR)/.packaged: $(shell find shared functions -type f) Cargo.toml Cargo.lock
	$(MAKE) --no-print-directory package
build-%Function: $(LAMBDA_DIR)/.packaged
	@fn=$$(echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g; s/.*/\L&/'); \
	  python3 -m zipfile -e "$(LAMBDA_DIR)/$$fn/bootstrap.zip" "$(ARTIFACTS_DIR)" && chmod +x "$(ARTIFACTS_DIR)/bootstrap"

# template.yaml deployed into the emulator's CloudFormation with the zips, then a smoke
# suite against the stack's API URL (about a minute). DEPLOY_KEEP=1 keeps it up.
deploy-local: package
	scripts/deploy-local.sh
