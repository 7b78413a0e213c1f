//! Binary C-SVC dual solver with large working sets (ThunderSVM's scheme,
//! as oneDAL's `thunder` method): each outer step picks a few hundred of the
//! most violating variables, computes their kernel rows together
//! ([`KernelRows`]), solves the subproblem they form with SMO on their
//! small kernel block, then brings the whole gradient up to date in one pass.
//!
//! libsvm's SMO makes one pass over every row per step of two variables;
//! here one pass serves hundreds of steps, and the passes and kernel rows run
//! on every core. It stops on libsvm's criterion, the largest KKT violation
//! over all variables below `eps`, checked on the exact gradient, so the
//! solution is libsvm's within the tolerance.
//!
//! A variable whose `C` is 0 never moves: that is how a calibration fold
//! holds rows out while sharing the pair's kernel rows
//! (see [`super::multiclass`]); its gradient still gives its decision value.

use rayon::prelude::*;

use super::kernel_rows::KernelRows;
#[cfg(test)]
use super::kernel_rows::RowArena;
use super::smo::{pair_step, rho_from, BinarySolution, Options};

/// The largest working set. oneDAL takes 2048; on these flows 1024 measured
/// faster (bench/RESULTS.md, "A working-set solver").
pub const MAX_WORKING_SET: usize = 1024;
/// SMO steps on one working set, per variable in it (oneDAL's bound).
const INNER_STEPS_PER_VARIABLE: usize = 100;
/// Gradient entries per parallel task.
const GRADIENT_CHUNK: usize = 4096;
/// Shrinking pays for shortening every cached row only when it sets aside
/// at least this share of the active variables.
const SHRINK_SHARE: f64 = 0.05;

/// The working-set size for `l` rows within a cache of `capacity` rows: a
/// power of two, as oneDAL's.
pub fn working_set_size(l: usize, capacity: usize) -> usize {
    let cap = l.min(MAX_WORKING_SET).min(capacity).max(2);
    1 << (usize::BITS - 1 - cap.leading_zeros())
}

/// Where a solve starts: alphas in the box with `y'alpha = 0`, and their
/// exact gradient `G = Q alpha - e` (a calibration fold starts from the
/// pair's solution this way, paying only for the alphas it changed), and
/// optionally the rows to start active (ascending): the others are set
/// aside from the start, checked at the end as shrunk ones are.
pub struct Start {
    pub alpha: Vec<f64>,
    pub grad: Vec<f64>,
    pub active: Option<Vec<usize>>,
}

/// The rows of a solution (labels `y`, bounds `c`, `alpha` and its gradient)
/// that libsvm's shrinking rule keeps at it: those that could still join a
/// violating pair. A problem near this one (a calibration fold) starts with
/// these active.
pub fn near_margin(y: &[i8], c: &[f64], alpha: &[f64], grad: &[f64]) -> Vec<usize> {
    let s = State { y: y.iter().map(|&v| v as f64).collect(), c: c.to_vec(), alpha: alpha.to_vec(), grad: grad.to_vec(), active: Vec::new(), aside: Vec::new() };
    let all: Vec<usize> = (0..y.len()).filter(|&t| c[t] > 0.0).collect();
    let (up, low) = s.extremes(&all);
    all.into_iter().filter(|&t| !s.stays(t, up, low)).collect()
}

/// Solves the problem of labels `y` (+1/-1) and bounds `c` (per row) over
/// the rows of `kernel`, from zero or from `opts.warm_start`. The rows keep
/// their cache afterwards, for the next problem on the same rows.
pub fn solve(kernel: &mut KernelRows, y: &[i8], c: &[f64], opts: &Options) -> BinarySolution {
    let l = y.len();
    let start = opts.warm_start.map(|a0| {
        let alpha: Vec<f64> = a0.iter().zip(c).map(|(&a, &ct)| a.clamp(0.0, ct)).collect();
        let sv: Vec<usize> = (0..l).filter(|&t| alpha[t] > 0.0).collect();
        let w: Vec<f64> = sv.iter().map(|&t| y[t] as f64 * alpha[t]).collect();
        let all: Vec<usize> = (0..l).collect();
        let sums = kernel.weighted_sums(&sv, &w, &all);
        let grad = sums.iter().zip(y).map(|(h, &yt)| yt as f64 * h - 1.0).collect();
        Start { alpha, grad, active: None }
    });
    solve_from(kernel, y, c, start, opts)
}

