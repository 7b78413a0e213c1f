"""`ntc train --tune` against scikit-learn's GridSearchCV, with scikit-learn's
SVC (libsvm) and with scikit-learn-intelex's (oneDAL), same rows, same grid,
same run, on clean and dirty synthetic flows.

As a user trains: every model is fitted on the same `--max-rows` training rows
(ntc's stratified sample of the training file); the tuning of both tools runs
on the same `--tune-rows` sample of those rows (ntc's own tuning sample), and
each tool refits its choice on the training rows.

For each variant: the untuned models (v1's defaults, C 10 and gamma scale without
transform, and today's defaults), ntc's tuned model and
scikit-learn's tuned model, all scored on the same separate test file
(macro-F1 and accuracy), and two wall times of each tool: the search alone
(ntc: the `tune_seconds` its JSON reports, from the tuning sample's draw to
the choice; scikit-learn: GridSearchCV's coarse and fine passes) and the
whole job (ntc: the `ntc train --tune` process, reading and the refit
included; scikit-learn: the search plus the refit).

usage: tune.py NTC DATA_DIR [--tune-rows 2000] [--max-rows 20000] [--grid ...] [--variants clean,dirty] [--seeds 42,43,44]

With several seeds, each seed draws its own tuning sample and folds (for both
tools), and the summary gives each model's mean and median test score: one
2,000-row sample is too noisy to rank cells whose CV scores differ by 0.01.
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
# GridSearchCV with scikit-learn's SVC (libsvm) and with scikit-learn-intelex's (oneDAL).
PEERS = [("sklearn GridSearchCV", []), ("intelex GridSearchCV", ["--intelex"])]


def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run([str(c) for c in cmd], check=True, **kw)
    return time.perf_counter() - t0


def evaluate(ntc, model, test):
    out = subprocess.run([str(ntc), "evaluate", "-q", "--json", "-m", str(model), str(test)],
                         check=True, capture_output=True, text=True).stdout
    m = json.loads(out)
    return m["macro_f1"], m["accuracy"]


def refit(ntc, train, rows, seed, cell, out):
    """Trains the cell's settings on the training rows, without tuning."""
    subprocess.run([str(ntc), "train", "-q", "--no-proba", "--max-rows", rows, "--seed", str(seed),
                    "--c", repr(cell["c"]), "--gamma", repr(cell["gamma"]), "--transform", cell["transform"],
                    "--class-weight", cell["class_weight"], "-m", str(out), str(train)], check=True)


