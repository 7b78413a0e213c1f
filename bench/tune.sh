#!/usr/bin/env bash
# `ntc train --tune` against scikit-learn's GridSearchCV (same rows, grid,
# transforms and class weights), clean and dirty synthetic flows.
# A benchmark, not a test: CI does not run it.
#
#   bash bench/tune.sh [--tune-rows 2000] [--grid c=-5:15:2,gamma=3:-15:-2] [--variants clean,dirty]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install -q scikit-learn polars numpy
bench/.venv/bin/python bench/tune.py target/release/ntc bench/data "$@"
