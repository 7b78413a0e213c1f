//! Binary C-SVC dual solver: sequential minimal optimisation with the
//! second-order working-set selection of Fan, Chen and Lin (2005) and
//! libsvm's shrinking heuristic.
//!
//! Solves `min 1/2 a'Qa - e'a` subject to `0 <= a_i <= C_i`, `y'a = 0`,
//! with `Q_ij = y_i y_j K(x_i, x_j)`.
//!
//! Shrinking: variables that sit at a bound and are unlikely to move are
//! set aside (moved past the end of the active prefix), so most iterations
//! touch only a fraction of the rows. Before stopping, the full gradient is
//! rebuilt and optimality is checked on every variable, so the answer is the
//! same as without shrinking (within the tolerance).

use super::kernel::{with_avx2, KernelCache};

const TAU: f64 = 1e-12;
const LOWER: u8 = 0;
const UPPER: u8 = 1;
const FREE: u8 = 2;

/// A solved binary problem.
#[derive(Clone, Debug)]
pub struct BinarySolution {
    /// `y_i * alpha_i` for every training row (zero for non-support vectors).
    pub coef: Vec<f64>,
    /// Decision function: `f(x) = sum_i coef_i K(x_i, x) - rho`.
    pub rho: f64,
    /// Dual objective value at the solution.
    pub objective: f64,
    pub iterations: usize,
    /// False when the iteration limit stopped the solver before the tolerance was met.
    pub converged: bool,
    /// The gradient `G = Q alpha - e` at the solution, per row: `y_t (G_t + 1) - rho`
    /// is row t's decision value, for nothing.
    pub grad: Vec<f64>,
}

/// Solves one binary problem over rows `x` (row-major, `d` features).
/// `y` is +1/-1, `c` the per-row upper bound.
pub fn solve(x: &[f64], d: usize, gamma: f64, y: &[i8], c: &[f64], eps: f64, cache_bytes: usize) -> BinarySolution {
    solve_kernel(KernelCache::new(x, d, gamma, cache_bytes), y, c, &Options { eps, ..Options::default() })
}

/// How far and from where [`solve_kernel`] runs.
#[derive(Clone, Debug)]
pub struct Options<'s> {
    /// Stopping tolerance on the KKT violation (libsvm's `-e`).
    pub eps: f64,
    /// Iteration limit; `None` is libsvm's (10 million, or 100 per row if more).
    pub max_iter: Option<usize>,
    /// Starting `alpha` (each in `0..=c_i`, with `y'alpha = 0`): a solution
    /// for a smaller C, scaled up, is close to the next one (alpha seeding).
    pub warm_start: Option<&'s [f64]>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options { eps: 1e-3, max_iter: None, warm_start: None }
    }
}

/// Solves one binary problem whose kernel rows come from `q`.
pub fn solve_kernel(q: KernelCache, y: &[i8], c: &[f64], opts: &Options) -> BinarySolution {
    let l = y.len();
    let mut s = Solver {
        q,
        y: y.iter().map(|&v| v as f64).collect(),
        c: c.to_vec(),
        alpha: vec![0.0; l],
        grad: vec![-1.0; l],
        g_bar: vec![0.0; l],
        status: vec![LOWER; l],
        up: vec![false; l],
        low: vec![false; l],
        scratch: vec![0.0; l],
        perm: (0..l).collect(),
        active: l,
        eps: opts.eps,
        unshrink: false,
    };
    if let Some(a0) = opts.warm_start {
        s.warm_start(a0);
    }
    for i in 0..l {
        s.update_status(i);
    }
    let max_iter = opts.max_iter.unwrap_or(10_000_000usize.max(100 * l));
    let (iterations, converged) = s.run(max_iter);
    let rho = s.rho();
    let objective = s.alpha.iter().zip(&s.grad).map(|(a, g)| a * (g - 1.0)).sum::<f64>() / 2.0;
    let (mut coef, mut grad) = (vec![0.0; l], vec![0.0; l]);
    for p in 0..l {
        coef[s.perm[p]] = s.alpha[p] * s.y[p];
        grad[s.perm[p]] = s.grad[p];
    }
    BinarySolution { coef, rho, objective, iterations, converged, grad }
}

