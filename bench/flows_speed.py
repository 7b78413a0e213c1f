#!/usr/bin/env python3
"""Packets per second and peak memory of `ntc flows` against NFStream and the
Python cicflowmeter, on the same captures in the same run (bench/flows_speed.sh
makes the captures and the Python environment).

    python3 bench/flows_speed.py NTC PYTHON CICFLOWMETER CAPTURE:PACKETS... [--runs 3] [--cic-max-packets N]

Each tool reads the capture and writes or iterates its flows; the time is the
whole process (start-up included), peak memory its largest process's
resident set (GNU time's %M). cicflowmeter runs once, and only on captures of
at most --cic-max-packets packets (it reads a few thousand per second).
"""
import os
import statistics
import subprocess
import sys
import tempfile

NFSTREAM = """
import sys
from nfstream import NFStreamer
n = 0
for _ in NFStreamer(source=sys.argv[1], statistical_analysis=True, n_dissections=0):
    n += 1
print(n)
"""


def timed(cmd):
    """(seconds, peak KB, return code, stderr tail) of one run under GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        p = subprocess.run(["/usr/bin/time", "-o", t.name, "-f", "%e %M"] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = open(t.name).read().strip().splitlines()[-1]
    secs, kb = line.split()
    return float(secs), int(kb), p.returncode, p.stderr.strip().splitlines()[-1:] if p.stderr else []


def main():
    ntc, python, cic = sys.argv[1:4]
    rest = [a for a in sys.argv[4:]]
    runs = int(rest[rest.index("--runs") + 1]) if "--runs" in rest else 3
    cic_max = int(rest[rest.index("--cic-max-packets") + 1]) if "--cic-max-packets" in rest else 200_000
    captures = [a for a in rest if ":" in a and not a.startswith("--")]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(NFSTREAM)
        nfs = f.name
    out = tempfile.mkdtemp()
    print(f"{'capture':<28} {'tool':<14} {'runs':>4} {'median s':>9} {'Mpackets/s':>11} {'peak MB':>8}  note")
    for spec in captures:
        path, packets = spec.rsplit(":", 1)
        packets = int(packets)
        tools = [("ntc flows", [ntc, "flows", "-q", path, "-o", os.path.join(out, "ntc.csv")], runs),
                 ("nfstream", [python, nfs, path], runs)]
        if packets <= cic_max:
            tools.append(("cicflowmeter", [cic, "-f", path, "-c", os.path.join(out, "cic.csv")], 1))
        medians = {}
        for name, cmd, n in tools:
            results = [timed(cmd) for _ in range(n)]
            secs = statistics.median(r[0] for r in results)
            peak = max(r[1] for r in results) / 1024
            medians[name] = secs
            note = "" if all(r[2] == 0 for r in results) else f"exit {results[-1][2]}: {' '.join(results[-1][3])[:80]}"
            print(f"{os.path.basename(path):<28} {name:<14} {n:>4} {secs:>9.2f} {packets / secs / 1e6:>11.3f} {peak:>8.0f}  {note}", flush=True)
        if "nfstream" in medians:
            print(f"{os.path.basename(path):<28} ntc vs nfstream: {medians['nfstream'] / medians['ntc flows']:.2f}x packets per second")
    os.unlink(nfs)


if __name__ == "__main__":
    main()
