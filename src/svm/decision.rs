//! Batched prediction against the support vectors that all pairs share.
//!
//! Rows are classified in blocks: one f32 matrix multiply gives every
//! row-by-support-vector dot product of the block, a vectorised exponential
//! turns them into kernel values, and since support vectors are grouped by
//! class, each pair's decision is two contiguous dot products (libsvm's
//! layout). Blocks run in parallel; results keep input order.

use ndarray::{linalg::general_mat_mul, s, Array2, ArrayView2};
use rayon::prelude::*;

use super::kernel::{dot32, dot_mixed, rbf_from_dots};
use super::probability::{couple, sigmoid_predict};
use super::SvmModel;

/// Rows per block: the block's kernel matrix (`rows x support vectors`, f32)
/// stays a few MiB per thread.
const BLOCK_ROWS: usize = 512;

/// Predicted class indices, with class probabilities when asked for.
pub struct Prediction {
    pub class: Vec<usize>,
    /// Row-major `rows x n_classes`.
    pub proba: Option<Vec<f64>>,
}

/// One pair's coefficients, dense over the two classes' support-vector ranges.
struct DensePair {
    a: usize,
    b: usize,
    a_start: usize,
    a_coef: Vec<f64>,
    b_start: usize,
    b_coef: Vec<f64>,
    rho: f64,
    platt: Option<(f64, f64)>,
}

/// Support vectors per tile of the dense path.
const SV_TILE: usize = 2048;

/// Up to this many pairs (12 classes), all pair decisions of a block are one
/// more matrix multiply with a dense `support vectors x pairs` coefficient
/// matrix; beyond, the zeros of that matrix would cost more than they save
/// and each pair sums its two class ranges instead.
const DENSE_PAIRS_MAX: usize = 66;

/// A model prepared for fast prediction (built once, used for every batch).
pub struct Predictor {
    k: usize,
    d: usize,
    gamma: f32,
    sv: Array2<f32>,
    sv_norms: Vec<f32>,
    pairs: Vec<DensePair>,
    /// `n_sv x pairs` coefficients, when there are few pairs.
    dense_coef: Option<Array2<f64>>,
}

impl Predictor {
    pub fn new(m: &SvmModel) -> Predictor {
        let d = m.n_features;
        let n_sv = m.n_support_vectors();
        let sv = Array2::from_shape_vec((n_sv, d), m.support_vectors.iter().map(|&v| v as f32).collect())
            .expect("support vector matrix shape");
        let sv_norms = sv.outer_iter().map(|r| dot32(r.as_slice().unwrap(), r.as_slice().unwrap())).collect();
        let range = |c: usize| (m.sv_class_start[c] as usize, m.sv_class_start[c + 1] as usize);
        let pairs: Vec<DensePair> = m
            .pairs
            .iter()
            .map(|p| {
                let (a, b) = (p.a as usize, p.b as usize);
                let ((a0, a1), (b0, b1)) = (range(a), range(b));
                let mut a_coef = vec![0f64; a1 - a0];
                let mut b_coef = vec![0f64; b1 - b0];
                for (&s, &c) in p.sv.iter().zip(&p.coef) {
                    let s = s as usize;
                    if (a0..a1).contains(&s) {
                        a_coef[s - a0] = c;
                    } else {
                        b_coef[s - b0] = c;
                    }
                }
                DensePair { a, b, a_start: a0, a_coef, b_start: b0, b_coef, rho: p.rho, platt: p.platt }
            })
            .collect();
        let dense_coef = (pairs.len() <= DENSE_PAIRS_MAX).then(|| {
            let mut c = Array2::<f64>::zeros((n_sv, pairs.len()));
            for (j, p) in pairs.iter().enumerate() {
                for (i, &v) in p.a_coef.iter().enumerate() {
                    c[[p.a_start + i, j]] = v;
                }
                for (i, &v) in p.b_coef.iter().enumerate() {
                    c[[p.b_start + i, j]] = v;
                }
            }
            c
        });
        Predictor { k: m.n_classes, d, gamma: m.gamma as f32, sv, sv_norms, pairs, dense_coef }
    }

    /// Classifies rows of `x` (row-major, scaled features).
    pub fn predict(&self, x: &[f64], proba: bool) -> Prediction {
        let proba = proba && self.pairs.iter().all(|p| p.platt.is_some());
        let blocks: Vec<(Vec<usize>, Vec<f64>)> =
            x.par_chunks(BLOCK_ROWS * self.d.max(1)).map(|chunk| self.predict_block(chunk, proba)).collect();
        let rows = x.len() / self.d.max(1);
        let mut class = Vec::with_capacity(rows);
        let mut probs = proba.then(|| Vec::with_capacity(rows * self.k));
        for (c, p) in blocks {
            class.extend(c);
            if let Some(all) = probs.as_mut() {
                all.extend(p);
            }
        }
        Prediction { class, proba: probs }
    }

