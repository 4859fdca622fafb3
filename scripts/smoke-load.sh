#!/usr/bin/env bash
# Load-harness smoke test against the real server: builds `healing-space` and `healing-load`
# (debug), starts the server on a free port with a temp data dir, creates an admin, runs
# loadtest/scenarios/smoke.toml (must pass: exit 0, and the export must hold the key metrics),
# then the same scenario with an impossible threshold (must fail: exit 99, threshold marked true).
# The server is always killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/debug"
cargo build --locked -p healing-space -p healing-load

data="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT

RUST_LOG=warn "$bin/healing-space" serve --bind 127.0.0.1:0 --data-dir "$data" --offline-word-delay 5ms \
    >"$data/stdout" 2>"$data/server.log" </dev/null &
server_pid=$!
addr=""
for _ in $(seq 100); do
    addr="$(head -n1 "$data/stdout" 2>/dev/null | sed -n 's#^healing-space listening on http://##p')"
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$addr" ]; then
    echo "smoke-load: the server did not start" >&2
    cat "$data/server.log" >&2
    exit 1
fi
echo "smoke-load: server on $addr"

password="smoke-$RANDOM-$RANDOM-$RANDOM"
echo "$password" | RUST_LOG=warn "$bin/healing-space" user add --username loadadmin --role admin --data-dir "$data" >/dev/null
export HEALING_ADMIN_USER=loadadmin HEALING_ADMIN_PASSWORD="$password"
summary="$target_dir/smoke-summary.json"

run_load() {
    set +e
    "$bin/healing-load" run loadtest/scenarios/smoke.toml --target "http://$addr" "$@"
    code=$?
    set -e
}

echo "==> load smoke: loadtest/scenarios/smoke.toml"
run_load --summary-export "$summary"
if [ "$code" -ne 0 ]; then
    echo "smoke-load: expected exit 0, got $code" >&2
    tail -n 50 "$data/server.log" >&2
    exit 1
fi
python3 - "$summary" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
for name in ["ws_connecting", "ws_msgs_sent", "ws_msgs_received", "chat_ack_latency", "alert_delivery_latency", "checks"]:
    assert name in m, f"{name} missing from the export"
assert m["ws_msgs_sent"]["count"] > 0, m["ws_msgs_sent"]
assert m["ws_msgs_received"]["count"] > 0, m["ws_msgs_received"]
assert m["chat_ack_latency"]["count"] > 0 and m["alert_delivery_latency"]["count"] > 0
assert m["checks"]["value"] > 0.95, m["checks"]
failed = [f"{n}: {e}" for n, v in m.items() for e, bad in v.get("thresholds", {}).items() if bad]
assert not failed, failed
print("smoke-load: export ok")
PY

echo "==> load smoke: an impossible threshold must fail the run (exit 99)"
run_load --quiet --summary-export "$summary" --threshold 'chat_ack_latency=max<0'
if [ "$code" -ne 99 ]; then
    echo "smoke-load: expected exit 99, got $code" >&2
    exit 1
fi
python3 - "$summary" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["metrics"]["chat_ack_latency"]["thresholds"]
assert t["max<0"] is True, t
assert t["p(95)<1000"] is False, t
print("smoke-load: failed threshold exported as true")
PY
echo "smoke-load: passed"
