"""The peers: scikit-learn's SVC (libsvm inside) or, with --intelex,
scikit-learn-intelex's (oneDAL inside, `sklearnex.svm.SVC`, what
`patch_sklearn()` substitutes), on the rows ntc trained on.

Reads the training sample that `ntc train --sample-out` wrote (the same rows,
as read), prepares them as ntc does (bench/prep.py), fits SVC, predicts a test
CSV and writes the predictions, probabilities when asked, and timings as JSON.

usage: sklearn_svc.py SAMPLE.csv TEST.csv OUT.json [--c 10] [--gamma scale|G]
       [--transform none|log] [--proba] [--intelex] [--label ProtocolName]
"""
import argparse
import json
import time
import warnings

from prep import Prep, read


def svc_class(intelex):
    if intelex:
        from sklearnex.svm import SVC
    else:
        from sklearn.svm import SVC
    return SVC


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sample")
    ap.add_argument("test")
    ap.add_argument("out")
    ap.add_argument("--c", type=float, default=10.0)
    ap.add_argument("--gamma", default="scale")
    ap.add_argument("--transform", default="none")
    ap.add_argument("--proba", action="store_true")
    ap.add_argument("--intelex", action="store_true")
    ap.add_argument("--label", default="ProtocolName")
    a = ap.parse_args()
    # scikit-learn 1.9 deprecates probability=True (the calibration this benchmark compares) and
    # oneDAL ignores random_state: both warn on every fit.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message="random_state does not influence")
    SVC = svc_class(a.intelex)

    train, y = read(a.sample, a.label)
    t0 = time.perf_counter()
    prep = Prep(train, transform=a.transform, label=a.label)
    xs = prep(train)
    gamma = a.gamma if a.gamma == "scale" else float(a.gamma)
    svc = SVC(C=a.c, gamma=gamma, kernel="rbf", probability=a.proba, random_state=0)
    svc.fit(xs, y)
    fit_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    test, truth = read(a.test, a.label)
    xt = prep(test)
    pred = svc.predict(xt)
    predict_s = time.perf_counter() - t0
    out = {
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        "n_support": int(svc.n_support_.sum()),
        "features": len(prep.feats),
        "predicted": pred.tolist(),
        "truth": truth.tolist(),
    }
    if a.proba:
        out["classes"] = [str(c) for c in svc.classes_]
        out["proba"] = svc.predict_proba(xt).tolist()
    json.dump(out, open(a.out, "w"))


if __name__ == "__main__":
    main()
