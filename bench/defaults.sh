#!/usr/bin/env bash
# Evidence for train's defaults: what `ntc train --tune` chooses on clean and
# dirty synthetic flows (two seeds each), and how candidate defaults score on
# a separate test file. ntc only (no scikit-learn). A benchmark, not a test.
#
#   bash bench/defaults.sh [TUNE_ROWS=3000]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
N=target/release/ntc
D=bench/data/defaults
mkdir -p "$D"
TUNE_ROWS=${1:-3000}
for s in 1 2; do
  $N synth -q --rows 100000 --seed $s -o "$D/clean$s.csv"
  $N synth -q --rows 100000 --seed $s --dirty -o "$D/dirty$s.csv"
done
$N synth -q --rows 20000 --seed 2 -o "$D/test_clean.csv"
$N synth -q --rows 20000 --seed 2 --dirty -o "$D/test_dirty.csv"

echo "## what --tune chooses (--tune-rows $TUNE_ROWS --max-rows $TUNE_ROWS --seed 7, default grid)"
for f in clean1 dirty1 clean2 dirty2; do
  $N train -q --tune --tune-rows "$TUNE_ROWS" --no-proba --max-rows "$TUNE_ROWS" --seed 7 \
    -m "$D/$f.cbor" "$D/$f.csv" > "$D/$f.table"
  echo "$f top:    $(sed -n 2p "$D/$f.table")"
  echo "$f chosen: $(grep ' chosen ' "$D/$f.table")"
done

echo
echo "## candidate defaults: train --max-rows 20000 --seed 42 on *1.csv, test macro-F1 / accuracy, train seconds"
while read -r name flags; do
  for v in clean dirty; do
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    $N train -q --no-proba --max-rows 20000 --seed 42 $flags -m "$D/cand_${name}_$v.cbor" "$D/${v}1.csv"
    end=$(date +%s.%N)
    score=$($N evaluate -q --json -m "$D/cand_${name}_$v.cbor" "$D/test_$v.csv" \
      | python3 -c 'import json, sys; m = json.load(sys.stdin); print("%.4f %.4f" % (m["macro_f1"], m["accuracy"]))')
    echo "$name $v $score $(python3 -c "print('%.1f' % ($end - $start))")  ($flags)"
  done
done <<'LIST'
A --c 10 --gamma scale --transform none --class-weight none
B --c 10 --gamma scale --transform log --class-weight none
C --c 10 --gamma scale --transform log --class-weight balanced
D --c 256 --gamma 0.0027621 --transform log --class-weight none
F --c 512 --gamma 0.001953125 --transform log --class-weight none
G --c 100 --gamma 0.0039062 --transform log --class-weight none
LIST
