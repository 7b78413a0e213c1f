//! One-vs-one multi-class SVM, as libsvm: one binary problem per pair of
//! classes (smaller than one-vs-all's), trained in parallel; prediction by
//! votes over the pairs, computed in batches against the union of support
//! vectors that all pairs share.

use std::collections::BTreeMap;

use ndarray::{linalg::general_mat_mul, Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::kernel::dot;
use super::probability::{couple, sigmoid_predict, sigmoid_train};
use super::smo::solve;
use super::{resolve_gamma, ClassWeight, SvcParams};
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
    /// Row-major `n_sv x n_features`, in scaled feature space.
    pub support_vectors: Vec<f64>,
    pub pairs: Vec<PairModel>,
}

/// Predicted class indices, with class probabilities when asked for.
pub struct Prediction {
    pub class: Vec<usize>,
    /// Row-major `rows x n_classes`.
    pub proba: Option<Vec<f64>>,
}

const PLATT_FOLDS: usize = 5;
/// Rows per block of kernel evaluations at prediction time.
const PREDICT_BLOCK: usize = 256;

impl SvmModel {
    /// Trains on `x` (row-major `n x d`, already scaled) with class indices `y` in `0..k`.
    pub fn fit(x: &[f64], d: usize, y: &[usize], k: usize, params: &SvcParams) -> Result<SvmModel> {
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
            .map(|rows| match params.class_weight {
                ClassWeight::None => params.c,
                ClassWeight::Balanced => params.c * n as f64 / (k as f64 * rows.len() as f64),
            })
            .collect();
        let pair_list: Vec<(usize, usize)> =
            (0..k).flat_map(|a| (a + 1..k).map(move |b| (a, b))).collect();
        let threads = rayon::current_num_threads().max(1);
        let cache_bytes = params.cache_mb * (1 << 20) / threads.min(pair_list.len().max(1));

        let trained: Vec<(Vec<usize>, PairModel)> = pair_list
            .par_iter()
            .enumerate()
            .map(|(p, &(a, b))| {
                let idx: Vec<usize> = by_class[a].iter().chain(&by_class[b]).copied().collect();
                let sub = gather(x, d, &idx);
                let ys: Vec<i8> = idx.iter().map(|&i| if y[i] == a { 1 } else { -1 }).collect();
                let cs: Vec<f64> = ys.iter().map(|&v| if v > 0 { class_c[a] } else { class_c[b] }).collect();
                let sol = solve(&sub, d, gamma, &ys, &cs, params.eps, cache_bytes);
                let platt = params.probability.then(|| {
                    let seed = params.seed ^ (p as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let dec = cv_decisions(&sub, d, &ys, &cs, gamma, params.eps, cache_bytes, seed);
                    let pos: Vec<bool> = ys.iter().map(|&v| v > 0).collect();
                    sigmoid_train(&dec, &pos)
                });
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
                (global, pm)
            })
            .collect();

        // The union of support vectors, in training-row order.
        let mut union: BTreeMap<usize, u32> = BTreeMap::new();
        for (global, _) in &trained {
            for &g in global {
                union.insert(g, 0);
            }
        }
        let mut support_vectors = Vec::with_capacity(union.len() * d);
        for (pos, (g, slot)) in union.iter_mut().enumerate() {
            *slot = pos as u32;
            support_vectors.extend_from_slice(&x[g * d..(g + 1) * d]);
        }
        let pairs = trained
            .into_iter()
            .map(|(global, mut pm)| {
                pm.sv = global.iter().map(|g| union[g]).collect();
                pm
            })
            .collect();
        Ok(SvmModel { n_classes: k, n_features: d, gamma, c: params.c, class_c, support_vectors, pairs })
    }

    pub fn n_support_vectors(&self) -> usize {
        self.support_vectors.len() / self.n_features.max(1)
    }

    pub fn has_probability(&self) -> bool {
        self.pairs.iter().all(|p| p.platt.is_some())
    }

    /// Predicts rows of `x` (row-major, scaled). Rows are processed in
    /// parallel blocks; results keep input order.
    pub fn predict(&self, x: &[f64], proba: bool) -> Prediction {
        let d = self.n_features;
        let m = x.len() / d;
        let k = self.n_classes;
        let proba = proba && self.has_probability();
        let blocks: Vec<(Vec<usize>, Vec<f64>)> = x
            .par_chunks(PREDICT_BLOCK * d)
            .map(|chunk| self.predict_block(chunk, proba))
            .collect();
        let mut class = Vec::with_capacity(m);
        let mut probs = if proba { Some(Vec::with_capacity(m * k)) } else { None };
        for (c, p) in blocks {
            class.extend(c);
            if let Some(all) = probs.as_mut() {
                all.extend(p);
            }
        }
        Prediction { class, proba: probs }
    }

    /// Decision values of every pair for rows of `x`: row-major `rows x pairs`.
    pub fn decision_function(&self, x: &[f64]) -> Vec<f64> {
        x.par_chunks(PREDICT_BLOCK * self.n_features)
            .flat_map_iter(|chunk| self.block_decisions(chunk))
            .collect()
    }

    fn block_decisions(&self, chunk: &[f64]) -> Vec<f64> {
        let d = self.n_features;
        let r = chunk.len() / d;
        let n_sv = self.n_support_vectors();
        let xs = ArrayView2::from_shape((r, d), chunk).expect("block shape");
        let sv = ArrayView2::from_shape((n_sv, d), &self.support_vectors).expect("sv shape");
        // K = exp(-gamma (|x|^2 + |s|^2 - 2 x.s)), the dot products as one matrix multiply.
        let mut kmat = Array2::<f64>::zeros((r, n_sv));
        general_mat_mul(1.0, &xs, &sv.t(), 0.0, &mut kmat);
        let sv_norms: Vec<f64> = self.support_vectors.chunks_exact(d.max(1)).map(|s| dot(s, s)).collect();
        for (row, xr) in kmat.outer_iter_mut().zip(chunk.chunks_exact(d)) {
            let xn = dot(xr, xr);
            for (v, sn) in row.into_iter().zip(&sv_norms) {
                *v = (-self.gamma * (xn + sn - 2.0 * *v).max(0.0)).exp();
            }
        }
        let mut out = Vec::with_capacity(r * self.pairs.len());
        for row in kmat.outer_iter() {
            let row = row.as_slice().expect("contiguous");
            for p in &self.pairs {
                let s: f64 = p.sv.iter().zip(&p.coef).map(|(&i, c)| c * row[i as usize]).sum();
                out.push(s - p.rho);
            }
        }
        out
    }

    fn predict_block(&self, chunk: &[f64], proba: bool) -> (Vec<usize>, Vec<f64>) {
        let k = self.n_classes;
        let dec = self.block_decisions(chunk);
        let np = self.pairs.len();
        let rows = if np == 0 { chunk.len() / self.n_features } else { dec.len() / np };
        let mut classes = Vec::with_capacity(rows);
        let mut probs = Vec::with_capacity(if proba { rows * k } else { 0 });
        let mut votes = vec![0u32; k];
        let mut r = vec![0.0; k * k];
        let mut p = vec![0.0; k];
        for row in 0..rows {
            let dv = &dec[row * np..(row + 1) * np];
            votes.iter_mut().for_each(|v| *v = 0);
            for (pm, &f) in self.pairs.iter().zip(dv) {
                if f > 0.0 {
                    votes[pm.a as usize] += 1;
                } else {
                    votes[pm.b as usize] += 1;
                }
            }
            // Ties go to the lower class index, as in libsvm.
            let mut best = 0;
            for c in 1..k {
                if votes[c] > votes[best] {
                    best = c;
                }
            }
            classes.push(best);
            if proba {
                for (pm, &f) in self.pairs.iter().zip(dv) {
                    let (a_, b_) = pm.platt.expect("probability model");
                    let v = sigmoid_predict(f, a_, b_).clamp(1e-7, 1.0 - 1e-7);
                    let (a, b) = (pm.a as usize, pm.b as usize);
                    r[a * k + b] = v;
                    r[b * k + a] = 1.0 - v;
                }
                couple(k, &r, &mut p);
                probs.extend_from_slice(&p);
            }
        }
        (classes, probs)
    }
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
        let sol = solve(&sub, d, gamma, &ys, &cs, eps, cache_bytes);
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
