//! Features equal in every training row ("tied"), dotted once.
//!
//! CICFlowMeter writes several columns twice (`Subflow.*` = `Total.*`,
//! `Avg.*.Segment.Size` = `*.Packet.Length.Mean`, `Fwd.Header.Length.1`; in
//! most flows `Active`/`Idle` `Max` = `Min` = `Mean`): a sixth of a kernel
//! tile's multiply-adds go to products it has already made. A support vector
//! `s` is a training row, so where features `j` and `k` are tied,
//! `x.s = ... + (x_j + x_k) s_j` for any `x`: the tile takes the sum of a
//! group on the rows' side and its first feature on the columns' side, the
//! same dot product in fewer steps, for prediction's rows as well. Groups
//! have a power-of-two size: on a training row the sum is then the value
//! times the size, exactly, so that `K(i, j) = K(j, i)` to the bit and
//! prediction takes training's kernel values. Norms stay those of the
//! whole rows.

/// The features a kernel tile takes: groups of tied features (most of one
/// feature), ordered by their first feature.
#[derive(Clone, Debug, PartialEq)]
pub struct TiedFeatures {
    d: usize,
    groups: Vec<Vec<u32>>,
}

/// Largest magnitude of a tied value: its group's sum stays far from overflow.
const TIE_LIMIT: f32 = 1e30;

impl TiedFeatures {
    /// No ties: every feature on its own.
    pub fn none(d: usize) -> TiedFeatures {
        TiedFeatures { d, groups: (0..d as u32).map(|k| vec![k]).collect() }
    }

