//! Numeric features: drop constant columns, impute missing and non-finite
//! values, optionally compress heavy tails (log), standard-scale.
//!
//! Every parameter is learnt on the training rows and stored in the model,
//! so `predict` transforms new rows exactly as `train` did.

use linfa::prelude::*;
use linfa_preprocessing::linear_scaling::LinearScaler;
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::FitSummary;
use crate::error::{Error, Result};

/// How one feature's bad values are replaced. Learnt from the finite
/// training values: NaN and empty cells take the median, `+Infinity` the
/// maximum (CICFlowMeter writes it for rates of zero-duration flows, which
/// are "faster than anything seen"), `-Infinity` the minimum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Imputation {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Imputation {
    #[inline]
    pub fn apply(&self, v: f64) -> f64 {
        if v.is_finite() {
            v
        } else if v.is_nan() {
            self.median
        } else if v > 0.0 {
            self.max
        } else {
            self.min
        }
    }
}

/// A fixed per-value transform applied after imputation, before scaling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
pub enum Transform {
    /// Values as they are.
    None,
    /// `sign(x) * ln(1 + |x|)`, the default (tuning chose it on every data
    /// set tried): byte counts, durations and rates span 8+ orders of
    /// magnitude; on a log scale a few huge flows no longer squash every
    /// other flow into one corner of the feature space.
    #[default]
    Log,
}

impl Transform {
    #[inline]
    pub fn apply(self, v: f64) -> f64 {
        match self {
            Transform::None => v,
            Transform::Log => v.signum() * v.abs().ln_1p(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Transform::None => "none",
            Transform::Log => "log",
        }
    }
}

/// The fitted numeric transform, stored in the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumericFeatures {
    /// Feature names in model order.
    pub features: Vec<String>,
    pub imputation: Vec<Imputation>,
    pub transform: Transform,
    /// StandardScaler parameters: `(x - mean) * scale`, `scale = 1/std` (ddof 0).
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

/// Above this magnitude a column's sums of squares could overflow.
const HUGE: f64 = 1e150;

impl NumericFeatures {
    /// Learns the transform from training rows (`x` has one column per
    /// candidate name) and returns it with the transformed matrix.
    pub fn fit(x: ArrayView2<f64>, names: &[String], transform: Transform) -> Result<(Self, Array2<f64>, FitSummary)> {
        Self::fit_columns(x, &(0..x.ncols()).collect::<Vec<_>>(), names, transform)
    }

    /// [`Self::fit`] on columns `which` of `x` (one name each).
    pub fn fit_columns(x: ArrayView2<f64>, which: &[usize], names: &[String], transform: Transform) -> Result<(Self, Array2<f64>, FitSummary)> {
        assert_eq!(which.len(), names.len());
        if x.nrows() == 0 {
            return Err(Error::input("no training rows"));
        }
        // Each column on its own, contiguous, on every core: its finite values'
        // order statistics, then its imputed and transformed values.
        let fitted: Vec<Option<(Imputation, Vec<f64>, u64)>> =
            columns_of(x, which).into_par_iter().map(|c| fit_column(c, transform)).collect();
        let mut keep = Vec::new();
        let mut constant = Vec::new();
        let mut imputation = Vec::new();
        let mut columns = Vec::new();
        let mut imputed_cells = 0u64;
        for (j, f) in fitted.into_iter().enumerate() {
            match f {
                Some((imp, values, imputed)) => {
                    keep.push(j);
                    imputation.push(imp);
                    columns.push(values);
                    imputed_cells += imputed;
                }
                None => constant.push(names[j].clone()),
            }
        }
        if keep.is_empty() {
            // Categorical features may still be there; the caller decides.
            let none = NumericFeatures { features: vec![], imputation: vec![], transform, mean: vec![], scale: vec![] };
            return Ok((none, Array2::zeros((x.nrows(), 0)), FitSummary { constant, imputed_cells: 0 }));
        }
        // A column of values near f64::MAX (1e308) would overflow the sums of
        // its mean and variance: it is fitted divided by its largest magnitude.
        let units: Vec<f64> = columns
            .par_iter_mut()
            .map(|col| {
                let largest = col.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                if largest > HUGE {
                    col.iter_mut().for_each(|v| *v /= largest);
                    largest
                } else {
                    1.0
                }
            })
            .collect();
        let mut m = rows_of(&columns);
        drop(columns);
        let scaler = LinearScaler::standard()
            .fit(&DatasetBase::from(m.view()))
            .map_err(|e| anyhow::anyhow!("scaler: {e}"))?;
        let in_units = NumericFeatures {
            features: keep.iter().map(|&j| names[j].clone()).collect(),
            imputation,
            transform,
            mean: scaler.offsets().to_vec(),
            scale: scaler.scales().to_vec(),
        };
        in_units.scale_in_place(&mut m);
        let pre = NumericFeatures {
            mean: in_units.mean.iter().zip(&units).map(|(mu, u)| mu * u).collect(),
            scale: in_units.scale.iter().zip(&units).map(|(s, u)| s / u).collect(),
            ..in_units
        };
        if let Some(j) = (0..pre.features.len()).find(|&j| !(pre.mean[j].is_finite() && pre.scale[j].is_finite() && pre.scale[j] > 0.0)) {
            return Err(Error::input(format!(
                "column '{}': its values cannot be scaled (mean {}, spread 1/{}); drop it with --drop",
                pre.features[j], pre.mean[j], pre.scale[j]
            )));
        }
        Ok((pre, m, FitSummary { constant, imputed_cells }))
    }

    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// The transformed value of raw value `v` of feature `j`.
    #[inline]
    pub fn apply(&self, j: usize, v: f64) -> f64 {
        let t = self.transform.apply(self.imputation[j].apply(v));
        let centred = t - self.mean[j];
        if centred.is_finite() {
            centred * self.scale[j]
        } else {
            // Values of opposite sign near f64::MAX: their difference overflows, the scaled terms do not.
            t * self.scale[j] - self.mean[j] * self.scale[j]
        }
    }

