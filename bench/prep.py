"""ntc's data preparation, for the scikit-learn peers: the same classes, the
same columns, the same imputation, transform and scaling.

Labels map to ntc's five categories; identifier and leak columns are left
out; columns constant in the training rows are dropped; +inf -> column max,
-inf -> min, NaN or empty -> median (finite training values); optional
sign(x)*ln(1+|x|); StandardScaler. Categorical features as ntc's defaults
(src/features/categorical.rs): `Protocol` and the server port (the smaller
of Source.Port and Destination.Port) one-hot over the values with at least 2
training rows (the 64 most frequent), plus "other", each set column worth
sqrt(numeric features / 2); the two ports are then no numeric features.
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
PORTS = ("Source.Port", "Destination.Port")
MIN_ROWS, MAX_VALUES = 2, 64


def value(v):
    """A number as ntc names it as a category: 6, 443, 0.5."""
    if np.isnan(v):
        return ""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


class OneHot:
    """One categorical feature: vocabulary learnt on training values, then one-hot plus "other"."""

    def __init__(self, values):
        counts = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        frequent = sorted(((n, v) for v, n in counts.items() if n >= MIN_ROWS), key=lambda p: (-p[0], p[1]))
        self.vocab = {v: i for i, (_, v) in enumerate(frequent[:MAX_VALUES])}
        used = {self.vocab.get(v, len(self.vocab)) for v in values}
        self.constant = len(used) < 2

    def __call__(self, values, weight):
        out = np.zeros((len(values), len(self.vocab) + 1))
        for r, v in enumerate(values):
            out[r, self.vocab.get(v, len(self.vocab))] = weight
        return out


def category(label):
    return CATEGORIES.get(label.strip().upper(), "Other")


def read(path, label="ProtocolName"):
    """(raw feature frame, category labels) of a flow CSV."""
    df = pl.read_csv(path, infer_schema_length=0)
    return df, np.array([category(v) for v in df[label].to_list()])


class Prep:
    """Learns the preparation on training rows; applies it to any rows."""

    def __init__(self, df, transform="none", label="ProtocolName", categorical=True):
        feats = [c for c in df.columns if c not in EXCLUDED and c != label]
        self.cats = []
        if categorical:
            if "Protocol" in feats:
                self.cats.append(("Protocol",))
            if all(p in feats for p in PORTS):
                self.cats.append(PORTS)
            feats = [f for f in feats if not any(f in c for c in self.cats)]
        x = self._matrix(df, feats)
        finite = np.where(np.isfinite(x), x, np.nan)
        lo, hi, med = np.nanmin(finite, 0), np.nanmax(finite, 0), np.nanmedian(finite, 0)
        keep = ~(lo == hi)  # one distinct finite value: constant once imputed (as ntc)
        self.feats = [f for f, k in zip(feats, keep) if k]
        self.lo, self.hi, self.med = lo[keep], hi[keep], med[keep]
        self.transform = transform
        self.scaler = StandardScaler().fit(self._impute(x[:, keep]))
        self.weight = np.sqrt(max(len(self.feats), 2) / 2)
        self.onehot = [(c, OneHot(self._values(df, c))) for c in self.cats]
        self.onehot = [(c, h) for c, h in self.onehot if not h.constant]

    @classmethod
    def _values(cls, df, cols):
        m = cls._matrix(df, list(cols))
        v = m[:, 0] if len(cols) == 1 else np.fmin(m[:, 0], m[:, 1])
        return [value(x) for x in v]

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
        num = self.scaler.transform(self._impute(self._matrix(df, self.feats)))
        return np.hstack([num] + [h(self._values(df, c), self.weight) for c, h in self.onehot])
