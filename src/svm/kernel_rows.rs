//! Kernel rows of one binary problem, computed many at a time and kept
//! within a memory budget: what the working-set solver
//! ([`super::working_set`]) asks for.
//!
//! A row `K(x_i, .)` holds the kernel values of row `i` against the
//! *columns*: at first every row of the problem, later only the variables
//! the solver has not set aside. When the columns narrow
//! ([`KernelRows::narrow`]) a cached row is cut down to them the next time it
//! is asked for, never before: most are never asked for again.
//!
//! Rows are computed together as one matrix product (ThunderSVM's and
//! oneDAL's insight): a register tile of [`MR`] rows by [`NR`] columns reads
//! each feature value once for `MR * NR` products, where a row at a time
//! streams the whole feature matrix per row.
//!
//! Determinism: each dot product is one chain of fused multiply-adds over
//! the features (one per group of tied features, [`super::tied`]), in
//! feature order, whatever the tiling, thread or CPU; a
//! feature that is zero in all of a tile's rows adds nothing to the chain
//! and is skipped (a one-hot column is zero in most rows). The
//! AVX2 build uses the FMA instruction; elsewhere `mul_add` is the C
//! library's correctly rounded `fmaf`, slower and bit-identical.

use rayon::prelude::*;

use super::tied::TiedFeatures;


/// Rows of a register tile.
const MR: usize = 6;
/// Columns of a register tile (two AVX2 vectors of f32).
const NR: usize = 16;
/// Rows a task computes together: each strip of [`NR`] columns of the
/// features is read from L1 by all of them.
const ROWS_PER_TASK: usize = 8 * MR;
/// Columns per task of [`KernelRows::weighted_sums`].
const SUM_COLUMNS: usize = 512;

/// Defines a function twice, for the baseline target and for AVX2 with FMA,
/// and picks one at run time (as [`super::kernel`]'s `with_avx2`). Both run
/// the same `mul_add` chains, so both give the same bits.
macro_rules! with_fma {
    ($(#[$m:meta])* fn $name:ident($($arg:ident : $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn generic($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fma($($arg: $ty),*) $(-> $ret)? {
                    generic($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { fma($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}

with_fma! {
    /// Kernel values of `groups` groups of [`MR`] rows (`rows`) against the
    /// `n` columns of `panels`, written to `out[g * MR + r][..n]` (rows past
    /// `out` are dropped). A feature that is zero in all of a group's rows
    /// (one-hot columns, mostly) is skipped: its products are zero, and
    /// adding them changes no bit of a sum, so the sums are those of the
    /// whole chain. The exponential is taken on the tile, before it is stored.
    fn rbf_rows(rows: Tile, groups: usize, panels: Tile, d: usize, n: usize, gamma: f32, out: &mut [&mut [f32]]) {
        for (s, panel) in panels.values.chunks_exact(d * NR).enumerate() {
            let j = s * NR;
            let width = NR.min(n - j);
            let cn: &[f32; NR] = panels.norms[j..j + NR].try_into().expect("padded norms");
            for g in 0..groups {
                let a = &rows.values[g * d * MR..(g + 1) * d * MR];
                let (dense, sparse) = rows.live(g);
                let mut acc = tile_dots(panel, a, dense, sparse);
                for r in 0..MR {
                    let rn = rows.norms[g * MR + r];
                    for c in 0..NR {
                        // As `rbf_from_dots`: the sum of the norms first, so that K is symmetric to the bit.
                        acc[r][c] = exp_neg_fused(-gamma * (rn + cn[c] - 2.0 * acc[r][c]));
                    }
                    if let Some(o) = out.get_mut(g * MR + r) {
                        if width == NR {
                            // A constant length: a plain vector store, not a call to memcpy.
                            let dst: &mut [f32; NR] = (&mut o[j..j + NR]).try_into().expect("strip");
                            *dst = acc[r];
                        } else {
                            o[j..j + width].copy_from_slice(&acc[r][..width]);
                        }
                    }
                }
            }
        }
    }
}

/// `exp(x)` for `x <= 0`: [`super::kernel::exp_neg`]'s reduction and
/// polynomial with each multiply-add fused (fewer instructions on the
/// tile, and no less accurate). `mul_add` is correctly rounded everywhere,
/// so every path gives the same bits.
#[inline(always)]
fn exp_neg_fused(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds to the nearest integer and leaves it in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 0.0);
    let t = x.mul_add(LOG2E, MAGIC);
    let nf = t - MAGIC;
    let n = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = (-nf).mul_add(LN2_LO, (-nf).mul_add(LN2_HI, x));
    let mut p = 1.987_569_2e-4f32;
    p = p.mul_add(r, 1.398_199_9e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 5.000_000_1e-1);
    // `r + 1` first would round away r's low bits: a bias of +1.6e-8 (relative)
    // that moved a C 512 model's probabilities in the sixth decimal. As in `exp_neg`, 1 comes last.
    let e = (p * r).mul_add(r, r) + 1.0;
    e * f32::from_bits(((n + 127) as u32) << 23)
}

/// The dot products of a tile: [`MR`] rows (`a`, feature-major) by [`NR`]
/// columns (`panel`, feature-major) over features `0..dense` and then
/// `sparse`, each one chain of fused multiply-adds in that order.
#[inline(always)]
fn tile_dots(panel: &[f32], a: &[f32], dense: usize, sparse: &[u32]) -> [[f32; NR]; MR] {
    let d = panel.len() / NR;
    assert!(a.len() == d * MR && dense <= d && sparse.iter().all(|&k| (k as usize) < d), "features of the tile");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above); every
        // feature read is below `d` (asserted above).
        return unsafe { tile_dots_fma(panel, a, dense, sparse) };
    }
    tile_dots_portable(panel, a, dense, sparse)
}

/// [`tile_dots`] anywhere: `mul_add` is a correctly rounded fused multiply-add, as the instruction.
fn tile_dots_portable(panel: &[f32], a: &[f32], dense: usize, sparse: &[u32]) -> [[f32; NR]; MR] {
    let mut acc = [[0f32; NR]; MR];
    for k in (0..dense).chain(sparse.iter().map(|&k| k as usize)) {
        for r in 0..MR {
            for c in 0..NR {
                acc[r][c] = a[k * MR + r].mul_add(panel[k * NR + c], acc[r][c]);
            }
        }
    }
    acc
}

/// [`tile_dots`] in AVX2 registers: twelve accumulators of eight lanes,
/// written out so that they stay in registers whichever loop feeds them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_dots_fma(panel: &[f32], a: &[f32], dense: usize, sparse: &[u32]) -> [[f32; NR]; MR] {
    use std::arch::x86_64::*;
    let (pp, ap) = (panel.as_ptr(), a.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 2 * MR];
    let step = |k: usize, acc: &mut [__m256; 2 * MR]| {
        // SAFETY: k < d, so k * NR + 16 <= panel.len() and k * MR + 6 <= a.len().
        let (b0, b1) = unsafe { (_mm256_loadu_ps(pp.add(k * NR)), _mm256_loadu_ps(pp.add(k * NR + 8))) };
        for r in 0..MR {
            let av = unsafe { _mm256_broadcast_ss(&*ap.add(k * MR + r)) };
            acc[2 * r] = _mm256_fmadd_ps(av, b0, acc[2 * r]);
            acc[2 * r + 1] = _mm256_fmadd_ps(av, b1, acc[2 * r + 1]);
        }
    };
    for k in 0..dense {
        step(k, &mut acc);
    }
    for &k in sparse {
        step(k as usize, &mut acc);
    }
    let mut out = [[0f32; NR]; MR];
    for r in 0..MR {
        _mm256_storeu_ps(out[r].as_mut_ptr(), acc[2 * r]);
        _mm256_storeu_ps(out[r].as_mut_ptr().add(8), acc[2 * r + 1]);
    }
    out
}

/// Values laid out for [`rbf_rows`] (feature-major blocks of [`MR`] rows or
/// [`NR`] columns), their squared norms, and each block's live features:
/// those not zero in every row of the block, ascending. Numeric features
/// come first and are seldom zero throughout, one-hot ones last: the live
/// features are mostly a run `0..dense` and a few more, listed.
#[derive(Clone, Copy)]
struct Tile<'a> {
    values: &'a [f32],
    norms: &'a [f32],
    /// Per block, how many features from the first are all live.
    dense: &'a [u32],
    /// The other live features of every block, back to back.
    live: &'a [u32],
    /// Where block `b`'s are in `live`: `live_start[b]..live_start[b + 1]`.
    live_start: &'a [usize],
}

