#!/usr/bin/env bash
# Side by side with Keras on this machine (its speed drifts, so only interleaved numbers compare):
# alternates ../shared/anchors/keras_bench.py and bench/train.ts, ROUNDS times each.
# Usage: KERAS_VENV=../keras-venv bash bench/compare-keras.sh [ROUNDS=2]
# (../shared/anchors/README.md says how to install Keras here.)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${KERAS_VENV:-../keras-venv}
rounds=${1:-2}
for r in $(seq "$rounds"); do
  echo "== round $r: keras"
  "$venv/bin/python" ../shared/anchors/keras_bench.py 6000 2>/dev/null | grep -E "^(TRAIN|INFER)"
  echo "== round $r: digits"
  npx tsx bench/train.ts --rounds 3 --steps 100 --batches 32,128 2>/dev/null | tail -1
done
