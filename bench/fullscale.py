#!/usr/bin/env python3
"""Full-scale run: a synthetic file the size of Unicauca (3,577,296 rows),
`ntc train --max-rows 50000` and `ntc predict` over every row, each repeated,
with wall time and peak memory (RSS) of each process. Standard library only.

    python3 bench/fullscale.py NTC DATA_DIR [--runs 3] [--rows 3577296]

Checks on the way: every training run writes the same model bytes, and every
prediction file has one line per input row plus the header.
"""
import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import time

TRAIN_LIMIT_S, TRAIN_LIMIT_MB = 300, 2048
PREDICT_LIMIT_S, PREDICT_LIMIT_MB = 180, 1024


def run(cmd):
    """Runs cmd; returns (wall seconds, peak RSS in MB) of that process alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            n += chunk.count(b"\n")
    return n


def summary(name, results, limit_s, limit_mb):
    walls = [w for w, _ in results]
    rss = [m for _, m in results]
    med, peak = statistics.median(walls), max(rss)
    ok = med <= limit_s and peak <= limit_mb
    runs = ", ".join(f"{w:.1f}" for w in walls)
    print(f"{name:<8} median {med:7.1f} s (runs: {runs})  peak RSS {peak:6.0f} MB  "
          f"goal <= {limit_s} s, < {limit_mb} MB: {'met' if ok else 'NOT met'}")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntc")
    ap.add_argument("data")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rows", type=int, default=3577296)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.data, exist_ok=True)
    csv = os.path.join(a.data, f"full-{a.rows}-seed{a.seed}.csv")
    if not os.path.exists(csv):
        w, m = run([a.ntc, "synth", "-q", "--rows", str(a.rows), "--seed", str(a.seed), "-o", csv])
        print(f"synth    {w:.1f} s, {m:.0f} MB, {os.path.getsize(csv):,} bytes", flush=True)

    models, train = [], []
    for i in range(a.runs):
        model = os.path.join(a.data, f"full-{i}.cbor")
        train.append(run([a.ntc, "train", "-q", csv, "--max-rows", "50000", "-m", model]))
        models.append(model)
        print(f"train    run {i + 1}: {train[-1][0]:.1f} s, {train[-1][1]:.0f} MB", flush=True)
    same = all(filecmp.cmp(models[0], m, shallow=False) for m in models[1:])

    predict = []
    out = os.path.join(a.data, "full-pred.csv")
    for i in range(a.runs):
        predict.append(run([a.ntc, "predict", "-q", csv, "-m", models[0], "--keep", "id", "-o", out]))
        print(f"predict  run {i + 1}: {predict[-1][0]:.1f} s, {predict[-1][1]:.0f} MB", flush=True)
    lines = count_lines(out)

    print()
    print(f"file: {csv}, {a.rows:,} rows; {a.runs} runs each")
    ok = summary("train", train, TRAIN_LIMIT_S, TRAIN_LIMIT_MB)
    ok &= summary("predict", predict, PREDICT_LIMIT_S, PREDICT_LIMIT_MB)
    print(f"models byte-identical across runs: {same}")
    print(f"prediction lines: {lines:,} (expected {a.rows + 1:,}: {'ok' if lines == a.rows + 1 else 'WRONG'})")
    ok &= same and lines == a.rows + 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