    /// Transforms raw rows (row-major, one value per feature) in place.
    pub fn transform_rows(&self, rows: &mut [f64]) {
        let d = self.n_features();
        if d == 0 {
            return;
        }
        for row in rows.chunks_exact_mut(d) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.apply(j, *v);
            }
        }
    }

    fn scale_in_place(&self, m: &mut Array2<f64>) {
        for (j, mut col) in m.axis_iter_mut(Axis(1)).enumerate() {
            let (mu, s) = (self.mean[j], self.scale[j]);
            col.mapv_inplace(|v| (v - mu) * s);
        }
    }
}

/// One column's imputation (from its finite values), its imputed and
/// transformed values, and how many were imputed; None when the column is
/// constant. One distinct finite value makes the column constant after
/// imputation too (median, min and max are that value), whatever its missing
/// or infinite cells. Found by the property tests: kept, it was scaled by
/// 1/(rounding error).
fn fit_column(mut values: Vec<f64>, transform: Transform) -> Option<(Imputation, Vec<f64>, u64)> {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    // In total order, as a sort would find them (-0 before 0).
    let min = finite.iter().copied().min_by(f64::total_cmp)?;
    let max = finite.iter().copied().max_by(f64::total_cmp)?;
    if min == max {
        return None;
    }
    let imp = Imputation { median: median_of(&mut finite), min, max };
    let mut imputed = 0;
    for v in &mut values {
        imputed += u64::from(!v.is_finite());
        *v = transform.apply(imp.apply(*v));
    }
    Some((imp, values, imputed))
}

/// [`median_sorted`] of `v` in any order (reordered in place): the same
/// order statistics, found without sorting.
pub fn median_of(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (below, &mut upper, _) = v.select_nth_unstable_by(n / 2, |a, b| a.total_cmp(b));
    if n % 2 == 1 {
        upper
    } else {
        let lower = below.iter().copied().max_by(f64::total_cmp).expect("n >= 2");
        // Halved first, as median_sorted.
        lower / 2.0 + upper / 2.0
    }
}

/// Columns `which` of `x`, each contiguous.
fn columns_of(x: ArrayView2<f64>, which: &[usize]) -> Vec<Vec<f64>> {
    // Rows in blocks: a column at a time would read every cache line of `x` once per column.
    const BLOCK: usize = 256;
    let n = x.nrows();
    let mut out: Vec<Vec<f64>> = which.iter().map(|_| Vec::with_capacity(n)).collect();
    for start in (0..n).step_by(BLOCK) {
        let block = x.slice(ndarray::s![start..(start + BLOCK).min(n), ..]);
        for (col, &j) in out.iter_mut().zip(which) {
            col.extend(block.column(j).iter().copied());
        }
    }
    out
}

/// Row-major rows of equally long columns.
fn rows_of(columns: &[Vec<f64>]) -> Array2<f64> {
    // Rows in blocks, so that each column is read a run at a time and each row written whole.
    const BLOCK: usize = 256;
    let (d, n) = (columns.len(), columns.first().map_or(0, Vec::len));
    let mut out = Vec::with_capacity(n * d);
    for start in (0..n).step_by(BLOCK) {
        for i in start..(start + BLOCK).min(n) {
            out.extend(columns.iter().map(|c| c[i]));
        }
    }
    Array2::from_shape_vec((n, d), out).expect("n x d values")
}

