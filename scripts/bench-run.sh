#!/usr/bin/env bash
# Runs one benchmark scenario against a fresh release gateway and reports the harness summary
# plus the server's memory: RSS before the load (baseline), the peak, and the peak number of
# concurrent sessions from /metrics — so per-session RSS = (peak RSS − baseline) / sessions.
#
#   scripts/bench-run.sh SCENARIO.toml [-- extra healing-space serve flags]
#   MOCK="--ttft-ms 100 --tokens-per-sec 50 --reply words:100" scripts/bench-run.sh streams.toml
#
# Environment: MOCK (mock-llm flags; when set the gateway uses the mock model), OUT (output dir).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SCENARIO=$1; shift
[[ "${1:-}" == "--" ]] && shift
OUT=${OUT:-$ROOT/target/bench/$(basename "$SCENARIO" .toml)}
mkdir -p "$OUT"
cargo build --release --locked -p healing-space -p healing-load -p healing-llm --bin healing-space --bin healing-load --bin mock-llm >/dev/null 2>&1
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
DATA=$(mktemp -d)
rm -f "$OUT/series"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done; rm -rf "$DATA"; }
trap cleanup EXIT
url_of() { for _ in $(seq 1 200); do grep -q 'http://' "$1" 2>/dev/null && { grep -o 'http://[0-9.:]*' "$1" | head -1; return; }; sleep 0.05; done; echo "no url in $1" >&2; exit 1; }

LLM=()
if [[ -n "${MOCK:-}" ]]; then
  # shellcheck disable=SC2086
  "$BIN/mock-llm" --bind 127.0.0.1:0 $MOCK > "$OUT/mock.out" 2>&1 &
  PIDS+=($!)
  LLM=(--llm-base-url "$(url_of "$OUT/mock.out")/v1" --llm-second-opinion false)
  export HEALING_LLM_API_KEY=bench
fi
# Benchmarks measure capacity, not the caps: the harness holds up to 300 sockets per account
# (idle-15k: 15,000 VUs over 50 accounts) and thousands from one loopback address, so the socket
# caps are raised here (flags after `--` still win over these variables).
export HEALING_MAX_SOCKETS_PER_USER=${HEALING_MAX_SOCKETS_PER_USER:-1000}
export HEALING_MAX_SOCKETS_PER_IP=${HEALING_MAX_SOCKETS_PER_IP:-100000}
export HEALING_MAX_UNAUTHENTICATED_SOCKETS=${HEALING_MAX_UNAUTHENTICATED_SOCKETS:-20000}
echo bench-password-1 | RUST_LOG=warn "$BIN/healing-space" user add --username benchadmin --role admin --data-dir "$DATA" >/dev/null
RUST_LOG=warn "$BIN/healing-space" serve --bind 127.0.0.1:0 --data-dir "$DATA" "${LLM[@]}" "$@" > "$OUT/server.out" 2> "$OUT/server.err" &
SERVER=$!
PIDS+=($SERVER)
URL=$(url_of "$OUT/server.out")
sleep 1
BASE=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status)
( peak=0; sessions=0
  while kill -0 $SERVER 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status 2>/dev/null || echo 0)
    s=$(curl -s "$URL/metrics" | awk '/^healing_ws_connections\{/ {n+=$2} END {print n+0}')
    (( rss > peak )) && peak=$rss
    (( s > sessions )) && { sessions=$s; echo "$sessions $rss" > "$OUT/at-peak-sessions"; }
    echo "$peak $sessions" > "$OUT/peak"
    echo "$(date +%s) $s $rss" >> "$OUT/series"
    sleep 1
  done ) &
PIDS+=($!)
HEALING_ADMIN_USER=benchadmin HEALING_ADMIN_PASSWORD=bench-password-1 \
  "$BIN/healing-load" run "$SCENARIO" --target "$URL" --quiet --summary-export "$OUT/summary.json" | tee "$OUT/summary.txt" || true
curl -s "$URL/metrics" > "$OUT/metrics.txt" || true
sleep 1
read -r PEAK SESSIONS < "$OUT/peak"
read -r S_AT RSS_AT < "$OUT/at-peak-sessions" 2>/dev/null || { S_AT=0; RSS_AT=0; }
echo "server RSS: baseline ${BASE} KiB, peak ${PEAK} KiB; peak sessions ${SESSIONS} (RSS ${RSS_AT} KiB when first reached)"
for h in healing_alert_delivery_seconds healing_chat_ack_seconds; do
  python3 - "$OUT/metrics.txt" "$h" <<'PY'
import sys
name = sys.argv[2]; buckets = []; count = 0
for line in open(sys.argv[1]):
    if line.startswith(name + "_bucket"):
        le = line.split('le="')[1].split('"')[0]; buckets.append((float('inf') if le == '+Inf' else float(le), float(line.split()[-1])))
    elif line.startswith(name + "_count"):
        count = float(line.split()[-1])
if count:
    def q(p):
        for le, c in buckets:
            if c >= p * count: return le
    print(f"server {name}: count={int(count)} p50<={q(0.5)}s p99<={q(0.99)}s")
PY
done
if (( S_AT > 0 )); then
  echo "per session: $(( (RSS_AT - BASE) * 1024 / S_AT )) bytes ($(( (RSS_AT - BASE) / S_AT )) KiB) at the session peak"
fi
