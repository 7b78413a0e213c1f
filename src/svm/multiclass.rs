//! One-vs-one multi-class SVM, as libsvm: one binary problem per pair of
//! classes (smaller than one-vs-all's), trained in parallel. The pairs share
//! one set of support vectors (see [`super::decision`] for prediction).

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::decision::{Prediction, Predictor};
use super::kernel_rows::{KernelRows, RowArena};
use super::probability::sigmoid_train;
use super::smo::Options;
use super::tied::TiedFeatures;
use super::working_set::{self, Start};
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
    /// Groups of features equal in every training row, which the kernel
    /// dots once ([`TiedFeatures::ties`]); none in models of format 7 and before.
    #[serde(default)]
    pub tied_features: Vec<Vec<u32>>,
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

/// A fit, where its time went, and what calibrating it later takes.
pub struct Fit {
    pub svm: SvmModel,
    pub pair_times: Vec<PairTime>,
    pub duals: Duals,
}

/// Each pair's solution over all its rows, in the pair's row order (the
/// rows of its first class, then of its second): what
/// [`SvmModel::calibrate`] starts its folds from and
/// [`SvmModel::training_classes`] reads decisions from. Never stored in a
/// model (they are per training row).
pub struct Duals(Vec<PairSolution>);

struct PairSolution {
    /// `y_t alpha_t`.
    coef: Vec<f64>,
    /// `G = Q alpha - e`: row t's decision value is `y_t (G_t + 1) - rho`.
    grad: Vec<f64>,
}

impl SvmModel {
    /// Trains on `x` (row-major `n x d`, already scaled) with class indices `y` in `0..k`.
    pub fn fit(x: &[f64], d: usize, y: &[usize], k: usize, params: &SvcParams) -> Result<SvmModel> {
        Self::fit_timed(x, d, y, k, params).map(|f| f.svm)
    }

    /// [`SvmModel::fit`], with each pair's fitting times and dual coefficients.
    pub fn fit_timed(x: &[f64], d: usize, y: &[usize], k: usize, params: &SvcParams) -> Result<Fit> {
        let n = y.len();
        if n == 0 || x.len() != n * d {
            return Err(Error::input("no training rows"));
        }
        if !(params.c.is_finite() && params.c > 0.0) {
            return Err(Error::input(format!("C must be a positive number, got {}", params.c)));
        }
        let by_class = rows_by_class(y, k);
        if let Some(empty) = by_class.iter().position(|v| v.is_empty()) {
            return Err(anyhow::anyhow!("class {empty} has no training rows").into());
        }
        let gamma = resolve_gamma(params.gamma, x, d);
        let tied = TiedFeatures::of_rows(x, d);
        let class_c: Vec<f64> = by_class
            .iter()
            .map(|rows| params.c * params.class_weight.factor(n, k, rows.len()))
            .collect();
        let pair_list = pairs_of(k);
        let sizes = pair_sizes(&pair_list, &by_class);
        let cache_bytes = pair_cache_bytes(params, &sizes);
        let solved: Vec<((Vec<usize>, PairModel), (PairTime, PairSolution))> =
            on_pair_workers(&sizes, cache_bytes, |p, arena| {
                let (a, b) = pair_list[p];
                let PairProblem { idx, ys, cs } = PairProblem::new(y, &by_class, &class_c, a, b);
                let started = std::time::Instant::now();
                let mut rows = KernelRows::of_rows(x, &tied, &idx, gamma, std::mem::take(arena));
                let sol = working_set::solve(&mut rows, &ys, &cs, &Options { eps: params.eps, ..Options::default() });
                let solve_seconds = started.elapsed().as_secs_f64();
                let started = std::time::Instant::now();
                let platt = params.probability.then(|| platt(&mut rows, &ys, &cs, &sol.coef, &sol.grad, params, p));
                *arena = rows.into_arena();
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
                ((global, pm), (time, PairSolution { coef: sol.coef, grad: sol.grad }))
            });
        let (trained, timed): (Vec<(Vec<usize>, PairModel)>, Vec<(PairTime, PairSolution)>) = solved.into_iter().unzip();
        let (times, duals): (Vec<PairTime>, Vec<PairSolution>) = timed.into_iter().unzip();

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
        let tied_features = tied.ties();
        let svm = SvmModel { n_classes: k, n_features: d, gamma, c: params.c, class_c, support_vectors, sv_class_start, pairs, tied_features };
        Ok(Fit { svm, pair_times: times, duals: Duals(duals) })
    }

