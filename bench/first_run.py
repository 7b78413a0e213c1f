#!/usr/bin/env python3
"""The first run on a Unicauca-sized file (issue 23): what a user types first,
with no flags, on a 3,577,296-row synthetic dirty file, and `--max-rows all`.
Wall time and peak memory (RSS) of each process. Standard library only.

    python3 bench/first_run.py NTC DATA_DIR [--runs 1] [--rows 3577296]

Goals: `ntc train full.csv` within 5 min and 2 GB, `ntc train full.csv --tune`
within 15 min and 3 GB, `ntc train full.csv --max-rows all` answering within
seconds (a refusal with its estimate, exit 2, or a run that fits).
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fullscale import run  # noqa: E402


def run_any(cmd):
    """Like fullscale.run, but returns the exit status too (a refusal is a result)."""
    import time
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntc")
    ap.add_argument("data")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--rows", type=int, default=3577296)
    a = ap.parse_args()
    os.makedirs(a.data, exist_ok=True)
    csv = os.path.join(a.data, f"full-{a.rows}-seed11-dirty.csv")
    if not os.path.exists(csv):
        w, m = run([a.ntc, "synth", "-q", "--rows", str(a.rows), "--seed", "11", "--dirty", "-o", csv])
        print(f"synth {w:.1f} s, {m:.0f} MB", flush=True)
    ok = True
    for name, flags, limit_s, limit_mb in [
        ("train (no flags)", [], 300, 2048),
        ("train --tune", ["--tune"], 900, 3072),
    ]:
        results = []
        for i in range(a.runs):
            model = os.path.join(a.data, "first-run.cbor")
            cmd = [a.ntc, "train", csv, "-m", model, *flags]
            w, m, code, err = run_any(cmd)
            if code != 0:
                sys.exit(f"failed ({code}): {' '.join(cmd)}\n{err}")
            notes = [line for line in err.splitlines() if line.startswith(("note: --max-rows", "trained on", "tuning:"))]
            print(f"{name}: run {i + 1}: {w:.1f} s, {m:.0f} MB", *notes, sep="\n  ", flush=True)
            results.append((w, m))
        med, peak = statistics.median(r[0] for r in results), max(r[1] for r in results)
        met = med <= limit_s and peak <= limit_mb
        ok &= met
        print(f"{name}: median {med:.1f} s, peak {peak:.0f} MB; goal <= {limit_s} s, <= {limit_mb} MB: {'met' if met else 'NOT met'}")
    w, m, code, err = run_any([a.ntc, "train", csv, "--max-rows", "all", "-m", os.path.join(a.data, "all.cbor")])
    met = w <= 10 and code in (0, 2)
    ok &= met
    print(f"train --max-rows all: {w:.2f} s, {m:.0f} MB, exit {code}: {err.strip()}")
    print(f"  goal: an answer within 10 s: {'met' if met else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
