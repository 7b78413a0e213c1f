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

from sklearn.svm import SVC

from prep import Prep, read


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sample")
    ap.add_argument("test")
    ap.add_argument("out")
    ap.add_argument("--c", type=float, default=10.0)
    ap.add_argument("--label", default="ProtocolName")
    a = ap.parse_args()

    train, y = read(a.sample, a.label)
    t0 = time.perf_counter()
    prep = Prep(train, label=a.label)
    xs = prep(train)
    svc = SVC(C=a.c, gamma="scale", kernel="rbf")
    svc.fit(xs, y)
    fit_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    test, truth = read(a.test, a.label)
    pred = svc.predict(prep(test))
    predict_s = time.perf_counter() - t0
    json.dump(
        {
            "fit_seconds": fit_s,
            "predict_seconds": predict_s,
            "n_support": int(svc.n_support_.sum()),
            "features": len(prep.feats),
            "predicted": pred.tolist(),
            "truth": truth.tolist(),
        },
        open(a.out, "w"),
    )


if __name__ == "__main__":
    main()
