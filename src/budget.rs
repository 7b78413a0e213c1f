//! How big a fit may get. An exact RBF SVM costs about the square of its
//! rows, so `ntc train` on a multi-million-row file would run for days: the
//! rows are capped (`--max-rows auto`) at a fit of about a minute and a half
//! here, every large buffer stays inside one `--memory` budget, and a fit
//! that cannot be held is refused with its estimate before any work.
//!
//! The estimates are calibrated on this project's reference run (train's
//! defaults, the 3,577,296-row synthetic dirty file, 2 cores; bench/RESULTS.md
//! "The first run"): fits of 20,000 and 50,000 rows took 15 s and 83 s, so
//! time grows as rows^1.9. They are rough (harder data has more support
//! vectors) and say so where they are printed.

use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::text::{bytes_text, duration_text, thousands};

/// `--max-rows`: `auto`, `all` or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxRows {
    /// As many rows as a fit of about [`AUTO_FIT_SECONDS`] takes, within the memory budget.
    Auto,
    /// Every row, when the memory budget holds them.
    All,
    Rows(usize),
}

impl std::fmt::Display for MaxRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxRows::Auto => write!(f, "auto"),
            MaxRows::All => write!(f, "all"),
            MaxRows::Rows(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for MaxRows {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(MaxRows::Auto),
            "all" => Ok(MaxRows::All),
            n => match n.parse::<usize>() {
                Ok(0) => Err("must be at least 1".into()),
                Ok(n) => Ok(MaxRows::Rows(n)),
                Err(_) => Err(format!("'{n}' is not auto, all or a number of rows")),
            },
        }
    }
}

/// The fit `--max-rows auto` aims at on the reference machine, in seconds.
pub const AUTO_FIT_SECONDS: f64 = 90.0;
const REF_ROWS: f64 = 20_000.0;
const REF_SECONDS: f64 = 15.0;
const REF_FEATURES: f64 = 83.0;
const REF_THREADS: f64 = 2.0;
const EXPONENT: f64 = 1.9;
/// Without probability calibration a fit costs about a quarter (five cross-validated fits fewer).
const NO_PROBA_SHARE: f64 = 0.28;
/// Copies of the training rows alive at once (as read, transformed, each pair's gather, each calibration fold's).
const ROW_COPIES: f64 = 6.0;
/// Heap bytes per cached kernel byte (rows grow and are freed in pieces).
const CACHE_OVERHEAD: f64 = 1.5;
/// Reading the file: a few Polars chunks and buffers, and per row its label, class and byte offset.
const READ_BASE_BYTES: f64 = 200e6;
const READ_BYTES_PER_ROW: f64 = 32.0;
/// Auto caps are multiples of this.
const ROUND: usize = 1000;

/// What a fit of `rows` rows is expected to cost.
#[derive(Clone, Copy, Debug)]
pub struct Estimate {
    pub rows: usize,
    pub seconds: f64,
    pub bytes: f64,
}

/// The shape of a fit: the file, the features, and whether probabilities are calibrated.
#[derive(Clone, Copy, Debug)]
pub struct FitShape {
    pub file_rows: usize,
    pub features: usize,
    pub probability: bool,
    pub threads: usize,
}

impl FitShape {
    pub fn seconds(&self, rows: usize) -> f64 {
        let share = if self.probability { 1.0 } else { NO_PROBA_SHARE };
        REF_SECONDS
            * (rows as f64 / REF_ROWS).powf(EXPONENT)
            * (self.features.max(1) as f64 / REF_FEATURES)
            * (REF_THREADS / self.threads.max(1) as f64)
            * share
    }

    /// Memory besides the kernel cache: reading the file, and the training rows.
    pub fn bytes_without_cache(&self, rows: usize) -> f64 {
        READ_BASE_BYTES + READ_BYTES_PER_ROW * self.file_rows as f64 + ROW_COPIES * 8.0 * (rows * self.features) as f64
    }

    pub fn estimate(&self, rows: usize, cache_mb: usize) -> Estimate {
        let cache = CACHE_OVERHEAD * (cache_mb as f64) * 1048576.0;
        Estimate { rows, seconds: self.seconds(rows), bytes: self.bytes_without_cache(rows) + cache }
    }

    /// The kernel cache that fits in the budget beside `rows` rows (at most `requested`, at least 16 MiB).
    pub fn cache_mb(&self, rows: usize, requested: usize, memory_mb: usize) -> usize {
        let left = memory_mb as f64 * 1048576.0 - self.bytes_without_cache(rows);
        let fits = (left / CACHE_OVERHEAD / 1048576.0).floor().max(16.0) as usize;
        requested.min(fits)
    }

