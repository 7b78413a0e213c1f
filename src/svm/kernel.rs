//! RBF kernel rows, `K(x, y) = exp(-gamma * |x - y|^2)`, computed as
//! `|x|^2 + |y|^2 - 2 x.y` and kept in a least-recently-used cache with a
//! memory budget (libsvm caches kernel rows as f32 too).

/// Dot product with four accumulators (lets the compiler vectorise).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        let i = c * 4;
        s[0] += a[i] * b[i];
        s[1] += a[i + 1] * b[i + 1];
        s[2] += a[i + 2] * b[i + 2];
        s[3] += a[i + 3] * b[i + 3];
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for i in chunks * 4..a.len() {
        t += a[i] * b[i];
    }
    t
}

/// The kernel over one training problem: `l` rows of `d` features.
pub struct RbfKernel<'a> {
    x: &'a [f64],
    d: usize,
    norms: Vec<f64>,
    gamma: f64,
}

impl<'a> RbfKernel<'a> {
    pub fn new(x: &'a [f64], d: usize, gamma: f64) -> Self {
        let norms = x.chunks_exact(d).map(|r| dot(r, r)).collect();
        RbfKernel { x, d, norms, gamma }
    }

    pub fn len(&self) -> usize {
        self.norms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.norms.is_empty()
    }

    fn row_of(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// `K(x_i, x_t)` for every `t`, into `out`.
    pub fn fill_row(&self, i: usize, out: &mut [f32]) {
        let xi = self.row_of(i);
        let ni = self.norms[i];
        for (t, o) in out.iter_mut().enumerate() {
            let d2 = (ni + self.norms[t] - 2.0 * dot(xi, self.row_of(t))).max(0.0);
            *o = (-self.gamma * d2).exp() as f32;
        }
    }
}

/// Kernel rows cached up to a budget, evicting the least recently used.
pub struct RowCache<'a> {
    kernel: RbfKernel<'a>,
    rows: Vec<Option<Box<[f32]>>>,
    last_used: Vec<u64>,
    cached: Vec<usize>,
    max_rows: usize,
    clock: u64,
}

impl<'a> RowCache<'a> {
    pub fn new(kernel: RbfKernel<'a>, budget_bytes: usize) -> Self {
        let l = kernel.len();
        let row_bytes = (l * std::mem::size_of::<f32>()).max(1);
        // Two rows are needed at once; never go below that.
        let max_rows = (budget_bytes / row_bytes).clamp(2, l.max(2));
        RowCache { kernel, rows: vec![None; l], last_used: vec![0; l], cached: Vec::new(), max_rows, clock: 0 }
    }

    /// Makes sure row `i` is cached, never evicting row `keep`.
    fn ensure(&mut self, i: usize, keep: usize) {
        self.clock += 1;
        self.last_used[i] = self.clock;
        if self.rows[i].is_some() {
            return;
        }
        let mut buf = if self.cached.len() >= self.max_rows {
            // Evict the least recently used row other than `keep`.
            let (pos, _) = self
                .cached
                .iter()
                .enumerate()
                .filter(|(_, &r)| r != keep)
                .min_by_key(|(_, &r)| self.last_used[r])
                .expect("cache holds at least two rows");
            let victim = self.cached.swap_remove(pos);
            self.rows[victim].take().unwrap()
        } else {
            vec![0f32; self.kernel.len()].into_boxed_slice()
        };
        self.kernel.fill_row(i, &mut buf);
        self.rows[i] = Some(buf);
        self.cached.push(i);
    }

    /// Rows `i` and `j`, both cached.
    pub fn pair(&mut self, i: usize, j: usize) -> (&[f32], &[f32]) {
        self.ensure(i, j);
        self.ensure(j, i);
        (self.rows[i].as_deref().unwrap(), self.rows[j].as_deref().unwrap())
    }

    /// Row `i`.
    pub fn row(&mut self, i: usize) -> &[f32] {
        self.ensure(i, i);
        self.rows[i].as_deref().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_match_the_definition_and_survive_eviction() {
        let x = [0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 3.0, 1.0];
        let k = RbfKernel::new(&x, 2, 0.5);
        let mut cache = RowCache::new(k, 2 * 4 * 4); // room for two rows
        for round in 0..3 {
            for i in 0..4 {
                let row = cache.row(i).to_vec();
                for t in 0..4 {
                    let d2: f64 = (0..2).map(|c| (x[i * 2 + c] - x[t * 2 + c]).powi(2)).sum();
                    assert!((row[t] as f64 - (-0.5 * d2).exp()).abs() < 1e-6, "round {round}");
                }
            }
        }
        let (a, b) = cache.pair(1, 3);
        assert_eq!(a[3], b[1]);
    }
}