    pub fn n_support_vectors(&self) -> usize {
        self.support_vectors.len() / self.n_features.max(1)
    }

    /// The features the kernel dots once, as the fit found them.
    pub fn tied(&self) -> TiedFeatures {
        TiedFeatures::from_ties(self.n_features, &self.tied_features).expect("a model's ties are checked when it is made or loaded")
    }

    /// Whether the tied features hold what [`Self::tied`] says: well
    /// formed, and equal in every support vector (which prediction relies on).
    pub fn check_ties(&self) -> std::result::Result<(), String> {
        let tied = TiedFeatures::from_ties(self.n_features, &self.tied_features)?;
        let sv32: Vec<f32> = self.support_vectors.iter().map(|&v| v as f32).collect();
        if tied.hold_in(&sv32) {
            Ok(())
        } else {
            Err("tied features differ in a support vector".into())
        }
    }

    /// Adds Platt scaling to a model fitted without it on the same rows and
    /// `params` (a final-pass fit of `--tune`), from the fit's `duals`: the
    /// same bytes as a fit with probabilities, for the cost of the
    /// calibration alone. Returns each pair's seconds.
    pub fn calibrate(&mut self, x: &[f64], y: &[usize], params: &SvcParams, duals: &Duals) -> Vec<f64> {
        let k = self.n_classes;
        let by_class = rows_by_class(y, k);
        let pair_list = pairs_of(k);
        let sizes = pair_sizes(&pair_list, &by_class);
        let cache_bytes = pair_cache_bytes(params, &sizes);
        let (gamma, class_c, tied) = (self.gamma, &self.class_c, self.tied());
        let done: Vec<((f64, f64), f64)> = on_pair_workers(&sizes, cache_bytes, |p, arena| {
            let (a, b) = pair_list[p];
            let started = std::time::Instant::now();
            let pp = PairProblem::new(y, &by_class, class_c, a, b);
            let mut rows = KernelRows::of_rows(x, &tied, &pp.idx, gamma, std::mem::take(arena));
            let ab = platt(&mut rows, &pp.ys, &pp.cs, &duals.0[p].coef, &duals.0[p].grad, params, p);
            *arena = rows.into_arena();
            (ab, started.elapsed().as_secs_f64())
        });
        let mut seconds = Vec::with_capacity(done.len());
        for (pm, (ab, s)) in self.pairs.iter_mut().zip(done) {
            pm.platt = Some(ab);
            seconds.push(s);
        }
        seconds
    }

    /// The class [`SvmModel::predict`] gives each training row (`x`, `y`:
    /// the rows the fit of `duals` was on), mostly read from the fit: each
    /// pair's solution holds the decision values of its own rows. A row
    /// whose class wins all its pairs, each by more than the sums' rounding
    /// could move, is predicted as its class (no other class can get as many
    /// votes); only the others are predicted.
    pub fn training_classes(&self, x: &[f64], d: usize, y: &[usize], duals: &Duals) -> Vec<usize> {
        let k = self.n_classes;
        let by_class = rows_by_class(y, k);
        let mut unsure = vec![false; y.len()];
        for (pm, sol) in self.pairs.iter().zip(&duals.0) {
            let (a, b) = (pm.a as usize, pm.b as usize);
            // Training and prediction take the same kernel values to the bit;
            // the sums differ only in the order they are added in.
            let margin = 1e-9 * (1.0 + sol.coef.iter().map(|c| c.abs()).sum::<f64>());
            for (t, &i) in by_class[a].iter().chain(&by_class[b]).enumerate() {
                let yt = if t < by_class[a].len() { 1.0 } else { -1.0 };
                let f = yt * (sol.grad[t] + 1.0) - pm.rho;
                let won = (f > 0.0) == (yt > 0.0);
                unsure[i] |= !won || f.abs() <= margin;
            }
        }
        let mut classes = y.to_vec();
        let rows: Vec<usize> = (0..y.len()).filter(|&i| unsure[i]).collect();
        let xs: Vec<f64> = rows.iter().flat_map(|&i| x[i * d..(i + 1) * d].iter().copied()).collect();
        for (&i, c) in rows.iter().zip(self.predict(&xs, false).class) {
            classes[i] = c;
        }
        classes
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

/// The training rows of each class `0..k`, ascending.
fn rows_by_class(y: &[usize], k: usize) -> Vec<Vec<usize>> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &c) in y.iter().enumerate() {
        by_class[c].push(i);
    }
    by_class
}

