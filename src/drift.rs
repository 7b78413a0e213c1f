//! Data drift: how far the traffic in a CSV has moved from the traffic a
//! model was trained on.
//!
//! Training stores a profile of every model feature (decile bins of the
//! training file's distribution, its range, its share of missing values) and
//! the class mix of the training file. `ntc report -m` bins a new file the
//! same way and computes each feature's population stability index (PSI),
//! the share of values outside the training range, and the PSI of the
//! predicted class mix against the training mix.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Quantile bins per feature (deciles).
pub const BINS: usize = 10;
/// A PSI above this flags a shift (the usual rule of thumb: below 0.1
/// stable, 0.1 to 0.2 moderate, above 0.2 shifted).
pub const PSI_ALERT: f64 = 0.2;

/// Rows below which drift is not judged. A PSI over about 10 bins from `n`
/// rows of the training distribution itself is near chi-square(10) / n: at
/// 100 rows one of ~70 features passes 0.2 by chance in most samples (5 of 8
/// fresh synthetic samples of 100 rows were flagged; none of 200, 300, 500,
/// 1000; the largest PSI at 300 rows was 0.05).
pub const MIN_DRIFT_ROWS: u64 = 300;
/// Bin shares are floored at this, so that an empty bin gives a large but
/// finite PSI.
const SHARE_FLOOR: f64 = 1e-4;

/// One feature's training distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfile {
    pub name: String,
    /// Inner bin edges, ascending and distinct: bin `b` holds the values in
    /// `(edges[b-1], edges[b]]`, the first bin everything up to `edges[0]`,
    /// the last everything above the last edge.
    pub edges: Vec<f64>,
    /// Training share of each of the `edges.len() + 1` bins, then the share
    /// of missing or non-finite values.
    pub shares: Vec<f64>,
    /// Range of the finite training values (NaN when there were none).
    pub min: f64,
    pub max: f64,
}

impl FeatureProfile {
    /// The bin of a value; missing and non-finite values have the last bin.
    pub fn bin(&self, v: f64) -> usize {
        if v.is_finite() {
            self.edges.partition_point(|&e| e < v)
        } else {
            self.edges.len() + 1
        }
    }

    pub fn n_bins(&self) -> usize {
        self.edges.len() + 2
    }

    pub fn outside(&self, v: f64) -> bool {
        v.is_finite() && (v < self.min || v > self.max)
    }
}

/// The training distribution a model compares new traffic with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingProfile {
    pub features: Vec<FeatureProfile>,
    /// Share of each model class in the training file (not in the sample:
    /// the sample over-represents rare classes on purpose).
    pub class_mix: Vec<f64>,
}

impl TrainingProfile {
    /// Profiles the columns of the row-major `x` (`n` rows, `names.len()`
    /// columns, raw values, NaN where missing). Row `i` has class `y[i]`; its
    /// weight is its class's share of the file over its share of the
    /// sample, so that the profile describes the file's traffic.
    pub fn from_rows(x: &[f64], names: &[String], y: &[usize], rows_in_file: &[u64]) -> TrainingProfile {
        let d = names.len();
        let n = y.len();
        let k = rows_in_file.len();
        let mut used = vec![0u64; k];
        for &c in y {
            used[c] += 1;
        }
        let total: u64 = rows_in_file.iter().sum();
        let class_mix: Vec<f64> = rows_in_file.iter().map(|&r| r as f64 / total.max(1) as f64).collect();
        let weight: Vec<f64> =
            (0..k).map(|c| if used[c] == 0 { 0.0 } else { class_mix[c] * n as f64 / used[c] as f64 }).collect();
        // Each feature on its own, on every core.
        let features = (0..d)
            .into_par_iter()
            .map(|j| {
                let mut finite: Vec<(f64, f64)> =
                    (0..n).map(|i| (x[i * d + j], weight[y[i]])).filter(|(v, _)| v.is_finite()).collect();
                finite.sort_by(|a, b| a.0.total_cmp(&b.0));
                let w_all: f64 = y.iter().map(|&c| weight[c]).sum();
                let w_finite: f64 = finite.iter().map(|p| p.1).sum();
                let edges = weighted_deciles(&finite, w_finite);
                let mut shares = vec![0.0; edges.len() + 2];
                let p = FeatureProfile { name: names[j].clone(), edges, shares: vec![], min: f64::NAN, max: f64::NAN };
                for &(v, w) in &finite {
                    shares[p.bin(v)] += w;
                }
                shares[p.edges.len() + 1] = (w_all - w_finite).max(0.0);
                for s in &mut shares {
                    *s /= w_all.max(f64::MIN_POSITIVE);
                }
                FeatureProfile {
                    shares,
                    min: finite.first().map_or(f64::NAN, |p| p.0),
                    max: finite.last().map_or(f64::NAN, |p| p.0),
                    ..p
                }
            })
            .collect();
        TrainingProfile { features, class_mix }
    }
}

