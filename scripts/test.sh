#!/usr/bin/env bash
# Runs every check and test of the project. This is the README's test command and what CI runs.
# On a fresh machine it first installs what the tests need (scripts/ensure-deps.sh; root).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/ensure-deps.sh

# A real CQL node (Apache Cassandra 5, scripts/cql-node.sh) for the ScyllaDB backend's tests. It
# boots in the background while formatting and lints run; the tests wait for it. A node that was
# already running is reused and left running; one started here is stopped on exit.
mkdir -p target
cql_started=""
if ! ./scripts/cql-node.sh status >/dev/null 2>&1; then
  cql_started=yes
  ./scripts/cql-node.sh start >target/cql-node-start.out 2>&1 &
  cql_start_pid=$!
fi
stop_cql() {
  [[ -n "$cql_started" ]] || return 0
  # A start still under way (fetching, booting) is ended first, so no node outlives the run.
  kill "$cql_start_pid" 2>/dev/null || true
  wait "$cql_start_pid" 2>/dev/null || true
  ./scripts/cql-node.sh stop || true
}
trap stop_cql EXIT

echo "==> formatting"
cargo fmt --all -- --check

echo "==> lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> CQL node"
if [[ -n "$cql_started" ]] && ! wait "$cql_start_pid"; then
  cat target/cql-node-start.out >&2
  echo "the CQL node did not start (scripts/cql-node.sh)" >&2
  exit 1
fi
[[ -n "$cql_started" ]] && cat target/cql-node-start.out
HEALING_TEST_SCYLLA="$(./scripts/cql-node.sh address)"
# Every test that needs the node fails (never skips) without it from here on.
export HEALING_TEST_SCYLLA HEALING_TEST_SCYLLA_REQUIRED=1
echo "CQL node at $HEALING_TEST_SCYLLA"

echo "==> tests"
cargo test --workspace --locked

echo "==> docker-compose.yml"
docker-compose -f docker-compose.yml config -q

echo "==> load-harness smoke"
./scripts/smoke-load.sh

echo "==> browser tests"
./scripts/browser-test.sh

echo "==> all checks passed"
