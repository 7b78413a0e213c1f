"""Scores ntc's and scikit-learn's predictions against the truth and each other.

usage: compare.py NTC_PREDICTIONS.csv SKLEARN.json NTC_TRAIN_SECONDS
"""
import csv
import json
import sys

from sklearn.metrics import accuracy_score, f1_score


def main():
    ntc_csv, sk_json, ntc_fit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(ntc_csv) as f:
        ntc = [row["predicted"] for row in csv.DictReader(f)]
    sk = json.load(open(sk_json))
    truth, skp = sk["truth"], sk["predicted"]
    assert len(ntc) == len(truth) == len(skp), "row counts differ"
    agree = sum(a == b for a, b in zip(ntc, skp)) / len(ntc)
    rows = [
        ("ntc", accuracy_score(truth, ntc), f1_score(truth, ntc, average="macro"), ntc_fit),
        ("scikit-learn", accuracy_score(truth, skp), f1_score(truth, skp, average="macro"), sk["fit_seconds"]),
    ]
    print(f"{'':14}{'accuracy':>10}{'macro-F1':>10}{'fit s':>9}")
    for name, acc, mf1, t in rows:
        print(f"{name:14}{acc:10.4f}{mf1:10.4f}{t:9.2f}")
    print(f"accuracy difference (ntc - sklearn): {100 * (rows[0][1] - rows[1][1]):+.2f} points")
    print(f"predictions agreeing: {100 * agree:.2f}%")
    print(f"sklearn support vectors: {sk['n_support']}, features: {sk['features']}")


if __name__ == "__main__":
    main()