impl Tile<'_> {
    /// Block `block`'s live features: `0..dense`, then the listed ones.
    fn live(&self, block: usize) -> (usize, &[u32]) {
        (self.dense[block] as usize, &self.live[self.live_start[block]..self.live_start[block + 1]])
    }
}

/// Blocks of `width` rows of the row-major `x` (`d` features; `norms`
/// theirs), each feature-major (`d x width`), with their norms, each feature
/// times its `scale` (none when empty). Groups of
/// rows (`repeat`) have live features (see [`Tile`]) and a short last group
/// repeats its last row; strips of columns have none and are padded with zeros.
#[derive(Default)]
struct Packed {
    values: Vec<f32>,
    norms: Vec<f32>,
    dense: Vec<u32>,
    live: Vec<u32>,
    live_start: Vec<usize>,
}

impl Packed {
    fn new(x: &[f32], norms: &[f32], d: usize, rows: &[usize], width: usize, repeat: bool, scale: &[f32]) -> Packed {
        Self::new_in(Packed::default(), x, norms, d, rows, width, repeat, scale)
    }

    /// [`Self::new`] in `old`'s memory: repacking the columns after a
    /// narrowing writes over memory already touched, not fresh pages.
    #[allow(clippy::too_many_arguments)]
    fn new_in(old: Packed, x: &[f32], norms: &[f32], d: usize, rows: &[usize], width: usize, repeat: bool, scale: &[f32]) -> Packed {
        let blocks = rows.len().div_ceil(width);
        let Packed { mut values, norms: mut block_norms, mut dense, mut live, mut live_start } = old;
        values.clear();
        values.resize(blocks * width * d, 0.0);
        block_norms.clear();
        block_norms.resize(blocks * width, 0.0);
        dense.clear();
        live.clear();
        live_start.clear();
        live_start.push(0);
        let mut p = Packed { values, norms: block_norms, dense, live, live_start };
        let mut nonzero = vec![false; d];
        for b in 0..blocks {
            nonzero.fill(false);
            let block = &mut p.values[b * d * width..(b + 1) * d * width];
            for r in 0..width {
                let i = b * width + r;
                let src = match (rows.get(i), repeat) {
                    (Some(&src), _) => src,
                    (None, true) => rows[rows.len() - 1],
                    (None, false) => continue,
                };
                p.norms[i] = norms[src];
                let row = &x[src * d..(src + 1) * d];
                for (k, (&v, nz)) in row.iter().zip(nonzero.iter_mut()).enumerate() {
                    let v = if scale.is_empty() { v } else { v * scale[k] };
                    block[k * width + r] = v;
                    *nz |= v != 0.0;
                }
            }
            if repeat {
                let dense = nonzero.iter().take_while(|&&z| z).count();
                p.dense.push(dense as u32);
                p.live.extend((dense..d).filter(|&k| nonzero[k]).map(|k| k as u32));
                p.live_start.push(p.live.len());
            }
        }
        p
    }