/// [`solve`] from a given start (`opts.warm_start` is not read).
pub fn solve_from(kernel: &mut KernelRows, y: &[i8], c: &[f64], start: Option<Start>, opts: &Options) -> BinarySolution {
    let l = y.len();
    assert_eq!(kernel.len(), l, "kernel rows and labels");
    let Start { alpha, grad, active } = start.unwrap_or_else(|| Start { alpha: vec![0.0; l], grad: vec![-1.0; l], active: None });
    let mut s = State { y: y.iter().map(|&v| v as f64).collect(), c: c.to_vec(), alpha, grad, active: Vec::new(), aside: Vec::new() };
    // Rows that can never move (C = 0: held out of a fold), and any the start
    // leaves out, are set aside from the start.
    let mut first: Vec<usize> = active.unwrap_or_else(|| (0..l).collect());
    first.retain(|&t| s.c[t] > 0.0);
    if first.len() < l {
        let mut is_first = vec![false; l];
        first.iter().for_each(|&t| is_first[t] = true);
        let aside: Vec<usize> = (0..l).filter(|&t| !is_first[t]).collect();
        s.aside.push(Aside { alpha: s.alpha.clone(), rows: aside });
    }
    if kernel.columns() != first.as_slice() {
        kernel.set_columns(first.clone());
    }
    s.active = first;
    let q = working_set_size(l, kernel.capacity());
    let max_iter = opts.max_iter.unwrap_or(10_000_000usize.max(100 * l));
    let mut ws: Vec<usize> = Vec::new();
    let mut iterations = 0usize;
    let mut converged = false;
    let mut inner = Inner::default();
    loop {
        let (up, low) = s.extremes(&s.active);
        if up + low < opts.eps {
            if s.aside.is_empty() {
                converged = true;
                break;
            }
            // Optimal on the active set: check every variable.
            s.reconstruct(kernel);
            let all: Vec<usize> = (0..l).filter(|&t| s.c[t] > 0.0).collect();
            let (up, low) = s.extremes(&all);
            if up + low < opts.eps {
                converged = true;
                break;
            }
            s.reactivate(kernel, up, low);
            ws.clear();
            continue;
        }
        if iterations >= max_iter {
            break;
        }
        s.shrink(kernel, up, low);
        s.select(&mut ws, q);
        if ws.len() < 2 {
            break;
        }
        let slots = kernel.fetch(&ws);
        let budget = (INNER_STEPS_PER_VARIABLE * ws.len()).min(max_iter - iterations);
        iterations += inner.solve(&s, &ws, kernel, opts.eps, budget);
        if !s.apply(&ws, &slots, kernel, &inner) {
            // The set holds the most violating pair, so a step always moves
            // something; if rounding moved nothing, nothing will: stop here.
            break;
        }
    }
    if !s.aside.is_empty() {
        s.reconstruct(kernel);
    }
    let rho = rho_from((0..l).map(|t| (s.y[t], s.grad[t], s.alpha[t], s.c[t])));
    let objective = s.alpha.iter().zip(&s.grad).map(|(a, g)| a * (g - 1.0)).sum::<f64>() / 2.0;
    let coef = s.alpha.iter().zip(&s.y).map(|(a, y)| a * y).collect();
    BinarySolution { coef, rho, objective, iterations, converged, grad: s.grad }
}

/// Can move towards its label `y` (libsvm's I_up).
fn in_up(y: f64, alpha: f64, c: f64) -> bool {
    if y > 0.0 { alpha < c } else { alpha > 0.0 }
}

/// Can move against its label `y` (libsvm's I_low).
fn in_low(y: f64, alpha: f64, c: f64) -> bool {
    if y > 0.0 { alpha > 0.0 } else { alpha < c }
}

/// Variables set aside together, and the alphas their gradients are exact for.
struct Aside {
    alpha: Vec<f64>,
    rows: Vec<usize>,
}

/// The whole problem: `G = Q alpha - e`, exact on the active variables (the
/// kernel's columns). The others sit at a bound, set aside; their gradients
/// are brought up to date only to check the end.
struct State {
    y: Vec<f64>,
    c: Vec<f64>,
    alpha: Vec<f64>,
    grad: Vec<f64>,
    /// Rows not set aside, ascending: the kernel's columns.
    active: Vec<usize>,
    aside: Vec<Aside>,
}

impl State {
    fn up(&self, t: usize) -> bool {
        in_up(self.y[t], self.alpha[t], self.c[t])
    }

    fn low(&self, t: usize) -> bool {
        in_low(self.y[t], self.alpha[t], self.c[t])
    }

    /// `(max_{I_up} -y G, max_{I_low} y G)` over `rows`: their sum is
    /// libsvm's stopping measure.
    fn extremes(&self, rows: &[usize]) -> (f64, f64) {
        let (mut up, mut low) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for &t in rows {
            let yg = self.y[t] * self.grad[t];
            if self.up(t) {
                up = up.max(-yg);
            }
            if self.low(t) {
                low = low.max(yg);
            }
        }
        (up, low)
    }

    /// libsvm's shrinking rule: `t` is at a bound and no variable can pair
    /// with it in a violating pair, given the extremes `up` and `low`.
    fn stays(&self, t: usize, up: f64, low: f64) -> bool {
        let (g, pos, a, c) = (self.grad[t], self.y[t] > 0.0, self.alpha[t], self.c[t]);
        if a >= c {
            -g > if pos { up } else { low }
        } else if a <= 0.0 {
            g > if pos { low } else { up }
        } else {
            false
        }
    }

