#!/usr/bin/env python3
"""Compares `ntc flows` with the golden files of ../shared/flows: columns 1 to 84
of every flow, numbers within a relative 1e-9. Prints the share of flows that
match, and the columns that differ most often. With --labels, runs
`ntc flows --labels ndpi` (ndpiReader on the PATH) and compares the label
columns 85-87 too. Standard library only.

    python3 bench/flows_golden.py NTC [SHARED_FLOWS_DIR] [--show N] [--labels]
"""
import csv
import io
import math
import os
import subprocess
import sys
from collections import Counter


def same(a, b):
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y):
        # V3 wrote Infinity/NaN for rates of zero-duration flows; the golden files write 0.
        return (x == y) or (x == 0 or y == 0) and (math.isnan(x) or math.isinf(x) or math.isnan(y) or math.isinf(y))
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1e-300) or abs(x - y) < 1e-12


def main():
    ntc = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else "../shared/flows"
    show = int(sys.argv[sys.argv.index("--show") + 1]) if "--show" in sys.argv else 0
    labels = "--labels" in sys.argv
    label_matched = 0
    label_diffs = Counter()
    pcaps = sorted(f for f in os.listdir(os.path.join(root, "pcaps")) if f != "SOURCES.md")
    total = matched = missing = extra = 0
    cols = Counter()
    examples = []
    failed = []
    for name in pcaps:
        golden = os.path.join(root, "golden", name + ".csv")
        if not os.path.exists(golden):
            continue
        args = [ntc, "flows", "-q"] + (["--labels", "ndpi"] if labels else [])
        p = subprocess.run(args + [os.path.join(root, "pcaps", name)], capture_output=True, text=True)
        with open(golden) as f:
            g = list(csv.reader(f))
        header, want = g[0], g[1:]
        if p.returncode != 0:
            failed.append((name, p.stderr.strip()))
            total += len(want)
            missing += len(want)
            continue
        got = list(csv.reader(io.StringIO(p.stdout)))[1:]
        total += len(want)
        # Flows in order; compare position by position, then count the rest.
        for i, w in enumerate(want):
            if i >= len(got):
                missing += 1
                continue
            if labels:
                if got[i][84:87] == w[84:87]:
                    label_matched += 1
                else:
                    label_diffs[(tuple(got[i][85:87]), tuple(w[85:87]))] += 1
            diff = [j for j in range(84) if not same(got[i][j], w[j])]
            if not diff:
                matched += 1
            else:
                for j in diff:
                    cols[header[j]] += 1
                if len(examples) < show:
                    examples.append((name, i, [(header[j], got[i][j], w[j]) for j in diff[:6]]))
        extra += max(0, len(got) - len(want))
    print(f"flows: {total}, matching on columns 1-84: {matched} ({100.0 * matched / max(total, 1):.2f}%), "
          f"missing: {missing}, extra: {extra}, captures failed: {len(failed)}")
    if labels:
        print(f"labels (columns 85-87) matching: {label_matched} ({100.0 * label_matched / max(total, 1):.2f}%)")
        for (g, w), n in label_diffs.most_common(15):
            print(f"  ntc {g} golden {w}: {n}")
    for c, n in cols.most_common(15):
        print(f"  {c}: {n}")
    for f in failed[:10]:
        print("  failed:", f)
    for e in examples:
        print("  example:", e)


if __name__ == "__main__":
    main()