    /// The ties of `x` (row-major, `d` features): features whose f32 values
    /// are the same bits in every row, in groups of two, four, ... (a tie of
    /// three is a pair and a single feature).
    pub fn of_rows(x: &[f64], d: usize) -> TiedFeatures {
        let l = if d == 0 { 0 } else { x.len() / d };
        if l == 0 {
            return Self::none(d);
        }
        // A hash of each column, then a check of the columns with equal hashes.
        let mut hash = vec![0xcbf2_9ce4_8422_2325u64; d];
        let mut usable = vec![true; d];
        for row in x.chunks_exact(d) {
            for ((h, ok), &v) in hash.iter_mut().zip(usable.iter_mut()).zip(row) {
                let v = v as f32;
                *ok &= v.abs() <= TIE_LIMIT;
                *h = (*h ^ v.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        let same = |a: usize, b: usize| x.chunks_exact(d).all(|r| (r[a] as f32).to_bits() == (r[b] as f32).to_bits());
        let mut tied_to: Vec<Option<usize>> = vec![None; d];
        let mut classes: Vec<Vec<u32>> = Vec::new();
        for k in 0..d {
            if tied_to[k].is_some() {
                continue;
            }
            let mut class = vec![k as u32];
            if usable[k] {
                for j in k + 1..d {
                    if tied_to[j].is_none() && usable[j] && hash[j] == hash[k] && same(k, j) {
                        tied_to[j] = Some(k);
                        class.push(j as u32);
                    }
                }
            }
            classes.push(class);
        }
        let mut groups: Vec<Vec<u32>> = Vec::new();
        for class in classes {
            let mut rest = &class[..];
            while !rest.is_empty() {
                let size = 1usize << rest.len().ilog2();
                groups.push(rest[..size].to_vec());
                rest = &rest[size..];
            }
        }
        groups.sort_unstable_by_key(|g| g[0]);
        TiedFeatures { d, groups }
    }

    /// The groups of two or more features, as a model stores them.
    pub fn ties(&self) -> Vec<Vec<u32>> {
        self.groups.iter().filter(|g| g.len() > 1).cloned().collect()
    }

    /// Ties as a model stores them ([`Self::ties`]), checked: each feature
    /// below `d` and in one group at most, ascending within a group, groups
    /// of a power-of-two size, ordered by their first feature.
    pub fn from_ties(d: usize, ties: &[Vec<u32>]) -> Result<TiedFeatures, String> {
        let mut seen = vec![false; d];
        let mut last_first = None;
        for g in ties {
            let ok = g.len() >= 2 && g.len().is_power_of_two() && g.windows(2).all(|w| w[0] < w[1]);
            if !ok || (g[g.len() - 1] as usize) >= d || last_first.is_some_and(|f| f >= g[0]) {
                return Err(format!("tied features {g:?} are malformed"));
            }
            last_first = Some(g[0]);
            for &k in g {
                if std::mem::replace(&mut seen[k as usize], true) {
                    return Err(format!("feature {k} is tied twice"));
                }
            }
        }
        let mut groups: Vec<Vec<u32>> = ties.to_vec();
        groups.extend((0..d as u32).filter(|&k| !seen[k as usize]).map(|k| vec![k]));
        groups.sort_unstable_by_key(|g| g[0]);
        Ok(TiedFeatures { d, groups })
    }

    /// Features of a whole row.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Features a kernel tile takes (one per group).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    fn untied(&self) -> bool {
        self.groups.len() == self.d
    }

    /// Columns' side: each group's first feature, of every row of `x` (row-major, [`Self::d`] features).
    pub fn firsts(&self, x: &[f32]) -> Vec<f32> {
        if self.untied() {
            return x.to_vec();
        }
        let mut out = Vec::with_capacity(x.len() / self.d.max(1) * self.len());
        for row in x.chunks_exact(self.d.max(1)) {
            out.extend(self.groups.iter().map(|g| row[g[0] as usize]));
        }
        out
    }

    /// Rows' side: each group's sum (in f64, rounded once), of every row of
    /// `x`. On a training row, the first feature times the group's size, exactly.
    pub fn sums(&self, x: &[f32]) -> Vec<f32> {
        if self.untied() {
            return x.to_vec();
        }
        let mut out = Vec::with_capacity(x.len() / self.d.max(1) * self.len());
        for row in x.chunks_exact(self.d.max(1)) {
            out.extend(self.groups.iter().map(|g| g.iter().map(|&k| row[k as usize] as f64).sum::<f64>() as f32));
        }
        out
    }

    /// Whether every group's features are the same bits in every row of `x`
    /// (row-major, [`Self::d`] features): true of the rows the ties were found in.
    pub fn hold_in(&self, x: &[f32]) -> bool {
        x.chunks_exact(self.d.max(1)).all(|row| {
            self.groups.iter().all(|g| g.iter().all(|&k| row[k as usize].to_bits() == row[g[0] as usize].to_bits()))
        })
    }

    /// Each group's size, as f32: the rows' side of a training row is its first feature times this.
    pub fn sizes(&self) -> Vec<f32> {
        self.groups.iter().map(|g| g.len() as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_are_found_and_split_into_powers_of_two() {
        // Features 0 = 2 = 5, 1 = 4, 3 alone, 6 = 7 but past the limit in one row.
        let d = 8;
        let rows: Vec<[f64; 8]> = (0..50)
            .map(|i| {
                let a = i as f64 * 0.37 - 3.0;
                let b = (i * i) as f64 / 7.0;
                let big = if i == 9 { 1e31 } else { i as f64 * 2.0 };
                [a, b, a, i as f64, b, a, big, big]
            })
            .collect();
        let x: Vec<f64> = rows.iter().flatten().copied().collect();
        let t = TiedFeatures::of_rows(&x, d);
        assert_eq!(t.ties(), vec![vec![0, 2], vec![1, 4]]);
        assert_eq!(t.groups, vec![vec![0, 2], vec![1, 4], vec![3], vec![5], vec![6], vec![7]]);
        assert_eq!(TiedFeatures::from_ties(d, &t.ties()).unwrap(), t);
        // Four of a kind make one group of four; five, a group of four and one of one.
        let x5: Vec<f64> = (0..20).flat_map(|i| [i as f64; 5]).collect();
        assert_eq!(TiedFeatures::of_rows(&x5, 5).ties(), vec![vec![0, 1, 2, 3]]);
        assert_eq!(TiedFeatures::of_rows(&x5[..0], 5), TiedFeatures::none(5));
    }

    #[test]
    fn sums_and_firsts_give_the_dot_product_of_whole_rows() {
        let t = TiedFeatures::from_ties(5, &[vec![0, 3], vec![1, 2]]).unwrap();
        let sv = [1.5f32, -2.0, -2.0, 1.5, 0.25];
        let x = [0.5f32, 3.0, 1.0, -4.0, 2.0];
        let (s, f) = (t.sums(&x), t.firsts(&sv));
        assert_eq!((s.len(), f.len()), (3, 3));
        let tied: f32 = s.iter().zip(&f).map(|(a, b)| a * b).sum();
        let whole: f32 = x.iter().zip(&sv).map(|(a, b)| a * b).sum();
        assert_eq!(tied, whole);
        // On a training row, a sum is the first feature times the group's size, to the bit.
        let odd = 0.1f32 + 1e-7;
        let row = [odd, odd, odd, odd, 3.0];
        let four = TiedFeatures::from_ties(5, &[vec![0, 1, 2, 3]]).unwrap();
        assert_eq!(four.sums(&row)[0].to_bits(), (odd * 4.0).to_bits());
        assert_eq!(four.sizes(), vec![4.0, 1.0]);
    }

    #[test]
    fn malformed_ties_are_refused() {
        for bad in [vec![vec![0, 0]], vec![vec![1, 0]], vec![vec![0, 1, 2]], vec![vec![0, 9]], vec![vec![2, 3], vec![0, 1]], vec![vec![0, 1], vec![1, 2]], vec![vec![3]]] {
            assert!(TiedFeatures::from_ties(5, &bad).is_err(), "{bad:?}");
        }
        assert!(TiedFeatures::from_ties(5, &[]).unwrap().untied());
    }
}