def describe(c, score_key="mean"):
    on = f" on {c['rows']} rows" if "rows" in c else ""
    return f"C=2^{c['log2_c']:g} gamma=2^{c['log2_gamma']:g} {c['transform']} {c['class_weight']} (cv {c[score_key]:.4f}{on})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ntc")
    ap.add_argument("data")
    ap.add_argument("--tune-rows", type=int, default=2000)
    ap.add_argument("--max-rows", type=int, default=20000, help="training rows of every model")
    ap.add_argument("--grid", default="c=-5:15:2,gamma=3:-15:-2")
    ap.add_argument("--variants", default="clean,dirty")
    ap.add_argument("--seeds", default="42", help="one tuning per seed: its sample and its folds")
    a = ap.parse_args()
    ntc, d = Path(a.ntc).resolve(), Path(a.data)
    d.mkdir(parents=True, exist_ok=True)
    rows, max_rows = str(a.tune_rows), str(max(a.max_rows, a.tune_rows))
    seeds = [int(s) for s in a.seeds.split(",")]
    print(f"training rows {max_rows} (every model), tuning rows {rows} (both tools, the same sample), "
          f"grid {a.grid}, transforms none+log, class weights none+sqrt, 5 folds, macro-F1, seeds {a.seeds}")
    print(f"train: synth --rows 100000 --seed 1; test: synth --rows 20000 --seed 2 (--dirty for the dirty variant)")
    print("ntc --tune: the one-standard-error cell (the default), chosen after the larger passes (--rungs 2, the default);")
    print("--rungs 0: the grid alone; ntc top cell: the top CV mean of the last pass (--select best)\n")
    print(f"{'variant':<7} {'seed':>4} {'model':<22} {'test macro-F1':>13} {'test acc':>9} {'search s':>9} {'total s':>8}  chosen")
    for v in a.variants.split(","):
        dirty = ["--dirty"] if v == "dirty" else []
        train, test = d / f"tune_train_{v}.csv", d / f"tune_test_{v}.csv"
        subprocess.run([ntc, "synth", "-q", "--rows", "100000", "--seed", "1", *dirty, "-o", train], check=True)
        subprocess.run([ntc, "synth", "-q", "--rows", "20000", "--seed", "2", *dirty, "-o", test], check=True)
        scores, speedups = {}, {}

        def row(seed, name, f1, acc, search="", total="", chosen=""):
            scores.setdefault(name, []).append(f1)
            search, total = (f"{t:.1f}" if t != "" else "" for t in (search, total))
            print(f"{v:<7} {seed:>4} {name:<22} {f1:>13.4f} {acc:>9.4f} {search:>9} {total:>8}  {chosen}", flush=True)

        for seed in seeds:
            for name, flags in [("ntc v1 default", ["--c", "10", "--gamma", "scale", "--transform", "none"]),
                                 ("ntc default (untuned)", [])]:
                default = d / f"tune_default_{v}_{len(flags)}.cbor"
                subprocess.run([ntc, "train", "-q", "--no-proba", "--max-rows", max_rows, "--seed", str(seed), *flags,
                                "-m", default, train], check=True)
                row(seed, name, *evaluate(ntc, default, test))

            sample = d / f"tune_train_sample_{v}_{seed}.csv"
            times, search = {}, {}
            for name, extra in [("ntc --tune", []), ("ntc --tune --rungs 0", ["--rungs", "0"])]:
                tag = "_".join(extra)
                tuned, table = d / f"tune_ntc{tag}_{v}_{seed}.cbor", d / f"tune_ntc{tag}_{v}_{seed}.json"
                with open(table, "w") as out:
                    times[name] = timed([ntc, "train", "-q", "--no-proba", "--tune", "--tune-rows", rows, "--max-rows",
                                         max_rows, "--grid", a.grid, "--seed", str(seed), *extra, "--json",
                                         "--sample-out", sample, "-m", tuned, train], stdout=out)
                out = json.load(open(table))
                search[name] = out["tune_seconds"]
                chosen = next(c for c in out["cells"] if c["chosen"])
                row(seed, name, *evaluate(ntc, tuned, test), search[name], times[name], describe(chosen))
            cells = json.load(open(d / f"tune_ntc_{v}_{seed}.json"))["cells"]
            # ntc's tuning sample: the same seeded stratified draw from the training rows.
            tune_sample = d / f"tune_sample_{v}_{seed}.csv"
            subprocess.run([ntc, "train", "-q", "--no-proba", "--max-rows", rows, "--seed", str(seed),
                            "--sample-out", tune_sample, "-m", d / "tune_sample_model.cbor", sample], check=True)
            top = d / f"tune_ntc_top_{v}_{seed}.cbor"
            refit(ntc, sample, max_rows, seed, cells[0], top)
            row(seed, "ntc top cell", *evaluate(ntc, top, test), chosen=describe(cells[0]))

            for peer, flags in PEERS:
                sk = d / f"tune_{peer.split()[0]}_{v}_{seed}.json"
                subprocess.run([PY, HERE / "sklearn_tune.py", tune_sample, test, sk, "--refit", sample, "--grid", a.grid,
                                "--seed", str(seed), *flags], check=True)
                r = json.load(open(sk))
                row(seed, peer, r["test_macro_f1"], r["test_accuracy"], r["tune_seconds"],
                    r["tune_and_refit_seconds"], describe(r["best"], "cv_score"))
                ups = speedups.setdefault(peer, {"search": [], "total": []})
                ups["search"].append(r["tune_seconds"] / search["ntc --tune"])
                ups["total"].append(r["tune_and_refit_seconds"] / times["ntc --tune"])
                print(f"{v:<7} {seed:>4} speed-up (wall), ntc --tune against {peer}: search {ups['search'][-1]:.1f}x, "
                      f"total {ups['total'][-1]:.1f}x", flush=True)
            print(flush=True)

        print(f"{v:<7} summary over seeds {a.seeds}: test macro-F1 mean (median)")
        for name, f1s in scores.items():
            print(f"{v:<7}      {name:<22} {statistics.mean(f1s):>13.4f} ({statistics.median(f1s):.4f})")
        for peer, _ in PEERS:
            diffs = [ours - theirs for ours, theirs in zip(scores["ntc --tune"], scores[peer])]
            print(f"{v:<7}      ntc --tune minus {peer}, per seed: {', '.join(f'{d:+.4f}' for d in diffs)}; "
                  f"mean {statistics.mean(diffs):+.4f}, ntc ahead on {sum(d > 0 for d in diffs)} of {len(diffs)}")
            for what, ups in speedups[peer].items():
                print(f"{v:<7}      speed-up against {peer} (wall, {what}) median {statistics.median(ups):.1f}x "
                      f"(each: {', '.join(f'{s:.1f}' for s in ups)})", flush=True)
        print(flush=True)


if __name__ == "__main__":
    main()