    /// Sets aside the active variables that [`Self::stays`] says will stay
    /// at their bound, when they are enough to be worth narrowing the kernel.
    fn shrink(&mut self, kernel: &mut KernelRows, up: f64, low: f64) {
        let keep: Vec<bool> = self.active.iter().map(|&t| !self.stays(t, up, low)).collect();
        let n_out = keep.iter().filter(|&&k| !k).count();
        if n_out == 0 || (n_out as f64) < SHRINK_SHARE * self.active.len() as f64 {
            return;
        }
        let rows = self.active.iter().zip(&keep).filter(|(_, &k)| !k).map(|(&t, _)| t).collect();
        self.aside.push(Aside { alpha: self.alpha.clone(), rows });
        self.active = self.active.iter().zip(&keep).filter(|(_, &k)| k).map(|(&t, _)| t).collect();
        kernel.narrow(&keep);
    }

    /// Brings every set-aside gradient up to date: each group from the
    /// alphas that changed since it was set aside. They stay aside, now as
    /// one group exact for the current alphas.
    fn reconstruct(&mut self, kernel: &KernelRows) {
        let l = self.y.len();
        let mut rows_now = Vec::new();
        for group in std::mem::take(&mut self.aside) {
            let changed: Vec<usize> = (0..l).filter(|&i| self.alpha[i] != group.alpha[i]).collect();
            let w: Vec<f64> = changed.iter().map(|&i| self.y[i] * (self.alpha[i] - group.alpha[i])).collect();
            let sums = kernel.weighted_sums(&changed, &w, &group.rows);
            for (&t, h) in group.rows.iter().zip(sums) {
                self.grad[t] += self.y[t] * h;
            }
            rows_now.extend(group.rows);
        }
        rows_now.sort_unstable();
        self.aside.push(Aside { alpha: self.alpha.clone(), rows: rows_now });
    }

    /// After [`Self::reconstruct`]: the set-aside variables that can now be
    /// part of a violating pair (given the extremes over every variable)
    /// become active again; the kernel's rows are recomputed on the new columns.
    fn reactivate(&mut self, kernel: &mut KernelRows, up: f64, low: f64) {
        let group = self.aside.pop().expect("one group after reconstruct");
        let (back, still): (Vec<usize>, Vec<usize>) =
            group.rows.into_iter().partition(|&t| self.c[t] > 0.0 && !self.stays(t, up, low));
        if !still.is_empty() {
            self.aside.push(Aside { alpha: group.alpha, rows: still });
        }
        self.active.extend(back);
        self.active.sort_unstable();
        kernel.set_columns(self.active.clone());
    }

    /// The next working set in `ws` (at most `q` rows): the most violating
    /// pair first (so that the subproblem can always move), the newer half of
    /// the last set (its rows are cached and it was still moving), then the
    /// most violating variables, taken in turn from the top of I_up (largest
    /// `-y G`) and of I_low (largest `y G`). The newly taken end the set, so
    /// that the next one keeps them.
    fn select(&self, ws: &mut Vec<usize>, q: usize) {
        let top = |score: &dyn Fn(usize) -> Option<f64>| -> Vec<usize> {
            let mut v: Vec<(f64, usize)> = self.active.iter().filter_map(|&t| score(t).map(|s| (s, t))).collect();
            // Largest score first, then lowest index: a total order, so the choice is deterministic.
            let order = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if v.len() > q {
                v.select_nth_unstable_by(q, order);
                v.truncate(q);
            }
            v.sort_unstable_by(order);
            v.into_iter().map(|(_, t)| t).collect()
        };
        let ups = top(&|t| self.up(t).then(|| -self.y[t] * self.grad[t]));
        let lows = top(&|t| self.low(t).then(|| self.y[t] * self.grad[t]));
        let mut chosen: std::collections::HashSet<usize> = std::collections::HashSet::new();
        let mut taken: Vec<usize> = Vec::with_capacity(q);
        for t in ups.first().into_iter().chain(lows.first()) {
            if chosen.insert(*t) {
                taken.push(*t);
            }
        }
        let kept: Vec<usize> = if ws.len() == q {
            let room = (q / 2).min(q - taken.len());
            ws[q / 2..].iter().copied().filter(|t| self.active.binary_search(t).is_ok() && chosen.insert(*t)).take(room).collect()
        } else {
            Vec::new()
        };
        let (mut u, mut w) = (ups.into_iter(), lows.into_iter());
        let mut next = |it: &mut std::vec::IntoIter<usize>| it.by_ref().find(|t| chosen.insert(*t));
        while kept.len() + taken.len() < q {
            let a = next(&mut u);
            if let Some(t) = a {
                taken.push(t);
            }
            if kept.len() + taken.len() == q {
                break;
            }
            let b = next(&mut w);
            if let Some(t) = b {
                taken.push(t);
            }
            if a.is_none() && b.is_none() {
                break;
            }
        }
        ws.clear();
        ws.extend(kept);
        ws.extend(taken);
    }

