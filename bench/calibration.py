"""Calibration quality and cost: ntc's class probabilities against
scikit-learn's CalibratedClassifierCV (Platt's sigmoid, 5 folds) and
scikit-learn-intelex's SVC(probability=True), same rows, same settings, same
run; optionally against an earlier ntc binary (--baseline).

Each model is trained on the rows `ntc train --sample-out` drew (train's
defaults: log transform, C 512, gamma 2^-9, unless --c/--gamma/--transform),
and scored on a test file by log-loss, Brier score (summed over classes,
averaged over rows), accuracy, and a reliability table: rows binned by the
predicted class's probability, each bin's mean probability against how often
the prediction was right. Times: ntc's whole `ntc train` process; the peers'
preparation and fit.

CalibratedClassifierCV's base estimator is scikit-learn-intelex's SVC (the
same solution as libsvm's within its tolerance, and minutes faster);
`ensemble=True`, its default: the mean of five calibrated fold models.

usage: calibration.py NTC DATA_DIR [--rows 20000] [--runs 3] [--baseline OLD_NTC]
"""
import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from prep import Prep, read  # noqa: E402

BINS = 10


def scores(classes, truth, proba):
    """log-loss, Brier, accuracy and the reliability table of probabilities `proba` (rows x classes)."""
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[t] for t in truth])
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(y)), y] = 1.0
    p_true = np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)
    predicted = proba.argmax(1)
    conf = proba.max(1)
    table = []
    for b in range(BINS):
        lo, hi = b / BINS, (b + 1) / BINS
        sel = (conf >= lo) & ((conf < hi) if b < BINS - 1 else (conf <= hi))
        n = int(sel.sum())
        table.append((lo, hi, n, float(conf[sel].mean()) if n else None, float((predicted[sel] == y[sel]).mean()) if n else None))
    # Expected calibration error: the rows' share of each bin times its |confidence - accuracy|.
    ece = sum(n / len(y) * abs(c - a) for _, _, n, c, a in table if n)
    return {
        "log_loss": float(-np.log(p_true).mean()),
        "brier": float(((proba - onehot) ** 2).sum(1).mean()),
        "accuracy": float((predicted == y).mean()),
        "ece": float(ece),
        "table": table,
    }


def ntc_run(binary, train, test, sample, model, flags, runs, out_dir, tag):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([binary, "train", "-q", "--seed", "42", "--class-weight", "none", "-m", model, "--sample-out", sample] + flags + [train],
                       check=True)
        times.append(time.perf_counter() - t0)
    pred = out_dir / f"{tag}_proba.csv"
    subprocess.run([binary, "predict", "-q", "--proba", "--keep", "none", "-m", model, "-o", pred, test], check=True)
    with open(pred) as f:
        rows = list(csv.reader(f))
    header = rows[0]
    cols = [i for i, h in enumerate(header) if h.startswith("p_")]
    classes = [header[i][2:] for i in cols]
    proba = np.array([[float(r[i]) for i in cols] for r in rows[1:]])
    return statistics.median(times), classes, proba


def peer_run(kind, sample, test, c, gamma, transform, runs):
    from sklearnex.svm import SVC
    from sklearn.calibration import CalibratedClassifierCV

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message="random_state does not influence")
    train_df, y = read(sample)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        prep = Prep(train_df, transform=transform)
        xs = prep(train_df)
        if kind == "calibrated":
            model = CalibratedClassifierCV(SVC(C=c, gamma=gamma, kernel="rbf"), method="sigmoid", cv=5)
        else:
            model = SVC(C=c, gamma=gamma, kernel="rbf", probability=True, random_state=0)
        model.fit(xs, y)
        times.append(time.perf_counter() - t0)
    test_df, truth = read(test)
    proba = model.predict_proba(prep(test_df))
    return statistics.median(times), [str(k) for k in model.classes_], proba, truth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntc")
    ap.add_argument("data")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", help="an earlier ntc binary, scored the same way")
    ap.add_argument("--c", type=float, default=512.0)
    ap.add_argument("--gamma", type=float, default=2.0 ** -9)
    ap.add_argument("--transform", default="log")
    a = ap.parse_args()
    d = Path(a.data)
    d.mkdir(parents=True, exist_ok=True)
    train, test = d / "train.csv", d / "test.csv"
    subprocess.run([a.ntc, "synth", "-q", "--rows", "100000", "--seed", "1", "-o", train], check=True)
    subprocess.run([a.ntc, "synth", "-q", "--rows", "20000", "--seed", "2", "-o", test], check=True)
    flags = ["--max-rows", str(a.rows), "--c", str(a.c), "--gamma", repr(a.gamma), "--transform", a.transform]
    sample = d / f"calibration_sample_{a.rows}.csv"
    _, truth = read(test)

    results = []
    seconds, classes, proba = ntc_run(a.ntc, train, test, sample, d / "calibration_ntc.cbor", flags, a.runs, d, "ntc")
    results.append(("ntc", seconds, scores(classes, truth, proba)))
    if a.baseline:
        seconds, classes, proba = ntc_run(a.baseline, train, test, d / "calibration_sample_old.csv", d / "calibration_old.cbor", flags, a.runs,
                                          d, "old")
        results.append(("ntc (baseline)", seconds, scores(classes, truth, proba)))
    for kind, name in [("calibrated", "CalibratedClassifierCV(intelex SVC), sigmoid, 5 folds"), ("builtin", "intelex SVC(probability=True)")]:
        seconds, classes, proba, _ = peer_run(kind, sample, test, a.c, a.gamma, a.transform, a.runs)
        results.append((name, seconds, scores(classes, truth, proba)))

    print(f"## calibration: synth --rows 100000 --seed 1, {a.rows} training rows (--max-rows, --seed 42); "
          f"test synth --rows 20000 --seed 2; C {a.c:g}, gamma {a.gamma:g}, transform {a.transform}; medians of {a.runs}")
    print(f"{'model':<56} {'fit s':>7} {'log-loss':>9} {'Brier':>7} {'ECE':>7} {'accuracy':>9}")
    for name, seconds, s in results:
        print(f"{name:<56} {seconds:>7.2f} {s['log_loss']:>9.4f} {s['brier']:>7.4f} {s['ece']:>7.4f} {s['accuracy']:>9.4f}")
    print()
    print("reliability: rows binned by the predicted class's probability; each bin's mean probability / share right (rows)")
    print(f"{'bin':<11}" + "".join(f" {name[:30]:>30}" for name, _, _ in results))
    for b in range(BINS):
        lo, hi = b / BINS, (b + 1) / BINS
        cells = []
        for _, _, s in results:
            _, _, n, conf, acc = s["table"][b]
            cells.append(f"{conf:.3f} / {acc:.3f} ({n})" if n else "-")
        print(f"{lo:.1f}-{hi:.1f}    " + "".join(f" {c:>30}" for c in cells))
    json.dump([{"model": n, "seconds": t, **s} for n, t, s in results], open(d / "calibration.json", "w"), indent=1)


if __name__ == "__main__":
    main()
