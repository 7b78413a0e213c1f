//! The project's solvers (SMO for tuning, the working-set solver for fits)
//! against linfa-svm's, the reference implementation, on small binary
//! problems: same dual objective, same decisions (within solver tolerance).

use linfa::prelude::*;
use linfa_svm::Svm;
use ndarray::{Array1, Array2};
use ntc::svm::kernel_rows::{KernelRows, RowArena};
use ntc::svm::smo::{solve, BinarySolution, Options};
use ntc::svm::working_set;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two overlapping Gaussian clouds in `d` dimensions.
fn problem(n: usize, d: usize, seed: u64) -> (Array2<f64>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, d));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let pos = rng.random::<f64>() < 0.4;
        for j in 0..d {
            let centre = if pos { 0.8 } else { -0.4 } * if j % 2 == 0 { 1.0 } else { -0.5 };
            x[[i, j]] = centre + rng.random_range(-1.5..1.5);
        }
        y.push(pos);
    }
    (x, y)
}

fn linfa_objective(model: &Svm<f64, bool>) -> f64 {
    // linfa prints "Exited after N iterations with obj = X and M support vectors".
    let s = model.to_string();
    let after = s.split("obj = ").nth(1).expect("objective in Display");
    after.split_whitespace().next().unwrap().parse().unwrap()
}

fn compare(n: usize, d: usize, c: f64, gamma: f64, seed: u64) {
    let (x, y) = problem(n, d, seed);
    let flat: Vec<f64> = x.iter().copied().collect();
    let ys: Vec<i8> = y.iter().map(|&p| if p { 1 } else { -1 }).collect();
    let smo = solve(&flat, d, gamma, &ys, &vec![c; n], 1e-6, 1 << 24);
    // A cache of 64 rows: working sets of 64, many outer steps, shrinking.
    let mut rows = KernelRows::new(&flat, d, gamma, RowArena::new(64 * n * 4));
    let blocks = working_set::solve(&mut rows, &ys, &vec![c; n], &Options { eps: 1e-6, ..Options::default() });
    for ours in [smo, blocks] {
        agree(&x, &y, &ours, d, c, gamma, seed);
    }
}

/// `ours` has linfa-svm's dual objective and decisions on the problem `x`, `y`.
fn agree(x: &Array2<f64>, y: &[bool], ours: &BinarySolution, d: usize, c: f64, gamma: f64, seed: u64) {

    let dataset = Dataset::new(x.clone(), Array1::from(y.to_vec()));
    let theirs = Svm::<f64, bool>::params()
        .pos_neg_weights(c, c)
        .gaussian_kernel(1.0 / gamma)
        .eps(1e-6)
        .fit(&dataset)
        .unwrap();

    let obj_l = linfa_objective(&theirs);
    assert!(
        (ours.objective - obj_l).abs() <= 1e-3 * obj_l.abs().max(1.0),
        "dual objective: ours {} linfa {}",
        ours.objective,
        obj_l
    );

    let (xt, _) = problem(200, d, seed + 1000);
    let mut agree = 0;
    let mut max_diff: f64 = 0.0;
    for row in xt.outer_iter() {
        let f_ours: f64 = ours
            .coef
            .iter()
            .enumerate()
            .filter(|(_, a)| **a != 0.0)
            .map(|(i, a)| {
                let d2: f64 = row.iter().zip(x.row(i)).map(|(p, q)| (p - q) * (p - q)).sum();
                a * (-gamma * d2).exp()
            })
            .sum::<f64>()
            - ours.rho;
        let f_linfa = theirs.weighted_sum(&row) - theirs.rho;
        max_diff = max_diff.max((f_ours - f_linfa).abs());
        if (f_ours > 0.0) == (f_linfa > 0.0) {
            agree += 1;
        }
    }
    assert!(max_diff < 1e-2 * c.max(1.0), "decision values differ by {max_diff}");
    assert!(agree >= 198, "decisions agree on {agree}/200 rows");
}

#[test]
fn matches_linfa_svm_on_small_problems() {
    compare(120, 3, 1.0, 0.5, 1);
    compare(200, 5, 10.0, 0.2, 2);
    compare(150, 2, 0.5, 2.0, 3);
}
