//! Cross-validated scores of grid cells.
//!
//! The RBF kernel between two tuning rows depends only on gamma (for a
//! given transform), not on C, the fold or the pair of classes. So the
//! squared distances of all tuning rows are computed once per transform,
//! the kernel matrix once per gamma, and every (class weight, fold, pair)
//! problem gathers its rows from that matrix. The C values of one problem
//! are solved in increasing order, each starting from the previous
//! solution scaled up (alpha seeding), which saves most of the iterations
//! of the large-C fits. Once a solution has no alpha at its bound, it is
//! optimal for every larger C too and is reused without a fit (large gamma
//! reaches that at moderate C; on the benchmark grid a third of the solver
//! time went to such fits).
//!
//! [`direct_scores`] does the same the plain way, a model per fold and
//! cell: it serves SMOTE (whose synthetic rows are not in the matrix) and
//! is the reference the fast path is tested against.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::ops::Range;
use std::sync::OnceLock;
use std::time::Instant;

use ndarray::{linalg::general_mat_mul, ArrayView2};
use rayon::prelude::*;

use super::{smote, Metric};
use crate::metrics::Confusion;
use crate::svm::kernel::{exp_neg, KernelCache};
use crate::svm::smo::{solve_kernel, Options};
use crate::svm::{ClassWeight, Gamma, SvcParams, SvmModel};

/// Kernel rows kept per binary problem (they are gathered, not computed).
const PROBLEM_CACHE_BYTES: usize = 16 << 20;

/// One cell to score: exponents of C and gamma, and the class weighting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellSpec {
    pub log2c: f64,
    pub log2g: f64,
    pub class_weight: ClassWeight,
}

/// What cross-validation found for one cell.
#[derive(Clone, Debug)]
pub struct CellResult {
    pub fold_scores: Vec<f64>,
    /// Solver time summed over its folds and pairs (CPU seconds, not wall).
    pub fit_seconds: f64,
    /// Every binary fit reached the tolerance within the iteration limit.
    pub converged: bool,
}

/// Shared inputs of a scoring run.
pub struct Problem<'a> {
    /// Row-major `n x d`, transformed and scaled.
    pub x: &'a [f64],
    pub d: usize,
    pub y: &'a [usize],
    pub n_classes: usize,
    pub fold_of: &'a [usize],
    pub folds: usize,
    /// Folds held out and scored, of `0..folds` (all of them in a full cross-validation).
    pub held_out: Range<usize>,
    pub metric: Metric,
    pub eps: f64,
    /// Iteration limit of each binary fit, per training row of the problem.
    pub max_iter_per_row: usize,
}

impl Problem<'_> {
    fn n(&self) -> usize {
        self.y.len()
    }

    fn train_rows(&self, fold: usize) -> Vec<usize> {
        (0..self.n()).filter(|&i| self.fold_of[i] != fold).collect()
    }

    fn held_rows(&self, fold: usize) -> Vec<usize> {
        (0..self.n()).filter(|&i| self.fold_of[i] == fold).collect()
    }

    /// C of each class for the rows `train`, as [`SvmModel::fit`] sets it.
    fn class_c(&self, train: &[usize], c: f64, weight: ClassWeight) -> Vec<f64> {
        let mut count = vec![0usize; self.n_classes];
        for &i in train {
            count[self.y[i]] += 1;
        }
        let present = count.iter().filter(|&&v| v > 0).count();
        count.iter().map(|&m| c * weight.factor(train.len(), present, m)).collect()
    }

    fn score(&self, truth: &[usize], predicted: &[usize]) -> f64 {
        let mut conf = Confusion::new(self.n_classes);
        for (&t, &p) in truth.iter().zip(predicted) {
            conf.add(t, p);
        }
        let classes: Vec<String> = (0..self.n_classes).map(|c| c.to_string()).collect();
        self.metric.of(&conf.metrics(&classes))
    }
}

/// The last solution of a chain over C, for the next C.
struct Previous {
    c: f64,
    alpha: Vec<f64>,
    /// The decision values of the fold's held-out rows when the solution is
    /// optimal for every larger C too: it converged and no alpha is at its
    /// upper bound (C, or C times its class weight).
    still_optimal: Option<Vec<f64>>,
}

