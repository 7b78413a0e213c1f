//! SMOTE (Chawla et al., 2002): synthetic rows for the small classes, each
//! on the segment between a real row and one of its nearest neighbours of
//! the same class. Applied to training rows only (inside each
//! cross-validation fold), never to rows that are scored.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Neighbours considered per row, as imbalanced-learn's default.
const NEIGHBOURS: usize = 5;

/// Returns `(x, y)` extended with synthetic rows: every class is raised
/// towards the size of the largest, but at most as many rows are added as
/// there were (the deficits shrink in proportion), so that the cost of
/// fitting stays within about 4x. `x` is row-major with `d` features, already scaled.
pub fn oversample(x: &[f64], d: usize, y: &[usize], k: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
    let n = y.len();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &c) in y.iter().enumerate() {
        members[c].push(i);
    }
    let largest = members.iter().map(Vec::len).max().unwrap_or(0);
    // A class needs two rows for a segment.
    let deficit: Vec<usize> =
        members.iter().map(|m| if m.len() >= 2 { largest - m.len() } else { 0 }).collect();
    let total: usize = deficit.iter().sum();
    let scale = if total > n { n as f64 / total as f64 } else { 1.0 };
    let mut xo = x.to_vec();
    let mut yo = y.to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (c, rows) in members.iter().enumerate() {
        let add = (deficit[c] as f64 * scale).floor() as usize;
        if add == 0 {
            continue;
        }
        let nn = nearest_neighbours(x, d, rows, NEIGHBOURS.min(rows.len() - 1));
        for _ in 0..add {
            let a = rng.random_range(0..rows.len());
            let b = nn[a][rng.random_range(0..nn[a].len())];
            let gap: f64 = rng.random();
            let (ra, rb) = (&x[rows[a] * d..(rows[a] + 1) * d], &x[b * d..(b + 1) * d]);
            xo.extend(ra.iter().zip(rb).map(|(&u, &v)| u + gap * (v - u)));
            yo.push(c);
        }
    }
    (xo, yo)
}

/// For each row of `rows`, the `m` nearest other rows of `rows` (global indices; ties by index).
fn nearest_neighbours(x: &[f64], d: usize, rows: &[usize], m: usize) -> Vec<Vec<usize>> {
    rows.iter()
        .map(|&i| {
            let xi = &x[i * d..(i + 1) * d];
            let mut dist: Vec<(f64, usize)> = rows
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| {
                    let d2: f64 = xi.iter().zip(&x[j * d..(j + 1) * d]).map(|(a, b)| (a - b) * (a - b)).sum();
                    (d2, j)
                })
                .collect();
            let m = m.min(dist.len());
            if m < dist.len() {
                dist.select_nth_unstable_by(m, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            }
            dist.truncate(m);
            dist.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            dist.into_iter().map(|(_, j)| j).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_rows_lie_between_neighbours_of_their_class() {
        // Class 0: 8 rows along x = 0..7; class 1: 2 rows far away.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..8 {
            x.extend([i as f64, 0.0]);
            y.push(0);
        }
        x.extend([100.0, 100.0, 101.0, 101.0]);
        y.extend([1, 1]);
        let (xo, yo) = oversample(&x, 2, &y, 2, 7);
        assert_eq!(&xo[..x.len()], &x[..], "real rows come first, unchanged");
        assert_eq!(yo.iter().filter(|&&c| c == 1).count(), 8, "raised to the largest class");
        for (row, &c) in xo.chunks(2).zip(&yo).skip(y.len()) {
            assert_eq!(c, 1);
            assert!((100.0..=101.0).contains(&row[0]) && (row[0] - row[1]).abs() < 1e-12, "{row:?}");
        }
        assert_eq!(oversample(&x, 2, &y, 2, 7), (xo, yo), "seeded");
    }

    #[test]
    fn additions_are_capped_at_the_real_row_count() {
        let x: Vec<f64> = (0..24).map(|i| i as f64).collect();
        let mut y = vec![0; 20];
        y.extend([1, 1, 2, 2]);
        let (_, yo) = oversample(&x, 1, &y, 3, 1);
        assert_eq!(yo.len(), 24 + 24);
        // A one-row class cannot be interpolated and is left as it is.
        let (_, yo) = oversample(&x[..21], 1, &y[..21], 2, 1);
        assert_eq!(yo.len(), 21);
    }
}