    /// Takes the working set's new alphas and brings the active gradients up
    /// to date; false when no alpha changed.
    fn apply(&mut self, ws: &[usize], slots: &[usize], kernel: &KernelRows, inner: &Inner) -> bool {
        let (mut rows, mut delta) = (Vec::new(), Vec::new());
        for (p, &t) in ws.iter().enumerate() {
            let change = inner.alpha[p] - self.alpha[t];
            if change != 0.0 {
                rows.push(slots[p]);
                delta.push(self.y[t] * change);
                self.alpha[t] = inner.alpha[p];
            }
        }
        if rows.is_empty() {
            return false;
        }
        // h_p = sum_i delta_i K(i, active_p), in parallel over p, each summed in the same order.
        let mut h = vec![0f64; self.active.len()];
        h.par_chunks_mut(GRADIENT_CHUNK).enumerate().for_each(|(n, hc)| {
            let span = n * GRADIENT_CHUNK..n * GRADIENT_CHUNK + hc.len();
            let (four, rest) = rows.split_at(rows.len() / 4 * 4);
            for (s, dl) in four.chunks_exact(4).zip(delta.chunks_exact(4)) {
                let k = [0, 1, 2, 3].map(|r| &kernel.slot(s[r])[span.clone()]);
                accumulate_four(hc, k, [dl[0], dl[1], dl[2], dl[3]]);
            }
            for (&s, &dl) in rest.iter().zip(&delta[four.len()..]) {
                accumulate(hc, &kernel.slot(s)[span.clone()], dl);
            }
        });
        for (&t, ht) in self.active.iter().zip(h) {
            self.grad[t] += self.y[t] * ht;
        }
        true
    }
}

/// Lanes of the fused passes: four f64 to an AVX2 vector.
const LANES: usize = 4;
/// Rows per block of the fused passes: each block's maximum is kept, so
/// that finding where the maximum is scans one block, not every row.
const BLOCK: usize = 64;

/// The blocks of `n` rows: `(block, from, whole, to)`, rows `from..whole`
/// being whole groups of [`LANES`] and `whole..to` the short rest.
fn blocks(n: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..n.div_ceil(BLOCK)).map(move |b| {
        let (from, to) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
        (b, from, from + (to - from) / LANES * LANES, to)
    })
}

/// Whether the passes' AVX2 paths can run here: asked once per pass, not per block.
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// One SMO step, as [`step_and_scores`] reads it: the labels, the kernel
/// rows of the two variables that moved and how far (`y dA`), and the
/// masking penalties of I_up and I_low.
#[derive(Clone, Copy)]
pub struct Step<'a> {
    pub y: &'a [f64],
    pub ki: &'a [f32],
    pub kj: &'a [f32],
    pub di: f64,
    pub dj: f64,
    pub up: &'a [f64],
    pub low: &'a [f64],
}

/// After an SMO step: `G_t += y_t (K_ti dA_i + K_tj dA_j)`; `scores` gets
/// `-y G` masked to I_up (`up` and `low` are the masking penalties) and
/// `block_max` each block's largest score; returns `(max_{I_up} -y G,
/// max_{I_low} y G)` of the new gradient. One pass over each block of
/// [`BLOCK`] rows; row `t` is in lane `t % 4` of the maxima, a short last
/// group in lane 0, so that every path finds the same maxima.
pub fn step_and_scores(grad: &mut [f64], step: Step, scores: &mut [f64], block_max: &mut [f64]) -> (f64, f64) {
    let Step { y, ki, kj, di, dj, up, low } = step;
    let n = grad.len();
    assert!(
        y.len() >= n && ki.len() >= n && kj.len() >= n && up.len() >= n && low.len() >= n && scores.len() >= n && block_max.len() >= n.div_ceil(BLOCK),
        "one value per row"
    );
    let avx2 = has_avx2();
    let mut high = [f64::NEG_INFINITY; LANES];
    for (b, from, whole, to) in blocks(n) {
        let mut best = [f64::NEG_INFINITY; LANES];
        let mut done = from;
        if avx2 {
            // SAFETY: AVX2 is there (has_avx2); rows from..whole are in every slice (asserted above).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                step_lanes_avx2(grad, step, scores, from, whole, &mut best, &mut high)
            };
            done = whole;
        }
        for t in done..to {
            let l = if t < whole { t % LANES } else { 0 };
            grad[t] += y[t] * (ki[t] as f64 * di + kj[t] as f64 * dj);
            let score = up[t] + -1.0 * y[t] * grad[t];
            scores[t] = score;
            best[l] = if score > best[l] { score } else { best[l] };
            let v = low[t] + y[t] * grad[t];
            high[l] = if v > high[l] { v } else { high[l] };
        }
        block_max[b] = fold_max(&best);
    }
    (fold_max(&block_max[..n.div_ceil(BLOCK)]), fold_max(&high))
}