    /// Decision values of every pair for a block of rows: row-major `rows x pairs`.
    ///
    /// Kernel values are f32; their sums are f64. A decision is a small
    /// difference of large sums when C is large and gamma small (every kernel
    /// value near 1, coefficients up to C): summed in f32, C 2^14 on 10,000
    /// rows lost a quarter of the training accuracy libsvm reaches.
    fn block_decisions(&self, chunk: &[f64]) -> Vec<f64> {
        let d = self.d;
        let r = chunk.len() / d.max(1);
        let n_sv = self.sv.nrows();
        let np = self.pairs.len();
        let xb: Vec<f32> = chunk.iter().map(|&v| v as f32).collect();
        let xs = ArrayView2::from_shape((r, d), &xb).expect("block shape");
        let x_norms: Vec<f32> = xb.chunks_exact(d.max(1)).map(|x| dot32(x, x)).collect();
        if let Some(coef) = &self.dense_coef {
            // Support vectors in tiles, so that the kernel tile stays in cache
            // between the two multiplies.
            let mut dec = Array2::<f64>::zeros((r, np));
            let mut tile = Array2::<f32>::zeros((r, SV_TILE.min(n_sv)));
            let mut tile64 = Array2::<f64>::zeros((r, SV_TILE.min(n_sv)));
            for start in (0..n_sv).step_by(SV_TILE) {
                let end = (start + SV_TILE).min(n_sv);
                let mut kt = tile.slice_mut(s![.., ..end - start]);
                general_mat_mul(1.0, &xs, &self.sv.slice(s![start..end, ..]).t(), 0.0, &mut kt);
                for (mut row, &xn) in kt.outer_iter_mut().zip(&x_norms) {
                    rbf_from_dots(row.as_slice_mut().expect("contiguous row"), &self.sv_norms[start..end], xn, self.gamma);
                }
                let mut kt64 = tile64.slice_mut(s![.., ..end - start]);
                kt64.zip_mut_with(&kt, |w, &v| *w = v as f64);
                general_mat_mul(1.0, &kt64, &coef.slice(s![start..end, ..]), 1.0, &mut dec);
            }
            let mut out = dec.into_raw_vec_and_offset().0;
            for row in out.chunks_exact_mut(np.max(1)) {
                for (v, p) in row.iter_mut().zip(&self.pairs) {
                    *v -= p.rho;
                }
            }
            return out;
        }
        let mut kmat = Array2::<f32>::zeros((r, n_sv));
        general_mat_mul(1.0, &xs, &self.sv.t(), 0.0, &mut kmat);
        let mut out = Vec::with_capacity(r * np);
        for (mut row, &xn) in kmat.outer_iter_mut().zip(&x_norms) {
            let row = row.as_slice_mut().expect("contiguous");
            rbf_from_dots(row, &self.sv_norms, xn, self.gamma);
            for p in &self.pairs {
                let fa = dot_mixed(&row[p.a_start..p.a_start + p.a_coef.len()], &p.a_coef);
                let fb = dot_mixed(&row[p.b_start..p.b_start + p.b_coef.len()], &p.b_coef);
                out.push(fa + fb - p.rho);
            }
        }
        out
    }

    fn predict_block(&self, chunk: &[f64], proba: bool) -> (Vec<usize>, Vec<f64>) {
        let k = self.k;
        let np = self.pairs.len();
        let dec = self.block_decisions(chunk);
        let rows = chunk.len() / self.d.max(1);
        let mut classes = Vec::with_capacity(rows);
        let mut probs = Vec::with_capacity(if proba { rows * k } else { 0 });
        let mut votes = vec![0u32; k];
        let mut r = vec![0.0; k * k];
        let mut p = vec![0.0; k];
        for row in 0..rows {
            let dv = &dec[row * np..(row + 1) * np];
            votes.iter_mut().for_each(|v| *v = 0);
            for (pm, &f) in self.pairs.iter().zip(dv) {
                votes[if f > 0.0 { pm.a } else { pm.b }] += 1;
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
                    let (pa, pb) = pm.platt.expect("probability model");
                    let v = sigmoid_predict(f, pa, pb).clamp(1e-7, 1.0 - 1e-7);
                    r[pm.a * k + pm.b] = v;
                    r[pm.b * k + pm.a] = 1.0 - v;
                }
                couple(k, &r, &mut p);
                probs.extend_from_slice(&p);
            }
        }
        (classes, probs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svm::{Gamma, SvcParams};

    /// Large C and small gamma: every kernel value is near 1 and a decision is
    /// a small difference of sums near C times the support vectors. The
    /// classes must be those of the same sums in f64 (they were not while the
    /// sums were f32).
    #[test]
    fn large_c_decisions_agree_with_an_f64_reference() {
        let (n, d) = (1200, 6);
        let mut s = 7u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..n {
            let c = i % 2;
            for j in 0..d {
                x.push(3.0 * rnd() + if j == 0 { 0.8 * c as f64 } else { 0.0 });
            }
            y.push(c);
        }
        let params = SvcParams { c: 32768.0, gamma: Gamma::Value(1e-3), probability: false, ..SvcParams::default() };
        let m = SvmModel::fit(&x, d, &y, 2, &params).unwrap();
        let p = &m.pairs[0];
        let total: f64 = p.coef.iter().map(|c| c.abs()).sum();
        assert!(total > 1e6, "the sums are large: {total}");
        let got = Predictor::new(&m).predict(&x, false).class;
        let (mut clear, mut agree) = (0, 0);
        for (r, row) in x.chunks_exact(d).enumerate() {
            let mut f = -p.rho;
            for (&sv, &c) in p.sv.iter().zip(&p.coef) {
                let v = &m.support_vectors[sv as usize * d..][..d];
                let d2: f64 = row.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum();
                f += c * (-m.gamma * d2).exp();
            }
            let want = if f > 0.0 { p.a as usize } else { p.b as usize };
            if f.abs() > 0.25 {
                clear += 1;
                assert_eq!(got[r], want, "row {r}: decision {f}");
            }
            agree += usize::from(got[r] == want);
        }
        assert!(clear > n / 2, "most rows are clear of the boundary: {clear}");
        assert!(agree * 100 >= n * 99, "{agree} of {n} agree");
    }
}
