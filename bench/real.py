"""ntc against scikit-learn on real flows, folds grouped by capture.

Outer folds: scikit-learn's StratifiedGroupKFold(5, shuffle) on
../shared/real/train.csv, grouped by `capture`, one split per seed: no
capture is on both sides, so every fold scores flows from captures the model
has never seen. Each ntc variant trains on the training side with the given
flags (its own --tune cross-validates inside it) and predicts the test side;
the peers (HistGradientBoosting, RandomForest with 300 trees, StandardScaler
+ SVC tuned by GridSearchCV with the inner folds grouped by capture too)
train and predict on the same rows, in the same run. Macro-F1 and accuracy
over the five traffic categories, per model and per fold.

    python bench/real.py NTC OUTDIR [--seeds 0,1,2] [--ntc "FLAGS" ...] [--peers hgb,rf,svc]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

REAL = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "real", "train.csv")
CATEGORIES = {
    **{n: "Web" for n in "HTTP HTTP_CONNECT HTTP_PROXY GOOGLE GMAIL AMAZON MICROSOFT WINDOWS_UPDATE".split()},
    **{n: "Streaming" for n in "YOUTUBE NETFLIX SPOTIFY".split()},
    **{n: "Secure" for n in "SSL TLS".split()},
    **{n: "DNS" for n in "DNS MDNS".split()},
}
NOT_FEATURES = ["Flow.ID", "Source.IP", "Destination.IP", "Timestamp", "Label", "L7Protocol", "ProtocolName", "capture"]


def category(name):
    return CATEGORIES.get(str(name).upper(), "Other")


def peer_features(df):
    x = df.drop(columns=NOT_FEATURES).replace([np.inf, -np.inf], np.nan)
    return x


def run_peer(name, xtr, ytr, gtr, xte, seed):
    med = xtr.median()
    xtr, xte = xtr.fillna(med).values, xte.fillna(med).values
    if name == "hgb":
        m = HistGradientBoostingClassifier(random_state=seed)
    elif name == "rf":
        m = RandomForestClassifier(n_estimators=300, n_jobs=2, random_state=seed)
    elif name == "svc":
        grid = {
            "svc__C": [2.0**e for e in range(-5, 16, 2)],
            "svc__gamma": [2.0**e for e in range(3, -16, -2)],
        }
        m = GridSearchCV(
            make_pipeline(StandardScaler(), SVC()),
            grid,
            scoring="f1_macro",
            cv=StratifiedGroupKFold(5, shuffle=True, random_state=seed),
            n_jobs=2,
        )
        m.fit(xtr, ytr, groups=gtr)
        return m.predict(xte), {"cv": float(m.best_score_), "params": {k: float(v) for k, v in m.best_params_.items()}}
    m.fit(xtr, ytr)
    return m.predict(xte), {}


def run_ntc(ntc, flags, train_csv, test_csv, work):
    model = os.path.join(work, "m.cbor")
    cmd = [ntc, "train", "-q", train_csv, "-m", model] + flags.split()
    if "--tune" in flags.split():
        cmd.append("--json")
    t0 = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    seconds = time.time() - t0
    info = {"seconds": round(seconds, 1)}
    if "--tune" in flags.split():
        table = json.loads(out)
        chosen = next(c for c in table["cells"] if c["chosen"])
        info["cv"] = chosen["mean"]
        info["chosen"] = f"C 2^{chosen['log2_c']} gamma 2^{chosen['log2_gamma']} {chosen['transform']} {chosen['class_weight']}"
    pred = subprocess.run(
        [ntc, "predict", "-q", test_csv, "-m", model, "--keep", "none"], check=True, capture_output=True, text=True
    ).stdout
    return pd.read_csv(pd.io.common.StringIO(pred))["predicted"].values, info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntc")
    ap.add_argument("outdir")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--ntc-flags", action="append", dest="variants", default=None,
                    help='an ntc train variant, e.g. "--tune --group-by capture" (repeatable)')
    ap.add_argument("--peers", default="hgb,rf,svc")
    ap.add_argument("--csv", default=REAL)
    a = ap.parse_args()
    variants = a.variants or ["", "--tune --group-by capture"]
    peers = [p for p in a.peers.split(",") if p]
    os.makedirs(a.outdir, exist_ok=True)
    df = pd.read_csv(a.csv)
    y = df["ProtocolName"].map(category).values
    g = df["capture"].values
    x = peer_features(df)
    models = [("ntc train " + v).strip() for v in variants] + peers
    scores = {m: [] for m in models}
    print(f"{len(df)} flows, {len(set(g))} captures; classes: {pd.Series(y).value_counts().to_dict()}")
    print(f"{'model':44s} {'seed':>4s} {'fold':>4s} {'macro_f1':>8s} {'accuracy':>8s}  notes")
    for seed in [int(s) for s in a.seeds.split(",")]:
        folds = StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(x, y, g)
        for fold, (tr, te) in enumerate(folds):
            work = os.path.join(a.outdir, f"s{seed}f{fold}")
            os.makedirs(work, exist_ok=True)
            train_csv, test_csv = os.path.join(work, "train.csv"), os.path.join(work, "test.csv")
            df.iloc[tr].to_csv(train_csv, index=False)
            df.iloc[te].to_csv(test_csv, index=False)
            for m in models:
                t0 = time.time()
                if m.startswith("ntc"):
                    pred, info = run_ntc(a.ntc, m[len("ntc train"):].strip(), train_csv, test_csv, work)
                else:
                    pred, info = run_peer(m, x.iloc[tr], y[tr], g[tr], x.iloc[te], seed)
                    info["seconds"] = round(time.time() - t0, 1)
                f1 = f1_score(y[te], pred, average="macro")
                acc = accuracy_score(y[te], pred)
                scores[m].append((f1, acc, info.get("cv")))
                print(f"{m:44s} {seed:>4d} {fold:>4d} {f1:8.4f} {acc:8.4f}  {json.dumps(info)}", flush=True)
    print("\nmean over folds (and seeds):")
    print(f"{'model':44s} {'macro_f1':>8s} {'std':>6s} {'accuracy':>8s} {'std':>6s} {'cv estimate':>11s}")
    for m in models:
        s = np.array([(f, a_) for f, a_, _ in scores[m]])
        cv = [c for _, _, c in scores[m] if c is not None]
        cvs = f"{np.mean(cv):11.4f}" if cv else f"{'':11s}"
        print(f"{m:44s} {s[:, 0].mean():8.4f} {s[:, 0].std():6.3f} {s[:, 1].mean():8.4f} {s[:, 1].std():6.3f} {cvs}")


if __name__ == "__main__":
    sys.exit(main())
