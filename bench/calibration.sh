#!/usr/bin/env bash
# Calibration quality and cost: ntc's probabilities against scikit-learn's
# CalibratedClassifierCV and scikit-learn-intelex's SVC(probability=True),
# same rows, same run (log-loss, Brier, reliability table). A benchmark, not
# a test: CI does not run it.
#
#   bash bench/calibration.sh [--rows 20000] [--runs 3] [--baseline path/to/earlier/ntc]
set -euo pipefail
source "$(dirname "$0")/venv.sh"
bench/.venv/bin/python bench/calibration.py target/release/ntc bench/data "$@"
