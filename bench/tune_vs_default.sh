#!/usr/bin/env bash
# Does `--tune` beat the untuned default? Six variants (clean and dirty synthetic flows, tuning
# seeds 42-44), at the tuning benchmark's sizes: 100,000 rows to train (20,000 used, 2,000 tuning
# rows), 50,000 fresh rows to test. Prints macro-F1 and accuracy on the test file per variant.
#   bash bench/tune_vs_default.sh [extra train flags for the tuned runs]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
ntc=target/release/ntc
work=bench/data/tune-vs-default
mkdir -p "$work"
score() { "$ntc" evaluate -q --json -m "$1" "$2" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.4f %.4f" % (d["macro_f1"], d["accuracy"]))'; }
printf '%-9s %-15s %-15s %8s  %s\n' variant "untuned f1 acc" "tuned f1 acc" "tuned s" "chosen"
for variant in clean dirty; do
  flag=(); [ "$variant" = dirty ] && flag=(--dirty)
  [ -f "$work/$variant-train.csv" ] || "$ntc" synth --rows 100000 --seed 1 "${flag[@]}" -o "$work/$variant-train.csv"
  [ -f "$work/$variant-test.csv" ] || "$ntc" synth --rows 50000 --seed 2 "${flag[@]}" -o "$work/$variant-test.csv"
  for seed in 42 43 44; do
    "$ntc" train -q "$work/$variant-train.csv" --max-rows 20000 --seed "$seed" --no-proba -m "$work/untuned.cbor"
    start=$(date +%s.%N)
    "$ntc" train "$work/$variant-train.csv" --tune --tune-rows 2000 --max-rows 20000 --seed "$seed" --no-proba \
      -m "$work/tuned.cbor" "$@" 2> "$work/tuned.err" > /dev/null
    secs=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
    chosen=$(sed -n 's/^tuning:.*chosen //p' "$work/tuned.err")
    printf '%-9s %-15s %-15s %8s  %s\n' "$variant-$seed" "$(score "$work/untuned.cbor" "$work/$variant-test.csv")" \
      "$(score "$work/tuned.cbor" "$work/$variant-test.csv")" "$secs" "$chosen"
  done
done