/// The distinct values at the weighted 10%, 20%, ... 90% points.
fn weighted_deciles(sorted: &[(f64, f64)], total: f64) -> Vec<f64> {
    let mut edges: Vec<f64> = Vec::with_capacity(BINS - 1);
    let mut acc = 0.0;
    let mut q = 1;
    for &(v, w) in sorted {
        acc += w;
        while q < BINS && acc >= total * q as f64 / BINS as f64 {
            if edges.last() != Some(&v) {
                edges.push(v);
            }
            q += 1;
        }
    }
    // The top edge equal to the maximum would leave the last bin empty by construction.
    if edges.last().is_some() && edges.last() == sorted.last().map(|p| &p.0) {
        edges.pop();
    }
    edges
}

/// Population stability index between two share vectors of the same bins:
/// `sum (a - e) ln(a / e)`, with shares floored at [`SHARE_FLOOR`].
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(SHARE_FLOOR), a.max(SHARE_FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Counts a new file's values into the training bins, one feature at a time.
#[derive(Clone, Debug)]
pub struct DriftCounter {
    counts: Vec<Vec<u64>>,
    outside: Vec<u64>,
    rows: u64,
}

impl DriftCounter {
    pub fn new(profile: &TrainingProfile) -> Self {
        DriftCounter {
            counts: profile.features.iter().map(|f| vec![0; f.n_bins()]).collect(),
            outside: vec![0; profile.features.len()],
            rows: 0,
        }
    }

    /// Adds the counts of another counter (of the same profile).
    pub fn merge(&mut self, other: &DriftCounter) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.outside.iter_mut().zip(&other.outside) {
            *a += b;
        }
        self.rows += other.rows;
    }

    /// Adds one row: `values[j]` is feature `j` (NaN when missing).
    pub fn add(&mut self, profile: &TrainingProfile, values: impl Iterator<Item = f64>) {
        for ((f, v), (counts, outside)) in profile.features.iter().zip(values).zip(self.counts.iter_mut().zip(&mut self.outside)) {
            counts[f.bin(v)] += 1;
            *outside += f.outside(v) as u64;
        }
        self.rows += 1;
    }

    pub fn finish(&self, profile: &TrainingProfile) -> Vec<FeatureDrift> {
        let n = self.rows.max(1) as f64;
        profile
            .features
            .iter()
            .zip(&self.counts)
            .zip(&self.outside)
            .map(|((f, counts), &outside)| {
                let shares: Vec<f64> = counts.iter().map(|&c| c as f64 / n).collect();
                let psi = psi(&f.shares, &shares);
                FeatureDrift {
                    feature: f.name.clone(),
                    psi,
                    outside_range: outside as f64 / n,
                    missing_training: *f.shares.last().unwrap(),
                    missing_now: *shares.last().unwrap(),
                    shifted: psi > PSI_ALERT,
                }
            })
            .collect()
    }
}