/// Median of an ascending slice (mean of the middle two for even lengths).
pub fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        // Halved first: two values near f64::MAX must not overflow (halving is exact, the result the same).
        v[n / 2 - 1] / 2.0 + v[n / 2] / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn median_without_sorting_is_the_sorted_median() {
        // Odd and even lengths, ties, signed zeros and huge values, in scrambled orders.
        let pool = [3.5, -0.0, 0.0, 1e308, -1e308, 2.0, 2.0, -7.25, 1e-300, 42.0, 0.0, -0.0];
        for n in 1..=pool.len() {
            for shift in 0..n {
                let mut v: Vec<f64> = (0..n).map(|i| pool[(i * 5 + shift) % pool.len()]).collect();
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                assert_eq!(median_of(&mut v).to_bits(), median_sorted(&sorted).to_bits(), "n {n} shift {shift}");
            }
        }
        assert!(median_of(&mut []).is_nan());
    }

    #[test]
    fn columns_out_and_rows_back_in_blocks() {
        // 600 rows: more than two blocks of 256, the last one short.
        let x = Array2::from_shape_fn((600, 5), |(i, j)| (i * 10 + j) as f64);
        let cols = columns_of(x.view(), &[4, 1, 2]);
        assert_eq!(cols.len(), 3);
        assert!(cols[0].iter().enumerate().all(|(i, &v)| v == (i * 10 + 4) as f64));
        assert!(cols[1].iter().enumerate().all(|(i, &v)| v == (i * 10 + 1) as f64));
        let back = rows_of(&cols);
        assert_eq!(back, x.select(Axis(1), &[4, 1, 2]));
    }

    #[test]
    fn constant_columns_are_dropped_and_bad_values_imputed() {
        let x = array![
            [1.0, 5.0, 0.0, f64::NAN],
            [2.0, f64::INFINITY, 0.0, 9.0],
            [3.0, f64::NAN, 0.0, f64::INFINITY],
            [4.0, 7.0, 0.0, 9.0]
        ];
        // `one` has a single finite value: constant once imputed.
        let names: Vec<String> = ["a", "b", "zero", "one"].iter().map(|s| s.to_string()).collect();
        let (pre, m, summary) = NumericFeatures::fit(x.view(), &names, Transform::None).unwrap();
        assert_eq!(pre.features, vec!["a", "b"]);
        assert_eq!(summary.constant, vec!["zero", "one"]);
        assert_eq!(summary.imputed_cells, 2);
        // b: Infinity -> max 7, NaN -> median 6
        let b_raw = [5.0, 7.0, 6.0, 7.0];
        let mean = b_raw.iter().sum::<f64>() / 4.0;
        assert!((pre.mean[1] - mean).abs() < 1e-12);
        // scaled columns have mean 0 and (population) variance 1
        for col in m.axis_iter(Axis(1)) {
            let mu = col.mean().unwrap();
            let var = col.mapv(|v| (v - mu) * (v - mu)).mean().unwrap();
            assert!(mu.abs() < 1e-12 && (var - 1.0).abs() < 1e-9);
        }
        // transform_rows matches the fitted matrix
        let mut row = vec![2.0, f64::INFINITY];
        pre.transform_rows(&mut row);
        assert!((row[0] - m[[1, 0]]).abs() < 1e-12 && (row[1] - m[[1, 1]]).abs() < 1e-12);
    }

    #[test]
    fn values_near_the_largest_float_scale_without_overflow() {
        let x = array![[1e308], [-1e308], [1.7e308], [0.0], [-1.7e308]];
        let names = vec!["huge".to_string()];
        let (pre, m, _) = NumericFeatures::fit(x.view(), &names, Transform::None).unwrap();
        assert!(pre.mean[0].is_finite() && pre.scale[0].is_finite() && pre.scale[0] > 0.0, "{:?} {:?}", pre.mean, pre.scale);
        let col: Vec<f64> = m.column(0).to_vec();
        assert!(col.iter().all(|v| v.is_finite()), "{col:?}");
        let mu = col.iter().sum::<f64>() / 5.0;
        let var = col.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / 5.0;
        assert!(mu.abs() < 1e-9 && (var - 1.0).abs() < 1e-9, "{mu} {var}");
        // Predict-time values agree with the fitted matrix, and distinct values stay distinct.
        for (i, raw) in [1e308, -1e308, 1.7e308, 0.0, -1.7e308].into_iter().enumerate() {
            assert!((pre.apply(0, raw) - col[i]).abs() < 1e-9, "{raw}");
        }
        assert!(pre.apply(0, f64::MAX).is_finite() && pre.apply(0, -f64::MAX).is_finite());
    }

    #[test]
    fn log_transform_is_applied_after_imputation_and_before_scaling() {
        let x = array![[0.0], [9.0], [f64::INFINITY], [-99.0]];
        let names = vec!["a".to_string()];
        let (pre, m, _) = NumericFeatures::fit(x.view(), &names, Transform::Log).unwrap();
        // +inf takes the max (9) before the log: ln(10).
        let logged = [0.0, 10f64.ln(), 10f64.ln(), -(100f64.ln())];
        let mean = logged.iter().sum::<f64>() / 4.0;
        assert!((pre.mean[0] - mean).abs() < 1e-12);
        let mut row = vec![f64::INFINITY];
        pre.transform_rows(&mut row);
        assert!((row[0] - m[[2, 0]]).abs() < 1e-12);
        assert_eq!(Transform::Log.apply(-0.0), 0.0);
    }
}
