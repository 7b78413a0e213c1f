#!/usr/bin/env bash
# ntc against scikit-learn (HistGradientBoosting, RandomForest, GridSearchCV'd
# SVC) on the real flows of ../shared/real/train.csv, outer folds grouped by
# capture, all in one run. A benchmark, not a test: CI does not run it.
#
#   bash bench/real.sh [--seeds 0,1,2] [--ntc-flags "--tune --group-by capture" ...] [--peers hgb,rf,svc]
set -euo pipefail
source "$(dirname "$0")/venv.sh"
bench/.venv/bin/python bench/real.py target/release/ntc bench/data/real "$@"