/// [`step_and_scores`] on rows `from..to` (whole groups of four) in AVX2
/// registers: the same operations in the same order, four rows at a time
/// (no fused multiply-adds: the portable path has none).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn step_lanes_avx2(grad: &mut [f64], step: Step, scores: &mut [f64], from: usize, to: usize, best: &mut [f64; LANES], high: &mut [f64; LANES]) {
    use std::arch::x86_64::*;
    let Step { y, ki, kj, di, dj, up, low } = step;
    let (vdi, vdj, minus) = (_mm256_set1_pd(di), _mm256_set1_pd(dj), _mm256_set1_pd(-1.0));
    let (mut vbest, mut vhigh) = (_mm256_loadu_pd(best.as_ptr()), _mm256_loadu_pd(high.as_ptr()));
    let mut t = from;
    while t < to {
        // SAFETY (caller): t + 4 <= to <= every slice's length.
        let yv = _mm256_loadu_pd(y.as_ptr().add(t));
        let a = _mm256_cvtps_pd(_mm_loadu_ps(ki.as_ptr().add(t)));
        let c = _mm256_cvtps_pd(_mm_loadu_ps(kj.as_ptr().add(t)));
        let change = _mm256_mul_pd(yv, _mm256_add_pd(_mm256_mul_pd(a, vdi), _mm256_mul_pd(c, vdj)));
        let g = _mm256_add_pd(_mm256_loadu_pd(grad.as_ptr().add(t)), change);
        _mm256_storeu_pd(grad.as_mut_ptr().add(t), g);
        let score = _mm256_add_pd(_mm256_loadu_pd(up.as_ptr().add(t)), _mm256_mul_pd(_mm256_mul_pd(minus, yv), g));
        _mm256_storeu_pd(scores.as_mut_ptr().add(t), score);
        // max_pd(a, b) is `a > b ? a : b`, as the portable comparison.
        vbest = _mm256_max_pd(score, vbest);
        let v = _mm256_add_pd(_mm256_loadu_pd(low.as_ptr().add(t)), _mm256_mul_pd(yv, g));
        vhigh = _mm256_max_pd(v, vhigh);
        t += LANES;
    }
    _mm256_storeu_pd(best.as_mut_ptr(), vbest);
    _mm256_storeu_pd(high.as_mut_ptr(), vhigh);
}

/// libsvm's second-order gains of pairing `i` (kernel row `ki`, `gmax`) with
/// each row: `(gmax + y_t G_t)^2 / (2 - 2 K_it)` over I_low where the base is
/// positive, -inf elsewhere, into `gains`, and each block's largest into
/// `block_max`; returns the largest. One pass per block, lanes as in
/// [`step_and_scores`].
pub fn second_order_gains(y: &[f64], grad: &[f64], low: &[f64], ki: &[f32], gmax: f64, gains: &mut [f64], block_max: &mut [f64]) -> f64 {
    let n = grad.len();
    assert!(y.len() >= n && low.len() >= n && ki.len() >= n && gains.len() >= n && block_max.len() >= n.div_ceil(BLOCK), "one value per row");
    let avx2 = has_avx2();
    for (b, from, whole, to) in blocks(n) {
        let mut best = [f64::NEG_INFINITY; LANES];
        let mut done = from;
        if avx2 {
            // SAFETY: AVX2 is there (has_avx2); rows from..whole are in every slice (asserted above).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                gain_lanes_avx2(y, grad, low, ki, gmax, gains, from, whole, &mut best)
            };
            done = whole;
        }
        for t in done..to {
            let l = if t < whole { t % LANES } else { 0 };
            let base = gmax + y[t] * grad[t] + low[t];
            let quad = (2.0 - 2.0 * ki[t] as f64).max(1e-12);
            let v = if base > 0.0 { base * base / quad } else { f64::NEG_INFINITY };
            gains[t] = v;
            best[l] = if v > best[l] { v } else { best[l] };
        }
        block_max[b] = fold_max(&best);
    }
    fold_max(&block_max[..n.div_ceil(BLOCK)])
}

/// [`second_order_gains`] on rows `from..to` (whole groups of four) in AVX2
/// registers, the same operations in the same order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn gain_lanes_avx2(y: &[f64], grad: &[f64], low: &[f64], ki: &[f32], gmax: f64, gains: &mut [f64], from: usize, to: usize, best: &mut [f64; LANES]) {
    use std::arch::x86_64::*;
    let (vg, two, tiny, zero, none) =
        (_mm256_set1_pd(gmax), _mm256_set1_pd(2.0), _mm256_set1_pd(1e-12), _mm256_setzero_pd(), _mm256_set1_pd(f64::NEG_INFINITY));
    let mut vbest = _mm256_loadu_pd(best.as_ptr());
    let mut t = from;
    while t < to {
        // SAFETY (caller): t + 4 <= to <= every slice's length.
        let yg = _mm256_mul_pd(_mm256_loadu_pd(y.as_ptr().add(t)), _mm256_loadu_pd(grad.as_ptr().add(t)));
        let base = _mm256_add_pd(_mm256_add_pd(vg, yg), _mm256_loadu_pd(low.as_ptr().add(t)));
        let k = _mm256_cvtps_pd(_mm_loadu_ps(ki.as_ptr().add(t)));
        // max_pd(a, b) is `a > b ? a : b`: as `.max(1e-12)` for every quad that is not NaN.
        let quad = _mm256_max_pd(_mm256_sub_pd(two, _mm256_mul_pd(two, k)), tiny);
        let gain = _mm256_div_pd(_mm256_mul_pd(base, base), quad);
        let v = _mm256_blendv_pd(none, gain, _mm256_cmp_pd::<_CMP_GT_OQ>(base, zero));
        _mm256_storeu_pd(gains.as_mut_ptr().add(t), v);
        vbest = _mm256_max_pd(v, vbest);
        t += LANES;
    }
    _mm256_storeu_pd(best.as_mut_ptr(), vbest);
}

