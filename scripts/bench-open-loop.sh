#!/usr/bin/env bash
# Benchmark (e), docs/benchmarks.md: the open-loop scenario at several offered rates.
#
#   scripts/bench-open-loop.sh 500 1000 1500 2000 [-- extra healing-space serve flags]
#
# Each rate runs loadtest/scenarios/bench/open-loop.toml (1,000 patients) with the send interval
# set to 1000/RATE seconds against a fresh release gateway (scripts/bench-run.sh), and prints one
# line per rate: acked msg/s, ack p99, alert p50/p99, alerts missing, and the server's
# escalation counts by reason (a `no_clinician_online` while clinicians are connected is a bug).
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=()
while [[ $# -gt 0 && "$1" != "--" ]]; do RATES+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
[[ ${#RATES[@]} -gt 0 ]] || { echo "usage: $0 RATE... [-- serve flags]" >&2; exit 2; }
for rate in "${RATES[@]}"; do
  interval_ms=$(( 1000000 / rate ))   # 1,000 patients: interval = 1000/rate s, in ms
  scenario="target/bench/open-loop-$rate.toml"
  mkdir -p target/bench
  sed "s/^send_interval = .*/send_interval = \"${interval_ms}ms\"/" loadtest/scenarios/bench/open-loop.toml > "$scenario"
  OUT="target/bench/open-loop-$rate" scripts/bench-run.sh "$scenario" -- "$@" > /dev/null 2>&1 || true
  python3 - "$rate" "target/bench/open-loop-$rate" <<'PY'
import json, sys, re
rate, out = sys.argv[1], sys.argv[2]
s = json.load(open(f"{out}/summary.json"))["metrics"]
def t(name, q):
    v = s.get(name, {}).get(q)
    return "-" if v is None else f"{v:.1f}"
acks = s.get("chat_ack_latency", {}).get("count", 0)
esc = {}
for line in open(f"{out}/metrics.txt"):
    m = re.match(r'healing_escalations_total\{reason="([a-z_]+)"\} (\S+)', line)
    if m and float(m.group(2)) > 0:
        esc[m.group(1)] = int(float(m.group(2)))
print(f"offered {rate} msg/s: acked {acks} ({acks/60:.0f}/s), ack p99 {t('chat_ack_latency','p(99)')} ms, "
      f"alert p50 {t('alert_delivery_latency','med')} p99 {t('alert_delivery_latency','p(99)')} ms "
      f"(n={s.get('alert_delivery_latency',{}).get('count',0)}), alerts missing {s.get('alerts_missing',{}).get('count')}, "
      f"first token p50 {t('ai_first_token_latency','med')} ms, escalations {esc}")
PY
done
