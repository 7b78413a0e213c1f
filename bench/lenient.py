"""`ntc predict --on-error skip` on a large file with 1% corrupted lines.

usage: lenient.py NTC MODEL DATA_DIR [--rows 1000000] [--share 0.01]

Writes a synthetic file, corrupts a seeded 1% of its lines in four ways (a
cell that is not a number, a line cut short, an extra field, bytes that
are not UTF-8 in a numeric cell), predicts the clean file and the
corrupted one, and checks that the rejects file holds exactly the corrupted
lines, verbatim, with their line numbers, and that every other row was
predicted, in input order, as in the clean run. Prints timings."""
import argparse
import random
import subprocess
import sys
import time
from pathlib import Path


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{cmd[1]} failed: {p.stderr}")
    return time.perf_counter() - t0, p.stderr.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntc")
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--share", type=float, default=0.01)
    a = ap.parse_args()
    d = Path(a.data)
    d.mkdir(parents=True, exist_ok=True)
    clean, bad = d / f"lenient_clean_{a.rows}.csv", d / f"lenient_bad_{a.rows}.csv"
    if not clean.exists():
        run([a.ntc, "synth", "-q", "--rows", a.rows, "--seed", 9, "-o", clean])
    rng = random.Random(9)
    corrupted = {}  # line number -> corrupted text
    with open(clean, "rb") as src, open(bad, "wb") as dst:
        header = src.readline()
        dst.write(header)
        names = header.rstrip(b"\n").split(b",")
        dur, label = names.index(b"Flow.Duration"), names.index(b"ProtocolName")
        for line_no, line in enumerate(src, start=2):
            if rng.random() < a.share:
                f = line.rstrip(b"\n").split(b",")
                kind = rng.randrange(4)
                if kind == 0:
                    f[dur] = b"12x"
                elif kind == 1:
                    f = f[: rng.randrange(1, len(f) - 1)]
                elif kind == 2:
                    f.append(b"extra")
                else:
                    f[dur] = bytes([0xff, 0xfe, 0x00, 0x41])
                line = b",".join(f) + b"\n"
                corrupted[line_no] = line.rstrip(b"\n")
            dst.write(line)
    print(f"{a.rows} rows, {len(corrupted)} corrupted ({len(corrupted) / a.rows:.2%}): {bad} ({bad.stat().st_size} bytes)")

    ref, out, rej = d / "lenient_ref.csv", d / "lenient_pred.csv", d / "lenient_rejects.csv"
    t_ref, _ = run([a.ntc, "predict", "-q", "--keep", "id", "-m", a.model, "-o", ref, clean])
    t_skip, summary = run([a.ntc, "predict", "--keep", "id", "--on-error", "skip", "--rejects", rej,
                           "-m", a.model, "-o", out, bad])
    print(f"clean file, strict:          {t_ref:.1f} s")
    print(f"corrupted file, --on-error skip: {t_skip:.1f} s")
    print(f"ntc said: {summary.splitlines()[0]}")

    # The rejects: exactly the corrupted lines, verbatim, in order.
    with open(rej, "rb") as f:
        f.readline()
        got = []
        for row in f:
            n, rest = row.rstrip(b"\n").split(b",", 1)
            end = rest.index(b'",') + 2
            got.append((int(n), rest[end:]))
    want = sorted(corrupted.items())
    assert [g[0] for g in got] == [w[0] for w in want], "rejected line numbers differ from the corrupted ones"
    assert got == want, "a rejected line differs from the input"
    # Every other row predicted, in input order, as in the clean run.
    bad_rows = {n - 2 for n in corrupted}
    with open(ref) as r, open(out) as o:
        assert r.readline() == o.readline()
        kept = (l for i, l in enumerate(r) if i not in bad_rows)
        n = 0
        for n, (x, y) in enumerate(zip(kept, o), start=1):
            assert x == y, f"row {n} differs: {x!r} vs {y!r}"
        assert next(kept, None) is None and o.readline() == "", "row counts differ"
    print(f"checked: the {len(got)} rejected lines are exactly the corrupted ones, verbatim; "
          f"the {n} other rows are predicted in input order, identical to the clean run")


if __name__ == "__main__":
    main()
