"""The peer: scikit-learn's SVC (libsvm inside) on the rows ntc trained on.

Reads the training sample that `ntc train --sample-out` wrote (the same rows,
as read), prepares them as ntc does (identifier and leak columns out,
constant columns out, +inf -> max, -inf -> min, NaN -> median, StandardScaler),
fits SVC(C, gamma='scale'), predicts a test CSV and writes the predictions and
timings as JSON.

usage: sklearn_svc.py SAMPLE.csv TEST.csv OUT.json [--c 10] [--label ProtocolName]
"""
import argparse
import json
import time

import numpy as np
import polars as pl
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

CATEGORIES = {
    "HTTP": "Web", "HTTP_CONNECT": "Web", "HTTP_PROXY": "Web", "GOOGLE": "Web", "GMAIL": "Web",
    "AMAZON": "Web", "MICROSOFT": "Web", "WINDOWS_UPDATE": "Web",
    "YOUTUBE": "Streaming", "NETFLIX": "Streaming", "SPOTIFY": "Streaming",
    "SSL": "Secure", "TLS": "Secure", "DNS": "DNS", "MDNS": "DNS",
}
EXCLUDED = {"Flow.ID", "Source.IP", "Destination.IP", "Timestamp", "Label", "L7Protocol", "ProtocolName"}


def category(label):
    return CATEGORIES.get(label.strip().upper(), "Other")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sample")
    ap.add_argument("test")
    ap.add_argument("out")
    ap.add_argument("--c", type=float, default=10.0)
    ap.add_argument("--label", default="ProtocolName")
    a = ap.parse_args()

    train = pl.read_csv(a.sample, infer_schema_length=0)
    feats = [c for c in train.columns if c not in EXCLUDED and c != a.label]
    x = train.select([pl.col(c).cast(pl.Float64, strict=False) for c in feats]).to_numpy()
    y = np.array([category(v) for v in train[a.label].to_list()])
    finite = np.where(np.isfinite(x), x, np.nan)
    lo, hi, med = np.nanmin(finite, 0), np.nanmax(finite, 0), np.nanmedian(finite, 0)
    keep = ~((lo == hi) & np.all(np.isfinite(x), 0))
    x, lo, hi, med = x[:, keep], lo[keep], hi[keep], med[keep]
    feats = [f for f, k in zip(feats, keep) if k]

    def impute(m):
        m = m.copy()
        m = np.where(np.isposinf(m), hi, m)
        m = np.where(np.isneginf(m), lo, m)
        return np.where(np.isnan(m), med, m)

    t0 = time.perf_counter()
    scaler = StandardScaler().fit(impute(x))
    xs = scaler.transform(impute(x))
    svc = SVC(C=a.c, gamma="scale", kernel="rbf")
    svc.fit(xs, y)
    fit_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    test = pl.read_csv(a.test, infer_schema_length=0)
    xt = test.select([pl.col(c).cast(pl.Float64, strict=False) for c in feats]).to_numpy()
    pred = svc.predict(scaler.transform(impute(xt)))
    predict_s = time.perf_counter() - t0
    truth = [category(v) for v in test[a.label].to_list()]
    json.dump(
        {
            "fit_seconds": fit_s,
            "predict_seconds": predict_s,
            "n_support": int(svc.n_support_.sum()),
            "features": len(feats),
            "predicted": pred.tolist(),
            "truth": truth,
        },
        open(a.out, "w"),
    )


if __name__ == "__main__":
    main()
