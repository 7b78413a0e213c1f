//! Batched prediction against the support vectors that all pairs share.
//!
//! Rows are classified in blocks: the kernel values of a block against the
//! support vectors come from training's own kernel tiles
//! ([`KernelColumns`]: the same values to the bit, the exponential taken on
//! the tile), and since support vectors are grouped by class, each pair's
//! decision is two contiguous dot products (libsvm's layout). Blocks run in
//! parallel; results keep input order.

use rayon::prelude::*;

use super::kernel::dot_mixed_4;
use super::kernel_rows::KernelColumns;
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

/// One pair's constants.
struct PairInfo {
    a: usize,
    b: usize,
    rho: f64,
    platt: Option<(f64, f64)>,
}

/// A class's support vectors (a contiguous range) and their coefficients in
/// each pair of that class, four pairs to a group: one pass over the
/// class's kernel values serves a group (see [`dot_mixed_4`]).
struct ClassSupport {
    start: usize,
    end: usize,
    groups: Vec<PairGroup>,
}

/// Up to four pairs' coefficients over a class's range, dense (zero where a
/// support vector is not one of the pair's); an empty place has no pair.
struct PairGroup {
    pairs: [Option<usize>; 4],
    coef: [Vec<f64>; 4],
}

/// Support vectors per kernel tile: a block's tile (rows x this, f32)
/// stays in L2 while every pair sums its part of it.
const SV_TILE: usize = 256;

/// A model prepared for fast prediction (built once, used for every batch).
pub struct Predictor {
    k: usize,
    d: usize,
    sv: KernelColumns,
    pairs: Vec<PairInfo>,
    classes: Vec<ClassSupport>,
}

impl Predictor {
    pub fn new(m: &SvmModel) -> Predictor {
        let d = m.n_features;
        let sv32: Vec<f32> = m.support_vectors.iter().map(|&v| v as f32).collect();
        let sv = KernelColumns::new(&sv32, &m.tied(), m.gamma as f32);
        let range = |c: usize| (m.sv_class_start[c] as usize, m.sv_class_start[c + 1] as usize);
        let pairs: Vec<PairInfo> =
            m.pairs.iter().map(|p| PairInfo { a: p.a as usize, b: p.b as usize, rho: p.rho, platt: p.platt }).collect();
        let classes = (0..m.n_classes)
            .map(|c| {
                let (start, end) = range(c);
                // This class's coefficients in each of its pairs, in pair order.
                let mine: Vec<(usize, Vec<f64>)> = m
                    .pairs
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.a as usize == c || p.b as usize == c)
                    .map(|(i, p)| {
                        let mut coef = vec![0f64; end - start];
                        for (&s, &v) in p.sv.iter().zip(&p.coef) {
                            if (start..end).contains(&(s as usize)) {
                                coef[s as usize - start] = v;
                            }
                        }
                        (i, coef)
                    })
                    .collect();
                let groups = mine
                    .chunks(4)
                    .map(|four| PairGroup {
                        pairs: std::array::from_fn(|j| four.get(j).map(|(i, _)| *i)),
                        coef: std::array::from_fn(|j| four.get(j).map_or_else(|| vec![0f64; end - start], |(_, v)| v.clone())),
                    })
                    .collect();
                ClassSupport { start, end, groups }
            })
            .collect();
        Predictor { k: m.n_classes, d, sv, pairs, classes }
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
        let n_sv = self.sv.len();
        let np = self.pairs.len();
        let xb: Vec<f32> = chunk.iter().map(|&v| v as f32).collect();
        let packed = self.sv.pack(&xb);
        let mut dec = vec![0f64; r * np];
        let mut tile = vec![0f32; r * SV_TILE];
        for start in (0..n_sv).step_by(SV_TILE) {
            let end = (start + SV_TILE).min(n_sv);
            let w = end - start;
            self.sv.block(&packed, start, end, &mut tile[..r * w]);
            for class in &self.classes {
                // The tile's support vectors of this class.
                let (lo, hi) = (class.start.max(start), class.end.min(end));
                if lo >= hi {
                    continue;
                }
                for g in &class.groups {
                    let c = |j: usize| &g.coef[j][lo - class.start..hi - class.start];
                    for (row, k) in tile[..r * w].chunks_exact(w).enumerate() {
                        let sums = dot_mixed_4(&k[lo - start..hi - start], [c(0), c(1), c(2), c(3)]);
                        for (p, v) in g.pairs.iter().zip(sums) {
                            if let Some(p) = p {
                                dec[row * np + p] += v;
                            }
                        }
                    }
                }
            }
        }
        for row in dec.chunks_exact_mut(np.max(1)) {
            for (v, p) in row.iter_mut().zip(&self.pairs) {
                *v -= p.rho;
            }
        }
        dec
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
