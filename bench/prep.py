"""ntc's data preparation, for the scikit-learn peers: the same classes, the
same columns, the same imputation, transform and scaling.

Labels map to ntc's five categories; identifier and leak columns are left
out; columns constant in the training rows are dropped; +inf -> column max,
-inf -> min, NaN or empty -> median (finite training values); optional
sign(x)*ln(1+|x|); StandardScaler.
"""
import numpy as np
import polars as pl
from sklearn.preprocessing import StandardScaler

CATEGORIES = {
    "HTTP": "Web", "HTTP_CONNECT": "Web", "HTTP_PROXY": "Web", "GOOGLE": "Web", "GMAIL": "Web",
    "AMAZON": "Web", "MICROSOFT": "Web", "WINDOWS_UPDATE": "Web",
    "YOUTUBE": "Streaming", "NETFLIX": "Streaming", "SPOTIFY": "Streaming",
    "SSL": "Secure", "TLS": "Secure", "DNS": "DNS", "MDNS": "DNS",
}
EXCLUDED = {"Flow.ID", "Source.IP", "Destination.IP", "Timestamp", "Label", "L7Protocol", "ProtocolName"}


def category(label):
    return CATEGORIES.get(label.strip().upper(), "Other")


def read(path, label="ProtocolName"):
    """(raw feature frame, category labels) of a flow CSV."""
    df = pl.read_csv(path, infer_schema_length=0)
    return df, np.array([category(v) for v in df[label].to_list()])


class Prep:
    """Learns the preparation on training rows; applies it to any rows."""

    def __init__(self, df, transform="none", label="ProtocolName"):
        feats = [c for c in df.columns if c not in EXCLUDED and c != label]
        x = self._matrix(df, feats)
        finite = np.where(np.isfinite(x), x, np.nan)
        lo, hi, med = np.nanmin(finite, 0), np.nanmax(finite, 0), np.nanmedian(finite, 0)
        keep = ~(lo == hi)  # one distinct finite value: constant once imputed (as ntc)
        self.feats = [f for f, k in zip(feats, keep) if k]
        self.lo, self.hi, self.med = lo[keep], hi[keep], med[keep]
        self.transform = transform
        self.scaler = StandardScaler().fit(self._impute(x[:, keep]))

    @staticmethod
    def _matrix(df, feats):
        return df.select([pl.col(c).cast(pl.Float64, strict=False) for c in feats]).to_numpy()

    def _impute(self, m):
        m = np.where(np.isposinf(m), self.hi, m)
        m = np.where(np.isneginf(m), self.lo, m)
        m = np.where(np.isnan(m), self.med, m)
        if self.transform == "log":
            m = np.sign(m) * np.log1p(np.abs(m))
        return m

    def __call__(self, df):
        return self.scaler.transform(self._impute(self._matrix(df, self.feats)))