    /// `--max-rows auto`: the most rows (a multiple of 1,000, at most the file's)
    /// whose fit takes about [`AUTO_FIT_SECONDS`] and leaves a quarter of the budget to the kernel cache.
    pub fn auto_rows(&self, memory_mb: usize) -> usize {
        let by_time = REF_ROWS * (AUTO_FIT_SECONDS / self.seconds(REF_ROWS as usize)).powf(1.0 / EXPONENT);
        let mut rows = (by_time as usize / ROUND).max(1) * ROUND;
        let budget = memory_mb as f64 * 1048576.0 * 0.75;
        while rows > ROUND && self.bytes_without_cache(rows) > budget {
            rows -= ROUND;
        }
        rows.min(self.file_rows)
    }

    /// Refuses a fit of `rows` rows the budget cannot hold, with the estimate and what to do.
    /// `rows_known`: the rows were counted, not estimated from the file's size.
    pub fn check(&self, rows: usize, rows_known: bool, memory_mb: usize, what: &str) -> Result<Estimate> {
        let e = self.estimate(rows, 16);
        if e.bytes > memory_mb as f64 * 1048576.0 {
            return Err(Error::input(format!(
                "{what}: a fit of {}{} rows needs about {} of memory (budget --memory {memory_mb}) and about {} here: \
                 raise --memory, or cap the rows with --max-rows N (or auto)",
                if rows_known { "" } else { "about " },
                thousands(rows as u64),
                bytes_text(e.bytes),
                duration_text(e.seconds)
            )));
        }
        Ok(e)
    }
}

/// Rows of a plain CSV estimated from its size and its first lines, before reading it (None for gzip or a short read).
pub fn rows_in_file_estimate(path: &Path) -> Option<usize> {
    use std::io::Read;
    let len = std::fs::metadata(path).ok()?.len();
    let mut head = Vec::with_capacity(1 << 22);
    std::fs::File::open(path).ok()?.take(1 << 22).read_to_end(&mut head).ok()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let lines = head.iter().filter(|&&b| b == b'\n').count();
    if lines < 2 {
        return None;
    }
    Some(((len as f64) * (lines as f64 / head.len() as f64)) as usize - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> FitShape {
        FitShape { file_rows: 3_577_296, features: 83, probability: true, threads: 2 }
    }

    #[test]
    fn the_reference_run_is_reproduced() {
        let s = reference();
        assert!((s.seconds(20_000) - 15.0).abs() < 1e-9);
        assert!((s.seconds(50_000) - 83.0).abs() < 8.0, "{}", s.seconds(50_000));
    }

    #[test]
    fn auto_rows_take_about_the_target_time_and_fit_the_budget() {
        let s = reference();
        let n = s.auto_rows(2048);
        assert!(n % 1000 == 0 && (40_000..=60_000).contains(&n), "{n}");
        assert!(s.seconds(n) <= AUTO_FIT_SECONDS);
        let small = FitShape { file_rows: 4000, ..s };
        assert_eq!(small.auto_rows(2048), 4000, "a small file is used whole");
        let tight = FitShape { file_rows: 100_000, ..s };
        let rows = tight.auto_rows(400);
        assert!(rows < n && tight.bytes_without_cache(rows) <= 400.0 * 1048576.0 * 0.75, "{rows}");
        // Reading alone overflows a tiny budget: the cap bottoms out, and `check` is what refuses.
        assert_eq!(s.auto_rows(300), 1000);
    }

    #[test]
    fn all_rows_of_the_full_file_are_refused_within_two_gigabytes() {
        let err = reference().check(3_577_296, true, 2048, "--max-rows all").unwrap_err().to_string();
        assert!(err.contains("3,577,296 rows needs about") && err.contains("--memory 2048"), "{err}");
        reference().check(50_000, true, 2048, "--max-rows 50000").unwrap();
    }

    #[test]
    fn the_cache_gives_way_to_the_rows() {
        let s = reference();
        assert_eq!(s.cache_mb(20_000, 1024, 8192), 1024);
        assert!(s.cache_mb(50_000, 1024, 1024) < 1024);
        assert_eq!(s.cache_mb(3_000_000, 1024, 1024), 16);
    }

    #[test]
    fn flag_values() {
        assert_eq!("auto".parse::<MaxRows>(), Ok(MaxRows::Auto));
        assert_eq!("all".parse::<MaxRows>(), Ok(MaxRows::All));
        assert_eq!("1500".parse::<MaxRows>(), Ok(MaxRows::Rows(1500)));
        assert!("0".parse::<MaxRows>().is_err() && "x".parse::<MaxRows>().is_err());
    }
}