struct Solver<'a> {
    q: KernelCache<'a>,
    y: Vec<f64>,
    c: Vec<f64>,
    alpha: Vec<f64>,
    grad: Vec<f64>,
    /// `g_bar[t] = sum over upper-bound j of C_j Q_tj`: rebuilds the gradient of shrunk rows.
    g_bar: Vec<f64>,
    status: Vec<u8>,
    /// Membership of libsvm's index sets, kept with `status` so that the
    /// selection loops are branch-free: `up` = can move towards `y`
    /// (`y=+1, a<C` or `y=-1, a>0`), `low` = can move against it.
    up: Vec<bool>,
    low: Vec<bool>,
    /// Per-row second-order gains of the last selection.
    scratch: Vec<f64>,
    /// Original row index of each position.
    perm: Vec<usize>,
    /// Positions `0..active` are optimised; the rest are shrunk.
    active: usize,
    eps: f64,
    unshrink: bool,
}

impl Solver<'_> {
    /// Sets `alpha` and the gradient (and `g_bar`) it implies, as libsvm does
    /// for a given starting point.
    fn warm_start(&mut self, a0: &[f64]) {
        let l = self.y.len();
        for i in 0..l {
            self.alpha[i] = a0[i].clamp(0.0, self.c[i]);
        }
        for i in 0..l {
            let a = self.alpha[i];
            if a <= 0.0 {
                continue;
            }
            let at_upper = a >= self.c[i];
            let yi = self.y[i];
            let row = self.q.row(i, l);
            for t in 0..l {
                let q = yi * self.y[t] * row[t] as f64;
                self.grad[t] += a * q;
                if at_upper {
                    self.g_bar[t] += self.c[i] * q;
                }
            }
        }
    }

    fn update_status(&mut self, i: usize) {
        self.status[i] = if self.alpha[i] >= self.c[i] {
            UPPER
        } else if self.alpha[i] <= 0.0 {
            LOWER
        } else {
            FREE
        };
        let pos = self.y[i] > 0.0;
        self.up[i] = if pos { self.status[i] != UPPER } else { self.status[i] != LOWER };
        self.low[i] = if pos { self.status[i] != LOWER } else { self.status[i] != UPPER };
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.q.swap(i, j);
        self.y.swap(i, j);
        self.c.swap(i, j);
        self.alpha.swap(i, j);
        self.grad.swap(i, j);
        self.g_bar.swap(i, j);
        self.status.swap(i, j);
        self.up.swap(i, j);
        self.low.swap(i, j);
        self.perm.swap(i, j);
    }

    /// Returns the iterations done and whether the tolerance was met.
    fn run(&mut self, max_iter: usize) -> (usize, bool) {
        let l = self.y.len();
        let mut converged = false;
        let mut counter = l.min(1000) + 1;
        let mut iter = 0;
        while iter < max_iter {
            counter -= 1;
            if counter == 0 {
                counter = l.min(1000);
                self.shrink();
            }
            let (i, j) = match self.select() {
                Some(p) => p,
                None => {
                    // Optimal on the active set: check every variable.
                    self.reconstruct_gradient();
                    self.active = l;
                    match self.select() {
                        Some(p) => {
                            counter = 1; // shrink again at once
                            p
                        }
                        None => {
                            converged = true;
                            break;
                        }
                    }
                }
            };
            iter += 1;
            self.step(i, j);
        }
        if self.active < l {
            self.reconstruct_gradient();
            self.active = l;
        }
        (iter, converged)
    }

    /// Optimises the pair `(i, j)` analytically and updates the gradient.
    fn step(&mut self, i: usize, j: usize) {
        let len = self.active;
        let l = self.y.len();
        let Solver { q, y, c, alpha, grad, .. } = self;
        let (ki, kj) = q.pair(i, j, len);
        let (ai, aj) = pair_step(y[i] == y[j], grad[i], grad[j], alpha[i], alpha[j], c[i], c[j], ki[j] as f64);
        let (old_ai, old_aj) = (alpha[i], alpha[j]);
        alpha[i] = ai;
        alpha[j] = aj;
        // G_t += Q_ti dA_i + Q_tj dA_j, with Q_ti = y_t y_i K_ti.
        let di = y[i] * (ai - old_ai);
        let dj = y[j] * (aj - old_aj);
        update_gradient(&mut grad[..len], &y[..len], &ki[..len], &kj[..len], di, dj);
        // Keep g_bar in step when a variable reaches or leaves its upper bound.
        for v in [i, j] {
            let was_upper = self.status[v] == UPPER;
            self.update_status(v);
            let is_upper = self.status[v] == UPPER;
            if was_upper != is_upper {
                let sign = if is_upper { 1.0 } else { -1.0 };
                let cy = sign * self.c[v] * self.y[v];
                let row = self.q.row(v, l);
                for (t, (g, &yt)) in self.g_bar.iter_mut().zip(&self.y).enumerate() {
                    *g += cy * yt * row[t] as f64;
                }
            }
        }
    }

    /// libsvm's WSS2 over the active set: `i` maximises the violation, `j`
    /// the second-order gain (the last row on ties, as libsvm's loops).
    /// Each step is a branch-free pass that vectorises, then a search.
    fn select(&mut self) -> Option<(usize, usize)> {
        let n = self.active;
        let buf = &mut self.scratch[..n];
        masked_values(&self.y[..n], &self.grad[..n], &self.up[..n], -1.0, f64::NEG_INFINITY, buf);
        let gmax = lane_max(buf);
        if gmax == f64::NEG_INFINITY {
            return None;
        }
        let i = buf.iter().rposition(|&v| v == gmax).expect("the maximum is in the slice");
        let ki = self.q.row(i, n);
        let buf = &mut self.scratch[..n];
        masked_values(&self.y[..n], &self.grad[..n], &self.low[..n], 1.0, f64::NEG_INFINITY, buf);
        let gmax2 = lane_max(buf);
        if gmax + gmax2 < self.eps {
            return None;
        }
        wss2_gains(&self.y[..n], &self.grad[..n], &self.low[..n], ki, gmax, buf);
        let best = lane_max(buf);
        if best == f64::NEG_INFINITY {
            return None;
        }
        let j = buf.iter().rposition(|&v| v == best).expect("the maximum is in the slice");
        Some((i, j))
    }

    fn be_shrunk(&self, i: usize, gmax1: f64, gmax2: f64) -> bool {
        let (g, pos) = (self.grad[i], self.y[i] > 0.0);
        match self.status[i] {
            UPPER => -g > if pos { gmax1 } else { gmax2 },
            LOWER => g > if pos { gmax2 } else { gmax1 },
            _ => false,
        }
    }

    fn shrink(&mut self) {
        let (mut gmax1, mut gmax2) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for t in 0..self.active {
            let g = self.grad[t];
            let (up, low) = (self.status[t] != UPPER, self.status[t] != LOWER);
            if self.y[t] > 0.0 {
                if up {
                    gmax1 = gmax1.max(-g);
                }
                if low {
                    gmax2 = gmax2.max(g);
                }
            } else {
                if up {
                    gmax2 = gmax2.max(-g);
                }
                if low {
                    gmax1 = gmax1.max(g);
                }
            }
        }
        if !self.unshrink && gmax1 + gmax2 <= self.eps * 10.0 {
            // Close to the end: bring everything back once, then shrink anew.
            self.unshrink = true;
            self.reconstruct_gradient();
            self.active = self.y.len();
        }
        let mut i = 0;
        while i < self.active {
            if self.be_shrunk(i, gmax1, gmax2) {
                self.active -= 1;
                while self.active > i {
                    if !self.be_shrunk(self.active, gmax1, gmax2) {
                        self.swap(i, self.active);
                        break;
                    }
                    self.active -= 1;
                }
            }
            i += 1;
        }
    }

    /// Rebuilds the gradient of shrunk variables from `g_bar` and the free ones.
    fn reconstruct_gradient(&mut self) {
        let l = self.y.len();
        let n = self.active;
        if n == l {
            return;
        }
        for t in n..l {
            self.grad[t] = self.g_bar[t] - 1.0;
        }
        let n_free = (0..n).filter(|&t| self.status[t] == FREE).count();
        if n_free * l > 2 * n * (l - n) {
            for i in n..l {
                let row = self.q.row(i, n);
                let mut s = 0.0;
                for j in 0..n {
                    if self.status[j] == FREE {
                        s += self.alpha[j] * self.y[j] * row[j] as f64;
                    }
                }
                self.grad[i] += self.y[i] * s;
            }
        } else {
            for i in 0..n {
                if self.status[i] != FREE {
                    continue;
                }
                let ay = self.alpha[i] * self.y[i];
                let row = self.q.row(i, l);
                for j in n..l {
                    self.grad[j] += ay * self.y[j] * row[j] as f64;
                }
            }
        }
    }

    fn rho(&self) -> f64 {
        rho_from((0..self.y.len()).map(|t| (self.y[t], self.grad[t], self.alpha[t], self.c[t])))
    }
}

