# Sourced by the benchmark scripts: builds ntc and makes the Python
# environment of the scikit-learn peers (bench/.venv, from PyPI).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -q
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install -q scikit-learn scikit-learn-intelex polars numpy
