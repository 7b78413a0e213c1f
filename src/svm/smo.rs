//! Binary C-SVC dual solver: sequential minimal optimisation with the
//! second-order working-set selection of Fan, Chen and Lin (2005), the
//! method libsvm uses.
//!
//! Solves `min 1/2 a'Qa - e'a` subject to `0 <= a_i <= C_i`, `y'a = 0`,
//! with `Q_ij = y_i y_j K(x_i, x_j)`.

use super::kernel::{RbfKernel, RowCache};

const TAU: f64 = 1e-12;

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
}

/// Solves one binary problem. `y` is +1/-1, `c` the per-row upper bound.
pub fn solve(kernel: RbfKernel<'_>, y: &[i8], c: &[f64], eps: f64, cache_bytes: usize) -> BinarySolution {
    let l = y.len();
    debug_assert_eq!(kernel.len(), l);
    let mut cache = RowCache::new(kernel, cache_bytes);
    let mut alpha = vec![0.0f64; l];
    let mut grad = vec![-1.0f64; l];
    let max_iter = 10_000_000usize.max(100 * l);
    let mut iter = 0;
    let yf: Vec<f64> = y.iter().map(|&v| v as f64).collect();

    while iter < max_iter {
        let Some((i, j)) = select_working_set(&mut cache, &yf, &alpha, &grad, c, eps) else {
            break;
        };
        iter += 1;
        let (ki, kj) = cache.pair(i, j);
        let kij = ki[j] as f64;
        let (ci, cj) = (c[i], c[j]);
        let (old_ai, old_aj) = (alpha[i], alpha[j]);
        let quad = (2.0 - 2.0 * kij).max(TAU); // K_ii = K_jj = 1 for RBF
        let (mut ai, mut aj) = (old_ai, old_aj);
        if yf[i] != yf[j] {
            let delta = (-grad[i] - grad[j]) / quad;
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
            let delta = (grad[i] - grad[j]) / quad;
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
        alpha[i] = ai;
        alpha[j] = aj;
        // G_t += Q_ti dA_i + Q_tj dA_j, with Q_ti = y_t y_i K_ti.
        let di = yf[i] * (ai - old_ai);
        let dj = yf[j] * (aj - old_aj);
        for t in 0..l {
            grad[t] += yf[t] * (ki[t] as f64 * di + kj[t] as f64 * dj);
        }
    }

    let rho = calculate_rho(&yf, &alpha, &grad, c);
    let objective = alpha.iter().zip(&grad).map(|(a, g)| a * (g - 1.0)).sum::<f64>() / 2.0;
    let coef = alpha.iter().zip(&yf).map(|(a, y)| a * y).collect();
    BinarySolution { coef, rho, objective, iterations: iter }
}

#[inline]
fn is_upper(a: f64, c: f64) -> bool {
    a >= c
}
#[inline]
fn is_lower(a: f64) -> bool {
    a <= 0.0
}

/// libsvm's WSS2: `i` maximises the violation, `j` the second-order gain.
fn select_working_set(
    cache: &mut RowCache<'_>,
    y: &[f64],
    alpha: &[f64],
    grad: &[f64],
    c: &[f64],
    eps: f64,
) -> Option<(usize, usize)> {
    let l = y.len();
    let mut gmax = f64::NEG_INFINITY;
    let mut gmax_idx = usize::MAX;
    for t in 0..l {
        if y[t] > 0.0 {
            if !is_upper(alpha[t], c[t]) && -grad[t] >= gmax {
                gmax = -grad[t];
                gmax_idx = t;
            }
        } else if !is_lower(alpha[t]) && grad[t] >= gmax {
            gmax = grad[t];
            gmax_idx = t;
        }
    }
    if gmax_idx == usize::MAX {
        return None;
    }
    let i = gmax_idx;
    let ki = cache.row(i);
    let mut gmax2 = f64::NEG_INFINITY;
    let mut gmin_idx = usize::MAX;
    let mut obj_diff_min = f64::INFINITY;
    for t in 0..l {
        if y[t] > 0.0 {
            if !is_lower(alpha[t]) {
                let grad_diff = gmax + grad[t];
                if grad[t] >= gmax2 {
                    gmax2 = grad[t];
                }
                if grad_diff > 0.0 {
                    let quad = (2.0 - 2.0 * ki[t] as f64).max(TAU);
                    let obj_diff = -(grad_diff * grad_diff) / quad;
                    if obj_diff <= obj_diff_min {
                        gmin_idx = t;
                        obj_diff_min = obj_diff;
                    }
                }
            }
        } else if !is_upper(alpha[t], c[t]) {
            let grad_diff = gmax - grad[t];
            if -grad[t] >= gmax2 {
                gmax2 = -grad[t];
            }
            if grad_diff > 0.0 {
                let quad = (2.0 - 2.0 * ki[t] as f64).max(TAU);
                let obj_diff = -(grad_diff * grad_diff) / quad;
                if obj_diff <= obj_diff_min {
                    gmin_idx = t;
                    obj_diff_min = obj_diff;
                }
            }
        }
    }
    if gmax + gmax2 < eps || gmin_idx == usize::MAX {
        return None;
    }
    Some((i, gmin_idx))
}

fn calculate_rho(y: &[f64], alpha: &[f64], grad: &[f64], c: &[f64]) -> f64 {
    let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut n_free, mut sum_free) = (0usize, 0.0f64);
    for t in 0..y.len() {
        let yg = y[t] * grad[t];
        if is_upper(alpha[t], c[t]) {
            if y[t] < 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else if is_lower(alpha[t]) {
            if y[t] > 0.0 {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two separable clusters: the solution satisfies the KKT conditions and
    /// classifies the training points.
    #[test]
    fn separable_problem_is_solved() {
        let x = [0.0, 0.0, 0.2, 0.1, -0.1, 0.2, 3.0, 3.0, 3.1, 2.9, 2.8, 3.2];
        let y = [1i8, 1, 1, -1, -1, -1];
        let c = [10.0; 6];
        let k = RbfKernel::new(&x, 2, 0.5);
        let sol = solve(k, &y, &c, 1e-5, 1 << 20);
        let k = RbfKernel::new(&x, 2, 0.5);
        let mut row = vec![0f32; 6];
        for (i, &yi) in y.iter().enumerate() {
            k.fill_row(i, &mut row);
            let f: f64 = sol.coef.iter().zip(&row).map(|(a, &kv)| a * kv as f64).sum::<f64>() - sol.rho;
            assert!(f * yi as f64 > 0.0, "row {i} misclassified: {f}");
        }
        // equality constraint y'a = 0  <=>  sum of coef = 0
        assert!(sol.coef.iter().sum::<f64>().abs() < 1e-9);
        assert!(sol.objective < 0.0);
    }
}
