#!/usr/bin/env bash
# ntc against scikit-learn's SVC on the same 20,000 training rows (issue: v1 accuracy bar).
#
#   bash bench/accuracy.sh [TRAIN_ROWS=100000] [MAX_ROWS=20000] [TEST_ROWS=20000]
#
# Builds ntc, installs scikit-learn and polars into bench/.venv (from PyPI),
# generates data with `ntc synth`, trains both, prints accuracy, macro-F1 and agreement.
# A benchmark, not a test: CI does not run it.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
TRAIN_ROWS=${1:-100000}
MAX_ROWS=${2:-20000}
TEST_ROWS=${3:-20000}
NTC=target/release/ntc
D=bench/data
mkdir -p "$D"
$NTC synth -q --rows "$TRAIN_ROWS" --seed 1 -o "$D/train.csv"
$NTC synth -q --rows "$TEST_ROWS" --seed 2 -o "$D/test.csv"
start=$(date +%s.%N)
$NTC train -q --no-proba --max-rows "$MAX_ROWS" --seed 42 --c 10 --gamma scale --transform none --class-weight none -m "$D/ntc.cbor" --sample-out "$D/sample.csv" "$D/train.csv"
end=$(date +%s.%N)
ntc_fit=$(echo "$end - $start" | bc)
$NTC predict -q --keep none -m "$D/ntc.cbor" "$D/test.csv" > "$D/ntc_pred.csv"
bench/.venv/bin/python bench/sklearn_svc.py "$D/sample.csv" "$D/test.csv" "$D/sklearn.json"
echo "synth --rows $TRAIN_ROWS --seed 1 (train, --max-rows $MAX_ROWS), --rows $TEST_ROWS --seed 2 (test); C=10, gamma=scale"
bench/.venv/bin/python bench/compare.py "$D/ntc_pred.csv" "$D/sklearn.json" "$ntc_fit"