    fn tile(&self) -> Tile<'_> {
        Tile { values: &self.values, norms: &self.norms, dense: &self.dense, live: &self.live, live_start: &self.live_start }
    }

    /// Blocks `from..to` (of `width` rows and `d` features).
    fn blocks(&self, from: usize, to: usize, width: usize, d: usize) -> Tile<'_> {
        Tile {
            values: &self.values[from * d * width..to * d * width],
            norms: &self.norms[from * width..to * width],
            dense: self.dense.get(from..to).unwrap_or(&[]),
            live: &self.live,
            live_start: self.live_start.get(from..=to).unwrap_or(&[]),
        }
    }
}

/// Columns `cols` of the row-major `x` in strips of [`NR`] columns, each
/// strip feature-major (`d x NR`, contiguous), the last one padded with
/// zeros: a tile reads its strip as one run of memory.
fn pack_columns(x: &[f32], norms: &[f32], d: usize, cols: &[usize]) -> Packed {
    Packed::new(x, norms, d, cols, NR, false, &[])
}

/// Rows of the row-major `x` in groups of [`MR`], each feature-major, each
/// feature times its `scale` (none when empty); a short last group repeats
/// its last row (computed, never written).
fn pack_rows(x: &[f32], norms: &[f32], d: usize, rows: &[usize], scale: &[f32]) -> Packed {
    Packed::new(x, norms, d, rows, MR, true, scale)
}

/// `|v|^2` in f32, summed in order: training and prediction take the same
/// norms, so that they compute the same kernel values to the bit.
pub fn squared_norm(v: &[f32]) -> f32 {
    v.iter().map(|&a| a * a).sum::<f32>()
}

/// Fixed columns of kernel blocks: the support vectors of a model, packed
/// once for [`KernelColumns::block`].
pub struct KernelColumns {
    tied: TiedFeatures,
    n: usize,
    gamma: f32,
    panels: Packed,
}

impl KernelColumns {
    /// The rows of `x` (row-major, [`TiedFeatures::d`] features, tied as
    /// `tied`: training rows) as columns.
    pub fn new(x: &[f32], tied: &TiedFeatures, gamma: f32) -> KernelColumns {
        let d = tied.d();
        let n = if d == 0 { 0 } else { x.len() / d };
        let all: Vec<usize> = (0..n).collect();
        let norms: Vec<f32> = x.chunks_exact(d.max(1)).map(squared_norm).collect();
        let panels = pack_columns(&tied.firsts(x), &norms, tied.len(), &all);
        KernelColumns { tied: tied.clone(), n, gamma, panels }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Columns per block that [`Self::block`] takes: a whole number of strips.
    pub fn block_width(width: usize) -> usize {
        width.div_ceil(NR).max(1) * NR
    }

    /// Rows of `x` (row-major, every feature, any values) laid out for
    /// [`Self::block`]: each group of tied features as its sum.
    pub fn pack(&self, x: &[f32]) -> PackedRows {
        let d = self.tied.d();
        let rows = if d == 0 { 0 } else { x.len() / d };
        let norms: Vec<f32> = x.chunks_exact(d.max(1)).map(squared_norm).collect();
        let sums = self.tied.sums(x);
        PackedRows { rows, packed: pack_rows(&sums, &norms, self.tied.len(), &(0..rows).collect::<Vec<_>>(), &[]) }
    }

    /// `K(row r, column c)` for the packed rows and the columns `from..to`
    /// (`from` on a strip: a multiple of 16), into `out` (row-major,
    /// `to - from` wide): the same values, to the bit, as training's kernel rows.
    pub fn block(&self, rows: &PackedRows, from: usize, to: usize, out: &mut [f32]) {
        if rows.rows == 0 || to <= from {
            return;
        }
        assert_eq!(from % NR, 0, "blocks start on a strip");
        let d = self.tied.len();
        let width = to - from;
        let panels = self.panels.blocks(from / NR, to.div_ceil(NR), NR, d);
        let mut outs: Vec<&mut [f32]> = out.chunks_exact_mut(width).collect();
        rbf_rows(rows.packed.tile(), rows.rows.div_ceil(MR), panels, d, width, self.gamma, &mut outs);
    }
}

/// Rows laid out for kernel tiles ([`KernelColumns::pack`]).
pub struct PackedRows {
    rows: usize,
    packed: Packed,
}

/// A cached row: which row, the columns it was computed on, its length
/// (those columns'), and where it sits in the arena.
struct Slot {
    row: usize,
    epoch: u32,
    len: usize,
    place: usize,
    last_used: u64,
}

/// The memory of a kernel cache: one allocation, handed from one problem
/// to the next ([`KernelRows::new`], [`KernelRows::into_arena`]), so that
/// its pages are touched once per fit, not once per pair. Fresh memory costs
/// its first touch: the kernel zeroes every page. Plain 4 KiB pages, not
/// huge ones: on the reference machine (a virtual one whose free memory is
/// handed back to the host in 2 MiB blocks) a huge page's first touch cost
/// 0.1 to 10 ms per MiB from one run to the next, 4 KiB pages a steady
/// 0.6 ms (bench/RESULTS.md, "sixth session").
#[derive(Default)]
pub struct RowArena {
    data: Vec<f32>,
}

impl RowArena {
    pub fn new(bytes: usize) -> RowArena {
        // Zeroed allocations this large are fresh mappings: nothing is touched yet.
        RowArena { data: vec![0f32; bytes / 4] }
    }