/// Rows of each pair's problem.
fn pair_sizes(pairs: &[(usize, usize)], by_class: &[Vec<usize>]) -> Vec<usize> {
    pairs.iter().map(|&(a, b)| by_class[a].len() + by_class[b].len()).collect()
}

/// Each pair worker's kernel cache: its share of the budget, and no more than
/// [`CACHED_WORKING_SETS`] working sets of rows of the largest pair. A row
/// cached costs its first touch of fresh memory, about what computing it
/// costs on the machines measured: rows beyond a few working sets are seldom
/// asked for again, and were found to cost more than they saved.
fn pair_cache_bytes(params: &SvcParams, sizes: &[usize]) -> usize {
    let share = params.cache_mb * (1 << 20) / pair_workers(sizes.len());
    let largest = sizes.iter().copied().max().unwrap_or(0);
    share.min(CACHED_WORKING_SETS * working_set::MAX_WORKING_SET * largest * std::mem::size_of::<f32>())
}

/// Working sets of rows a pair worker's cache holds at most.
const CACHED_WORKING_SETS: usize = 2;

/// Pairs trained at once: one per thread of the pool.
fn pair_workers(pairs: usize) -> usize {
    rayon::current_num_threads().clamp(1, pairs.max(1))
}

/// Runs `task` for every pair (of the given sizes), one pair at a time on
/// each of [`pair_workers`] threads, the largest first so that the last to
/// finish are small. A worker keeps one kernel arena of `arena_bytes` for
/// all its pairs: its memory is touched once per fit, not once per pair.
/// The workers are the pool's own threads (one broadcast task each, taking
/// pairs from a queue): a worker waiting on its pair's parallel work helps
/// with the other pairs' meanwhile, and never starts another pair (pairs
/// are not the pool's jobs, so they cannot be stolen; a fit started
/// meanwhile from another thread, as tests do, may run inside a waiting
/// worker, and both finish). Workers of their own slept on every parallel
/// step while the pool's threads woke up, and on the reference machine (a
/// virtual one) that left a tenth of the cores idle (bench/RESULTS.md,
/// "sixth session"). Results come back in pair order, the same whichever
/// thread ran them.
fn on_pair_workers<T: Send>(sizes: &[usize], arena_bytes: usize, task: impl Fn(usize, &mut RowArena) -> T + Sync) -> Vec<T> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&p| (std::cmp::Reverse(sizes[p]), p));
    let queue = std::sync::Mutex::new(order.into_iter());
    let results: Vec<std::sync::Mutex<Option<T>>> = sizes.iter().map(|_| std::sync::Mutex::new(None)).collect();
    // One worker: pairs from the queue until it is empty. Its arena is made
    // on its first pair, so a thread left without one (more threads than
    // pairs) touches no memory.
    let work = || {
        let mut arena: Option<RowArena> = None;
        loop {
            let next = queue.lock().expect("pair queue").next();
            let Some(p) = next else { break };
            let out = task(p, arena.get_or_insert_with(|| RowArena::new(arena_bytes)));
            *results[p].lock().expect("pair result") = Some(out);
        }
    };
    if rayon::current_thread_index().is_some() {
        // Called from a parallel loop of fits (tuning's SMOTE cells): that loop
        // is the concurrency, and a broadcast from here would wait on threads
        // busy with it. This thread is the one worker.
        work();
    } else {
        rayon::broadcast(|_| work());
    }
    results.into_iter().map(|r| r.into_inner().expect("pair result").expect("every pair ran")).collect()
}

/// The binary problem of classes `a` (+1) and `b` (-1): its rows (indices into `x`), labels and C.
struct PairProblem {
    idx: Vec<usize>,
    ys: Vec<i8>,
    cs: Vec<f64>,
}

impl PairProblem {
    fn new(y: &[usize], by_class: &[Vec<usize>], class_c: &[f64], a: usize, b: usize) -> PairProblem {
        let idx: Vec<usize> = by_class[a].iter().chain(&by_class[b]).copied().collect();
        let ys: Vec<i8> = idx.iter().map(|&i| if y[i] == a { 1 } else { -1 }).collect();
        let cs: Vec<f64> = ys.iter().map(|&v| if v > 0 { class_c[a] } else { class_c[b] }).collect();
        PairProblem { idx, ys, cs }
    }
}

