//! Class probabilities: Platt's sigmoid fitted to cross-validated decision
//! values of each pair (the improved algorithm of Lin, Lin and Weng, 2007),
//! and pairwise coupling of the pair probabilities (Wu, Lin and Weng, 2004,
//! method 2). Both as in libsvm; the cross-validation here is seeded.

/// Fits `P(y=+1 | f) = 1 / (1 + exp(A f + B))` by Newton's method with backtracking.
pub fn sigmoid_train(dec: &[f64], positive: &[bool]) -> (f64, f64) {
    let prior1 = positive.iter().filter(|&&p| p).count() as f64;
    let prior0 = positive.len() as f64 - prior1;
    let (max_iter, min_step, sigma, eps) = (100, 1e-10, 1e-12, 1e-5);
    let hi = (prior1 + 1.0) / (prior1 + 2.0);
    let lo = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = positive.iter().map(|&p| if p { hi } else { lo }).collect();
    let mut a = 0.0;
    let mut b = ((prior0 + 1.0) / (prior1 + 1.0)).ln();
    let objective = |a: f64, b: f64| -> f64 {
        dec.iter()
            .zip(&t)
            .map(|(&f, &ti)| {
                let fapb = f * a + b;
                if fapb >= 0.0 {
                    ti * fapb + (-fapb).exp().ln_1p()
                } else {
                    (ti - 1.0) * fapb + fapb.exp().ln_1p()
                }
            })
            .sum()
    };
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
        for (&f, &ti) in dec.iter().zip(&t) {
            let fapb = f * a + b;
            let (p, q) = if fapb >= 0.0 {
                let e = (-fapb).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = fapb.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += f * f * d2;
            h22 += d2;
            h21 += f * d2;
            let d1 = ti - p;
            g1 += f * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 1e-4 * step * gd {
                a = na;
                b = nb;
                fval = nf;
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            break;
        }
    }
    (a, b)
}

pub fn sigmoid_predict(f: f64, a: f64, b: f64) -> f64 {
    let fapb = f * a + b;
    if fapb >= 0.0 {
        let e = (-fapb).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + fapb.exp())
    }
}

/// Couples pairwise probabilities `r[i][j] = P(i | i or j)` into class
/// probabilities. `r` is `k x k`, row-major.
pub fn couple(k: usize, r: &[f64], p: &mut [f64]) {
    if k == 1 {
        p[0] = 1.0;
        return;
    }
    let mut q = vec![0.0; k * k];
    for t in 0..k {
        p[t] = 1.0 / k as f64;
        for j in 0..k {
            if j != t {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = -r[j * k + t] * r[t * k + j];
            }
        }
    }
    let max_iter = 100.max(k);
    let eps = 0.005 / k as f64;
    let mut qp = vec![0.0; k];
    for _ in 0..max_iter {
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
            pqp += p[t] * qp[t];
        }
        let max_error = qp.iter().map(|v| (v - pqp).abs()).fold(0.0, f64::max);
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_orders_decisions() {
        let dec = [-2.0, -1.5, -1.0, -0.2, 0.3, 1.0, 1.4, 2.2, 0.1, -0.1];
        let pos = [false, false, false, false, true, true, true, true, false, true];
        let (a, b) = sigmoid_train(&dec, &pos);
        assert!(a < 0.0, "A = {a}");
        assert!(sigmoid_predict(2.0, a, b) > 0.8 && sigmoid_predict(-2.0, a, b) < 0.2);
    }

    #[test]
    fn coupling_gives_a_distribution_favouring_the_winner() {
        let k = 3;
        // class 0 beats both others, 1 beats 2
        let mut r = vec![0.0; 9];
        let set = |r: &mut Vec<f64>, i: usize, j: usize, v: f64| {
            r[i * k + j] = v;
            r[j * k + i] = 1.0 - v;
        };
        set(&mut r, 0, 1, 0.8);
        set(&mut r, 0, 2, 0.9);
        set(&mut r, 1, 2, 0.7);
        let mut p = vec![0.0; 3];
        couple(k, &r, &mut p);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(p[0] > p[1] && p[1] > p[2], "{p:?}");
    }
}