/// Squared Euclidean distances between all rows, `n x n` f32 (one matrix multiply).
pub fn squared_distances(x: &[f64], d: usize) -> Vec<f32> {
    let n = x.len() / d.max(1);
    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let xv = ArrayView2::from_shape((n, d), &xf).expect("shape");
    let mut g = ndarray::Array2::<f32>::zeros((n, n));
    general_mat_mul(1.0, &xv, &xv.t(), 0.0, &mut g);
    let norms: Vec<f32> = (0..n).map(|i| g[[i, i]]).collect();
    let mut out = g.into_raw_vec_and_offset().0;
    out.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
        for (t, v) in row.iter_mut().enumerate() {
            *v = if t == i { 0.0 } else { (norms[i] + norms[t] - 2.0 * *v).max(0.0) };
        }
    });
    out
}

/// Scores `cells` (any mix of C, gamma and class weight) with the shared kernel matrices.
/// `done` is called after each binary fit, from any thread.
pub fn gram_scores(p: &Problem, dist: &[f32], cells: &[CellSpec], done: &(dyn Fn() + Sync)) -> Vec<CellResult> {
    let n = p.n();
    let k = p.n_classes;
    let pairs: Vec<(usize, usize)> = (0..k).flat_map(|a| (a + 1..k).map(move |b| (a, b))).collect();
    let mut results: Vec<Option<CellResult>> = vec![None; cells.len()];
    let mut gammas: Vec<f64> = cells.iter().map(|c| c.log2g).collect();
    gammas.sort_by(|a, b| b.total_cmp(a));
    gammas.dedup();
    let folds: Vec<(Vec<usize>, Vec<usize>)> = p.held_out.clone().map(|f| (p.train_rows(f), p.held_rows(f))).collect();
    let n_folds = folds.len();
    for log2g in gammas {
        let gamma = 2f64.powf(log2g) as f32;
        let mut gram = dist.to_vec();
        gram.par_chunks_mut(4096).for_each(|ch| ch.iter_mut().for_each(|v| *v = exp_neg(-gamma * *v)));
        // Problems: (weight, fold, pair), each a chain over its C values.
        let mine: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].log2g == log2g).collect();
        let mut weights: Vec<ClassWeight> = mine.iter().map(|&i| cells[i].class_weight).collect();
        weights.sort_by_key(|w| *w as u8);
        weights.dedup();
        let chains: Vec<(ClassWeight, Vec<f64>)> = weights
            .iter()
            .map(|&w| {
                let mut cs: Vec<f64> =
                    mine.iter().filter(|&&i| cells[i].class_weight == w).map(|&i| cells[i].log2c).collect();
                cs.sort_by(f64::total_cmp);
                cs.dedup();
                (w, cs)
            })
            .collect();
        let n_pairs = pairs.len();
        let tasks: Vec<(usize, usize, usize)> = (0..chains.len())
            .flat_map(|w| (0..n_folds).flat_map(move |f| (0..n_pairs).map(move |q| (w, f, q))))
            .collect();
        // Largest problems first, so that the last ones to finish are small
        // and no core idles long before the next gamma (the cost grows
        // faster than the rows: a pair of the two largest classes can take
        // as long as all the others).
        let size = |&(_, f, q): &(usize, usize, usize)| {
            let (a, b) = pairs[q];
            folds[f].0.iter().filter(|&&i| p.y[i] == a || p.y[i] == b).count()
        };
        let mut order: Vec<usize> = (0..tasks.len()).collect();
        order.sort_by_cached_key(|&t| std::cmp::Reverse(size(&tasks[t])));
        // For each task and C: decision values of the fold's held-out rows, seconds, converged.
        let solved: Vec<Vec<(Vec<f64>, f64, bool)>> = in_order_given(&order, |t| {
            let (w, f, q) = tasks[t];
            let (weight, cs) = &chains[w];
            let (a, b) = pairs[q];
            let (train, held) = &folds[f];
            let idx: Vec<usize> = train
                .iter()
                .filter(|&&i| p.y[i] == a)
                .chain(train.iter().filter(|&&i| p.y[i] == b))
                .copied()
                .collect();
            let n_a = idx.iter().filter(|&&i| p.y[i] == a).count();
            let ys: Vec<i8> = (0..idx.len()).map(|t| if t < n_a { 1 } else { -1 }).collect();
            let mut prev: Option<Previous> = None;
            cs.iter()
                .map(|&log2c| {
                    if n_a == 0 || n_a == idx.len() {
                        // A class missing from this fold's training rows: the other one wins.
                        done();
                        let v = if n_a > 0 { 1.0 } else { -1.0 };
                        return (vec![v; held.len()], 0.0, true);
                    }
                    if let Some(dec) = prev.as_ref().and_then(|last| last.still_optimal.as_ref()) {
                        // No alpha was held down by C: the last solution is still
                        // optimal with a larger C (the same rows are free or zero,
                        // the gradient does not depend on C). Typical of large
                        // gamma, where every row is a free support vector.
                        done();
                        return (dec.clone(), 0.0, true);
                    }
                    let start = Instant::now();
                    let c = 2f64.powf(log2c);
                    let class_c = p.class_c(train, c, *weight);
                    let cvec: Vec<f64> = ys.iter().map(|&v| if v > 0 { class_c[a] } else { class_c[b] }).collect();
                    let warm: Option<Vec<f64>> = prev.as_ref().map(|last| last.alpha.iter().map(|v| v * c / last.c).collect());
                    let q = KernelCache::from_gram(&gram, n, idx.clone(), PROBLEM_CACHE_BYTES);
                    let opts = Options {
                        eps: p.eps,
                        max_iter: Some(p.max_iter_per_row.saturating_mul(idx.len())),
                        warm_start: warm.as_deref(),
                    };
                    let sol = solve_kernel(q, &ys, &cvec, &opts);
                    let svs: Vec<(usize, f64)> =
                        sol.coef.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(t, &v)| (idx[t], v)).collect();
                    // Summed in f64, as at prediction (svm::decision): with large C
                    // a decision is a small difference of sums near C x support vectors.
                    let dec: Vec<f64> = held
                        .iter()
                        .map(|&h| {
                            let row = &gram[h * n..(h + 1) * n];
                            svs.iter().map(|&(g, v)| v * row[g] as f64).sum::<f64>() - sol.rho
                        })
                        .collect();
                    let bounded = sol.coef.iter().zip(&cvec).any(|(cf, cv)| cf.abs() >= *cv);
                    prev = Some(Previous {
                        c,
                        alpha: sol.coef.iter().zip(&ys).map(|(&cf, &yv)| cf * yv as f64).collect(),
                        still_optimal: (sol.converged && !bounded).then(|| dec.clone()),
                    });
                    done();
                    (dec, start.elapsed().as_secs_f64(), sol.converged)
                })
                .collect()
        });
        // Votes per (weight, C, fold), as the model votes at prediction time.
        for &ci in &mine {
            let cell = &cells[ci];
            let w = chains.iter().position(|(wt, _)| *wt == cell.class_weight).expect("weight chain");
            let j = chains[w].1.iter().position(|&v| v == cell.log2c).expect("C in chain");
            let mut fold_scores = Vec::with_capacity(n_folds);
            let (mut seconds, mut converged) = (0.0, true);
            for (f, (_, held)) in folds.iter().enumerate() {
                let mut votes = vec![vec![0u32; k]; held.len()];
                for (q, &(a, b)) in pairs.iter().enumerate() {
                    let t = (w * n_folds + f) * pairs.len() + q;
                    let (dec, s, conv) = &solved[t][j];
                    seconds += s;
                    converged &= conv;
                    for (r, &v) in dec.iter().enumerate() {
                        votes[r][if v > 0.0 { a } else { b }] += 1;
                    }
                }
                let predicted: Vec<usize> = votes.iter().map(|v| argmax_first(v)).collect();
                let truth: Vec<usize> = held.iter().map(|&h| p.y[h]).collect();
                fold_scores.push(p.score(&truth, &predicted));
            }
            results[ci] = Some(CellResult { fold_scores, fit_seconds: seconds, converged });
        }
    }
    results.into_iter().map(|r| r.expect("every cell scored")).collect()
}

