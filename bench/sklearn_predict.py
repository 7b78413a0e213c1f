"""The Python way to label a flow CSV: polars + scikit-learn (or, with
--intelex, scikit-learn-intelex's SVC), prepared as ntc prepares (bench/prep.py).

  sklearn_predict.py fit SAMPLE.csv MODEL.pkl [--intelex]   StandardScaler + SVC(C 10, gamma scale) on ntc's sample
  sklearn_predict.py predict MODEL.pkl IN.csv OUT.csv       read, predict, write every input column + predicted
"""
import pickle
import sys

import polars as pl

from prep import Prep, read
from sklearn_svc import svc_class


def fit(sample, out, intelex):
    df, y = read(sample)
    prep = Prep(df)
    svc = svc_class(intelex)(C=10.0, gamma="scale").fit(prep(df), y)
    pickle.dump((prep, svc), open(out, "wb"))


def predict(model, inp, out):
    prep, svc = pickle.load(open(model, "rb"))
    df = pl.read_csv(inp, infer_schema_length=0)
    pred = svc.predict(prep(df))
    df.with_columns(pl.Series("predicted", pred)).write_csv(out)


if __name__ == "__main__":
    if sys.argv[1] == "fit":
        fit(sys.argv[2], sys.argv[3], "--intelex" in sys.argv)
    else:
        predict(*sys.argv[2:5])
