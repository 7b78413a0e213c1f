#!/usr/bin/env bash
# `ntc train --tune` against scikit-learn's GridSearchCV (same rows, grid,
# transforms and class weights), clean and dirty synthetic flows.
# A benchmark, not a test: CI does not run it.
#
#   bash bench/tune.sh [--tune-rows 2000] [--max-rows 20000] [--grid c=-5:15:2,gamma=3:-15:-2] [--variants clean,dirty] [--seeds 42,43,44]
set -euo pipefail
source "$(dirname "$0")/venv.sh"
bench/.venv/bin/python bench/tune.py target/release/ntc bench/data "$@"
