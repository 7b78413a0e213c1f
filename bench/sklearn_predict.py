"""The Python way to label a flow CSV: polars + scikit-learn.

  sklearn_predict.py fit SAMPLE.csv MODEL.pkl          train StandardScaler + SVC on ntc's sample
  sklearn_predict.py predict MODEL.pkl IN.csv OUT.csv  read, predict, write every input column + predicted
"""
import pickle
import sys

import numpy as np
import polars as pl

from sklearn_svc import EXCLUDED, category


def prepare(df, feats, lo, hi, med):
    x = df.select([pl.col(c).cast(pl.Float64, strict=False) for c in feats]).to_numpy()
    x = np.where(np.isposinf(x), hi, x)
    x = np.where(np.isneginf(x), lo, x)
    return np.where(np.isnan(x), med, x)


def fit(sample, out):
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    df = pl.read_csv(sample, infer_schema_length=0)
    feats = [c for c in df.columns if c not in EXCLUDED]
    x = df.select([pl.col(c).cast(pl.Float64, strict=False) for c in feats]).to_numpy()
    finite = np.where(np.isfinite(x), x, np.nan)
    lo, hi, med = np.nanmin(finite, 0), np.nanmax(finite, 0), np.nanmedian(finite, 0)
    keep = ~((lo == hi) & np.all(np.isfinite(x), 0))
    feats = [f for f, k in zip(feats, keep) if k]
    lo, hi, med = lo[keep], hi[keep], med[keep]
    x = prepare(df, feats, lo, hi, med)
    y = [category(v) for v in df["ProtocolName"].to_list()]
    scaler = StandardScaler().fit(x)
    svc = SVC(C=10.0, gamma="scale").fit(scaler.transform(x), y)
    pickle.dump((feats, lo, hi, med, scaler, svc), open(out, "wb"))


def predict(model, inp, out):
    feats, lo, hi, med, scaler, svc = pickle.load(open(model, "rb"))
    df = pl.read_csv(inp, infer_schema_length=0)
    pred = svc.predict(scaler.transform(prepare(df, feats, lo, hi, med)))
    df.with_columns(pl.Series("predicted", pred)).write_csv(out)


if __name__ == "__main__":
    {"fit": lambda: fit(*sys.argv[2:4]), "predict": lambda: predict(*sys.argv[2:5])}[sys.argv[1]]()
