//! Cross-validation folds: stratified by class, and grouped (no group in
//! two folds) when `--group-by` names the rows' groups.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Assigns each row to one of `k` folds, class by class (every fold gets
/// its share of every class, as scikit-learn's StratifiedKFold), seeded.
pub fn stratified_folds(y: &[usize], n_classes: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of = vec![0; y.len()];
    let mut next = 0;
    for c in 0..n_classes {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        rows.shuffle(&mut rng);
        // Continue the round-robin across classes so that small classes do
        // not all land in the first folds.
        for i in rows {
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    fold_of
}

/// Assigns each row to one of `folds` folds so that no group (`group[i]`
/// is row i's) is split and every fold gets its share of every class as far
/// as the groups allow, as scikit-learn's StratifiedGroupKFold: groups in a
/// seeded order, those with the most uneven class counts first, each to the
/// fold where it leaves the classes' spread across folds smallest (ties: the
/// fold with fewer rows).
pub fn stratified_group_folds(y: &[usize], group: &[u32], n_classes: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut dense: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    let gi: Vec<usize> = group
        .iter()
        .map(|g| {
            let next = dense.len();
            *dense.entry(*g).or_insert(next)
        })
        .collect();
    let n_groups = dense.len();
    let mut counts = vec![vec![0f64; n_classes]; n_groups];
    let mut class_total = vec![0f64; n_classes];
    for (&g, &c) in gi.iter().zip(y) {
        counts[g][c] += 1.0;
        class_total[c] += 1.0;
    }
    let mut order: Vec<usize> = (0..n_groups).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let spread = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let uneven: Vec<f64> = counts.iter().map(|c| spread(c)).collect();
    order.sort_by(|&a, &b| uneven[b].total_cmp(&uneven[a]));
    let mut per_fold = vec![vec![0f64; n_classes]; folds];
    let mut fold_of_group = vec![0usize; n_groups];
    let mut column = vec![0f64; folds];
    for g in order {
        let mut best: Option<(f64, f64, usize)> = None;
        for f in 0..folds {
            let mut eval = 0.0;
            for c in 0..n_classes {
                if class_total[c] == 0.0 {
                    continue;
                }
                for (q, v) in column.iter_mut().enumerate() {
                    *v = (per_fold[q][c] + if q == f { counts[g][c] } else { 0.0 }) / class_total[c];
                }
                eval += spread(&column);
            }
            eval /= n_classes as f64;
            let rows: f64 = per_fold[f].iter().sum();
            let better = match best {
                None => true,
                Some((e, r, _)) => eval < e - 1e-12 || ((eval - e).abs() <= 1e-12 && rows < r),
            };
            if better {
                best = Some((eval, rows, f));
            }
        }
        let f = best.expect("at least one fold").2;
        for c in 0..n_classes {
            per_fold[f][c] += counts[g][c];
        }
        fold_of_group[g] = f;
    }
    gi.iter().map(|&g| fold_of_group[g]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_seeded() {
        let y: Vec<usize> = (0..103).map(|i| if i % 10 == 0 { 1 } else { 0 }).collect();
        let f = stratified_folds(&y, 2, 5, 3);
        for fold in 0..5 {
            let ones = (0..y.len()).filter(|&i| f[i] == fold && y[i] == 1).count();
            let all = f.iter().filter(|&&v| v == fold).count();
            assert!((2..=3).contains(&ones), "fold {fold}: {ones} of class 1");
            assert!((20..=21).contains(&all), "fold {fold}: {all} rows");
        }
        assert_eq!(f, stratified_folds(&y, 2, 5, 3));
        assert_ne!(f, stratified_folds(&y, 2, 5, 4));
    }

    #[test]
    fn grouped_folds_never_split_a_group_and_spread_the_classes() {
        // 60 groups of 1 to 8 rows; class 1 in every fourth group.
        let (mut y, mut group) = (Vec::new(), Vec::new());
        for g in 0..60u32 {
            for r in 0..(1 + g % 8) {
                group.push(g * 7 + 3); // any ids
                y.push(usize::from(g % 4 == 0 && r % 2 == 0));
            }
        }
        let f = stratified_group_folds(&y, &group, 2, 5, 9);
        for g in 0..60u32 {
            let folds: std::collections::BTreeSet<usize> = (0..y.len()).filter(|&i| group[i] == g * 7 + 3).map(|i| f[i]).collect();
            assert_eq!(folds.len(), 1, "group {g} in folds {folds:?}");
        }
        let ones: Vec<usize> = (0..5).map(|q| (0..y.len()).filter(|&i| f[i] == q && y[i] == 1).count()).collect();
        let total: usize = ones.iter().sum();
        assert!(ones.iter().all(|&o| o.abs_diff(total / 5) <= 2), "class 1 per fold {ones:?}");
        let sizes: Vec<usize> = (0..5).map(|q| f.iter().filter(|&&v| v == q).count()).collect();
        assert!(sizes.iter().all(|&s| s.abs_diff(y.len() / 5) <= 6), "rows per fold {sizes:?}");
        assert_eq!(f, stratified_group_folds(&y, &group, 2, 5, 9));
        assert_ne!(f, stratified_group_folds(&y, &group, 2, 5, 10));
    }
}
