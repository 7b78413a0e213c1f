//! One-vs-one multi-class SVM, as libsvm: one binary problem per pair of
//! classes (smaller than one-vs-all's), trained in parallel. The pairs share
//! one set of support vectors (see [`super::decision`] for prediction).

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::kernel::dot;
use super::decision::{Prediction, Predictor};
use super::probability::sigmoid_train;
use super::smo::solve;
use super::{resolve_gamma, SvcParams};
use crate::error::{Error, Result};

/// One binary machine: class `a` (+1) against class `b` (-1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairModel {
    pub a: u32,
    pub b: u32,
    /// Indices into [`SvmModel::support_vectors`].
    pub sv: Vec<u32>,
    /// `y_i * alpha_i` of each support vector.
    pub coef: Vec<f64>,
    pub rho: f64,
    /// Platt sigmoid `(A, B)`; absent when the model was trained without probabilities.
    pub platt: Option<(f64, f64)>,
    /// Dual objective and SMO iterations: diagnostics for the model card.
    pub objective: f64,
    pub iterations: u64,
}

/// A trained multi-class RBF SVM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SvmModel {
    pub n_classes: usize,
    pub n_features: usize,
    pub gamma: f64,
    pub c: f64,
    /// C of each class after class weighting.
    pub class_c: Vec<f64>,
    /// Row-major `n_sv x n_features`, in scaled feature space, grouped by
    /// class: class `c` owns rows `sv_class_start[c]..sv_class_start[c + 1]`.
    pub support_vectors: Vec<f64>,
    pub sv_class_start: Vec<u32>,
    pub pairs: Vec<PairModel>,
}

const PLATT_FOLDS: usize = 5;

/// Where one pair's fitting time went (for `train -v`; never stored in the model).
#[derive(Clone, Debug, PartialEq)]
pub struct PairTime {
    pub a: usize,
    pub b: usize,
    pub rows: usize,
    pub solve_seconds: f64,
    /// The internal cross-validation fits of Platt scaling (0 without probabilities).
    pub calibration_seconds: f64,
    pub iterations: u64,
}

impl SvmModel {
    /// Trains on `x` (row-major `n x d`, already scaled) with class indices `y` in `0..k`.
    pub fn fit(x: &[f64], d: usize, y: &[usize], k: usize, params: &SvcParams) -> Result<SvmModel> {
        Self::fit_timed(x, d, y, k, params).map(|(m, _)| m)
    }

    /// [`SvmModel::fit`], with each pair's fitting times.
    pub fn fit_timed(x: &[f64], d: usize, y: &[usize], k: usize, params: &SvcParams) -> Result<(SvmModel, Vec<PairTime>)> {
        let n = y.len();
        if n == 0 || x.len() != n * d {
            return Err(Error::input("no training rows"));
        }
        if !(params.c.is_finite() && params.c > 0.0) {
            return Err(Error::input(format!("C must be a positive number, got {}", params.c)));
        }
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &c) in y.iter().enumerate() {
            by_class[c].push(i);
        }
        if let Some(empty) = by_class.iter().position(|v| v.is_empty()) {
            return Err(anyhow::anyhow!("class {empty} has no training rows").into());
        }
        let gamma = resolve_gamma(params.gamma, x, d);
        let class_c: Vec<f64> = by_class
            .iter()
            .map(|rows| params.c * params.class_weight.factor(n, k, rows.len()))
            .collect();
        let pair_list = pairs_of(k);
        let cache_bytes = pair_cache_bytes(params, pair_list.len());

        let (trained, times): (Vec<(Vec<usize>, PairModel)>, Vec<PairTime>) = pair_list
            .par_iter()
            .enumerate()
            .map(|(p, &(a, b))| {
                let PairProblem { idx, sub, ys, cs } = PairProblem::new(x, d, y, &by_class, &class_c, a, b);
                let started = std::time::Instant::now();
                let sol = solve(&sub, d, gamma, &ys, &cs, params.eps, cache_bytes);
                let solve_seconds = started.elapsed().as_secs_f64();
                let started = std::time::Instant::now();
                let platt = params.probability.then(|| platt(&sub, d, &ys, &cs, gamma, params, cache_bytes, p));
                let time = PairTime {
                    a,
                    b,
                    rows: idx.len(),
                    solve_seconds,
                    calibration_seconds: if params.probability { started.elapsed().as_secs_f64() } else { 0.0 },
                    iterations: sol.iterations as u64,
                };
                let mut global = Vec::new();
                let mut coef = Vec::new();
                for (t, &cf) in sol.coef.iter().enumerate() {
                    if cf != 0.0 {
                        global.push(idx[t]);
                        coef.push(cf);
                    }
                }
                let pm = PairModel {
                    a: a as u32,
                    b: b as u32,
                    sv: Vec::new(),
                    coef,
                    rho: sol.rho,
                    platt,
                    objective: sol.objective,
                    iterations: sol.iterations as u64,
                };
                ((global, pm), time)
            })
            .unzip();

