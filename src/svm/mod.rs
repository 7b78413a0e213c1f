//! The RBF-kernel support vector classifier: everything behind this module
//! boundary can change (a faster solver, another kernel) without touching
//! the commands.
//!
//! - [`kernel`]: RBF kernel rows with a memory-bounded cache;
//! - [`smo`]: the binary C-SVC dual solver (SMO, second-order working-set selection), for tuning's small problems;
//! - [`kernel_rows`]: whole kernel rows, computed many at a time as a matrix product;
//! - [`tied`]: features equal in every training row, dotted once;
//! - [`working_set`]: the solver of the fits: large working sets (ThunderSVM's scheme) over those rows;
//! - [`multiclass`]: one-vs-one decomposition, pairs trained in parallel;
//! - [`decision`]: batched prediction against the shared support vectors;
//! - [`probability`]: Platt scaling on cross-validated decision values and pairwise coupling.

pub mod decision;
pub mod kernel;
pub mod kernel_rows;
pub mod multiclass;
pub mod probability;
pub mod smo;
pub mod tied;
pub mod working_set;

pub use decision::{Prediction, Predictor};
pub use multiclass::SvmModel;

use serde::{Deserialize, Serialize};

/// How `gamma` is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Gamma {
    /// scikit-learn's `gamma='scale'`: `1 / (n_features * Var(X))`, over all cells of the training matrix.
    Scale,
    Value(f64),
}

impl std::str::FromStr for Gamma {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "scale" {
            return Ok(Gamma::Scale);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(Gamma::Value(v)),
            _ => Err(format!("'{s}' is not 'scale' or a positive number")),
        }
    }
}

/// Class weighting of C (libsvm's `-w`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum ClassWeight {
    /// Every class gets C.
    None,
    /// Class c gets `C * n / (k * n_c)`, as scikit-learn's `class_weight='balanced'`.
    Balanced,
    /// Half-way: class c gets `C * sqrt(n / (k * n_c))`. Rare classes weigh
    /// more, but the common ones are not given up for them: on the real
    /// flows, grouped by capture, it scored the macro-F1 of `balanced` at a
    /// higher accuracy (bench/RESULTS.md, "Categorical features on real flows").
    Sqrt,
}

impl ClassWeight {
    /// The factor of C for a class of `class_rows` of `rows` training rows in `classes` classes.
    pub fn factor(self, rows: usize, classes: usize, class_rows: usize) -> f64 {
        let balanced = || if class_rows == 0 { 1.0 } else { rows as f64 / (classes as f64 * class_rows as f64) };
        match self {
            ClassWeight::None => 1.0,
            ClassWeight::Balanced => balanced(),
            ClassWeight::Sqrt => balanced().sqrt(),
        }
    }
}

/// Training parameters of the classifier.
#[derive(Clone, Debug)]
pub struct SvcParams {
    pub c: f64,
    pub gamma: Gamma,
    pub class_weight: ClassWeight,
    /// Stopping tolerance on the KKT violation (libsvm's `-e`).
    pub eps: f64,
    /// Kernel cache budget, MiB, shared by the pairs trained at once.
    pub cache_mb: usize,
    /// Fit Platt scaling (5-fold internal cross-validation per pair).
    pub probability: bool,
    /// Seeds the internal cross-validation.
    pub seed: u64,
}

/// Default C and gamma: the region `train --tune` chose on every synthetic
/// data set tried, clean and dirty (log transform; bench/RESULTS.md).
pub const DEFAULT_C: f64 = 512.0;
pub const DEFAULT_GAMMA: f64 = 0.001953125; // 2^-9

impl Default for SvcParams {
    fn default() -> Self {
        SvcParams {
            c: DEFAULT_C,
            gamma: Gamma::Value(DEFAULT_GAMMA),
            class_weight: ClassWeight::None,
            eps: 1e-3,
            cache_mb: 1024,
            probability: true,
            seed: 42,
        }
    }
}

/// Resolves `gamma` for a (scaled) training matrix.
pub fn resolve_gamma(gamma: Gamma, x: &[f64], n_features: usize) -> f64 {
    match gamma {
        Gamma::Value(g) => g,
        Gamma::Scale => {
            let n = x.len() as f64;
            let mean = x.iter().sum::<f64>() / n;
            let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if var > 0.0 {
                1.0 / (n_features as f64 * var)
            } else {
                1.0
            }
        }
    }
}
