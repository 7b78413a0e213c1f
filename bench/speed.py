"""ntc against scikit-learn and scikit-learn-intelex (oneDAL), same rows, same
run: fit time at several training sizes (C 10, gamma scale, no probabilities),
a fit with train's defaults and probabilities, and predict throughput (CSV in,
labelled CSV out), medians of --runs.

ntc's times are whole processes (`ntc train`, `ntc predict`: reading, writing and
all). scikit-learn's fit time is `StandardScaler` + `SVC.fit` alone (reading the
CSV left out); its predict time is a whole Python process (polars reads the CSV,
scikit-learn predicts, polars writes the labelled CSV), which is what a user
would run instead. The peers train on the rows ntc trained on: one more
`ntc train --sample-out` run, untimed, writes them (the same seed draws the
same rows; writing them is no part of training).

usage: speed.py NTC_BINARY DATA_DIR [--sizes 5000,10000,20000,40000] [--runs 3] [--predict-rows 200000]
                [--defaults-rows 20000] [--peers sklearn,intelex]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntc")
    ap.add_argument("data")
    ap.add_argument("--sizes", default="5000,10000,20000,40000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--predict-rows", type=int, default=200000)
    ap.add_argument("--defaults-rows", type=int, default=20000, help="rows of the fit with train's defaults (0: none)")
    ap.add_argument("--peers", default="sklearn,intelex", help="scikit-learn's SVC (sklearn) and scikit-learn-intelex's (intelex)")
    a = ap.parse_args()
    ntc, d = a.ntc, Path(a.data)
    d.mkdir(parents=True, exist_ok=True)
    train, test = d / "train.csv", d / "test.csv"
    subprocess.run([ntc, "synth", "-q", "--rows", "100000", "--seed", "1", "-o", train], check=True)
    subprocess.run([ntc, "synth", "-q", "--rows", "20000", "--seed", "2", "-o", test], check=True)

    peers = [(p, [] if p == "sklearn" else ["--intelex"]) for p in a.peers.split(",")]
    print("## fit (synth --rows 100000 --seed 1, sampled with --max-rows N --seed 42; test synth --rows 20000 --seed 2)")
    print(f"runs per cell: {a.runs}, medians; C=10, gamma=scale, no probabilities; ntc: whole `ntc train` process;")
    print("peers: StandardScaler + SVC.fit (scikit-learn, libsvm; scikit-learn-intelex, oneDAL); ratio: peer s / ntc s")
    print(table_header(peers))
    for n in [int(s) for s in a.sizes.split(",")]:
        fit_row(a, ntc, d, train, test, n, peers, [], ["--c", "10", "--gamma", "scale", "--transform", "none", "--no-proba"], "C10")
    if a.defaults_rows:
        n = a.defaults_rows
        print()
        print(f"## fit with train's defaults (log, C 512, gamma 2^-9, probabilities), {n} rows; peers with probability=True")
        print(table_header(peers))
        fit_row(a, ntc, d, train, test, n, peers, ["--c", "512", "--gamma", "0.001953125", "--transform", "log", "--proba"], [], "defaults")

    print()
    print(f"## predict ({a.predict_rows} rows of synth --seed 3, model trained on 20,000 rows, C 10, gamma scale)")
    big = d / "predict_input.csv"
    subprocess.run([ntc, "synth", "-q", "--rows", str(a.predict_rows), "--seed", "3", "-o", big], check=True)
    model = d / "ntc_C10_20000.cbor"
    times = {"ntc": []}
    for name, flags in peers:
        subprocess.run([PY, HERE / "sklearn_predict.py", "fit", d / "sample_C10_20000.csv", d / f"{name}_20000.pkl"] + flags, check=True)
        times[name] = []
    for _ in range(a.runs):
        times["ntc"].append(timed([ntc, "predict", "-q", "-m", model, "-o", d / "ntc_labelled.csv", big]))
        for name, _ in peers:
            times[name].append(timed([PY, HERE / "sklearn_predict.py", "predict", d / f"{name}_20000.pkl", big, d / f"{name}_labelled.csv"]))
    tn = statistics.median(times["ntc"])
    print(f"ntc predict:              {tn:8.2f} s  {a.predict_rows / tn:>10.0f} rows/s")
    for name, _ in peers:
        ts = statistics.median(times[name])
        print(f"python+polars+{name:<8}: {ts:8.2f} s  {a.predict_rows / ts:>10.0f} rows/s  ntc {ts / tn:.2f}x")


def table_header(peers):
    cols = [f"{'rows':>7}", f"{'ntc s':>8}"] + [f"{p + ' s':>10}" for p, _ in peers] + [f"{p[:2] + '/ntc':>7}" for p, _ in peers]
    cols += [f"{'ntc acc':>8}"] + [f"{p[:2] + ' acc':>8}" for p, _ in peers] + [f"{'agree ' + peers[-1][0][:2]:>9}"]
    return " ".join(cols)


def fit_row(a, ntc, d, train, test, n, peers, peer_flags, ntc_flags, tag):
    """One row of a fit table: ntc and each peer on the same sampled rows, medians of --runs."""
    model, sample = d / f"ntc_{tag}_{n}.cbor", d / f"sample_{tag}_{n}.csv"
    args = ["train", "-q", "--max-rows", str(n), "--seed", "42", "--class-weight", "none"] + ntc_flags
    subprocess.run([ntc] + args + ["-m", d / f"ntc_{tag}_{n}_sampling.cbor", "--sample-out", sample, train], check=True)
    ntc_times, peer_times = [], {p: [] for p, _ in peers}
    for _ in range(a.runs):
        ntc_times.append(timed([ntc] + args + ["-m", model, train]))
        for name, flags in peers:
            out = d / f"{name}_{tag}_{n}.json"
            subprocess.run([PY, HERE / "sklearn_svc.py", sample, test, out] + peer_flags + flags, check=True)
            peer_times[name].append(json.load(open(out))["fit_seconds"])
    pred = d / f"ntc_pred_{tag}_{n}.csv"
    with open(pred, "w") as f:
        subprocess.run([ntc, "predict", "-q", "--keep", "none", "-m", model, test], check=True, stdout=f)
    ntc_pred = [l.strip() for l in open(pred).readlines()[1:]]
    res = {name: json.load(open(d / f"{name}_{tag}_{n}.json")) for name, _ in peers}
    truth = res[peers[0][0]]["truth"]
    acc = lambda p: sum(x == y for x, y in zip(p, truth)) / len(truth)
    agree = sum(x == y for x, y in zip(ntc_pred, res[peers[-1][0]]["predicted"])) / len(truth)
    tn = statistics.median(ntc_times)
    tp = [statistics.median(peer_times[p]) for p, _ in peers]
    cols = [f"{n:>7}", f"{tn:>8.2f}"] + [f"{t:>10.2f}" for t in tp] + [f"{t / tn:>6.2f}x" for t in tp]
    cols += [f"{acc(ntc_pred):>8.4f}"] + [f"{acc(res[p]['predicted']):>8.4f}" for p, _ in peers] + [f"{100 * agree:>8.2f}%"]
    print(" ".join(cols), flush=True)


if __name__ == "__main__":
    main()