/// One feature's drift.
#[derive(Clone, Debug, Serialize)]
pub struct FeatureDrift {
    pub feature: String,
    pub psi: f64,
    /// Share of the file's values below the training minimum or above the maximum.
    pub outside_range: f64,
    pub missing_training: f64,
    pub missing_now: f64,
    /// PSI above [`PSI_ALERT`].
    pub shifted: bool,
}

/// The predicted class mix against the training mix.
#[derive(Clone, Debug, Serialize)]
pub struct ClassMixDrift {
    pub classes: Vec<String>,
    pub training: Vec<f64>,
    pub predicted: Vec<f64>,
    pub psi: f64,
    pub shifted: bool,
    /// Rows the predicted mix was computed from.
    pub rows: u64,
}

impl ClassMixDrift {
    pub fn new(classes: &[String], training: &[f64], predicted_counts: &[u64]) -> Self {
        let rows: u64 = predicted_counts.iter().sum();
        let predicted: Vec<f64> = predicted_counts.iter().map(|&c| c as f64 / rows.max(1) as f64).collect();
        let psi = psi(training, &predicted);
        ClassMixDrift { classes: classes.to_vec(), training: training.to_vec(), predicted, psi, shifted: psi > PSI_ALERT, rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile_of(values: &[f64]) -> TrainingProfile {
        let y = vec![0; values.len()];
        TrainingProfile::from_rows(values, &["f".to_string()], &y, &[values.len() as u64])
    }

    #[test]
    fn deciles_split_uniform_values_evenly() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let p = profile_of(&v);
        let f = &p.features[0];
        assert_eq!(f.edges.len(), 9);
        for s in &f.shares[..10] {
            assert!((s - 0.1).abs() < 0.002, "{:?}", f.shares);
        }
        assert_eq!(f.shares[10], 0.0);
        assert_eq!((f.min, f.max), (0.0, 999.0));
    }

    #[test]
    fn same_distribution_is_stable_and_a_scaled_one_is_not() {
        let v: Vec<f64> = (0..5000).map(|i| ((i * 7919) % 5000) as f64).collect();
        let p = profile_of(&v);
        let same = {
            let mut c = DriftCounter::new(&p);
            for i in 0..3000 {
                c.add(&p, std::iter::once(((i * 104729) % 5000) as f64));
            }
            c.finish(&p)
        };
        assert!(same[0].psi < 0.01 && !same[0].shifted, "{:?}", same[0]);
        let scaled = {
            let mut c = DriftCounter::new(&p);
            for i in 0..3000 {
                c.add(&p, std::iter::once(10.0 * ((i * 104729) % 5000) as f64));
            }
            c.finish(&p)
        };
        assert!(scaled[0].shifted && scaled[0].outside_range > 0.8, "{:?}", scaled[0]);
    }

    #[test]
    fn missing_values_have_their_own_bin() {
        let mut v: Vec<f64> = (0..100).map(|i| i as f64).collect();
        v[0] = f64::NAN;
        v[1] = f64::INFINITY;
        let p = profile_of(&v);
        let f = &p.features[0];
        assert!((f.shares.last().unwrap() - 0.02).abs() < 1e-12);
        assert_eq!(f.bin(f64::NAN), f.n_bins() - 1);
    }

    #[test]
    fn weights_restore_the_file_mix() {
        // Class 0 (values 0) is 90% of the file but half of the sample.
        let x = [0.0, 0.0, 1.0, 1.0];
        let p = TrainingProfile::from_rows(&x, &["f".to_string()], &[0, 0, 1, 1], &[90, 10]);
        let f = &p.features[0];
        assert!((f.shares[f.bin(0.0)] - 0.9).abs() < 1e-12, "{:?}", f);
        assert_eq!(p.class_mix, vec![0.9, 0.1]);
    }

    #[test]
    fn psi_of_identical_shares_is_zero() {
        assert_eq!(psi(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
        assert!(psi(&[0.9, 0.1], &[0.1, 0.9]) > 1.0);
    }
}
