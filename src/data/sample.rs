//! Seeded stratified sampling: caps training rows while every class keeps
//! at least a floor of rows (the rare classes are the ones users care about).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Smallest number of rows a class keeps (or all of its rows, if fewer).
pub fn class_floor(max_rows: usize, k: usize) -> usize {
    (max_rows / (20 * k.max(1))).max(10)
}

/// Chooses at most `max_rows` row indices (ascending) from rows labelled
/// `class[i]` in `0..k`: each class first gets `min(rows, floor)`, the rest
/// of the budget is shared in proportion to the rows left (largest
/// remainders first). Same inputs and seed, same rows.
pub fn stratified(class: &[usize], k: usize, max_rows: usize, seed: u64) -> Vec<usize> {
    if class.len() <= max_rows {
        return (0..class.len()).collect();
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &c) in class.iter().enumerate() {
        members[c].push(i);
    }
    let floor = class_floor(max_rows, k);
    let mut quota: Vec<usize> = members.iter().map(|m| m.len().min(floor)).collect();
    let taken: usize = quota.iter().sum();
    let budget = max_rows.saturating_sub(taken);
    let left: Vec<usize> = members.iter().zip(&quota).map(|(m, q)| m.len() - q).collect();
    let left_total: usize = left.iter().sum();
    if budget > 0 && left_total > 0 {
        let shares: Vec<f64> = left.iter().map(|&l| budget as f64 * l as f64 / left_total as f64).collect();
        let mut given = 0;
        for (c, s) in shares.iter().enumerate() {
            let add = (s.floor() as usize).min(left[c]);
            quota[c] += add;
            given += add;
        }
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| (shares[b] - shares[b].floor()).total_cmp(&(shares[a] - shares[a].floor())).then(a.cmp(&b)));
        for &c in order.iter().cycle().take(k * 2) {
            if given >= budget {
                break;
            }
            if quota[c] < members[c].len() {
                quota[c] += 1;
                given += 1;
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(max_rows);
    for (m, &q) in members.iter().zip(&quota) {
        let picked = rand::seq::index::sample(&mut rng, m.len(), q);
        out.extend(picked.into_iter().map(|j| m[j]));
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_budget_floor_and_seed() {
        // 9000 of class 0, 990 of class 1, 10 of class 2
        let class: Vec<usize> = (0..10000).map(|i| if i < 9000 { 0 } else if i < 9990 { 1 } else { 2 }).collect();
        let s = stratified(&class, 3, 1000, 7);
        assert_eq!(s.len(), 1000);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        let count = |c| s.iter().filter(|&&i| class[i] == c).count();
        assert_eq!(count(2), 10, "a tiny class keeps all its rows");
        assert!(count(1) >= class_floor(1000, 3));
        assert!(count(0) > 800);
        assert_eq!(s, stratified(&class, 3, 1000, 7));
        assert_ne!(s, stratified(&class, 3, 1000, 8));
    }

    #[test]
    fn small_input_is_kept_whole() {
        assert_eq!(stratified(&[0, 1, 0], 2, 10, 1), vec![0, 1, 2]);
    }
}
