"""`ntc train --tune` against scikit-learn's GridSearchCV, same rows, same
grid, same run, on clean and dirty synthetic flows.

For each variant: the untuned models (v1's defaults, C 10 and gamma scale without
transform, and today's defaults), ntc's tuned model and
scikit-learn's tuned model, all three scored on the same separate test file
(macro-F1 and accuracy), and the wall time of each tuning (ntc: the whole
`ntc train --tune` process, reading included; scikit-learn: GridSearchCV's
coarse and fine passes plus the refit).

usage: tune.py NTC DATA_DIR [--tune-rows 2000] [--grid ...] [--variants clean,dirty]
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run([str(c) for c in cmd], check=True, **kw)
    return time.perf_counter() - t0


def evaluate(ntc, model, test):
    out = subprocess.run([str(ntc), "evaluate", "-q", "--json", "-m", str(model), str(test)],
                         check=True, capture_output=True, text=True).stdout
    m = json.loads(out)
    return m["macro_f1"], m["accuracy"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntc")
    ap.add_argument("data")
    ap.add_argument("--tune-rows", type=int, default=2000)
    ap.add_argument("--grid", default="c=-5:15:2,gamma=3:-15:-2")
    ap.add_argument("--variants", default="clean,dirty")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    ntc, d = Path(a.ntc).resolve(), Path(a.data)
    d.mkdir(parents=True, exist_ok=True)
    rows = str(a.tune_rows)
    print(f"tuning rows {rows} (--max-rows = --tune-rows, so both tools tune and refit on the same rows), "
          f"grid {a.grid}, transforms none+log, class weights none+balanced, 5 folds, macro-F1")
    print(f"train: synth --rows 100000 --seed 1; test: synth --rows 20000 --seed 2 (--dirty for the dirty variant)\n")
    print(f"{'variant':<7} {'model':<22} {'test macro-F1':>13} {'test acc':>9} {'tuning s':>9}  chosen")
    for v in a.variants.split(","):
        dirty = ["--dirty"] if v == "dirty" else []
        train, test = d / f"tune_train_{v}.csv", d / f"tune_test_{v}.csv"
        subprocess.run([ntc, "synth", "-q", "--rows", "100000", "--seed", "1", *dirty, "-o", train], check=True)
        subprocess.run([ntc, "synth", "-q", "--rows", "20000", "--seed", "2", *dirty, "-o", test], check=True)

        for name, flags in [("ntc v1 default", ["--c", "10", "--gamma", "scale", "--transform", "none"]),
                             ("ntc default (untuned)", [])]:
            default = d / f"tune_default_{v}_{len(flags)}.cbor"
            subprocess.run([ntc, "train", "-q", "--no-proba", "--max-rows", rows, "--seed", str(a.seed), *flags,
                            "-m", default, train], check=True)
            f1, acc = evaluate(ntc, default, test)
            print(f"{v:<7} {name:<22} {f1:>13.4f} {acc:>9.4f} {'':>9}")

        tuned, sample, table = d / f"tune_ntc_{v}.cbor", d / f"tune_sample_{v}.csv", d / f"tune_ntc_{v}.json"
        with open(table, "w") as out:
            ntc_s = timed([ntc, "train", "-q", "--no-proba", "--tune", "--tune-rows", rows, "--max-rows", rows,
                           "--grid", a.grid, "--seed", str(a.seed), "--json", "--sample-out", sample,
                           "-m", tuned, train], stdout=out)
        best = json.load(open(table))["cells"][0]
        f1, acc = evaluate(ntc, tuned, test)
        chosen = f"C=2^{best['log2_c']:g} gamma=2^{best['log2_gamma']:g} {best['transform']} {best['class_weight']}"
        print(f"{v:<7} {'ntc --tune':<22} {f1:>13.4f} {acc:>9.4f} {ntc_s:>9.1f}  {chosen} (cv {best['mean']:.4f})")

        sk = d / f"tune_sklearn_{v}.json"
        subprocess.run([PY, HERE / "sklearn_tune.py", sample, test, sk, "--grid", a.grid], check=True)
        r = json.load(open(sk))
        b = r["best"]
        chosen = f"C=2^{b['log2_c']:g} gamma=2^{b['log2_gamma']:g} {b['transform']} {b['class_weight']}"
        print(f"{v:<7} {'sklearn GridSearchCV':<22} {r['test_macro_f1']:>13.4f} {r['test_accuracy']:>9.4f} "
              f"{r['tune_and_refit_seconds']:>9.1f}  {chosen} (cv {b['cv_score']:.4f})")
        print(f"{v:<7} speed-up (wall): {r['tune_and_refit_seconds'] / ntc_s:.1f}x\n", flush=True)


if __name__ == "__main__":
    main()