/// The analytic solution of the two-variable subproblem (libsvm's update,
/// clipped to the box): new `(alpha_i, alpha_j)` from their gradients, bounds
/// and kernel value, for labels that are equal (`same`) or not.
#[allow(clippy::too_many_arguments)]
pub(super) fn pair_step(same: bool, gi: f64, gj: f64, ai: f64, aj: f64, ci: f64, cj: f64, kij: f64) -> (f64, f64) {
    let quad = (2.0 - 2.0 * kij).max(TAU); // K_ii = K_jj = 1 for RBF
    let (mut ai, mut aj) = (ai, aj);
    if !same {
        let delta = (-gi - gj) / quad;
        let diff = ai - aj;
        ai += delta;
        aj += delta;
        if diff > 0.0 {
            if aj < 0.0 {
                aj = 0.0;
                ai = diff;
            }
        } else if ai < 0.0 {
            ai = 0.0;
            aj = -diff;
        }
        if diff > ci - cj {
            if ai > ci {
                ai = ci;
                aj = ci - diff;
            }
        } else if aj > cj {
            aj = cj;
            ai = cj + diff;
        }
    } else {
        let delta = (gi - gj) / quad;
        let sum = ai + aj;
        ai -= delta;
        aj += delta;
        if sum > ci {
            if ai > ci {
                ai = ci;
                aj = sum - ci;
            }
        } else if aj < 0.0 {
            aj = 0.0;
            ai = sum;
        }
        if sum > cj {
            if aj > cj {
                aj = cj;
                ai = sum - cj;
            }
        } else if ai < 0.0 {
            ai = 0.0;
            aj = sum;
        }
    }
    (ai, aj)
}

