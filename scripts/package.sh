#!/usr/bin/env bash
# `make package`: every function's bootstrap for Lambda, built with cargo-lambda (PyPI, with
# ziglang for linking) in the `dist` profile into target/lambda/<function>/bootstrap.zip,
# and each zip's size.
# arm64 (the template's default, cheaper) when the Rust target is installed; otherwise
# x86_64, and deploy with Architecture=x86_64.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/cargo-lambda ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==1.9.2" ziglang
fi
export PATH="$PWD/.venv/bin:$PATH"
if rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
  arch=--arm64; echo "building arm64 (template default)"
else
  arch=--x86-64; echo "building x86_64: no arm64 Rust target here; deploy with --parameter-overrides Architecture=x86_64"
fi
packages=$(ls functions | sed 's/^/--package /' | tr '\n' ' ')
# shellcheck disable=SC2086
cargo lambda build --profile dist $arch --output-format zip $packages
target=${CARGO_TARGET_DIR:-target}
for f in functions/*; do
  name=$(basename "$f")
  printf '%-24s %8s\n' "$name" "$(du -h "$target/lambda/$name/bootstrap.zip" | cut -f1)"
done
