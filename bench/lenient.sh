#!/usr/bin/env bash
# `ntc predict --on-error skip` on a 1,000,000-row file with 1% corrupted lines
# (issue 6): the rejects are exactly the corrupted lines, every other row is
# predicted in input order. A benchmark, not a test: CI does not run it.
#
#   bash bench/lenient.sh [ROWS=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
python3 bench/lenient.py target/release/ntc models/demo-synth.cbor bench/data --rows "${1:-1000000}"
