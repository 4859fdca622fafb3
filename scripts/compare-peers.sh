#!/usr/bin/env bash
# Side-by-side comparison (docs/benchmarks.md): the same closed-loop chat workload
# (loadtest/scenarios/compare.toml: hello → chat.send → ack → streamed echo reply) against
#   1. the gateway (release build; the mock model in echo mode, so the reply is the message),
#   2. a Node.js `ws` peer, 3. a Python `websockets` peer, 4. bare tokio-tungstenite,
# one after another on this machine. Prints a table with ratios to the bare stack.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/target/compare}
mkdir -p "$OUT"
cargo build --release --locked -p healing-space -p healing-load -p healing-llm --bin healing-space --bin healing-load --bin mock-llm
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
PIDS=()
stop_all() { for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done; PIDS=(); sleep 0.5; }
trap stop_all EXIT

first_line_url() { # file → URL printed as "... http://ADDR"
  for _ in $(seq 1 200); do
    if grep -q 'http://' "$1" 2>/dev/null; then grep -o 'http://[0-9.:]*' "$1" | head -1; return; fi
    sleep 0.05
  done
  echo "server did not start: $1" >&2; exit 1
}

run_load() { # name url provision
  local scenario="$ROOT/loadtest/scenarios/compare.toml"
  if [[ "$3" == false ]]; then
    scenario="$OUT/compare-peer.toml"
    sed 's/^provision = true/provision = false/' "$ROOT/loadtest/scenarios/compare.toml" > "$scenario"
  fi
  HEALING_ADMIN_USER=cmpadmin HEALING_ADMIN_PASSWORD=compare-password-1 \
    "$BIN/healing-load" run "$scenario" --target "$2" --quiet --summary-export "$OUT/$1.json" > "$OUT/$1.txt" 2>&1 || true
  echo "  $1 done"
}

echo "==> gateway"
"$BIN/mock-llm" --bind 127.0.0.1:0 --ttft-ms 0 --tokens-per-sec 1000000 --reply echo > "$OUT/mock.out" 2>&1 &
PIDS+=($!)
MOCK=$(first_line_url "$OUT/mock.out")
DATA=$(mktemp -d)
echo compare-password-1 | RUST_LOG=warn "$BIN/healing-space" user add --username cmpadmin --role admin --data-dir "$DATA" >/dev/null
HEALING_LLM_API_KEY=compare RUST_LOG=warn "$BIN/healing-space" serve --bind 127.0.0.1:0 --data-dir "$DATA" \
  --llm-base-url "$MOCK/v1" --llm-second-opinion false --frames-per-second 200 > "$OUT/gateway.out" 2>&1 &
PIDS+=($!)
run_load gateway "$(first_line_url "$OUT/gateway.out")" true
stop_all; rm -rf "$DATA"

echo "==> node ws"
(cd loadtest/peers/node && npm install --no-audit --no-fund --loglevel=error >/dev/null)
node loadtest/peers/node/server.js 9101 > "$OUT/node.out" 2>&1 &
PIDS+=($!)
run_load node "$(first_line_url "$OUT/node.out")" false
stop_all

echo "==> python websockets"
python3 -m venv "$OUT/venv" >/dev/null && "$OUT/venv/bin/pip" install -q -r loadtest/peers/python/requirements.txt
"$OUT/venv/bin/python" loadtest/peers/python/server.py 9102 > "$OUT/python.out" 2>&1 &
PIDS+=($!)
run_load python "$(first_line_url "$OUT/python.out")" false
stop_all

echo "==> bare tokio-tungstenite"
"$BIN/healing-load" peer --bind 127.0.0.1:9103 > "$OUT/bare.out" 2>&1 &
PIDS+=($!)
run_load bare "$(first_line_url "$OUT/bare.out")" false
stop_all

python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
rows = []
for name in ["gateway", "node", "python", "bare"]:
    m = json.load(open(os.path.join(out, name + ".json")))["metrics"]
    acks = m.get("chat_ack_latency", {})
    stream = m.get("ai_stream_duration", {})
    rate = m.get("ws_msgs_sent", {}).get("rate", 0.0)
    rows.append((name, rate, acks.get("med", 0), acks.get("p(99)", 0), stream.get("p(99)", 0), m.get("checks", {}).get("value", 0)))
bare = rows[-1]
print(f"{'server':<10} {'msgs sent/s':>12} {'x bare':>7} {'ack p50 ms':>11} {'ack p99 ms':>11} {'reply p99 ms':>13} {'checks':>7}")
for r in rows:
    ratio = r[1] / bare[1] if bare[1] else 0
    print(f"{r[0]:<10} {r[1]:>12.1f} {ratio:>7.2f} {r[2]:>11.2f} {r[3]:>11.2f} {r[4]:>13.2f} {r[5]:>7.3f}")
PY
