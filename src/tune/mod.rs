//! `train --tune`: choose C, gamma, the feature transform and the class
//! weighting by stratified k-fold cross-validation on a tuning sample, then
//! score the leading cells again on larger samples (successive halving:
//! settings ranked on a few thousand rows are for that many rows, and the
//! final fit has more).
//!
//! - [`grid`]: the log2 grid (coarse, then fine around the best cell);
//! - [`folds`]: fold assignment, stratified, and grouped with `--group-by`;
//! - [`cv`]: the scores of cells, with the kernel matrix shared by every C,
//!   fold and pair of one gamma;
//! - [`cells`]: the cross-validation table, its ranking and the choice;
//! - [`final_pass`]: the choice and train's untuned settings fitted on all
//!   the training rows, scored on held-out rows of the file;
//! - [`smote`]: synthetic minority rows inside training folds.

pub mod cells;
pub mod cv;
pub mod final_pass;
pub mod folds;
pub mod grid;
pub mod smote;

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::data::sample;
use crate::error::{Error, Result};
use crate::features::{Columns, FeaturePlan, Preprocessor, Transform};
use crate::metrics::Metrics;
use crate::progress::{note, Progress};
use crate::svm::ClassWeight;
use cells::{choose, ranking};
pub use cells::{describe, oversample_name, weight_name, CvCell, Stage, TuneReport};
pub use final_pass::{FinalFit, HeldOut};
use cv::{CellResult, CellSpec, Problem};
pub use grid::Grid;

/// The score that tuning maximises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Metric {
    /// Mean of the per-class F1 scores: every class counts the same, however rare.
    #[default]
    #[value(name = "macro_f1")]
    MacroF1,
    #[value(name = "accuracy")]
    Accuracy,
    /// Per-class F1 weighted by class size.
    #[value(name = "weighted_f1")]
    WeightedF1,
}

impl Metric {
    pub fn of(self, m: &Metrics) -> f64 {
        match self {
            Metric::MacroF1 => m.macro_f1,
            Metric::Accuracy => m.accuracy,
            Metric::WeightedF1 => m.weighted_f1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::MacroF1 => "macro_f1",
            Metric::Accuracy => "accuracy",
            Metric::WeightedF1 => "weighted_f1",
        }
    }
}

/// Oversampling of small classes in training rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Oversample {
    #[default]
    None,
    /// SMOTE: synthetic rows between neighbours of the same class.
    Smote,
}

/// How the cell is chosen from the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Select {
    /// The one-standard-error rule: the simplest cell (smallest C, then
    /// smallest gamma) whose mean score is within one standard error of the
    /// top score. Its score is indistinguishable from the top one, and it
    /// trains and predicts faster and is less fitted to the tuning rows.
    #[default]
    #[value(name = "one-se")]
    OneSe,
    /// The top mean score.
    #[value(name = "best")]
    Best,
}

/// What to search and how.
#[derive(Clone, Debug)]
pub struct TuneSpec {
    pub grid: Grid,
    pub transforms: Vec<Transform>,
    pub class_weights: Vec<ClassWeight>,
    pub oversample: Oversample,
    pub folds: usize,
    pub metric: Metric,
    pub select: Select,
    /// Stopping tolerance of the cross-validation fits ([`CV_EPS`] from the command line).
    pub eps: f64,
    pub seed: u64,
    /// `--group-by`: the column whose groups the folds keep whole (its name only, for the table).
    pub group_by: Option<String>,
    /// Larger passes after the grid: each scores the leading cells of the
    /// previous pass again on twice its rows (16 cells, then a quarter as
    /// many, at least 2), while the training rows allow, holding out
    /// [`RUNG_FOLDS`] of the folds; the choice is made among the cells of
    /// the last pass.
    pub rungs: usize,
    /// `--memory`, MiB: the tuning samples' kernel matrices (one `n x n` of
    /// f32 per transform, and one being filled for a gamma) stay inside it.
    pub memory_mb: usize,
}

/// The most tuning rows whose kernel matrices fit in `memory_mb` ([`TuneSpec::memory_mb`]).
pub fn rows_in_memory(memory_mb: usize, transforms: usize) -> usize {
    let matrices = (transforms + 1) as f64 * 4.0;
    ((memory_mb as f64 * 1048576.0 / matrices).sqrt() as usize).max(2)
}

/// Iteration limit of a tuning fit, per training row. Cells that need more
/// (huge C with tiny gamma) are marked in the table instead of stalling the
/// search. Ranking cells needs their held-out scores, not a finished dual:
/// at 50 rather than 200 (with [`CV_EPS`]) five of the six benchmark
/// seed-variants chose the same cell, and the search took 44% less time
/// (bench/RESULTS.md, "Looser tuning fits").
const MAX_ITER_PER_ROW: usize = 50;

