#!/usr/bin/env bash
# ntc against scikit-learn: fit at 5k/10k/20k/40k rows and predict throughput,
# medians of 3 runs, both in the same run. A benchmark, not a test: CI does not run it.
#
#   bash bench/speed.sh [extra speed.py flags, e.g. --runs 5 --predict-rows 500000]
set -euo pipefail
source "$(dirname "$0")/venv.sh"
bench/.venv/bin/python bench/speed.py target/release/ntc bench/data "$@"
