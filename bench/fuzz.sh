#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input with cargo-fuzz (libFuzzer,
# AddressSanitizer): the flow-CSV readers, the model decoder and the capture reader. A benchmark,
# not a test: CI does not run it. Needs the nightly toolchain.
#
#   bash bench/fuzz.sh [SECONDS_PER_TARGET=600] [TARGETS="csv_ingest model_decode capture_read"]
#
# The corpora start from the fixtures and the demo model's payload; a crash
# is saved under fuzz/artifacts/<target>/ and must become a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
targets=${2:-"csv_ingest model_decode capture_read"}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
mkdir -p fuzz/corpus/csv_ingest fuzz/corpus/model_decode fuzz/corpus/capture_read
# Small real captures (both formats) from ../shared, when it is beside the checkout.
find ../shared/flows/pcaps -size -20k -name "*.pcap*" 2>/dev/null | head -40 | xargs -r cp -t fuzz/corpus/capture_read/
cp fixtures/*.csv fuzz/corpus/csv_ingest/
head -c 4000 fixtures/unicauca_x_test_25rows.csv > fuzz/corpus/csv_ingest/unicauca_head.csv
head -c 4000 fixtures/unicauca_x_test_25rows.csv | gzip -c > fuzz/corpus/csv_ingest/unicauca_head.csv.gz
# The payload behind the 52-byte header (the target adds a valid header itself).
tail -c +53 models/demo-synth.cbor > fuzz/corpus/model_decode/demo-payload.cbor
# Built one after the other (they share the instrumented dependencies), then run side by side, one core each.
for t in $targets; do cargo +nightly fuzz run "$t" -- -runs=0 >/dev/null 2>&1 || true; done
for t in $targets; do
    # Whole model payloads (the demo's is 382 KB) for the decoder; short files for the CSV readers.
    max_len=65536; [ "$t" = model_decode ] && max_len=400000
    # -rss_limit_mb: a decoder that allocates by a hostile length field fails here.
    cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=$max_len -print_final_stats=1 \
        > "fuzz/$t.log" 2>&1 &
done
wait
status=0
for t in $targets; do
    echo "== $t: ${secs} s"
    grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|Test unit written|Done)" "fuzz/$t.log" || true
    if ls fuzz/artifacts/"$t"/* >/dev/null 2>&1; then echo "$t: crash found (fuzz/artifacts/$t)"; status=1; fi
done
[ $status = 0 ] && echo "no crash"
exit $status