/// Stopping tolerance of the cross-validation fits; the final fit keeps
/// libsvm's 1e-3. Held-out scores barely move between the two, and the
/// looser one ends the slow tail of the large-C fits (same benchmark entry).
pub const CV_EPS: f64 = 1e-2;

/// A tuning run's result: the report (stored in the model) and each cell's fitting time (printed, not stored).
pub struct Tuned {
    pub report: TuneReport,
    pub fit_seconds: Vec<f64>,
    /// Wall time of the whole search (not stored: the model stays byte-identical).
    pub seconds: f64,
    /// The chosen cell's fit on all the training rows, when the final pass chose it.
    pub fit: Option<FinalFit>,
}

/// Folds a larger pass holds out and scores (of `--folds`; fewer if that is
/// smaller; all of them when the folds are grouped). Its fits are the search's costliest (large C on many rows, at
/// the iteration limit), and a ranking of 16 or 4 leading cells needs
/// fewer of them than the grid: with 2 of 5, all six benchmark
/// seed-variants chose the cell that all 5 chose (one fold alone misled one
/// of them), and the search took 30-43% less time (bench/RESULTS.md, "Larger
/// passes on two folds").
pub const RUNG_FOLDS: usize = 2;

/// Iteration limit of a larger pass's fits, per training row: they run to
/// the limit at large C whatever it is, and at 25 (half the grid's, on
/// twice the rows) the six seed-variants chose the same cells as at 50
/// (same entry).
const RUNG_MAX_ITER_PER_ROW: usize = 25;

/// Folds the coarse pass scores every cell on first (when `--folds` is
/// larger); only the cells near the best on those go on to the others.
pub const RACE_FOLDS: usize = 2;

/// How far below the best cell on the first [`RACE_FOLDS`] folds a coarse
/// cell may score and still be scored on the others. Most of the grid
/// (tiny or huge gamma, tiny C) is far below; its fits were a third of the
/// coarse pass. On the six benchmark seed-variants the leading cells were
/// at most 0.041 below the best on those two folds (bench/RESULTS.md,
/// "Racing the coarse pass").
pub const RACE_MARGIN: f64 = 0.1;

/// Cells kept for the first larger pass ([`TuneSpec::rungs`]); each later pass keeps a quarter (at least 2).
const RUNG_KEEP: usize = 16;

/// The cells scored so far, and each one's fitting time.
struct Table {
    cells: Vec<CvCell>,
    seconds: Vec<f64>,
    /// Each cell's fold scores (its mean and std are of these).
    scores: Vec<Vec<f64>>,
    /// Cells the whole search expects to score (for the progress message).
    expected: u64,
}

impl Table {
    /// Adds fold scores to `cell`'s (the same pass, settings and rows), or the cell itself if new.
    fn add(&mut self, cell: CvCell, r: CellResult) {
        let same = |c: &CvCell| {
            (c.stage, c.transform, c.class_weight, c.oversample, c.rows) == (cell.stage, cell.transform, cell.class_weight, cell.oversample, cell.rows)
                && c.log2c == cell.log2c
                && c.log2g == cell.log2g
        };
        let i = match self.cells.iter().position(same) {
            Some(i) => i,
            None => {
                self.cells.push(cell);
                self.seconds.push(0.0);
                self.scores.push(Vec::new());
                self.cells.len() - 1
            }
        };
        let scores = &mut self.scores[i];
        scores.extend(&r.fold_scores);
        let m = scores.len() as f64;
        let mean = scores.iter().sum::<f64>() / m;
        let var = scores.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m;
        let c = &mut self.cells[i];
        (c.mean, c.std, c.folds) = (mean, var.sqrt(), scores.len() as u32);
        c.converged &= r.converged;
        self.seconds[i] += r.fit_seconds;
    }
}

/// A stratified sample of the training rows (whole groups, when grouped), split into folds, its rows
/// preprocessed (with their squared distances, for the shared kernels) for
/// each transform to try.
struct Sample {
    y: Vec<usize>,
    fold_of: Vec<usize>,
    /// Distinct groups (0 when not grouped).
    groups: usize,
    prepared: Vec<Prepared>,
}