    /// Room for rows of `l` floats.
    fn places(&self, l: usize) -> usize {
        self.data.len() / l.max(1)
    }

    fn place(&self, p: usize, l: usize) -> &[f32] {
        &self.data[p * l..(p + 1) * l]
    }

    /// Disjoint mutable places of rows of `l` floats, in the order asked.
    fn places_mut(&mut self, places: &[usize], l: usize) -> Vec<&mut [f32]> {
        let mut order: Vec<usize> = (0..places.len()).collect();
        order.sort_unstable_by_key(|&i| places[i]);
        let mut out: Vec<Option<&mut [f32]>> = places.iter().map(|_| None).collect();
        let (mut rest, mut at) = (&mut self.data[..], 0);
        for i in order {
            assert!(places[i] >= at, "distinct places");
            let (_, tail) = std::mem::take(&mut rest).split_at_mut((places[i] - at) * l);
            let (row, tail) = tail.split_at_mut(l);
            out[i] = Some(row);
            rest = tail;
            at = places[i] + 1;
        }
        out.into_iter().map(|r| r.expect("every place")).collect()
    }
}

/// Moves the kept values of `row[..len]` down in place: `row[p] =
/// row[pos[p]]`, `pos` ascending; `bits` marks the same positions, 16 to a
/// word. With AVX-512, sixteen values are compressed in a register at a time.
fn keep_columns(row: &mut [f32], len: usize, pos: &[u32], bits: &[u16]) {
    assert!(len <= row.len() && bits.len() == len.div_ceil(16) && pos.iter().all(|&q| (q as usize) < len), "a row and its kept columns");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is there (checked just above); reads stay below
        // `len` and writes below what was read (asserted above).
        unsafe { keep_columns_avx512(row, len, bits) };
        return;
    }
    for (p, &q) in pos.iter().enumerate() {
        row[p] = row[q as usize];
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn keep_columns_avx512(row: &mut [f32], len: usize, bits: &[u16]) {
    use std::arch::x86_64::*;
    let p = row.as_mut_ptr();
    let mut written = 0usize;
    for (c, &keep) in bits.iter().enumerate() {
        let from = c * 16;
        // The last word reads only up to `len`.
        let valid: __mmask16 = if from + 16 <= len { 0xffff } else { (1u16 << (len - from)) - 1 };
        let v = _mm512_maskz_loadu_ps(valid, p.add(from));
        let n = (keep & valid).count_ones() as usize;
        // Compressed in a register, then a masked store: `written + n <= from + 16`,
        // so it writes only over values already read.
        _mm512_mask_storeu_ps(p.add(written), ((1u32 << n) - 1) as __mmask16, _mm512_maskz_compress_ps(keep & valid, v));
        written += n;
    }
}

/// The RBF kernel over the rows of one problem.
pub struct KernelRows {
    l: usize,
    /// Features of a tile: one per group of tied features.
    d: usize,
    /// Row-major `l x d`: each group's first feature.
    x: Vec<f32>,
    /// Each group's size (empty when no features are tied): the rows' side
    /// of a tile takes `x` times this, a group's sum.
    sizes: Vec<f32>,
    /// Of the whole rows.
    norms: Vec<f32>,
    gamma: f32,
    /// The columns: rows of the problem, ascending.
    cols: Vec<usize>,
    /// The features of the columns, as [`pack_columns`] lays them out.
    panels: Packed,
    /// Each narrowing starts an epoch; `earlier[e]` holds epoch `e`'s columns
    /// (a superset of the current ones) while a cached row may still be on them.
    epoch: u32,
    earlier: Vec<Vec<usize>>,
    slots: Vec<Slot>,
    /// Slot of each row, `NONE` when not cached.
    row_slot: Vec<u32>,
    clock: u64,
    /// Where the rows live: [`Self::capacity`] places of a whole row each
    /// (rows are asked for only for active variables, so narrow rows need no more).
    arena: RowArena,
    free: Vec<usize>,
}

const NONE: u32 = u32::MAX;

impl KernelRows {
    /// `x` is row-major `l x d`, already scaled; the rows are cached in
    /// `arena` (room for at least two rows, at most every row, is made).
    pub fn new(x: &[f64], d: usize, gamma: f64, arena: RowArena) -> KernelRows {
        let l = if d == 0 { 0 } else { x.len() / d };
        Self::of_rows(x, &TiedFeatures::none(d), &(0..l).collect::<Vec<_>>(), gamma, arena)
    }

    /// [`Self::new`] over the rows `rows` of `x` (every feature), tied as
    /// `tied` (ties of those rows), taken straight into the kernel's own f32
    /// copy (a pair's rows are not copied out first).
    pub fn of_rows(x: &[f64], tied: &TiedFeatures, rows: &[usize], gamma: f64, arena: RowArena) -> KernelRows {
        let (l, d) = (rows.len(), tied.d());
        let mut whole: Vec<f32> = Vec::with_capacity(l * d);
        let mut x32: Vec<f32> = Vec::with_capacity(l * tied.len());
        let mut norms = Vec::with_capacity(l);
        for block in rows.chunks(256) {
            whole.clear();
            for &i in block {
                whole.extend(x[i * d..(i + 1) * d].iter().map(|&v| v as f32));
            }
            norms.extend(whole.chunks_exact(d.max(1)).map(squared_norm));
            x32.extend(tied.firsts(&whole));
        }
        let sizes = if tied.len() == d { Vec::new() } else { tied.sizes() };
        let mut k = KernelRows {
            l,
            d: tied.len(),
            x: x32,
            sizes,
            norms,
            gamma: gamma as f32,
            cols: Vec::new(),
            panels: Packed::default(),
            epoch: 0,
            earlier: Vec::new(),
            slots: Vec::new(),
            row_slot: vec![NONE; l],
            clock: 0,
            arena,
            free: Vec::new(),

        };
        k.load_columns((0..l).collect());
        if k.arena.places(l) < 2.min(l) {
            k.arena = RowArena::new(2 * l * 4);
        }
        let places = k.arena.places(l).min(l.max(1));
        k.free = (0..places).rev().collect();
        k
    }

    /// The cache's memory, for the next problem.
    pub fn into_arena(self) -> RowArena {
        self.arena
    }

    pub fn len(&self) -> usize {
        self.l
    }

    pub fn is_empty(&self) -> bool {
        self.l == 0
    }

    /// How many rows fit in the cache (at least two, at most every row).
    pub fn capacity(&self) -> usize {
        self.arena.places(self.l).min(self.l.max(1))
    }

    /// The columns of every row handed out.
    pub fn columns(&self) -> &[usize] {
        &self.cols
    }

    /// Keeps the columns where `keep` is true (one flag per current column).
    /// Cached rows are cut down when next fetched.
    pub fn narrow(&mut self, keep: &[bool]) {
        assert_eq!(keep.len(), self.cols.len(), "one flag per column");
        let cols = self.cols.iter().zip(keep).filter(|(_, &k)| k).map(|(&c, _)| c).collect();
        let old = std::mem::replace(&mut self.cols, Vec::new());
        self.earlier.push(old);
        self.epoch += 1;
        self.load_columns(cols);
    }

    /// Any ascending set of columns: the cached rows are let go.
    pub fn set_columns(&mut self, cols: Vec<usize>) {
        for s in std::mem::take(&mut self.slots) {
            self.row_slot[s.row] = NONE;
            self.free.push(s.place);
        }
        self.earlier.clear();
        self.epoch = 0;
        self.load_columns(cols);
    }

    fn load_columns(&mut self, cols: Vec<usize>) {
        let old = std::mem::take(&mut self.panels);
        self.panels = Packed::new_in(old, &self.x, &self.norms, self.d, &cols, NR, false, &[]);
        self.cols = cols;
    }

    /// Makes rows `want` cached on the current columns (computing the
    /// missing ones together) and returns their slots, in the order asked.
    /// Rows of `want` are never evicted by this call.
    pub fn fetch(&mut self, want: &[usize]) -> Vec<usize> {
        self.clock += 1;
        let clock = self.clock;
        let mut stale = Vec::new();
        for &r in want {
            let s = self.row_slot[r];
            if s != NONE {
                let slot = &mut self.slots[s as usize];
                slot.last_used = clock;
                if slot.epoch != self.epoch {
                    stale.push(s as usize);
                }
            }
        }
        stale.sort_unstable();
        stale.dedup();
        self.cut_down(&stale);
        let mut missing: Vec<usize> = want.iter().copied().filter(|&r| self.row_slot[r] == NONE).collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            self.make_room(missing.len(), clock);
            assert!(missing.len() <= self.free.len(), "asked for more rows than the cache holds");
            let places = self.free.split_off(self.free.len() - missing.len());
            self.compute(&missing, &places);
            let len = self.cols.len();
            for (&r, &place) in missing.iter().zip(&places) {
                self.row_slot[r] = self.slots.len() as u32;
                self.slots.push(Slot { row: r, epoch: self.epoch, len, place, last_used: clock });
            }
        }
        want.iter().map(|&r| self.row_slot[r] as usize).collect()
    }

    /// The row in `slot`, over [`Self::columns`].
    pub fn slot(&self, slot: usize) -> &[f32] {
        let s = &self.slots[slot];
        &self.arena.place(s.place, self.l)[..s.len]
    }

    /// Cuts cached rows of earlier epochs down to the current columns.
    fn cut_down(&mut self, stale: &[usize]) {
        if stale.is_empty() {
            return;
        }
        // Where each current column sits among each earlier epoch's columns.
        let mut at: Vec<Option<Vec<u32>>> = vec![None; self.earlier.len()];
        for &s in stale {
            let e = self.slots[s].epoch as usize;
            if at[e].is_none() {
                let mut pos = Vec::with_capacity(self.cols.len());
                let mut p = 0;
                for &c in &self.cols {
                    while self.earlier[e][p] != c {
                        p += 1;
                    }
                    pos.push(p as u32);
                }
                at[e] = Some(pos);
            }
        }
        // The same as bits: which of each earlier epoch's columns are kept.
        let kept: Vec<Option<Vec<u16>>> = at
            .iter()
            .zip(&self.earlier)
            .map(|(pos, cols)| {
                pos.as_ref().map(|pos| {
                    let mut bits = vec![0u16; cols.len().div_ceil(16)];
                    pos.iter().for_each(|&q| bits[q as usize / 16] |= 1 << (q % 16));
                    bits
                })
            })
            .collect();
        let epoch = self.epoch;
        let places: Vec<usize> = stale.iter().map(|&s| self.slots[s].place).collect();
        let maps: Vec<(&Vec<u32>, &Vec<u16>, usize)> = stale
            .iter()
            .map(|&s| {
                let e = self.slots[s].epoch as usize;
                (at[e].as_ref().expect("map of the epoch"), kept[e].as_ref().expect("bits of the epoch"), self.slots[s].len)
            })
            .collect();
        // In place: each kept column moves down (positions only grow).
        self.arena.places_mut(&places, self.l).into_par_iter().zip(maps.par_iter()).for_each(|(row, &(pos, bits, len))| {
            keep_columns(row, len, pos, bits);
        });
        let len = self.cols.len();
        for &s in stale {
            self.slots[s].epoch = epoch;
            self.slots[s].len = len;
        }
    }

    /// Frees places for `n` rows by evicting the least recently used rows
    /// not used at `clock`.
    fn make_room(&mut self, n: usize, clock: u64) {
        let available = self.free.len();
        if available >= n {
            return;
        }
        let mut order: Vec<usize> = (0..self.slots.len()).filter(|&s| self.slots[s].last_used != clock).collect();
        order.sort_unstable_by_key(|&s| (self.slots[s].last_used, s));
        let mut gone = vec![false; self.slots.len()];
        order.iter().take(n - available).for_each(|&s| gone[s] = true);
        let mut kept = Vec::with_capacity(self.slots.len());
        for (s, slot) in std::mem::take(&mut self.slots).into_iter().enumerate() {
            if gone[s] {
                self.row_slot[slot.row] = NONE;
                self.free.push(slot.place);
            } else {
                self.row_slot[slot.row] = kept.len() as u32;
                kept.push(slot);
            }
        }
        self.slots = kept;
    }



    /// Rows `rows` over the current columns, into the arena's `places`, in
    /// parallel tasks of [`ROWS_PER_TASK`] rows.
    fn compute(&mut self, rows: &[usize], places: &[usize]) {
        let n = self.cols.len();
        let mut arena = std::mem::take(&mut self.arena);
        let mut outs: Vec<&mut [f32]> = arena.places_mut(places, self.l).into_iter().map(|r| &mut r[..n]).collect();
        self.rows_against(rows, self.panels.tile(), &mut outs);
        self.arena = arena;
    }

    /// Kernel values of `rows` against the columns packed in `panels` into
    /// `outs` (one per row), in parallel tasks of
    /// [`ROWS_PER_TASK`] rows.
    fn rows_against(&self, rows: &[usize], panels: Tile, outs: &mut [&mut [f32]]) {
        let n = outs.first().map_or(0, |o| o.len());
        outs.par_chunks_mut(ROWS_PER_TASK).zip(rows.par_chunks(ROWS_PER_TASK)).for_each(|(task, sources)| {
            let packed = pack_rows(&self.x, &self.norms, self.d, sources, &self.sizes);
            rbf_rows(packed.tile(), sources.len().div_ceil(MR), panels, self.d, n, self.gamma, task);
        });
    }

    /// `K(rows[a], rows[b])` into `out[a * n + b]` (`n` rows): a working
    /// set's own block, the same bits as in its cached rows (a tile's value
    /// depends only on its row and column).
    pub fn square_block(&self, rows: &[usize], out: &mut [f32]) {
        let n = rows.len();
        let panels = pack_columns(&self.x, &self.norms, self.d, rows);
        let mut outs: Vec<&mut [f32]> = out[..n * n].chunks_exact_mut(n.max(1)).collect();
        self.rows_against(rows, panels.tile(), &mut outs);
    }

    /// `sum_i w_i K(x_rows[i], x_c)` for each row `c` of the problem in
    /// `cols`, without caching: for gradients of rows the solver has set
    /// aside, and decision values of held-out rows. In parallel over the
    /// columns; each sum is taken in the order of `rows`.
    pub fn weighted_sums(&self, rows: &[usize], w: &[f64], cols: &[usize]) -> Vec<f64> {
        let mut out = vec![0f64; cols.len()];
        if rows.is_empty() {
            return out;
        }
        let d = self.d;
        let packed = pack_rows(&self.x, &self.norms, d, rows, &self.sizes);
        let groups = rows.len().div_ceil(MR);
        out.par_chunks_mut(SUM_COLUMNS).zip(cols.par_chunks(SUM_COLUMNS)).for_each(|(sums, cs)| {
            let n = cs.len();
            let panels = pack_columns(&self.x, &self.norms, d, cs);
            let mut tile = vec![vec![0f32; n]; MR];
            for g in 0..groups {
                let mut outs: Vec<&mut [f32]> = tile.iter_mut().map(|v| &mut v[..]).collect();
                rbf_rows(packed.blocks(g, g + 1, MR, d), 1, panels.tile(), d, n, self.gamma, &mut outs);
                for (r, k) in tile.iter().enumerate().take(rows.len() - g * MR) {
                    super::working_set::accumulate(sums, k, w[g * MR + r]);
                }
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(l: usize, d: usize) -> Vec<f64> {
        let mut s = 5u64;
        (0..l * d)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
            })
            .collect()
    }

    fn exact(x: &[f64], d: usize, gamma: f64, i: usize, t: usize) -> f64 {
        let d2: f64 = (0..d).map(|c| (x[i * d + c] - x[t * d + c]).powi(2)).sum();
        (-gamma * d2).exp()
    }

    #[test]
    fn rows_match_the_definition_through_eviction_and_narrowing() {
        let (l, d, gamma) = (53, 7, 0.3);
        let x = data(l, d);
        // Room for 10 whole rows: asking for 8 in turns evicts.
        let mut k = KernelRows::new(&x, d, gamma, RowArena::new(10 * l * 4));
        for round in 0..6 {
            if round == 2 || round == 3 {
                let keep: Vec<bool> = k.columns().iter().map(|&c| c % (round + 1) != 1).collect();
                k.narrow(&keep);
            }
            if round == 5 {
                k.set_columns((0..l).filter(|c| c % 2 == 0).collect());
            }
            let cols = k.columns().to_vec();
            let want: Vec<usize> = cols.iter().copied().skip(round % 2).step_by(3).take(8).collect();
            let slots = k.fetch(&want);
            for (&i, &s) in want.iter().zip(&slots) {
                let row = k.slot(s);
                assert_eq!(row.len(), cols.len());
                for (p, &t) in cols.iter().enumerate() {
                    assert!((row[p] as f64 - exact(&x, d, gamma, i, t)).abs() < 1e-5, "round {round} row {i} col {t}");
                }
            }
            assert!(k.capacity() == 10);
        }
        k.set_columns((0..l).collect());
        let both = k.fetch(&[3, 40]);
        let (r3, r40) = (k.slot(both[0]).to_vec(), k.slot(both[1]).to_vec());
        assert_eq!(r3[40].to_bits(), r40[3].to_bits(), "K is symmetric to the bit");
    }

    #[test]
    fn rows_cut_down_are_the_rows_computed_on_the_narrower_columns() {
        // 203 columns: whole words of sixteen and a short last one; three
        // narrowings in a row, so rows are cut from two epochs back too.
        let (l, d, gamma) = (203, 5, 0.2);
        let x = data(l, d);
        let mut k = KernelRows::new(&x, d, gamma, RowArena::new(l * l * 4));
        let all: Vec<usize> = (0..l).collect();
        k.fetch(&all);
        for (round, modulus) in [3usize, 7, 2].into_iter().enumerate() {
            let keep: Vec<bool> = k.columns().iter().map(|&c| c % modulus != round % modulus && c != 200).collect();
            k.narrow(&keep);
            let cols = k.columns().to_vec();
            // Some rows last cut this round, some two rounds ago, some never.
            let want: Vec<usize> = cols.iter().copied().filter(|c| c % (round + 2) == 0).collect();
            let slots = k.fetch(&want);
            let mut fresh = KernelRows::new(&x, d, gamma, RowArena::new(l * l * 4));
            fresh.set_columns(cols.clone());
            let fresh_slots = fresh.fetch(&want);
            for ((&i, &s), &f) in want.iter().zip(&slots).zip(&fresh_slots) {
                let (cut, computed) = (k.slot(s), fresh.slot(f));
                assert_eq!(cut.len(), cols.len());
                assert!(cut.iter().zip(computed).all(|(a, b)| a.to_bits() == b.to_bits()), "round {round} row {i}");
            }
        }
    }

    #[test]
    fn the_fused_exponential_matches_the_library_exp() {
        let relative_error = |x: f32| (exp_neg_fused(x) as f64 - (x as f64).exp()) / (x as f64).exp();
        let n = 200_000;
        let worst = (0..=n).map(|i| relative_error(-(i as f32) * 86.0 / n as f32).abs()).fold(0.0, f64::max);
        assert!(worst < 5e-7, "relative error {worst}");
        // Errors of either sign alike where kernel values live (a value is one of thousands summed).
        let bias = (0..n).map(|i| relative_error(-(i as f32) * 20.0 / n as f32)).sum::<f64>() / n as f64;
        assert!(bias.abs() < 5e-9, "mean relative error {bias}");
        assert_eq!(exp_neg_fused(0.0), 1.0);
        assert!(exp_neg_fused(-1000.0) >= 0.0 && exp_neg_fused(-1000.0) < 1e-37);
    }

    #[test]
    fn tiles_skip_zero_features_without_changing_a_bit() {
        let d = 40;
        // Numeric features, then three one-hot groups of four (weight 2.5), and a column of zeros.
        let mut x = data(MR + NR, d).iter().map(|&v| v as f32).collect::<Vec<_>>();
        for i in 0..MR + NR {
            for k in 26..d {
                x[i * d + k] = 0.0;
            }
            for g in 0..3 {
                x[i * d + 26 + 4 * g + (i / 2 + g) % 4] = 2.5;
            }
        }
        let norms: Vec<f32> = x.chunks_exact(d).map(squared_norm).collect();
        let rows = pack_rows(&x, &norms, d, &(0..MR).collect::<Vec<_>>(), &[]);
        let cols = pack_columns(&x, &norms, d, &(MR..MR + NR).collect::<Vec<_>>());
        let tile = rows.tile();
        let (dense, sparse) = tile.live(0);
        // Three of each group's four columns are live in the rows; the zero column never.
        assert_eq!((dense, sparse), (29, &[31, 32, 33, 34, 36, 37][..]));
        let every: Vec<u32> = (dense as u32..d as u32).collect();
        let whole = tile_dots_portable(&cols.values, &rows.values, dense, &every);
        let skipped = tile_dots_portable(&cols.values, &rows.values, dense, sparse);
        assert_eq!(tile_dots(&cols.values, &rows.values, dense, sparse), skipped);
        for r in 0..MR {
            for c in 0..NR {
                assert_eq!(whole[r][c].to_bits(), skipped[r][c].to_bits(), "row {r} column {c}");
                let want: f64 = (0..d).map(|k| x[r * d + k] as f64 * x[(MR + c) * d + k] as f64).sum();
                assert!((skipped[r][c] as f64 - want).abs() < 1e-4, "row {r} column {c}");
            }
        }
    }

    /// `l` rows of 5 features, then copies: of feature 0 once, of 1 twice, of 2 three times (11 features).
    fn tied_data(l: usize) -> (Vec<f64>, usize) {
        let base = data(l, 5);
        let x = base.chunks_exact(5).flat_map(|r| r.iter().copied().chain([r[0], r[1], r[1], r[2], r[2], r[2]])).collect();
        (x, 11)
    }

    #[test]
    fn tied_features_give_the_kernel_of_whole_rows_and_prediction_its_bits() {
        let (l, gamma) = (70, 0.15);
        let (x, d) = tied_data(l);
        let tied = TiedFeatures::of_rows(&x, d);
        // 0 and 5; 1 and 6, then 7 alone; 2, 8, 9 and 10; 3; 4.
        assert_eq!(tied.len(), 6);
        let mut k = KernelRows::of_rows(&x, &tied, &(0..l).collect::<Vec<_>>(), gamma, RowArena::new(l * l * 4));
        let slots = k.fetch(&(0..l).collect::<Vec<_>>());
        let rows: Vec<Vec<f32>> = slots.iter().map(|&s| k.slot(s).to_vec()).collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let columns = KernelColumns::new(&x32, &tied, gamma as f32);
        let mut block = vec![0f32; l * l];
        columns.block(&columns.pack(&x32), 0, l, &mut block);
        for i in 0..l {
            for t in 0..l {
                assert!((rows[i][t] as f64 - exact(&x, d, gamma, i, t)).abs() < 1e-5, "row {i} column {t}");
                assert_eq!(rows[i][t].to_bits(), rows[t][i].to_bits(), "K is symmetric to the bit");
                assert_eq!(block[i * l + t].to_bits(), rows[i][t].to_bits(), "prediction's value of row {i} column {t}");
            }
        }
        // Rows where the tied features differ still get the kernel of their whole rows.
        let other: Vec<f64> = data(9, d).iter().map(|v| v * 1.5).collect();
        let other32: Vec<f32> = other.iter().map(|&v| v as f32).collect();
        let mut out = vec![0f32; 9 * l];
        columns.block(&columns.pack(&other32), 0, l, &mut out);
        for r in 0..9 {
            for t in 0..l {
                let d2: f64 = (0..d).map(|c| (other32[r * d + c] as f64 - x32[t * d + c] as f64).powi(2)).sum();
                assert!((out[r * l + t] as f64 - (-gamma * d2).exp()).abs() < 1e-5, "row {r} column {t}");
            }
        }
    }

    #[test]
    fn weighted_sums_match_the_definition() {
        let (l, d, gamma) = (700, 5, 0.2);
        let x = data(l, d);
        let k = KernelRows::new(&x, d, gamma, RowArena::new(1 << 20));
        let rows: Vec<usize> = (0..l).step_by(3).collect();
        let w: Vec<f64> = rows.iter().map(|&r| r as f64 / 100.0 - 1.0).collect();
        let cols: Vec<usize> = (0..l).rev().step_by(2).collect();
        let got = k.weighted_sums(&rows, &w, &cols);
        for (j, &c) in cols.iter().enumerate() {
            let want: f64 = rows.iter().zip(&w).map(|(&r, &wi)| wi * exact(&x, d, gamma, r, c)).sum();
            assert!((got[j] - want).abs() < 1e-4, "column {c}: {} against {want}", got[j]);
        }
    }
}