        // The union of support vectors, grouped by class (then training-row
        // order), so that a pair's support vectors lie in two contiguous ranges.
        let mut union: Vec<usize> = trained.iter().flat_map(|(g, _)| g.iter().copied()).collect();
        union.sort_unstable_by_key(|&g| (y[g], g));
        union.dedup();
        let mut position = BTreeMap::new();
        let mut support_vectors = Vec::with_capacity(union.len() * d);
        let mut sv_class_start = vec![0u32; k + 1];
        for (pos, &g) in union.iter().enumerate() {
            position.insert(g, pos as u32);
            support_vectors.extend_from_slice(&x[g * d..(g + 1) * d]);
            sv_class_start[y[g] + 1] += 1;
        }
        for c in 0..k {
            sv_class_start[c + 1] += sv_class_start[c];
        }
        let pairs = trained
            .into_iter()
            .map(|(global, mut pm)| {
                pm.sv = global.iter().map(|g| position[g]).collect();
                pm
            })
            .collect();
        Ok((SvmModel { n_classes: k, n_features: d, gamma, c: params.c, class_c, support_vectors, sv_class_start, pairs }, times))
    }

    pub fn n_support_vectors(&self) -> usize {
        self.support_vectors.len() / self.n_features.max(1)
    }

    /// Adds Platt scaling to a model fitted without it on the same rows and
    /// `params` (a final-pass fit of `--tune`): the same bytes as a fit with
    /// probabilities, for the cost of the calibration alone. Returns each pair's seconds.
    pub fn calibrate(&mut self, x: &[f64], d: usize, y: &[usize], params: &SvcParams) -> Vec<f64> {
        let k = self.n_classes;
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &c) in y.iter().enumerate() {
            by_class[c].push(i);
        }
        let pair_list = pairs_of(k);
        let cache_bytes = pair_cache_bytes(params, pair_list.len());
        let (gamma, class_c) = (self.gamma, &self.class_c);
        let (platts, seconds): (Vec<(f64, f64)>, Vec<f64>) = pair_list
            .par_iter()
            .enumerate()
            .map(|(p, &(a, b))| {
                let started = std::time::Instant::now();
                let pp = PairProblem::new(x, d, y, &by_class, class_c, a, b);
                let ab = platt(&pp.sub, d, &pp.ys, &pp.cs, gamma, params, cache_bytes, p);
                (ab, started.elapsed().as_secs_f64())
            })
            .unzip();
        for (pm, ab) in self.pairs.iter_mut().zip(platts) {
            pm.platt = Some(ab);
        }
        seconds
    }

    pub fn has_probability(&self) -> bool {
        self.pairs.iter().all(|p| p.platt.is_some())
    }

    /// Predicts rows of `x` (row-major, scaled). See [`Predictor`] to predict many batches.
    pub fn predict(&self, x: &[f64], proba: bool) -> Prediction {
        Predictor::new(self).predict(x, proba)
    }
}

/// The pairs of classes `(a, b)`, `a < b`, in libsvm's order.
fn pairs_of(k: usize) -> Vec<(usize, usize)> {
    (0..k).flat_map(|a| (a + 1..k).map(move |b| (a, b))).collect()
}

/// Each pair's share of the kernel cache: the pairs trained at once share it.
fn pair_cache_bytes(params: &SvcParams, pairs: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    params.cache_mb * (1 << 20) / threads.min(pairs.max(1))
}

/// The binary problem of classes `a` (+1) and `b` (-1): its rows (indices into `x`), their values, labels and C.
struct PairProblem {
    idx: Vec<usize>,
    sub: Vec<f64>,
    ys: Vec<i8>,
    cs: Vec<f64>,
}

impl PairProblem {
    fn new(x: &[f64], d: usize, y: &[usize], by_class: &[Vec<usize>], class_c: &[f64], a: usize, b: usize) -> PairProblem {
        let idx: Vec<usize> = by_class[a].iter().chain(&by_class[b]).copied().collect();
        let sub = gather(x, d, &idx);
        let ys: Vec<i8> = idx.iter().map(|&i| if y[i] == a { 1 } else { -1 }).collect();
        let cs: Vec<f64> = ys.iter().map(|&v| if v > 0 { class_c[a] } else { class_c[b] }).collect();
        PairProblem { idx, sub, ys, cs }
    }
}