/// Pair `p`'s Platt sigmoid, from cross-validated decision values (libsvm's
/// five folds, seeded by the pair). `coef` is the pair's solution (`y_t
/// alpha_t` per row) on `rows`' problem (labels `ys`, bounds `cs`), `grad`
/// its gradient.
///
/// Each fold is the pair's own problem with the fold's rows held out by a
/// bound of 0, so it shares the pair's kernel rows, and it starts from the
/// pair's solution without the held-out rows: the fold's optimum is near, and
/// the held-out rows' decision values come with its gradient. libsvm fits
/// every fold from zero on rows copied out; here the five folds together
/// cost about 1.8 times the pair's own fit (bench/RESULTS.md, "Speed against
/// scikit-learn-intelex, second session").
#[allow(clippy::too_many_arguments)]
fn platt(rows: &mut KernelRows, ys: &[i8], cs: &[f64], coef: &[f64], grad: &[f64], params: &SvcParams, p: usize) -> (f64, f64) {
    let seed = params.seed ^ (p as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let dec = cv_decisions(rows, ys, cs, coef, grad, params.eps, seed);
    let pos: Vec<bool> = ys.iter().map(|&v| v > 0).collect();
    sigmoid_train(&dec, &pos)
}

/// Decision values of every row from a model that did not see it (k-fold,
/// seeded): libsvm's `svm_binary_svc_probability`, each fold solved from the
/// pair's solution (see [`platt`]).
#[allow(clippy::too_many_arguments)]
fn cv_decisions(rows: &mut KernelRows, ys: &[i8], cs: &[f64], coef: &[f64], grad: &[f64], eps: f64, seed: u64) -> Vec<f64> {
    let l = ys.len();
    let y: Vec<f64> = ys.iter().map(|&v| v as f64).collect();
    let alpha: Vec<f64> = coef.iter().zip(&y).map(|(c, y)| c * y).collect();
    let all: Vec<usize> = (0..l).collect();
    // Rows that could still move at the pair's optimum: each fold starts with
    // these active (and those it changes), the rest set aside and checked at
    // its end, so that its kernel rows are short from the first.
    let near = working_set::near_margin(ys, cs, &alpha, grad);
    let mut perm: Vec<usize> = (0..l).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut dec = vec![0.0; l];
    for fold in 0..PLATT_FOLDS {
        let (begin, end) = (fold * l / PLATT_FOLDS, (fold + 1) * l / PLATT_FOLDS);
        let held = &perm[begin..end];
        let n_pos = perm[..begin].iter().chain(&perm[end..]).filter(|&&i| ys[i] > 0).count();
        let n_neg = l - (end - begin) - n_pos;
        if n_pos == 0 || n_neg == 0 {
            let v = if n_pos > 0 { 1.0 } else if n_neg > 0 { -1.0 } else { 0.0 };
            held.iter().for_each(|&i| dec[i] = v);
            continue;
        }
        let mut c = cs.to_vec();
        let mut a = alpha.clone();
        for &h in held {
            c[h] = 0.0;
            a[h] = 0.0;
        }
        rebalance(&mut a, &y);
        let changed: Vec<usize> = (0..l).filter(|&t| a[t] != alpha[t]).collect();
        let w: Vec<f64> = changed.iter().map(|&t| y[t] * (a[t] - alpha[t])).collect();
        let fold_grad = rows.weighted_sums(&changed, &w, &all).iter().zip(&y).zip(grad).map(|((h, yt), g)| g + yt * h).collect();
        let mut active: Vec<usize> = near.iter().chain(&changed).copied().filter(|&t| c[t] > 0.0).collect();
        active.sort_unstable();
        active.dedup();
        // These fits only feed a two-parameter sigmoid: a 10x looser tolerance
        // moved probabilities by at most 6e-4 (mean 1e-5) and saved ~17% of training.
        let opts = Options { eps: eps * 10.0, ..Options::default() };
        let sol = working_set::solve_from(rows, ys, &c, Some(Start { alpha: a, grad: fold_grad, active: Some(active) }), &opts);
        for &h in held {
            dec[h] = y[h] * (sol.grad[h] + 1.0) - sol.rho;
        }
    }
    dec
}

/// Restores `y'alpha = 0` after some alphas were set to zero: the class that
/// now weighs more gives up the difference, largest alphas first (then the
/// lowest row), so that few alphas change.
fn rebalance(alpha: &mut [f64], y: &[f64]) {
    let excess: f64 = alpha.iter().zip(y).map(|(a, y)| a * y).sum();
    if excess == 0.0 {
        return;
    }
    let side = excess.signum();
    let mut rest = excess.abs();
    let mut order: Vec<usize> = (0..alpha.len()).filter(|&t| y[t] == side && alpha[t] > 0.0).collect();
    order.sort_by(|&i, &j| alpha[j].total_cmp(&alpha[i]).then(i.cmp(&j)));
    for t in order {
        if rest <= 0.0 {
            break;
        }
        let cut = alpha[t].min(rest);
        alpha[t] -= cut;
        rest -= cut;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svm::Gamma;

    /// `n` rows of `d` features in `k` classes (row i in class i mod k):
    /// noise of width `spread`, class c shifted by `shift` along feature c.
    fn overlapping_classes(n: usize, d: usize, k: usize, seed: u64, spread: f64, shift: f64) -> (Vec<f64>, Vec<usize>) {
        let mut s = seed;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..n {
            let c = i % k;
            for j in 0..d {
                x.push(spread * rnd() + if j == c { shift } else { 0.0 });
            }
            y.push(c);
        }
        (x, y)
    }

    /// `x` (`d` features) with copies of features 0, 1, 1 and 2 after them: features the kernel ties.
    fn with_copies(x: &[f64], d: usize) -> (Vec<f64>, usize) {
        (x.chunks_exact(d).flat_map(|r| r.iter().copied().chain([r[0], r[1], r[1], r[2]])).collect(), d + 4)
    }

    #[test]
    fn training_classes_are_the_predicted_classes() {
        let (n, d, k) = (900, 4, 4);
        let (x, y) = overlapping_classes(n, d, k, 5, 2.0, 0.5);
        let (tied_x, tied_d) = with_copies(&x, d);
        for (x, d, ties) in [(&x, d, 0), (&tied_x, tied_d, 3)] {
            for c in [1.0, 64.0] {
                let params = SvcParams { c, gamma: Gamma::Value(0.8), probability: false, ..SvcParams::default() };
                let fit = SvmModel::fit_timed(x, d, &y, k, &params).unwrap();
                assert_eq!(fit.svm.tied_features.len(), ties);
                let want = fit.svm.predict(x, false).class;
                assert!(want.iter().zip(&y).any(|(p, t)| p != t), "some training rows are misclassified");
                assert_eq!(fit.svm.training_classes(x, d, &y, &fit.duals), want);
            }
        }
    }

    #[test]
    fn ties_that_do_not_hold_in_the_support_vectors_are_refused() {
        let (n, d, k) = (200, 3, 2);
        let (x, y) = overlapping_classes(n, d, k, 7, 1.0, 0.8);
        let (x, d) = with_copies(&x, d);
        let params = SvcParams { c: 2.0, gamma: Gamma::Value(0.5), probability: false, ..SvcParams::default() };
        let mut m = SvmModel::fit(&x, d, &y, k, &params).unwrap();
        assert_eq!(m.tied_features, vec![vec![0, 3], vec![1, 4], vec![2, 6]]);
        assert!(m.check_ties().is_ok());
        m.tied_features = vec![vec![0, 1]];
        assert!(m.check_ties().unwrap_err().contains("differ"));
        m.tied_features = vec![vec![0, 3, 5]];
        assert!(m.check_ties().unwrap_err().contains("malformed"));
    }

    #[test]
    fn calibrating_a_fit_gives_the_fit_with_probabilities() {
        let (n, d, k) = (300, 3, 3);
        let (x, y) = overlapping_classes(n, d, k, 11, 1.0, 0.6);
        let (x, d) = with_copies(&x, d);
        let with = SvcParams { c: 4.0, gamma: Gamma::Value(0.5), seed: 3, ..SvcParams::default() };
        let without = SvcParams { probability: false, ..with.clone() };
        let want = SvmModel::fit(&x, d, &y, k, &with).unwrap();
        let fit = SvmModel::fit_timed(&x, d, &y, k, &without).unwrap();
        let mut got = fit.svm;
        assert!(!got.has_probability());
        assert_eq!(got.calibrate(&x, &y, &with, &fit.duals).len(), 3);
        assert_eq!(got, want);
    }
}