/// `f(t)` for every task `t`, on all cores, started in the order `order`
/// gives (each core takes the next task when it is free); the results are
/// indexed by task, whatever the order they finished in.
fn in_order_given<T: Send + Sync>(order: &[usize], f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let slots: Vec<OnceLock<T>> = order.iter().map(|_| OnceLock::new()).collect();
    rayon::scope(|s| {
        for _ in 0..rayon::current_num_threads().min(order.len()) {
            s.spawn(|_| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&t) = order.get(i) else { break };
                if slots[t].set(f(t)).is_err() {
                    unreachable!("task {t} is in the order twice");
                }
            });
        }
    });
    slots.into_iter().enumerate().map(|(t, v)| v.into_inner().unwrap_or_else(|| panic!("task {t} is not in the order"))).collect()
}

/// The highest vote; ties go to the lower class index, as in prediction.
fn argmax_first(v: &[u32]) -> usize {
    let mut best = 0;
    for c in 1..v.len() {
        if v[c] > v[best] {
            best = c;
        }
    }
    best
}

/// Scores `cells` by fitting a model per fold and cell, with SMOTE on the
/// training rows when `oversample` (seeded per fold).
pub fn direct_scores(p: &Problem, cells: &[CellSpec], oversample: bool, seed: u64, done: &(dyn Fn() + Sync)) -> Vec<CellResult> {
    let jobs: Vec<(usize, usize)> = (0..cells.len()).flat_map(|c| p.held_out.clone().map(move |f| (c, f))).collect();
    let n_folds = p.held_out.len();
    let fits: Vec<(f64, f64, bool)> = jobs
        .par_iter()
        .map(|&(ci, f)| {
            let cell = cells[ci];
            let train = p.train_rows(f);
            let held = p.held_rows(f);
            let mut xt: Vec<f64> = train.iter().flat_map(|&i| p.x[i * p.d..(i + 1) * p.d].iter().copied()).collect();
            let mut yt: Vec<usize> = train.iter().map(|&i| p.y[i]).collect();
            if oversample {
                (xt, yt) = smote::oversample(&xt, p.d, &yt, p.n_classes, seed ^ (f as u64 + 1).wrapping_mul(0x9E37_79B9));
            }
            // Classes absent from this fold's training rows are left out of the fit.
            let mut present: Vec<usize> = yt.clone();
            present.sort_unstable();
            present.dedup();
            let local: Vec<usize> = yt.iter().map(|c| present.binary_search(c).expect("present")).collect();
            let start = Instant::now();
            let params = SvcParams {
                c: 2f64.powf(cell.log2c),
                gamma: Gamma::Value(2f64.powf(cell.log2g)),
                class_weight: cell.class_weight,
                eps: p.eps,
                probability: false,
                cache_mb: 256,
                ..SvcParams::default()
            };
            let model = SvmModel::fit(&xt, p.d, &local, present.len(), &params).expect("fold fit");
            let xh: Vec<f64> = held.iter().flat_map(|&i| p.x[i * p.d..(i + 1) * p.d].iter().copied()).collect();
            let predicted: Vec<usize> = model.predict(&xh, false).class.into_iter().map(|c| present[c]).collect();
            let seconds = start.elapsed().as_secs_f64();
            let truth: Vec<usize> = held.iter().map(|&i| p.y[i]).collect();
            done();
            (p.score(&truth, &predicted), seconds, true)
        })
        .collect();
    (0..cells.len())
        .map(|ci| {
            let mine = &fits[ci * n_folds..(ci + 1) * n_folds];
            CellResult {
                fold_scores: mine.iter().map(|f| f.0).collect(),
                fit_seconds: mine.iter().map(|f| f.1).sum(),
                converged: mine.iter().all(|f| f.2),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::folds::stratified_folds;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Three noisy classes in four dimensions, seeded.
    fn blobs(n: usize) -> (Vec<f64>, Vec<usize>) {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            // Unequal class sizes, so that class weighting matters.
            let c = if i % 10 < 6 { 0 } else if i % 10 < 9 { 1 } else { 2 };
            for k in 0..4 {
                let centre = if k == c { 1.2 } else { 0.0 };
                x.push(centre + rng.random::<f64>() * 2.0 - 1.0);
            }
            y.push(c);
        }
        (x, y)
    }

    /// The shared-kernel path (with alpha seeding along C) scores cells as
    /// fitting a separate model per fold and cell does.
    #[test]
    fn shared_kernel_scores_match_separate_fits() {
        let (x, y) = blobs(300);
        let fold_of = stratified_folds(&y, 3, 4, 5);
        let p = Problem {
            x: &x,
            d: 4,
            y: &y,
            n_classes: 3,
            fold_of: &fold_of,
            folds: 4,
            held_out: 0..4,
            metric: Metric::MacroF1,
            eps: 1e-3,
            max_iter_per_row: 100_000,
        };
        let mut cells = Vec::new();
        for w in [ClassWeight::None, ClassWeight::Balanced] {
            // gamma 2^4: nearly every row a free support vector from C 2^1 on,
            // so the larger C values reuse the last solution.
            for log2g in [-3.0, 0.0, 4.0] {
                for log2c in [-2.0, 1.0, 4.0, 7.0] {
                    cells.push(CellSpec { log2c, log2g, class_weight: w });
                }
            }
        }
        let dist = squared_distances(&x, 4);
        let fast = gram_scores(&p, &dist, &cells, &|| {});
        let slow = direct_scores(&p, &cells, false, 0, &|| {});
        let mut spread = 0.0f64;
        for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
            assert!(f.converged, "cell {i}");
            for (a, b) in f.fold_scores.iter().zip(&s.fold_scores) {
                assert!((a - b).abs() < 0.03, "cell {:?}: fold scores {a} vs {b}", cells[i]);
            }
            spread = spread.max((f.fold_scores[0] - fast[0].fold_scores[0]).abs());
        }
        assert!(spread > 0.05, "the cells must differ for the comparison to mean something");
        let reused = fast.iter().zip(&cells).filter(|(f, c)| f.fit_seconds == 0.0 && c.log2g == 4.0 && c.log2c > 1.0).count();
        assert!(reused > 0, "no cell reused the solution of a smaller C");
    }

    /// A pass that scores some folds only (the larger passes; the race of
    /// the coarse pass, then its survivors) gives exactly those folds'
    /// scores of the full cross-validation.
    #[test]
    fn scoring_some_folds_gives_those_folds_scores() {
        let (x, y) = blobs(200);
        let fold_of = stratified_folds(&y, 3, 5, 9);
        let mut p = Problem {
            x: &x,
            d: 4,
            y: &y,
            n_classes: 3,
            fold_of: &fold_of,
            folds: 5,
            held_out: 0..5,
            metric: Metric::MacroF1,
            eps: 1e-3,
            max_iter_per_row: 100_000,
        };
        let cells: Vec<CellSpec> =
            [-1.0, 3.0].iter().map(|&log2c| CellSpec { log2c, log2g: -1.0, class_weight: ClassWeight::None }).collect();
        let dist = squared_distances(&x, 4);
        let all = gram_scores(&p, &dist, &cells, &|| {});
        p.held_out = 0..2;
        let two = gram_scores(&p, &dist, &cells, &|| {});
        let direct = direct_scores(&p, &cells, false, 0, &|| {});
        p.held_out = 2..5;
        let rest = gram_scores(&p, &dist, &cells, &|| {});
        for (((a, t), d), r) in all.iter().zip(&two).zip(&direct).zip(&rest) {
            assert_eq!(a.fold_scores.len(), 5);
            assert_eq!(t.fold_scores, a.fold_scores[..2]);
            assert_eq!(r.fold_scores, a.fold_scores[2..], "the later folds alone score as in the whole run");
            assert_eq!(d.fold_scores.len(), 2);
        }
    }

    #[test]
    fn tasks_started_in_any_order_come_back_by_index() {
        let order = [3, 0, 4, 2, 1];
        assert_eq!(in_order_given(&order, |t| t * 10), vec![0, 10, 20, 30, 40]);
        assert!(in_order_given(&[], |t| t).is_empty());
    }

    #[test]
    fn distances_match_the_definition() {
        let x = [0.0, 1.0, 2.0, -1.0, 0.5, 0.5];
        let d2 = squared_distances(&x, 2);
        assert_eq!(d2.len(), 9);
        assert!((d2[1] - 8.0).abs() < 1e-5 && (d2[3] - 8.0).abs() < 1e-5);
        assert!((d2[2] - 0.5).abs() < 1e-5 && d2[4] == 0.0);
    }
}
