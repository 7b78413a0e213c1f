//! RBF kernel rows, `K(x, y) = exp(-gamma * |x - y|^2)`, computed as
//! `|x|^2 + |y|^2 - 2 x.y` in f32 and kept in a least-recently-used cache
//! with a memory budget (libsvm caches kernel rows as f32 too).
//!
//! The solver shrinks its active set by permuting rows so that active ones
//! form a prefix; the kernel follows that permutation ([`KernelCache::swap`])
//! and computes only the prefix of a row that the solver asks for.

/// `exp(x)` for `x <= 0`, branch-free so that loops over it vectorise
/// (baseline x86-64 has no vector `exp`). Cephes' single-precision
/// polynomial: relative error within a few f32 ulps of `f32::exp`.
#[inline(always)]
pub fn exp_neg(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds to the nearest integer and leaves it in the
    // low mantissa bits: no float-to-int conversion, which would not vectorise.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 0.0);
    let t = x * LOG2E + MAGIC;
    let nf = t - MAGIC;
    let n = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = x - nf * LN2_HI - nf * LN2_LO;
    let mut p = 1.987_569_2e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n + 127) as u32) << 23)
}

/// Defines a function twice, for the baseline target and for AVX2, and
/// picks one at run time. The body is the same code, so both compute the
/// same operations in the same order (no fused multiply-add is introduced)
/// and give bit-identical results: models stay byte-identical across machines.
macro_rules! with_avx2 {
    ($(#[$m:meta])* pub fn $name:ident($($arg:ident : $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn generic($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    generic($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}
pub(crate) use with_avx2;

with_avx2! {
    /// Turns dot products `x.s` into RBF kernel values in place, given `|x|^2` and each `|s|^2`.
    pub fn rbf_from_dots(row: &mut [f32], norms: &[f32], x_norm: f32, gamma: f32) {
        for (v, &sn) in row.iter_mut().zip(norms) {
            *v = exp_neg(-gamma * (x_norm + sn - 2.0 * *v));
        }
    }
}

with_avx2! {
    /// `acc += v * col`.
    pub fn axpy(acc: &mut [f32], v: f32, col: &[f32]) {
        for (a, &c) in acc.iter_mut().zip(col) {
            *a += v * c;
        }
    }
}

/// f32 values against four vectors of f64 coefficients at once, each summed
/// in f64 over eight lanes (products rounded, then added: no fused
/// multiply-add, so every path gives the same bits). A class's support
/// vectors take part in every pair of that class: one load and widening of
/// each value serves four pairs, and eight lanes keep the adds off one
/// chain's latency.
pub fn dot_mixed_4(a: &[f32], b: [&[f64]; 4]) -> [f64; 4] {
    assert!(b.iter().all(|c| c.len() >= a.len()), "a coefficient for every value");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above; lengths checked above.
        return unsafe { dot_mixed_4_avx2(a, b) };
    }
    dot_mixed_4_portable(a, b)
}

fn dot_mixed_4_portable(a: &[f32], b: [&[f64]; 4]) -> [f64; 4] {
    let whole = a.len() / 8 * 8;
    let mut lanes = [[0.0f64; 8]; 4];
    for i in (0..whole).step_by(8) {
        for (acc, c) in lanes.iter_mut().zip(b) {
            for l in 0..8 {
                acc[l] += a[i + l] as f64 * c[i + l];
            }
        }
    }
    std::array::from_fn(|j| finish_dot(&lanes[j], &a[whole..], &b[j][whole..]))
}

/// The eight lanes of a sum, added in one order for every path, then the tail.
fn finish_dot(v: &[f64; 8], a: &[f32], b: &[f64]) -> f64 {
    let mut t = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
    for (x, c) in a.iter().zip(b) {
        t += *x as f64 * c;
    }
    t
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_mixed_4_avx2(a: &[f32], b: [&[f64]; 4]) -> [f64; 4] {
    use std::arch::x86_64::*;
    let whole = a.len() / 8 * 8;
    let (mut lo, mut hi) = ([_mm256_setzero_pd(); 4], [_mm256_setzero_pd(); 4]);
    let mut i = 0;
    while i < whole {
        // SAFETY (all loads): i + 8 <= a.len() <= every b[j].len().
        let x = _mm256_loadu_ps(a.as_ptr().add(i));
        let (xl, xh) = (_mm256_cvtps_pd(_mm256_castps256_ps128(x)), _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x)));
        for j in 0..4 {
            let p = b[j].as_ptr().add(i);
            lo[j] = _mm256_add_pd(lo[j], _mm256_mul_pd(xl, _mm256_loadu_pd(p)));
            hi[j] = _mm256_add_pd(hi[j], _mm256_mul_pd(xh, _mm256_loadu_pd(p.add(4))));
        }
        i += 8;
    }
    std::array::from_fn(|j| {
        let mut v = [0.0f64; 8];
        _mm256_storeu_pd(v.as_mut_ptr(), lo[j]);
        _mm256_storeu_pd(v.as_mut_ptr().add(4), hi[j]);
        finish_dot(&v, &a[whole..], &b[j][whole..])
    })
}

/// f64 dot product with four accumulators (lets the compiler vectorise).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        s[0] += x[0] * y[0];
        s[1] += x[1] * y[1];
        s[2] += x[2] * y[2];
        s[3] += x[3] * y[3];
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        t += x * y;
    }
    t
}

