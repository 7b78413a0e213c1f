"""The peer of `ntc train --tune`: scikit-learn's GridSearchCV over the same
grid, transforms and class weights, on the rows ntc tuned on; its SVC is
scikit-learn's (libsvm) or, with --intelex, scikit-learn-intelex's (oneDAL,
what `patch_sklearn()` substitutes).

Reads ntc's tuning sample (bench/tune.py derives it with `ntc train
--sample-out`), prepares it as ntc does (bench/prep.py), searches the coarse
log2 grid for every transform and class weight with stratified k-fold
cross-validation, then the fine grid around the best cell (quarter steps, half
a coarse step either side, as ntc), refits the best on the `--refit` rows (ntc's
training rows; default: the tuning sample) and scores a test CSV. Writes
timings and scores as JSON.

usage: sklearn_tune.py SAMPLE.csv TEST.csv OUT.json [--refit TRAIN.csv] [--grid c=-5:15:2,gamma=3:-15:-2]
       [--folds 5] [--jobs 2] [--metric macro_f1] [--class-weights none,sqrt] [--intelex]
"""
import argparse
import json
import time
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from prep import Prep, read
from sklearn_svc import svc_class

SCORING = {"macro_f1": "f1_macro", "accuracy": "accuracy", "weighted_f1": "f1_weighted"}
# As ntc's tuning fits (src/tune/mod.rs, MAX_ITER_PER_ROW and CV_EPS): at most
# 50 iterations per training row of the fold (ntc counts the rows of each
# pair, so this cap is never the stricter one) and stopping tolerance 0.01.
MAX_ITER_PER_ROW = 50
CV_TOL = 1e-2


def axis(spec):
    v = [float(x) for x in spec.split(":")]
    if len(v) == 1:
        return [v[0]], 0.0
    b, e, st = v
    n = int(np.floor((e - b) / st + 1e-9))
    return [b + i * st for i in range(n + 1)], st


def parse_grid(s):
    g = {"c": "-5:15:2", "gamma": "3:-15:-2"}
    for part in filter(None, s.split(",")):
        k, v = part.split("=")
        g[k.strip()] = v
    return axis(g["c"]), axis(g["gamma"])


def weights(w, y):
    """ntc's class weightings: none, balanced, and sqrt (the square root of
    balanced's factors). ntc computes them on each training fold; here they
    come from all of `y` (the tuning sample), as a fixed dict."""
    if w == "none":
        return None
    if w == "balanced":
        return "balanced"
    classes, counts = np.unique(y, return_counts=True)
    return {c: float(np.sqrt(len(y) / (len(classes) * n))) for c, n in zip(classes, counts)}


def around(v, step):
    return [v] if step == 0 else [v + i * abs(step) / 4 for i in range(-2, 3)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sample")
    ap.add_argument("test")
    ap.add_argument("out")
    ap.add_argument("--grid", default="")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--metric", default="macro_f1")
    ap.add_argument("--class-weights", default="none,sqrt", help="weightings to try, as ntc --tune's default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--refit", help="CSV of the rows to refit the best cell on (default: the tuning sample)")
    ap.add_argument("--intelex", action="store_true", help="scikit-learn-intelex's SVC")
    a = ap.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    SVC = svc_class(a.intelex)
    (cs, cstep), (gs, gstep) = parse_grid(a.grid)

    train, y = read(a.sample)
    t0 = time.perf_counter()
    cv = StratifiedKFold(a.folds, shuffle=True, random_state=a.seed)
    cap = MAX_ITER_PER_ROW * len(y)
    cells = []  # (mean, std, log2c, log2g, transform, weight, stage)
    preps = {t: Prep(train, t) for t in ("none", "log")}
    xs = {t: preps[t](train) for t in preps}

    def search(t, w, c_exps, g_exps, stage):
        grid = GridSearchCV(
            SVC(kernel="rbf", class_weight=weights(w, y), max_iter=cap, tol=CV_TOL),
            {"C": [2.0 ** c for c in c_exps], "gamma": [2.0 ** g for g in g_exps]},
            scoring=SCORING[a.metric],
            cv=cv,
            n_jobs=a.jobs,
        )
        grid.fit(xs[t], y)
        r = grid.cv_results_
        for p, m, s in zip(r["params"], r["mean_test_score"], r["std_test_score"]):
            cells.append((float(m), float(s), float(np.log2(p["C"])), float(np.log2(p["gamma"])), t, w, stage))

    for t in ("none", "log"):
        for w in a.class_weights.split(","):
            search(t, w, cs, gs, "coarse")
    rank = lambda c: (-c[0], c[2], c[3])
    best = min(cells, key=rank)
    fine_c, fine_g = around(best[2], cstep), around(best[3], gstep)
    search(best[4], best[5], fine_c, fine_g, "fine")
    best = min(cells, key=rank)
    tune_s = time.perf_counter() - t0

    _, _, lc, lg, t, w, _ = best
    if a.refit:
        # As ntc: the preparation is learnt again on the rows the final model is fitted on.
        refit, refit_y = read(a.refit)
        prep = Prep(refit, t)
        svc = SVC(kernel="rbf", C=2.0 ** lc, gamma=2.0 ** lg, class_weight=weights(w, refit_y))
        svc.fit(prep(refit), refit_y)
    else:
        prep = preps[t]
        svc = SVC(kernel="rbf", C=2.0 ** lc, gamma=2.0 ** lg, class_weight=weights(w, y))
        svc.fit(xs[t], y)
    total_s = time.perf_counter() - t0
    test, truth = read(a.test)
    pred = svc.predict(prep(test))
    json.dump(
        {
            "tune_seconds": tune_s,
            "tune_and_refit_seconds": total_s,
            "refit_rows": len(refit_y) if a.refit else len(y),
            "cells": len(cells),
            "best": {"log2_c": lc, "log2_gamma": lg, "transform": t, "class_weight": w, "cv_score": best[0]},
            "test_macro_f1": f1_score(truth, pred, average="macro"),
            "test_accuracy": accuracy_score(truth, pred),
        },
        open(a.out, "w"),
        indent=1,
    )


if __name__ == "__main__":
    main()
