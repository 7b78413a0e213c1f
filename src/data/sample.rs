//! Seeded stratified sampling: caps training rows while every class keeps
//! at least a floor of rows (the rare classes are the ones users care about).

use rand::seq::SliceRandom;
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
    let quota = quotas(&members.iter().map(Vec::len).collect::<Vec<_>>(), max_rows);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(max_rows);
    for (m, &q) in members.iter().zip(&quota) {
        let picked = rand::seq::index::sample(&mut rng, m.len(), q);
        out.extend(picked.into_iter().map(|j| m[j]));
    }
    out.sort_unstable();
    out
}

/// Rows per class of a stratified sample of `max_rows` from classes of `rows[c]` rows.
fn quotas(rows: &[usize], max_rows: usize) -> Vec<usize> {
    let k = rows.len();
    let floor = class_floor(max_rows, k);
    let mut quota: Vec<usize> = rows.iter().map(|&m| m.min(floor)).collect();
    let taken: usize = quota.iter().sum();
    let budget = max_rows.saturating_sub(taken);
    let left: Vec<usize> = rows.iter().zip(&quota).map(|(m, q)| m - q).collect();
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
            if quota[c] < rows[c] {
                quota[c] += 1;
                given += 1;
            }
        }
    }
    quota
}

/// Up to `count` rows outside `taken` (ascending, of `n` rows), drawn at
/// random: the classes keep the file's proportions, as the rows a model
/// will meet do. Same inputs and seed, same rows.
pub fn outside(n: usize, taken: &[usize], count: usize, seed: u64) -> Vec<usize> {
    let mut in_taken = vec![false; n];
    for &i in taken {
        in_taken[i] = true;
    }
    let spare: Vec<usize> = (0..n).filter(|&i| !in_taken[i]).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<usize> = rand::seq::index::sample(&mut rng, spare.len(), count.min(spare.len())).into_iter().map(|j| spare[j]).collect();
    out.sort_unstable();
    out
}

/// Like [`stratified`], but made of whole groups (`group[i]` is row i's),
/// so that grouped folds can be cut from it: groups are taken in a seeded
/// order, first those whose rows all fit the classes' quotas, then any that
/// fit the budget. A group larger than `max_rows / folds` is represented by
/// a stratified sample of that many of its rows (still one group: it never
/// spans folds), or one group could fill the sample. Same inputs and seed, same rows.
pub fn grouped(class: &[usize], group: &[u32], k: usize, max_rows: usize, folds: usize, seed: u64) -> Vec<usize> {
    if class.len() <= max_rows {
        return (0..class.len()).collect();
    }
    let n_groups = group.iter().map(|&g| g as usize + 1).max().unwrap_or(0);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for (i, &g) in group.iter().enumerate() {
        members[g as usize].push(i);
    }
    let cap = (max_rows / folds.max(1)).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (g, m) in members.iter_mut().enumerate().filter(|(_, m)| m.len() > cap) {
        let classes: Vec<usize> = m.iter().map(|&i| class[i]).collect();
        let keep = stratified(&classes, k, cap, seed ^ (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        *m = keep.into_iter().map(|j| m[j]).collect();
    }
    let mut rows_of = vec![0usize; k];
    for &c in class {
        rows_of[c] += 1;
    }
    let quota = quotas(&rows_of, max_rows);
    let mut order: Vec<usize> = (0..n_groups).filter(|&g| !members[g].is_empty()).collect();
    order.shuffle(&mut rng);
    let (mut taken, mut total) = (vec![0usize; k], 0usize);
    let mut chosen = vec![false; n_groups];
    for strict in [true, false] {
        for &g in &order {
            if chosen[g] || total + members[g].len() > max_rows {
                continue;
            }
            let mut need = vec![0usize; k];
            for &i in &members[g] {
                need[class[i]] += 1;
            }
            if strict && (0..k).any(|c| taken[c] + need[c] > quota[c]) {
                continue;
            }
            chosen[g] = true;
            total += members[g].len();
            for c in 0..k {
                taken[c] += need[c];
            }
        }
    }
    let mut out: Vec<usize> = (0..n_groups).filter(|&g| chosen[g]).flat_map(|g| members[g].iter().copied()).collect();
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
    fn grouped_samples_keep_whole_groups_and_the_class_mix() {
        // 200 groups of 1 to 10 rows; class 2 is rare and lives in a few groups.
        let (mut class, mut group) = (Vec::new(), Vec::new());
        for g in 0..200u32 {
            for r in 0..(1 + g % 10) {
                group.push(g);
                class.push(if g % 25 == 0 { 2 } else if (g + r) % 3 == 0 { 1 } else { 0 });
            }
        }
        let s = grouped(&class, &group, 3, 400, 5, 1);
        assert!(s.len() <= 400 && s.len() > 360, "{}", s.len());
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        for g in 0..200u32 {
            let all = group.iter().filter(|&&x| x == g).count();
            let got = s.iter().filter(|&&i| group[i] == g).count();
            assert!(got == 0 || got == all, "group {g}: {got} of {all} rows");
        }
        let rare = s.iter().filter(|&&i| class[i] == 2).count();
        assert!(rare >= class_floor(400, 3).min(class.iter().filter(|&&c| c == 2).count()) / 2, "{rare}");
        assert_eq!(s, grouped(&class, &group, 3, 400, 5, 1));
        assert_ne!(s, grouped(&class, &group, 3, 400, 5, 2));
        // One huge group is cut to max_rows / folds.
        let big = vec![0u32; 1000];
        let cls: Vec<usize> = (0..1000).map(|i| i % 2).collect();
        assert_eq!(grouped(&cls, &big, 2, 100, 5, 1).len(), 20);
    }

    #[test]
    fn rows_outside_a_sample_are_others_and_seeded() {
        let taken = stratified(&vec![0; 100], 1, 30, 1);
        let out = outside(100, &taken, 50, 3);
        assert_eq!(out.len(), 50);
        assert!(out.windows(2).all(|w| w[0] < w[1]) && out.iter().all(|i| !taken.contains(i)));
        assert_eq!(out, outside(100, &taken, 50, 3));
        assert_ne!(out, outside(100, &taken, 50, 4));
        assert_eq!(outside(100, &taken, 500, 3).len(), 70, "no more than there are");
    }

    #[test]
    fn small_input_is_kept_whole() {
        assert_eq!(stratified(&[0, 1, 0], 2, 10, 1), vec![0, 1, 2]);
    }
}