/// Pair `p`'s Platt sigmoid, from cross-validated decision values (seeded by the pair).
#[allow(clippy::too_many_arguments)]
fn platt(sub: &[f64], d: usize, ys: &[i8], cs: &[f64], gamma: f64, params: &SvcParams, cache_bytes: usize, p: usize) -> (f64, f64) {
    let seed = params.seed ^ (p as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let dec = cv_decisions(sub, d, ys, cs, gamma, params.eps, cache_bytes, seed);
    let pos: Vec<bool> = ys.iter().map(|&v| v > 0).collect();
    sigmoid_train(&dec, &pos)
}

fn gather(x: &[f64], d: usize, idx: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(idx.len() * d);
    for &i in idx {
        out.extend_from_slice(&x[i * d..(i + 1) * d]);
    }
    out
}

/// Decision values of every row from a model that did not see it
/// (k-fold, seeded), for Platt scaling: libsvm's `svm_binary_svc_probability`.
#[allow(clippy::too_many_arguments)]
fn cv_decisions(
    x: &[f64],
    d: usize,
    y: &[i8],
    c: &[f64],
    gamma: f64,
    eps: f64,
    cache_bytes: usize,
    seed: u64,
) -> Vec<f64> {
    let l = y.len();
    let mut perm: Vec<usize> = (0..l).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut dec = vec![0.0; l];
    for fold in 0..PLATT_FOLDS {
        let (begin, end) = (fold * l / PLATT_FOLDS, (fold + 1) * l / PLATT_FOLDS);
        let train: Vec<usize> = perm[..begin].iter().chain(&perm[end..]).copied().collect();
        let held = &perm[begin..end];
        let n_pos = train.iter().filter(|&&i| y[i] > 0).count();
        let n_neg = train.len() - n_pos;
        if n_pos == 0 || n_neg == 0 {
            let v = if n_pos > 0 { 1.0 } else if n_neg > 0 { -1.0 } else { 0.0 };
            held.iter().for_each(|&i| dec[i] = v);
            continue;
        }
        let sub = gather(x, d, &train);
        let ys: Vec<i8> = train.iter().map(|&i| y[i]).collect();
        let cs: Vec<f64> = train.iter().map(|&i| c[i]).collect();
        // These fits only feed a two-parameter sigmoid: a 10x looser tolerance
        // moved probabilities by at most 6e-4 (mean 1e-5) and saved ~17% of training.
        let sol = solve(&sub, d, gamma, &ys, &cs, eps * 10.0, cache_bytes);
        let svs: Vec<(usize, f64)> =
            sol.coef.iter().enumerate().filter(|(_, &cf)| cf != 0.0).map(|(t, &cf)| (t, cf)).collect();
        let norms: Vec<f64> = svs.iter().map(|&(t, _)| dot(&sub[t * d..(t + 1) * d], &sub[t * d..(t + 1) * d])).collect();
        for &i in held {
            let xi = &x[i * d..(i + 1) * d];
            let ni = dot(xi, xi);
            let s: f64 = svs
                .iter()
                .zip(&norms)
                .map(|(&(t, cf), &nt)| {
                    let d2 = (ni + nt - 2.0 * dot(xi, &sub[t * d..(t + 1) * d])).max(0.0);
                    cf * (-gamma * d2).exp()
                })
                .sum();
            dec[i] = s - sol.rho;
        }
    }
    dec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svm::Gamma;

    #[test]
    fn calibrating_a_fit_gives_the_fit_with_probabilities() {
        let (n, d, k) = (300, 3, 3);
        let mut s = 11u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..n {
            let c = i % k;
            for j in 0..d {
                x.push(rnd() + if j == c { 0.6 } else { 0.0 });
            }
            y.push(c);
        }
        let with = SvcParams { c: 4.0, gamma: Gamma::Value(0.5), seed: 3, ..SvcParams::default() };
        let without = SvcParams { probability: false, ..with.clone() };
        let want = SvmModel::fit(&x, d, &y, k, &with).unwrap();
        let mut got = SvmModel::fit(&x, d, &y, k, &without).unwrap();
        assert!(!got.has_probability());
        assert_eq!(got.calibrate(&x, d, &y, &with).len(), 3);
        assert_eq!(got, want);
    }
}
