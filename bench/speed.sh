#!/usr/bin/env bash
# ntc against scikit-learn and scikit-learn-intelex: fit at 5k/10k/20k/40k rows, a fit with
# probabilities at train's defaults, and predict throughput,
# medians of 3 runs, both in the same run. A benchmark, not a test: CI does not run it.
#
#   bash bench/speed.sh [extra speed.py flags, e.g. --sizes 20000,40000 --runs 5 --predict-rows 500000]
set -euo pipefail
source "$(dirname "$0")/venv.sh"
bench/.venv/bin/python bench/speed.py target/release/ntc bench/data "$@"
