#!/usr/bin/env bash
# `ntc report` on the 3,577,296-row synthetic file (issue 5: HTML in under 60 s,
# bounded memory): the data report, and the report with a model (drift and
# evaluation on --score-rows sampled rows). Wall time and peak RSS per run.
# Needs the file bench/fullscale.sh makes. A benchmark, not a test.
#
#   bash bench/report.sh [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
cargo build --release -q
NTC=target/release/ntc
D=bench/data
FULL=$D/full-3577296-seed1.csv
[ -f "$FULL" ] || $NTC synth -q --rows 3577296 --seed 1 -o "$FULL"
if [ ! -f "$D/report-model.cbor" ]; then
  $NTC synth -q --rows 50000 --seed 1 -o "$D/report-train.csv"
  $NTC train -q --max-rows 10000 --seed 42 -m "$D/report-model.cbor" "$D/report-train.csv"
fi
echo "file: $FULL ($(stat -c %s "$FULL") bytes), $(nproc) cores"
for kind in data model; do
  args=()
  [ "$kind" = model ] && args=(-m "$D/report-model.cbor")
  for i in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "$kind run $i: %e s, %M KB peak" $NTC report -q "${args[@]}" -o "$D/report-$kind.html" "$FULL"
  done
  echo "$kind: $(stat -c %s "$D/report-$kind.html") bytes of HTML"
done
