#!/usr/bin/env bash
# Trains the semantic detector's heads from a fresh clone, in one command:
#   ./risk/train/train.sh            # CV report, then export risk/model/heads.json + parity sample
# Embeddings come from the Rust encoder itself (the example `embed`), rules predictions from the
# rules-only build; both are cached under target/risk-train/. Needs Python 3 with numpy
# (installed here from PyPI if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install --quiet 'numpy==2.1.3'
C=target/risk-train
mkdir -p "$C"
cargo build --release -q -p healing-risk --example embed
cp target/release/examples/embed "$C/embed"
cargo build --release -q -p healing-risk --no-default-features --example classify
cp target/release/examples/classify "$C/rules"
run() { # name, input files...
  local name=$1; shift
  cat "$@" > "$C/$name.jsonl"
  "$C/embed" --fold < "$C/$name.jsonl" > "$C/$name.fold"
  "$C/rules" < "$C/$name.jsonl" > "$C/$name.rules"
  # two processes: one core each
  local n; n=$(wc -l < "$C/$name.jsonl"); local half=$(( (n + 1) / 2 ))
  head -n "$half" "$C/$name.jsonl" | RAYON_NUM_THREADS=1 "$C/embed" > "$C/$name.emb.a" &
  tail -n +"$((half + 1))" "$C/$name.jsonl" | RAYON_NUM_THREADS=1 "$C/embed" > "$C/$name.emb.b"
  wait
  cat "$C/$name.emb.a" "$C/$name.emb.b" > "$C/$name.emb"
}
run posts ../shared/eval/cssrs_posts_dev.jsonl
run chat risk/data/chat/*.jsonl
run probes ../shared/eval/chat_probes_dev.jsonl
run lockbox risk/data/lockbox/lockbox.jsonl
run lockbox2 risk/data/lockbox/lockbox2.jsonl
run lockbox3 risk/data/lockbox/lockbox3.jsonl
python3 risk/train/train_semantic.py export
