#!/usr/bin/env bash
# The whole job on generated data, on a fresh machine with only Rust installed:
# build, generate flows, train, predict, evaluate, report. Nothing is downloaded
# except crates. Output goes to demo/ (or the directory given).
#
#   bash scripts/demo.sh [OUT_DIR=demo]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-demo}
mkdir -p "$OUT"
cargo build --release
NTC=target/release/ntc
echo "== generating 50,000 training flows and 10,000 test flows (ntc synth)"
$NTC synth --rows 50000 --seed 1 -o "$OUT/train.csv"
$NTC synth --rows 10000 --seed 2 --dirty -o "$OUT/test.csv"
echo "== training on a stratified sample of 10,000 rows"
$NTC train "$OUT/train.csv" --max-rows 10000 --seed 42 -m "$OUT/model.cbor"
echo "== predicting (labelled CSV with probabilities in $OUT/predicted.csv)"
$NTC predict "$OUT/test.csv" -m "$OUT/model.cbor" --proba --keep id -o "$OUT/predicted.csv"
head -n 4 "$OUT/predicted.csv"
echo "== evaluating on the test flows"
$NTC evaluate "$OUT/test.csv" -m "$OUT/model.cbor"
$NTC report "$OUT/test.csv" -m "$OUT/model.cbor" -o "$OUT/report.html"
echo "== done: $OUT/model.cbor, $OUT/predicted.csv, $OUT/report.html (open it in a browser)"