fn fold_max(v: &[f64]) -> f64 {
    v.iter().fold(f64::NEG_INFINITY, |a, &b| if b > a { b } else { a })
}

/// The last position of `m`, the maximum of `v` (libsvm's loops keep the
/// last of equal candidates): in the last block whose maximum it is.
fn last_position(v: &[f64], block_max: &[f64], m: f64) -> usize {
    let b = block_max.iter().rposition(|&x| x == m).expect("the maximum is in a block");
    let from = b * BLOCK;
    let to = (from + BLOCK).min(v.len());
    from + v[from..to].iter().rposition(|&x| x == m).expect("the maximum is in its block")
}

super::kernel::with_avx2! {
    /// [`accumulate`] of four rows in turn, each sum read and written once
    /// for the four: the same additions in the same order.
    pub fn accumulate_four(h: &mut [f64], k: [&[f32]; 4], d: [f64; 4]) {
        for ((((a, &v0), &v1), &v2), &v3) in h.iter_mut().zip(k[0]).zip(k[1]).zip(k[2]).zip(k[3]) {
            let mut s = *a;
            s += d[0] * v0 as f64;
            s += d[1] * v1 as f64;
            s += d[2] * v2 as f64;
            s += d[3] * v3 as f64;
            *a = s;
        }
    }
}

super::kernel::with_avx2! {
    /// `h += d * k`, kernel values widened to f64.
    pub fn accumulate(h: &mut [f64], k: &[f32], d: f64) {
        for (a, &v) in h.iter_mut().zip(k) {
            *a += d * v as f64;
        }
    }
}

/// The subproblem of one working set, solved by SMO with second-order
/// selection on its own kernel block (`n x n`, gathered from the rows).
#[derive(Default)]
struct Inner {
    alpha: Vec<f64>,
    y: Vec<f64>,
    c: Vec<f64>,
    grad: Vec<f64>,
    /// 0 for members of I_up (I_low), -inf for the others: added to a
    /// score, it masks without a branch.
    up: Vec<f64>,
    low: Vec<f64>,
    block: Vec<f32>,
    /// Scores, then gains, of the current step, and each block's largest.
    buf: Vec<f64>,
    block_max: Vec<f64>,
}