/// Where kernel rows come from.
enum RowSource<'a> {
    /// Computed from the features. Feature-major (`d x l`): a kernel row is
    /// `d` sweeps over contiguous memory (an AXPY each), which vectorises,
    /// instead of `l` short dot products.
    Features { xt: Vec<f32>, d: usize, norms: Vec<f32>, gamma: f32 },
    /// Gathered from a precomputed `n x n` kernel matrix (tuning reuses one
    /// matrix for every C, fold and pair): position `p` is its row `idx[p]`.
    Gram { gram: &'a [f32], n: usize, idx: Vec<usize> },
}

/// The kernel over one training problem, rows in the solver's current order.
pub struct KernelCache<'a> {
    source: RowSource<'a>,
    l: usize,
    rows: Vec<Vec<f32>>,
    last_used: Vec<u64>,
    /// Positions whose row is (partly) cached.
    cached: Vec<usize>,
    used_floats: usize,
    budget_floats: usize,
    clock: u64,
    scratch: Vec<f32>,
}

impl<'a> KernelCache<'a> {
    /// `x` is row-major `l x d`; `budget_bytes` bounds the cached rows.
    pub fn new(x: &[f64], d: usize, gamma: f64, budget_bytes: usize) -> Self {
        let l = if d == 0 { 0 } else { x.len() / d };
        let mut xt = vec![0f32; l * d];
        for (t, row) in x.chunks_exact(d.max(1)).enumerate() {
            for (k, &v) in row.iter().enumerate() {
                xt[k * l + t] = v as f32;
            }
        }
        let norms = x
            .chunks_exact(d.max(1))
            .map(|r| r.iter().map(|&v| (v as f32) * (v as f32)).sum::<f32>())
            .collect();
        Self::with_source(RowSource::Features { xt, d, norms, gamma: gamma as f32 }, l, budget_bytes)
    }

    /// Rows `idx` of the row-major `n x n` kernel matrix `gram`, in that order.
    pub fn from_gram(gram: &'a [f32], n: usize, idx: Vec<usize>, budget_bytes: usize) -> Self {
        assert_eq!(gram.len(), n * n, "kernel matrix shape");
        let l = idx.len();
        Self::with_source(RowSource::Gram { gram, n, idx }, l, budget_bytes)
    }

