#!/usr/bin/env bash
# Fuzzes the two parsers of untrusted input with cargo-fuzz (libFuzzer,
# AddressSanitizer): the flow-CSV readers and the model decoder. A benchmark,
# not a test: CI does not run it. Needs the nightly toolchain.
#
#   bash bench/fuzz.sh [SECONDS_PER_TARGET=600] [TARGETS="csv_ingest model_decode"]
#
# The corpora start from the fixtures and the demo model's payload; a crash
# is saved under fuzz/artifacts/<target>/ and must become a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
targets=${2:-"csv_ingest model_decode"}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
mkdir -p fuzz/corpus/csv_ingest fuzz/corpus/model_decode
cp fixtures/*.csv fuzz/corpus/csv_ingest/
head -c 4000 demo/test.csv > fuzz/corpus/csv_ingest/demo_head.csv
head -c 4000 demo/test.csv | gzip -c > fuzz/corpus/csv_ingest/demo_head.csv.gz
# The payload behind the 52-byte header (the target adds a valid header itself).
tail -c +53 models/demo-synth.cbor > fuzz/corpus/model_decode/demo-payload.cbor
for t in $targets; do
    echo "== $t: ${secs} s"
    # Whole model payloads (the demo's is 382 KB) for the decoder; short files for the CSV readers.
    max_len=65536; [ "$t" = model_decode ] && max_len=400000
    # -rss_limit_mb: a decoder that allocates by a hostile length field fails here.
    cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=$max_len -print_final_stats=1 2>&1 \
        | grep -E "^(#[0-9]+ *DONE|stat::|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written|INFO: Loaded|Done)" || true
    ls fuzz/artifacts/"$t" 2>/dev/null && { echo "$t: crash found"; exit 1; }
done
echo "no crash"
