#!/usr/bin/env bash
# Browser tests of the web app: playwright-core drives the system Chromium (/usr/bin/chromium; never
# downloaded), axe-core checks accessibility. Builds the gateway, starts it on a free port with a
# fresh data directory, creates the staff accounts with the CLI, runs `node --test`, and always stops
# the server. Screenshots go to web/tests/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [[ ! -x "$CHROMIUM" ]]; then
  echo "browser tests need Chromium at $CHROMIUM (Debian: apt-get install chromium)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "browser tests need Node.js (node and npm)" >&2; exit 1; }

echo "==> browser tests: installing test dependencies (npm ci)"
(cd web/tests && npm ci --no-audit --no-fund --loglevel=error)

echo "==> browser tests: building the gateway"
cargo build -p healing-space --locked
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/healing-space"
[[ "$BIN" = /* ]] || BIN="$ROOT/$BIN"

WORK=$(mktemp -d)
DATA="$WORK/data"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

PASSWORD='a-strong-password-1'
add_user() { echo "$PASSWORD" | RUST_LOG=warn "$BIN" user add --data-dir "$DATA" "$@" >/dev/null; }
add_user --username admin --role admin --display-name "Admin"
add_user --username drlee --role clinician --display-name "Dr Lee"
add_user --username sam --role supervisor --display-name "Sam Supervisor"
RUST_LOG=warn "$BIN" team --supervisor sam --clinician drlee --data-dir "$DATA" >/dev/null

"$BIN" serve --bind 127.0.0.1:0 --data-dir "$DATA" --offline-word-delay 5ms \
  --ack-deadline-high 3s --escalation-sweep 200ms --registrations-per-ip-per-hour 1000 >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!

URL=""
for _ in $(seq 1 300); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server exited early:" >&2
    cat "$WORK/server.err" >&2
    exit 1
  fi
  line=$(head -n 1 "$WORK/server.out" 2>/dev/null || true)
  if [[ "$line" =~ ^healing-space\ listening\ on\ (http://[^[:space:]]+) ]]; then
    URL=${BASH_REMATCH[1]}
    break
  fi
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "the server did not say where it listens" >&2; cat "$WORK/server.err" >&2; exit 1; }
echo "==> browser tests: server at $URL"

export HS_BASE_URL="$URL" HS_BIN="$BIN" HS_DATA_DIR="$DATA" HS_PASSWORD="$PASSWORD"
export HS_ADMIN=admin HS_CLINICIAN=drlee HS_SUPERVISOR=sam CHROMIUM_PATH="$CHROMIUM"
status=0
# Arguments (test files, e.g. patient.test.js) narrow the run; by default every *.test.js runs.
(
  cd web/tests
  if [[ $# -gt 0 ]]; then files=("$@"); else files=(./*.test.js); fi
  node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
) || status=$?
if [[ $status -ne 0 ]]; then
  echo "==> browser tests failed; the server's log:" >&2
  tail -n 50 "$WORK/server.err" >&2 || true
  exit "$status"
fi
echo "==> browser tests passed"