impl Inner {
    /// Runs at most `budget` steps; stops when the subproblem's violation is
    /// below a tenth of where it started (or `eps`), as oneDAL's. Returns the steps.
    fn solve(&mut self, s: &State, ws: &[usize], kernel: &KernelRows, eps: f64, budget: usize) -> usize {
        let n = ws.len();
        self.alpha = ws.iter().map(|&t| s.alpha[t]).collect();
        self.y = ws.iter().map(|&t| s.y[t]).collect();
        self.c = ws.iter().map(|&t| s.c[t]).collect();
        self.grad = ws.iter().map(|&t| s.grad[t]).collect();
        let penalty = |ok: bool| if ok { 0.0 } else { f64::NEG_INFINITY };
        self.up = ws.iter().map(|&t| penalty(s.up(t))).collect();
        self.low = ws.iter().map(|&t| penalty(s.low(t))).collect();
        self.block.resize(n * n, 0.0);
        // Computed, not gathered from the cached rows: q^2 values from rows
        // out of cache are a walk through memory that costs more than the
        // tile's arithmetic, and the tile gives the same bits.
        kernel.square_block(ws, &mut self.block);
        let mut local_eps = eps;
        let mut steps = 0;
        self.buf.resize(n, 0.0);
        self.block_max.resize(n.div_ceil(BLOCK), 0.0);
        let k0 = &self.block[..n];
        let (mut gmax, mut gmax2) =
            step_and_scores(&mut self.grad, Step { y: &self.y, ki: k0, kj: k0, di: 0.0, dj: 0.0, up: &self.up, low: &self.low }, &mut self.buf, &mut self.block_max);
        while steps < budget && gmax > f64::NEG_INFINITY {
            let i = last_position(&self.buf, &self.block_max, gmax);
            let diff = gmax + gmax2;
            if steps == 0 {
                local_eps = eps.max(0.1 * diff);
            }
            if !(diff >= local_eps) {
                break;
            }
            let ki = &self.block[i * n..(i + 1) * n];
            let best = second_order_gains(&self.y, &self.grad, &self.low, ki, gmax, &mut self.buf, &mut self.block_max);
            if best == f64::NEG_INFINITY {
                break;
            }
            let j = last_position(&self.buf, &self.block_max, best);
            let (ai, aj) = pair_step(
                self.y[i] == self.y[j],
                self.grad[i],
                self.grad[j],
                self.alpha[i],
                self.alpha[j],
                self.c[i],
                self.c[j],
                ki[j] as f64,
            );
            let di = self.y[i] * (ai - self.alpha[i]);
            let dj = self.y[j] * (aj - self.alpha[j]);
            self.alpha[i] = ai;
            self.alpha[j] = aj;
            for v in [i, j] {
                self.up[v] = penalty(in_up(self.y[v], self.alpha[v], self.c[v]));
                self.low[v] = penalty(in_low(self.y[v], self.alpha[v], self.c[v]));
            }
            let kj = &self.block[j * n..(j + 1) * n];
            (gmax, gmax2) =
                step_and_scores(&mut self.grad, Step { y: &self.y, ki, kj, di, dj, up: &self.up, low: &self.low }, &mut self.buf, &mut self.block_max);
            steps += 1;
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inner solver's passes against their plain definitions, to the bit:
    /// the vector path on this CPU (AVX2 here) must find the same gradients,
    /// scores, gains and maxima, with rows past the last group of four and
    /// past the last block.
    #[test]
    fn inner_passes_match_their_definitions() {
        let mut state = 7u64;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        for n in [1, 3, 4, 63, 64, 65, 130, 1027] {
            let y: Vec<f64> = (0..n).map(|_| if next() > 0.0 { 1.0 } else { -1.0 }).collect();
            let grad0: Vec<f64> = (0..n).map(|_| next() * 3.0).collect();
            let ki: Vec<f32> = (0..n).map(|_| next().abs() as f32).collect();
            let kj: Vec<f32> = (0..n).map(|_| next().abs() as f32).collect();
            let mask = |v: f64| if v > 0.2 { 0.0 } else { f64::NEG_INFINITY };
            let up: Vec<f64> = (0..n).map(|_| mask(next())).collect();
            let low: Vec<f64> = (0..n).map(|_| mask(next())).collect();
            let (di, dj) = (next(), next());
            let mut grad = grad0.clone();
            let mut scores = vec![0.0; n];
            let mut block_max = vec![0.0; n.div_ceil(BLOCK)];
            let step = Step { y: &y, ki: &ki, kj: &kj, di, dj, up: &up, low: &low };
            let (up_max, low_max) = step_and_scores(&mut grad, step, &mut scores, &mut block_max);
            let plain_grad: Vec<f64> = (0..n).map(|t| grad0[t] + y[t] * (ki[t] as f64 * di + kj[t] as f64 * dj)).collect();
            let plain_scores: Vec<f64> = (0..n).map(|t| up[t] + -1.0 * y[t] * plain_grad[t]).collect();
            assert!(grad.iter().zip(&plain_grad).all(|(a, b)| a.to_bits() == b.to_bits()), "gradients, n {n}");
            assert!(scores.iter().zip(&plain_scores).all(|(a, b)| a.to_bits() == b.to_bits()), "scores, n {n}");
            for (b, &m) in block_max.iter().enumerate() {
                assert_eq!(m, fold_max(&plain_scores[b * BLOCK..((b + 1) * BLOCK).min(n)]), "block {b}, n {n}");
            }
            assert_eq!(up_max, fold_max(&plain_scores), "n {n}");
            assert_eq!(low_max, fold_max(&(0..n).map(|t| low[t] + y[t] * plain_grad[t]).collect::<Vec<_>>()), "n {n}");
            let gmax = next().abs();
            let mut gains = vec![0.0; n];
            let best = second_order_gains(&y, &grad, &low, &ki, gmax, &mut gains, &mut block_max);
            let plain_gains: Vec<f64> = (0..n)
                .map(|t| {
                    let base = gmax + y[t] * grad[t] + low[t];
                    if base > 0.0 { base * base / (2.0 - 2.0 * ki[t] as f64).max(1e-12) } else { f64::NEG_INFINITY }
                })
                .collect();
            assert!(gains.iter().zip(&plain_gains).all(|(a, b)| a.to_bits() == b.to_bits()), "gains, n {n}");
            assert_eq!(best, fold_max(&plain_gains), "n {n}");
        }
    }

    fn problem(n: usize, d: usize, seed: u64) -> (Vec<f64>, Vec<i8>) {
        let mut s = seed;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let pos = rnd() > -0.2;
            for k in 0..d {
                x.push(rnd() + if pos && k == 0 { 0.7 } else { 0.0 });
            }
            y.push(if pos { 1 } else { -1 });
        }
        (x, y)
    }

    /// The same optimum as libsvm's SMO (this crate's), with working sets
    /// smaller than the problem and a cache smaller than it.
    #[test]
    fn reaches_the_smo_optimum() {
        let (n, d) = (3000, 4);
        let (x, y) = problem(n, d, 3);
        let c = vec![4.0; n];
        let opts = Options { eps: 1e-4, ..Options::default() };
        let want = super::super::smo::solve(&x, d, 0.7, &y, &c, 1e-4, 64 << 20);
        let mut rows = KernelRows::new(&x, d, 0.7, RowArena::new(1200 * n * 4));
        let got = solve(&mut rows, &y, &c, &opts);
        assert!(got.converged);
        let rel = (got.objective - want.objective).abs() / want.objective.abs();
        assert!(rel < 1e-5, "objective {} against {}", got.objective, want.objective);
        assert!((got.rho - want.rho).abs() < 1e-2, "rho {} against {}", got.rho, want.rho);
        let sum: f64 = got.coef.iter().sum();
        assert!(sum.abs() < 1e-8, "y'alpha = {sum}");
        // Decision values of the training rows from the gradient agree with the coefficients.
        let mut far = 0;
        for t in (0..n).step_by(97) {
            let f: f64 = (0..n)
                .filter(|&i| got.coef[i] != 0.0)
                .map(|i| {
                    let d2: f64 = (0..d).map(|k| (x[i * d + k] - x[t * d + k]).powi(2)).sum();
                    got.coef[i] * (-0.7 * d2).exp()
                })
                .sum();
            let from_grad = y[t] as f64 * (got.grad[t] + 1.0);
            far += usize::from((f - from_grad).abs() > 1e-3);
        }
        assert_eq!(far, 0);
    }

    /// Rows with C = 0 never move, and the rest solve as if they were not there.
    #[test]
    fn zero_c_rows_are_held_out() {
        let (n, d) = (600, 3);
        let (x, y) = problem(n, d, 9);
        let mut c = vec![2.0; n];
        for t in (0..n).step_by(5) {
            c[t] = 0.0;
        }
        let mut rows = KernelRows::new(&x, d, 0.5, RowArena::new(64 << 20));
        let got = solve(&mut rows, &y, &c, &Options { eps: 1e-5, ..Options::default() });
        let keep: Vec<usize> = (0..n).filter(|t| t % 5 != 0).collect();
        let xs: Vec<f64> = keep.iter().flat_map(|&t| x[t * d..(t + 1) * d].to_vec()).collect();
        let ys: Vec<i8> = keep.iter().map(|&t| y[t]).collect();
        let want = super::super::smo::solve(&xs, d, 0.5, &ys, &vec![2.0; keep.len()], 1e-5, 64 << 20);
        assert!((0..n).step_by(5).all(|t| got.coef[t] == 0.0));
        assert!((got.objective - want.objective).abs() < 1e-5 * want.objective.abs());
        assert!((got.rho - want.rho).abs() < 1e-3);
    }

    /// Problems of a few rows, where the working set is two or four rows:
    /// the most violating pair is always in it, so every solve ends.
    #[test]
    fn tiny_problems_are_solved() {
        for n in [2, 3, 5, 7] {
            for seed in 0..20 {
                let (x, mut y) = problem(n, 3, seed);
                y[0] = 1;
                y[1] = -1;
                let c = vec![512.0; n];
                let mut rows = KernelRows::new(&x, 3, 0.5, RowArena::new(1 << 16));
                let got = solve(&mut rows, &y, &c, &Options::default());
                let want = super::super::smo::solve(&x, 3, 0.5, &y, &c, 1e-3, 1 << 16);
                assert!(got.converged, "n {n} seed {seed}");
                assert!((got.objective - want.objective).abs() <= 1e-3 * want.objective.abs().max(1.0), "n {n} seed {seed}");
            }
        }
    }

    /// A start from a smaller C's solution, scaled (tuning's alpha seeding),
    /// reaches the same optimum as a start from zero.
    #[test]
    fn a_warm_start_reaches_the_same_optimum() {
        let (n, d) = (1500, 4);
        let (x, y) = problem(n, d, 6);
        let run = |c: f64, warm: Option<&[f64]>| {
            let mut rows = KernelRows::new(&x, d, 0.6, RowArena::new(64 << 20));
            solve(&mut rows, &y, &vec![c; n], &Options { eps: 1e-4, warm_start: warm, ..Options::default() })
        };
        let small = run(2.0, None);
        let seed: Vec<f64> = small.coef.iter().zip(&y).map(|(cf, &yv)| cf * yv as f64 * 4.0).collect();
        let (cold, warm) = (run(8.0, None), run(8.0, Some(&seed)));
        assert!(warm.converged);
        assert!((cold.objective - warm.objective).abs() < 1e-5 * cold.objective.abs());
    }

    #[test]
    fn same_inputs_same_bits() {
        let (n, d) = (2500, 5);
        let (x, y) = problem(n, d, 4);
        let c = vec![8.0; n];
        let run = |budget| {
            let mut rows = KernelRows::new(&x, d, 0.9, RowArena::new(budget));
            solve(&mut rows, &y, &c, &Options::default())
        };
        let (a, b) = (run(64 << 20), run(1100 * n * 4));
        assert_eq!(a.coef, b.coef);
        assert_eq!(a.rho.to_bits(), b.rho.to_bits());
    }
}