/// The training rows tuning draws its samples from.
pub struct TuneData<'a> {
    /// Training columns as read.
    pub cols: &'a Columns,
    /// What they become.
    pub plan: &'a FeaturePlan,
    /// Each row's class.
    pub y: &'a [usize],
    /// Each row's group, with `--group-by`: folds never split one.
    pub groups: Option<&'a [u32]>,
    /// Rows of the file outside the training rows, for the final pass (none: no final pass).
    pub held_out: Option<HeldOut<'a>>,
    /// Kernel cache of the final pass's fits, MiB (the final fit's).
    pub cache_mb: usize,
}

struct Prepared {
    transform: Transform,
    /// Row-major, transformed and scaled.
    x: Vec<f64>,
    d: usize,
    /// None with SMOTE, whose synthetic rows are not in the matrix.
    dist: Option<Vec<f32>>,
}

impl Sample {
    /// Draws `rows` of the training rows (whole groups when grouped), splits
    /// them into folds and prepares them for each transform.
    fn draw(data: &TuneData, k: usize, rows: usize, transforms: &[Transform], spec: &TuneSpec) -> Result<Sample> {
        let picked = match data.groups {
            Some(g) => sample::grouped(data.y, g, k, rows, spec.folds, spec.seed),
            None => sample::stratified(data.y, k, rows, spec.seed),
        };
        let cols = data.cols.select(&picked);
        let ys: Vec<usize> = picked.iter().map(|&i| data.y[i]).collect();
        let (fold_of, groups) = match data.groups {
            Some(g) => {
                let gs: Vec<u32> = picked.iter().map(|&i| g[i]).collect();
                let distinct = gs.iter().collect::<std::collections::HashSet<_>>().len();
                if distinct < spec.folds {
                    return Err(Error::input(format!(
                        "--group-by {}: the tuning sample of {} rows holds {distinct} groups, fewer than --folds {} (use fewer folds, more --tune-rows, or a finer group column)",
                        spec.group_by.as_deref().unwrap_or("?"),
                        ys.len(),
                        spec.folds
                    )));
                }
                (folds::stratified_group_folds(&ys, &gs, k, spec.folds, spec.seed), distinct)
            }
            None => (folds::stratified_folds(&ys, k, spec.folds, spec.seed), 0),
        };
        let direct = spec.oversample == Oversample::Smote;
        let prepared = transforms
            .iter()
            .map(|&transform| {
                let (_, xt, _) = Preprocessor::fit(&cols, data.plan, transform)?;
                let d = xt.ncols();
                let xt = xt.as_standard_layout().into_owned().into_raw_vec_and_offset().0;
                let dist = (!direct).then(|| cv::squared_distances(&xt, d));
                Ok(Prepared { transform, x: xt, d, dist })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Sample { y: ys, fold_of, groups, prepared })
    }

    /// Scores `specs` with the `t`-th transform on the folds `held_out`,
    /// one gamma at a time (so that the progress bar can show the best so
    /// far), into `table` (adding to the scores of cells already there).
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        t: usize,
        specs: &[CellSpec],
        stage: Stage,
        held_out: Range<usize>,
        spec: &TuneSpec,
        k: usize,
        table: &mut Table,
        bar: &Progress,
    ) {
        let prep = &self.prepared[t];
        let problem = Problem {
            x: &prep.x,
            d: prep.d,
            y: &self.y,
            n_classes: k,
            fold_of: &self.fold_of,
            folds: spec.folds,
            held_out,
            metric: spec.metric,
            eps: spec.eps,
            max_iter_per_row: if stage == Stage::Rung { RUNG_MAX_ITER_PER_ROW } else { MAX_ITER_PER_ROW },
        };
        let done = || bar.inc(1);
        let mut gammas: Vec<f64> = specs.iter().map(|s| s.log2g).collect();
        gammas.dedup();
        for g in gammas {
            let group: Vec<CellSpec> = specs.iter().filter(|s| s.log2g == g).copied().collect();
            let results: Vec<CellResult> = match &prep.dist {
                Some(dist) => cv::gram_scores(&problem, dist, &group, &done),
                None => cv::direct_scores(&problem, &group, true, spec.seed, &done),
            };
            for (s, r) in group.iter().zip(results) {
                let cell = CvCell {
                    stage,
                    transform: prep.transform,
                    class_weight: s.class_weight,
                    oversample: spec.oversample,
                    log2c: s.log2c,
                    log2g: s.log2g,
                    mean: 0.0,
                    std: 0.0,
                    folds: 0,
                    converged: r.converged,
                    rows: self.y.len() as u64,
                };
                table.add(cell, r);
            }
            let top = &table.cells[ranking(&table.cells)[0]];
            bar.set_message(format!("cell {} of {}, best {}", table.cells.len(), table.expected, describe(top, spec.metric)));
        }
    }
}

