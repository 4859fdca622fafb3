#!/usr/bin/env bash
# Runs every check and test of the project. This is the README's test command and what CI runs.
# On a fresh machine it first installs what the tests need (scripts/ensure-deps.sh; root).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/ensure-deps.sh

echo "==> formatting"
cargo fmt --all -- --check

echo "==> lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> tests"
cargo test --workspace --locked

echo "==> docker-compose.yml"
docker-compose -f docker-compose.yml config -q

echo "==> load-harness smoke"
./scripts/smoke-load.sh

echo "==> browser tests"
./scripts/browser-test.sh

echo "==> all checks passed"
