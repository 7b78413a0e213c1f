"""ntc against scikit-learn, same rows, same run: fit time at several training
sizes and predict throughput (CSV in, labelled CSV out), medians of --runs.

ntc's times are whole processes (`ntc train`, `ntc predict`: reading, writing and
all). scikit-learn's fit time is `StandardScaler` + `SVC.fit` alone; its predict
time is a whole Python process (polars reads the CSV, scikit-learn predicts,
polars writes the labelled CSV), which is what a user would run instead.

usage: speed.py NTC_BINARY DATA_DIR [--sizes 5000,10000,20000,40000] [--runs 3] [--predict-rows 200000]
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
    a = ap.parse_args()
    ntc, d = a.ntc, Path(a.data)
    d.mkdir(parents=True, exist_ok=True)
    train, test = d / "train.csv", d / "test.csv"
    subprocess.run([ntc, "synth", "-q", "--rows", "100000", "--seed", "1", "-o", train], check=True)
    subprocess.run([ntc, "synth", "-q", "--rows", "20000", "--seed", "2", "-o", test], check=True)

    print("## fit (synth --rows 100000 --seed 1, sampled with --max-rows N --seed 42; test synth --rows 20000 --seed 2)")
    print(f"runs per cell: {a.runs}; C=10, gamma=scale; ntc --no-proba vs SVC(probability=False)")
    print(f"{'rows':>7} {'ntc s':>8} {'sklearn s':>10} {'ratio':>7} {'ntc acc':>8} {'sk acc':>8} {'agree':>8}")
    for n in [int(s) for s in a.sizes.split(",")]:
        model, sample = d / f"ntc_{n}.cbor", d / f"sample_{n}.csv"
        ntc_times, sk_times = [], []
        for _ in range(a.runs):
            ntc_times.append(timed([ntc, "train", "-q", "--no-proba", "--max-rows", str(n), "--seed", "42",
                                    "--c", "10", "--gamma", "scale", "--transform", "none", "--class-weight", "none",
                                    "-m", model, "--sample-out", sample, train]))
            out = d / f"sklearn_{n}.json"
            subprocess.run([PY, HERE / "sklearn_svc.py", sample, test, out], check=True)
            sk_times.append(json.load(open(out))["fit_seconds"])
        pred = d / f"ntc_pred_{n}.csv"
        with open(pred, "w") as f:
            subprocess.run([ntc, "predict", "-q", "--keep", "none", "-m", model, test], check=True, stdout=f)
        ntc_pred = [l.strip() for l in open(pred).readlines()[1:]]
        sk = json.load(open(d / f"sklearn_{n}.json"))
        truth, skp = sk["truth"], sk["predicted"]
        acc = lambda p: sum(x == y for x, y in zip(p, truth)) / len(truth)
        agree = sum(x == y for x, y in zip(ntc_pred, skp)) / len(skp)
        tn, ts = statistics.median(ntc_times), statistics.median(sk_times)
        print(f"{n:>7} {tn:>8.2f} {ts:>10.2f} {ts / tn:>6.2f}x {acc(ntc_pred):>8.4f} {acc(skp):>8.4f} {100 * agree:>7.2f}%")

    print()
    print(f"## predict ({a.predict_rows} rows of synth --seed 3, model trained on 20,000 rows)")
    big = d / "predict_input.csv"
    subprocess.run([ntc, "synth", "-q", "--rows", str(a.predict_rows), "--seed", "3", "-o", big], check=True)
    model = d / "ntc_20000.cbor"
    subprocess.run([PY, HERE / "sklearn_predict.py", "fit", d / "sample_20000.csv", d / "sklearn_20000.pkl"], check=True)
    ntc_t, sk_t = [], []
    for _ in range(a.runs):
        ntc_t.append(timed([ntc, "predict", "-q", "-m", model, "-o", d / "ntc_labelled.csv", big]))
        sk_t.append(timed([PY, HERE / "sklearn_predict.py", "predict", d / "sklearn_20000.pkl", big, d / "sk_labelled.csv"]))
    tn, ts = statistics.median(ntc_t), statistics.median(sk_t)
    print(f"ntc predict:     {tn:8.2f} s  {a.predict_rows / tn:>10.0f} rows/s")
    print(f"python+sklearn:  {ts:8.2f} s  {a.predict_rows / ts:>10.0f} rows/s")
    print(f"ratio (rows/s):  {ts / tn:.1f}x")


if __name__ == "__main__":
    main()