/// Cross-validates the grid on a stratified sample of `rows` of the
/// training rows (`data.y` indexes `classes`), then the leading cells on
/// larger samples.
pub fn tune(data: &TuneData, classes: &[String], rows: usize, spec: &TuneSpec, quiet: bool) -> Result<Tuned> {
    let start = std::time::Instant::now();
    let k = classes.len();
    let y = data.y;
    if spec.folds < 2 {
        return Err(Error::input("--folds must be at least 2"));
    }
    let in_memory = if spec.oversample == Oversample::Smote { usize::MAX } else { rows_in_memory(spec.memory_mb, spec.transforms.len()) };
    if rows > in_memory {
        note(
            quiet,
            format!("note: --tune-rows {rows} capped at {in_memory}: larger kernel matrices would not fit in --memory {}", spec.memory_mb),
        );
    }
    let first = Sample::draw(data, k, rows.min(in_memory), &spec.transforms, spec)?;
    let mut count = vec![0usize; k];
    for &c in &first.y {
        count[c] += 1;
    }
    for (c, &m) in count.iter().enumerate() {
        if m < spec.folds {
            // As scikit-learn's StratifiedKFold: a warning, not an error.
            note(
                quiet,
                format!(
                    "warning: class '{}' has {m} tuning rows, fewer than --folds {}: some folds are scored without it",
                    classes[c], spec.folds
                ),
            );
        }
    }
    let n = first.y.len();
    let first_groups = first.groups;
    // The larger passes: twice the rows each, while the training rows allow.
    let mut rungs: Vec<(usize, usize)> = Vec::new();
    let (mut size, mut keep) = (n, RUNG_KEEP);
    for _ in 0..spec.rungs {
        let next = (size * 2).min(y.len()).min(in_memory);
        if next <= size {
            break;
        }
        rungs.push((next, keep));
        size = next;
        keep = (keep / 4).max(2);
    }

    let coarse = spec.grid.coarse();
    let fine_guess = spec.grid.fine(0.0, 0.0).len();
    let pairs = (k * (k - 1) / 2) as u64;
    let direct = spec.oversample == Oversample::Smote;
    let fits_per_fold = if direct { 1 } else { pairs };
    // Grouped folds differ in difficulty as their groups do (one capture can
    // be a third of a fold): 2 of them neither rank the leaders nor estimate
    // the chosen cell's score, so grouped larger passes hold out every fold.
    let rung_folds = if data.groups.is_some() { spec.folds } else { RUNG_FOLDS.min(spec.folds) };
    let first_cells = (coarse.len() * spec.transforms.len() * spec.class_weights.len() + fine_guess) as u64;
    let rung_cells: u64 = rungs.iter().map(|&(_, keep)| keep as u64).sum();
    let final_cells = if data.held_out.is_some() { 1 + spec.class_weights.len() as u64 } else { 0 };
    let expected = first_cells + rung_cells + final_cells;
    let planned = (first_cells * spec.folds as u64 + rung_cells * rung_folds as u64) * fits_per_fold + final_cells * pairs;
    let bar = Progress::steps(planned, "tuning", quiet);
    let mut table = Table { cells: Vec::new(), seconds: Vec::new(), scores: Vec::new(), expected };

    // The coarse pass races: every cell on the first folds, then only
    // those near the best on the others.
    let race = RACE_FOLDS.min(spec.folds);
    for ti in 0..spec.transforms.len() {
        for &w in &spec.class_weights {
            let specs: Vec<CellSpec> =
                coarse.iter().map(|&(c, g)| CellSpec { log2c: c, log2g: g, class_weight: w }).collect();
            first.score(ti, &specs, Stage::Coarse, 0..race, spec, k, &mut table, &bar);
        }
    }
    if race < spec.folds {
        let best = table.cells.iter().map(|c| c.mean).fold(f64::NEG_INFINITY, f64::max);
        let goes_on = |c: &CvCell| c.mean >= best - RACE_MARGIN;
        let dropped = table.cells.iter().filter(|c| !goes_on(c)).count() as u64;
        bar.fewer(dropped * (spec.folds - race) as u64 * fits_per_fold);
        for (ti, &t) in spec.transforms.iter().enumerate() {
            for &w in &spec.class_weights {
                let specs: Vec<CellSpec> = table
                    .cells
                    .iter()
                    .filter(|c| c.transform == t && c.class_weight == w && goes_on(c))
                    .map(|c| CellSpec { log2c: c.log2c, log2g: c.log2g, class_weight: w })
                    .collect();
                first.score(ti, &specs, Stage::Coarse, race..spec.folds, spec, k, &mut table, &bar);
            }
        }
    }
    // The fine pass, around the top coarse cell, with its transform and weighting.
    let coarse_best = table.cells[ranking(&table.cells)[0]].clone();
    let ti = spec.transforms.iter().position(|&t| t == coarse_best.transform).expect("transform of a cell");
    let fine: Vec<CellSpec> = spec
        .grid
        .fine(coarse_best.log2c, coarse_best.log2g)
        .into_iter()
        .map(|(c, g)| CellSpec { log2c: c, log2g: g, class_weight: coarse_best.class_weight })
        .collect();
    first.score(ti, &fine, Stage::Fine, 0..spec.folds, spec, k, &mut table, &bar);
    drop(first);

    // Larger passes: scores on a few thousand rows rank settings for that
    // many rows, and the final fit has more; the leading cells are scored
    // again on samples closer to it, one transform at a time (memory).
    for &(size, keep) in &rungs {
        let last = table.cells.iter().map(|c| c.rows).max().expect("cells scored");
        let leaders: Vec<CvCell> =
            ranking(&table.cells).into_iter().filter(|&i| table.cells[i].rows == last).take(keep).map(|i| table.cells[i].clone()).collect();
        for &t in &spec.transforms {
            let mut specs: Vec<CellSpec> = leaders
                .iter()
                .filter(|c| c.transform == t)
                .map(|c| CellSpec { log2c: c.log2c, log2g: c.log2g, class_weight: c.class_weight })
                .collect();
            if specs.is_empty() {
                continue;
            }
            // Grouped by gamma (one kernel matrix each), in a fixed order.
            specs.sort_by(|a, b| b.log2g.total_cmp(&a.log2g).then(a.log2c.total_cmp(&b.log2c)).then((a.class_weight as u8).cmp(&(b.class_weight as u8))));
            let sample = Sample::draw(data, k, size, &[t], spec)?;
            sample.score(0, &specs, Stage::Rung, 0..rung_folds, spec, k, &mut table, &bar);
        }
    }
    // The final pass's fits, by cell (none for the cross-validated ones).
    let mut fits: Vec<Option<FinalFit>> = Vec::new();
    if let Some(held) = &data.held_out {
        fits.resize_with(table.cells.len(), || None);
        let before = &table.cells[choose(&table.cells, spec.select)];
        let candidates = final_pass::candidates(before, spec);
        bar.fewer((final_cells - candidates.len() as u64) * pairs);
        bar.set_message(format!("fitting {} candidates on all {} training rows", candidates.len(), y.len()));
        for scored in final_pass::score(data, held, classes, candidates, spec, &bar)? {
            table.cells.push(scored.cell);
            table.seconds.push(scored.seconds);
            table.scores.push(Vec::new());
            fits.push(Some(scored.fit));
        }
    }
    let chosen = choose(&table.cells, spec.select) as u32;
    let fit = fits.get_mut(chosen as usize).and_then(Option::take);
    let report = TuneReport {
        metric: spec.metric,
        select: spec.select,
        folds: spec.folds as u32,
        rows: n as u64,
        cells: table.cells,
        chosen,
        grouped_by: spec.group_by.clone(),
        groups: first_groups as u64,
        held_out_rows: data.held_out.as_ref().map_or(0, |h| h.y.len() as u64),
    };
    drop(bar);
    Ok(Tuned { report, fit_seconds: table.seconds, seconds: start.elapsed().as_secs_f64(), fit })
}

#[cfg(test)]
mod tests {
    use super::cells::tests::cell;
    use super::*;

    #[test]
    fn fold_scores_added_later_update_the_cell() {
        let mut t = Table { cells: Vec::new(), seconds: Vec::new(), scores: Vec::new(), expected: 0 };
        let result = |s: &[f64], secs: f64, converged: bool| CellResult { fold_scores: s.to_vec(), fit_seconds: secs, converged };
        t.add(cell(1.0, -3.0, 0.0, 0.0), result(&[0.5, 0.7], 1.0, true));
        let mut other = cell(1.0, -3.0, 0.0, 0.0);
        other.rows = 200;
        t.add(other, result(&[0.1, 0.1], 1.0, true));
        t.add(cell(1.0, -3.0, 0.0, 0.0), result(&[0.6, 0.6], 0.5, false));
        assert_eq!(t.cells.len(), 2, "another sample size is another cell");
        let c = &t.cells[0];
        assert_eq!((c.folds, c.converged, t.seconds[0]), (4, false, 1.5));
        assert!((c.mean - 0.6).abs() < 1e-12 && (c.std - (0.02f64 / 4.0).sqrt()).abs() < 1e-12, "{c:?}");
    }

}