    fn with_source(source: RowSource<'a>, l: usize, budget_bytes: usize) -> Self {
        // Room for at least two full rows: the solver needs two at once.
        let budget_floats = (budget_bytes / 4).max(2 * l);
        KernelCache {
            source,
            l,
            rows: vec![Vec::new(); l],
            last_used: vec![0; l],
            cached: Vec::new(),
            used_floats: 0,
            budget_floats,
            clock: 0,
            scratch: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.l
    }

    pub fn is_empty(&self) -> bool {
        self.l == 0
    }

    /// Appends `K(x_i, x_t)` for `t` in `from..to` to `out`.
    fn compute(&mut self, i: usize, from: usize, to: usize, out: &mut Vec<f32>) {
        let l = self.l;
        match &self.source {
            RowSource::Features { xt, d, norms, gamma } => {
                let acc = &mut self.scratch;
                acc.clear();
                acc.resize(to - from, 0.0);
                for k in 0..*d {
                    let col = &xt[k * l..(k + 1) * l];
                    let v = col[i];
                    if v != 0.0 {
                        axpy(acc, v, &col[from..to]);
                    }
                }
                rbf_from_dots(acc, &norms[from..to], norms[i], *gamma);
                out.extend_from_slice(acc);
            }
            RowSource::Gram { gram, n, idx } => {
                let row = &gram[idx[i] * n..(idx[i] + 1) * n];
                out.extend(idx[from..to].iter().map(|&t| row[t]));
            }
        }
    }

    /// Makes row `i` valid on `0..len`, never evicting row `keep`.
    fn ensure(&mut self, i: usize, len: usize, keep: usize) {
        self.clock += 1;
        self.last_used[i] = self.clock;
        let have = self.rows[i].len();
        if have >= len {
            return;
        }
        let extra = len - have;
        while self.used_floats + extra > self.budget_floats {
            let Some((pos, _)) = self
                .cached
                .iter()
                .enumerate()
                .filter(|(_, &r)| r != keep && r != i)
                .min_by_key(|(_, &r)| self.last_used[r])
            else {
                break;
            };
            let victim = self.cached.swap_remove(pos);
            self.used_floats -= self.rows[victim].len();
            self.rows[victim] = Vec::new();
        }
        if have == 0 {
            self.cached.push(i);
        }
        let mut row = std::mem::take(&mut self.rows[i]);
        row.reserve_exact(extra);
        self.compute(i, have, len, &mut row);
        self.rows[i] = row;
        self.used_floats += extra;
    }

    /// Row `i`, valid on `0..len`.
    pub fn row(&mut self, i: usize, len: usize) -> &[f32] {
        self.ensure(i, len, i);
        &self.rows[i][..len]
    }

    /// Rows `i` and `j`, both valid on `0..len`.
    pub fn pair(&mut self, i: usize, j: usize, len: usize) -> (&[f32], &[f32]) {
        self.ensure(i, len, j);
        self.ensure(j, len, i);
        (&self.rows[i][..len], &self.rows[j][..len])
    }

    /// Exchanges positions `i` and `j` (data, norms and cached entries).
    pub fn swap(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let (i, j) = if i < j { (i, j) } else { (j, i) };
        let l = self.l;
        match &mut self.source {
            RowSource::Features { xt, d, norms, .. } => {
                for k in 0..*d {
                    xt.swap(k * l + i, k * l + j);
                }
                norms.swap(i, j);
            }
            RowSource::Gram { idx, .. } => idx.swap(i, j),
        }
        self.rows.swap(i, j);
        self.last_used.swap(i, j);
        for c in self.cached.iter_mut() {
            if *c == i {
                *c = j;
            } else if *c == j {
                *c = i;
            }
        }
        // Entries i and j of every cached row trade places; a row that covers
        // i but not j can no longer be kept consistent and is dropped.
        let mut k = 0;
        while k < self.cached.len() {
            let r = self.cached[k];
            let n = self.rows[r].len();
            if n > j {
                self.rows[r].swap(i, j);
                k += 1;
            } else if n > i {
                self.used_floats -= n;
                self.rows[r] = Vec::new();
                self.cached.swap_remove(k);
            } else {
                k += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(x: &[f64], d: usize, gamma: f64, i: usize, t: usize) -> f64 {
        let d2: f64 = (0..d).map(|c| (x[i * d + c] - x[t * d + c]).powi(2)).sum();
        (-gamma * d2).exp()
    }

    /// Every length (whole lanes and tails): the vector path gives the
    /// portable path's bits, and both are the f64 dot products to rounding.
    #[test]
    fn dot_mixed_4_paths_agree_to_the_bit() {
        let mut s = 11u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for n in 0..70 {
            let a: Vec<f32> = (0..n).map(|_| rnd() as f32).collect();
            let b: Vec<Vec<f64>> = (0..4).map(|_| (0..n + 3).map(|_| 1000.0 * rnd()).collect()).collect();
            let bs = [&b[0][..], &b[1][..], &b[2][..], &b[3][..]];
            let got = dot_mixed_4(&a, bs);
            let portable = dot_mixed_4_portable(&a, bs);
            for j in 0..4 {
                assert_eq!(got[j].to_bits(), portable[j].to_bits(), "length {n}, vector {j}");
                let want: f64 = a.iter().zip(&b[j]).map(|(&x, c)| x as f64 * c).sum();
                assert!((got[j] - want).abs() <= 1e-9 * (1.0 + want.abs()), "length {n}: {} vs {want}", got[j]);
            }
        }
    }

    #[test]
    fn exp_neg_matches_the_library_exp() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -(i as f32) * 86.0 / 200_000.0;
            let want = (x as f64).exp();
            let got = exp_neg(x) as f64;
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert_eq!(exp_neg(0.0), 1.0);
        assert!(exp_neg(-1000.0) >= 0.0 && exp_neg(-1000.0) < 1e-37);
    }

    #[test]
    fn rows_match_the_definition_through_swaps_and_eviction() {
        let x = [0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 3.0, 1.0, -1.0, 0.5];
        let n = 5;
        // Room for two rows only: constant eviction.
        let mut cache = KernelCache::new(&x, 2, 0.5, 2 * n * 4);
        let mut perm: Vec<usize> = (0..n).collect();
        for round in 0..6 {
            let (a, b) = (round % n, (round * 3 + 1) % n);
            cache.swap(a, b);
            perm.swap(a, b);
            for i in 0..n {
                let len = 1 + (i + round) % n;
                let row = cache.row(i, len).to_vec();
                for t in 0..len {
                    let want = exact(&x, 2, 0.5, perm[i], perm[t]);
                    assert!((row[t] as f64 - want).abs() < 1e-5, "round {round} row {i} col {t}");
                }
            }
        }
        let (a, b) = cache.pair(1, 3, n);
        assert_eq!(a[3], b[1]);
    }
}
