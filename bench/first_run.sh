#!/usr/bin/env bash
# The first run on a Unicauca-sized file (issue 23): `ntc train full.csv` with no
# flags, with --tune, and --max-rows all, with wall time and peak memory.
# Needs about 2.3 GB of disk in bench/data. A benchmark, not a test: CI does not run it.
#
#   bash bench/first_run.sh [--runs 1] [--rows 3577296]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
python3 bench/first_run.py target/release/ntc bench/data "$@"
