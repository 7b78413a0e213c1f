#!/usr/bin/env bash
# The full-scale goals of issue 3: train on a 3,577,296-row synthetic file
# (--max-rows 50000) and predict every row, medians of 3 runs with peak memory.
# Needs about 2.4 GB of disk in bench/data. A benchmark, not a test: CI does not run it.
#
#   bash bench/fullscale.sh [--runs 3] [--rows 3577296]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
python3 bench/fullscale.py target/release/ntc bench/data "$@"