/// libsvm's bias: the mean of `y_t G_t` over the free variables, or the
/// middle of the feasible interval when none is free. Takes `(y, G, alpha, C)`
/// of each variable; those with `C = 0` (held out of a fold) take no part.
pub(super) fn rho_from(vars: impl Iterator<Item = (f64, f64, f64, f64)>) -> f64 {
    let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut n_free, mut sum_free) = (0usize, 0.0f64);
    for (y, g, a, c) in vars {
        if c <= 0.0 {
            continue;
        }
        let yg = y * g;
        if a >= c {
            if y < 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else if a <= 0.0 {
            if y > 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else {
            n_free += 1;
            sum_free += yg;
        }
    }
    if n_free > 0 {
        sum_free / n_free as f64
    } else {
        (ub + lb) / 2.0
    }
}

with_avx2! {
    /// `G_t += y_t (K_ti dA_i + K_tj dA_j)`, where `dA` are the `y`-signed alpha changes.
    pub fn update_gradient(grad: &mut [f64], y: &[f64], ki: &[f32], kj: &[f32], di: f64, dj: f64) {
        for (((g, &yt), &a), &b) in grad.iter_mut().zip(y).zip(ki).zip(kj) {
            *g += yt * (a as f64 * di + b as f64 * dj);
        }
    }
}

with_avx2! {
    /// `out[t] = sign * y_t * G_t` where `mask[t]`, else `fill`.
    pub fn masked_values(y: &[f64], grad: &[f64], mask: &[bool], sign: f64, fill: f64, out: &mut [f64]) {
        for (((o, &yt), &g), &m) in out.iter_mut().zip(y).zip(grad).zip(mask) {
            *o = if m { sign * yt * g } else { fill };
        }
    }
}

with_avx2! {
    /// WSS2's gains: for rows in `low` with `gmax + y_t G_t > 0`, the
    /// objective decrease `(gmax + y_t G_t)^2 / (2 - 2 K_it)` of pairing them
    /// with `i`; -inf for the others.
    pub fn wss2_gains(y: &[f64], grad: &[f64], low: &[bool], ki: &[f32], gmax: f64, gain: &mut [f64]) {
        for ((((o, &yt), &g), &ok), &k) in gain.iter_mut().zip(y).zip(grad).zip(low).zip(ki) {
            let diff = gmax + yt * g;
            let quad = (2.0 - 2.0 * k as f64).max(TAU);
            *o = if ok && diff > 0.0 { (diff * diff) / quad } else { f64::NEG_INFINITY };
        }
    }
}

with_avx2! {
    /// The largest value (four independent lanes, so that it vectorises).
    pub fn lane_max(v: &[f64]) -> f64 {
        let mut acc = [f64::NEG_INFINITY; 4];
        let mut chunks = v.chunks_exact(4);
        for c in &mut chunks {
            for l in 0..4 {
                acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
            }
        }
        let mut m = acc[0].max(acc[1]).max(acc[2].max(acc[3]));
        for &x in chunks.remainder() {
            m = m.max(x);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svm::kernel::dot;

    fn decision(x: &[f64], d: usize, gamma: f64, sol: &BinarySolution, p: &[f64]) -> f64 {
        let np = dot(p, p);
        sol.coef
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != 0.0)
            .map(|(i, c)| {
                let xi = &x[i * d..(i + 1) * d];
                c * (-gamma * (dot(xi, xi) + np - 2.0 * dot(xi, p)).max(0.0)).exp()
            })
            .sum::<f64>()
            - sol.rho
    }

    /// Two separable clusters: every training point is classified correctly.
    #[test]
    fn separable_problem_is_solved() {
        let x = [0.0, 0.0, 0.2, 0.1, -0.1, 0.2, 3.0, 3.0, 3.1, 2.9, 2.8, 3.2];
        let y = [1i8, 1, 1, -1, -1, -1];
        let sol = solve(&x, 2, 0.5, &y, &[10.0; 6], 1e-5, 1 << 20);
        for (i, &yi) in y.iter().enumerate() {
            let f = decision(&x, 2, 0.5, &sol, &x[i * 2..i * 2 + 2]);
            assert!(f * yi as f64 > 0.0, "row {i} misclassified: {f}");
        }
        assert!(sol.coef.iter().sum::<f64>().abs() < 1e-9, "y'a = 0");
        assert!(sol.objective < 0.0);
    }

    /// A larger noisy problem where shrinking kicks in: the solution satisfies
    /// the KKT conditions on every variable, whatever the cache size.
    #[test]
    fn shrinking_reaches_a_kkt_point_with_any_cache() {
        let n = 1500;
        let d = 3;
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        let mut state = 12345u64;
        let mut rnd = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f64 / 10_000.0
        };
        for _ in 0..n {
            let label = rnd() < 0.4;
            for k in 0..d {
                x.push(rnd() * 2.0 - 1.0 + if label && k == 0 { 0.5 } else { 0.0 });
            }
            y.push(if label { 1i8 } else { -1 });
        }
        let c = vec![2.0; n];
        let big = solve(&x, d, 1.0, &y, &c, 1e-4, 64 << 20);
        let small = solve(&x, d, 1.0, &y, &c, 1e-4, 1);
        assert!((big.objective - small.objective).abs() < 1e-6 * big.objective.abs());
        // KKT: y_i f(x_i) >= 1 where alpha = 0, <= 1 where alpha = C (within tolerance).
        for i in (0..n).step_by(7) {
            let f = decision(&x, d, 1.0, &big, &x[i * d..(i + 1) * d]);
            let margin = y[i] as f64 * f;
            let a = big.coef[i].abs();
            if a == 0.0 {
                assert!(margin > 1.0 - 1e-2, "row {i}: alpha 0, margin {margin}");
            } else if a >= c[i] {
                assert!(margin < 1.0 + 1e-2, "row {i}: alpha C, margin {margin}");
            }
        }
    }
}
