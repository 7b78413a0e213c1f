//! `train --tune`: choose C, gamma, the feature transform and the class
//! weighting by stratified k-fold cross-validation on a tuning sample, then
//! score the leading cells again on larger samples (successive halving:
//! settings ranked on a few thousand rows are for that many rows, and the
//! final fit has more).
//!
//! - [`grid`]: the log2 grid (coarse, then fine around the best cell);
//! - [`cv`]: fold assignment and the scores of cells, with the kernel
//!   matrix shared by every C, fold and pair of one gamma;
//! - [`smote`]: synthetic minority rows inside training folds.

pub mod cv;
pub mod grid;
pub mod smote;

use std::fmt::Write as _;
use std::ops::Range;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::data::sample;
use crate::error::{Error, Result};
use crate::features::{Preprocessor, Transform};
use crate::metrics::Metrics;
use crate::progress::{note, Progress};
use crate::svm::ClassWeight;
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
    /// Larger passes after the grid: each scores the leading cells of the
    /// previous pass again on twice its rows (16 cells, then a quarter as
    /// many, at least 2), while the training rows allow, holding out
    /// [`RUNG_FOLDS`] of the folds; the choice is made among the cells of
    /// the last pass.
    pub rungs: usize,
}

/// Which pass of the search a cell belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Coarse,
    Fine,
    /// A leading cell scored again on a larger sample ([`RUNG_FOLDS`] of its folds).
    Rung,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Coarse => "coarse",
            Stage::Fine => "fine",
            Stage::Rung => "larger",
        }
    }
}

/// One row of the cross-validation table (stored in the model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvCell {
    pub stage: Stage,
    pub transform: Transform,
    pub class_weight: ClassWeight,
    pub oversample: Oversample,
    pub log2c: f64,
    pub log2g: f64,
    /// Mean and (population) standard deviation of the fold scores.
    pub mean: f64,
    pub std: f64,
    /// Folds scored: all of `--folds` in the grid, [`RACE_FOLDS`] for a
    /// coarse cell that lost the race, [`RUNG_FOLDS`] in a larger pass.
    pub folds: u32,
    /// False when a fit hit the iteration limit (typically huge C): the score is of a rougher model.
    pub converged: bool,
    /// Rows of the sample the cell was scored on.
    pub rows: u64,
}

impl CvCell {
    pub fn c(&self) -> f64 {
        2f64.powf(self.log2c)
    }
    pub fn gamma(&self) -> f64 {
        2f64.powf(self.log2g)
    }
}

/// The outcome of tuning, stored in the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneReport {
    pub metric: Metric,
    pub select: Select,
    pub folds: u32,
    pub rows: u64,
    pub cells: Vec<CvCell>,
    /// Index of the chosen cell.
    pub chosen: u32,
}

/// Cell indices: cells scored on more rows first (theirs are the scores
/// nearest the final fit's), then on more folds (a coarse cell that lost
/// the race has a mean of fewer folds, not comparable), then top score
/// first; ties go to the simpler model (smaller C, then smaller gamma), then
/// to table order.
fn ranking(cells: &[CvCell]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&cells[a], &cells[b]);
        y.rows
            .cmp(&x.rows)
            .then(y.folds.cmp(&x.folds))
            .then(y.mean.total_cmp(&x.mean))
            .then(x.log2c.total_cmp(&y.log2c))
            .then(x.log2g.total_cmp(&y.log2g))
            .then(a.cmp(&b))
    });
    order
}

/// The index of the cell `select` picks, among the cells scored on the most rows (and folds).
fn choose(cells: &[CvCell], select: Select) -> usize {
    let top = ranking(cells)[0];
    match select {
        Select::Best => top,
        Select::OneSe => {
            let bar = cells[top].mean - cells[top].std / (cells[top].folds.max(1) as f64).sqrt();
            (0..cells.len())
                .filter(|&i| cells[i].rows == cells[top].rows && cells[i].folds == cells[top].folds && cells[i].mean >= bar)
                .min_by(|&a, &b| {
                    let (x, y) = (&cells[a], &cells[b]);
                    x.log2c.total_cmp(&y.log2c).then(x.log2g.total_cmp(&y.log2g)).then(y.mean.total_cmp(&x.mean)).then(a.cmp(&b))
                })
                .expect("the top cell qualifies")
        }
    }
}

impl TuneReport {
    pub fn chosen(&self) -> &CvCell {
        &self.cells[self.chosen as usize]
    }

    /// Cell indices, top score first.
    pub fn ranking(&self) -> Vec<usize> {
        ranking(&self.cells)
    }

    /// The table, top score first; `seconds[i]` is cell i's fitting time.
    pub fn to_table(&self, seconds: &[f64]) -> String {
        let mut s = String::new();
        let metric = self.metric.name();
        writeln!(
            s,
            "{:>4} {:<6} {:<6} {:<9} {:<9} {:<8} {:>6} {:>11} {:>6} {:>11} {:>8} {:>7} {:>5} {:>7} {:>8}",
            "rank", "pick", "stage", "transform", "weight", "oversmpl", "log2C", "C", "log2g", "gamma", metric, "std", "folds", "rows", "fit s"
        )
        .unwrap();
        for (rank, &i) in self.ranking().iter().enumerate() {
            let c = &self.cells[i];
            writeln!(
                s,
                "{:>4} {:<6} {:<6} {:<9} {:<9} {:<8} {:>6} {:>11} {:>6} {:>11} {:>8.4} {:>7.4} {:>5} {:>7} {:>8.2}{}",
                rank + 1,
                if i == self.chosen as usize { "chosen" } else { "-" },
                c.stage.name(),
                c.transform.name(),
                weight_name(c.class_weight),
                oversample_name(c.oversample),
                trim(c.log2c),
                format!("{:.4}", c.c()),
                trim(c.log2g),
                format!("{:.3e}", c.gamma()),
                c.mean,
                c.std,
                c.folds,
                c.rows,
                seconds.get(i).copied().unwrap_or(f64::NAN),
                if c.converged { "" } else { "  (iteration limit)" }
            )
            .unwrap();
        }
        s
    }

    /// The table as JSON, cells best first.
    pub fn to_json(&self, seconds: &[f64]) -> serde_json::Value {
        let cells: Vec<serde_json::Value> = self
            .ranking()
            .iter()
            .enumerate()
            .map(|(rank, &i)| {
                let c = &self.cells[i];
                serde_json::json!({
                    "rank": rank + 1,
                    "chosen": i == self.chosen as usize,
                    "stage": c.stage.name(),
                    "transform": c.transform.name(),
                    "class_weight": weight_name(c.class_weight),
                    "oversample": oversample_name(c.oversample),
                    "log2_c": c.log2c,
                    "c": c.c(),
                    "log2_gamma": c.log2g,
                    "gamma": c.gamma(),
                    "mean": c.mean,
                    "std": c.std,
                    "folds": c.folds,
                    "converged": c.converged,
                    "rows": c.rows,
                    "fit_seconds": seconds.get(i).copied(),
                })
            })
            .collect();
        serde_json::json!({
            "metric": self.metric.name(),
            "select": match self.select {
                Select::OneSe => "one-se",
                Select::Best => "best",
            },
            "folds": self.folds,
            "rows": self.rows,
            "cells": cells,
        })
    }
}

pub fn weight_name(w: ClassWeight) -> &'static str {
    match w {
        ClassWeight::None => "none",
        ClassWeight::Balanced => "balanced",
    }
}

pub fn oversample_name(o: Oversample) -> &'static str {
    match o {
        Oversample::None => "none",
        Oversample::Smote => "smote",
    }
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
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
}

/// Folds a larger pass holds out and scores (of `--folds`; fewer if that is
/// smaller). Its fits are the search's costliest (large C on many rows, at
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

/// A stratified sample of the training rows, split into folds, its rows
/// preprocessed (with their squared distances, for the shared kernels) for
/// each transform to try.
struct Sample {
    y: Vec<usize>,
    fold_of: Vec<usize>,
    prepared: Vec<Prepared>,
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
    fn draw(
        x: ArrayView2<f64>,
        names: &[String],
        y: &[usize],
        k: usize,
        rows: usize,
        transforms: &[Transform],
        spec: &TuneSpec,
    ) -> Result<Sample> {
        let picked = sample::stratified(y, k, rows, spec.seed);
        let xs = x.select(ndarray::Axis(0), &picked);
        let ys: Vec<usize> = picked.iter().map(|&i| y[i]).collect();
        let fold_of = cv::stratified_folds(&ys, k, spec.folds, spec.seed);
        let direct = spec.oversample == Oversample::Smote;
        let prepared = transforms
            .iter()
            .map(|&transform| {
                let (_, xt, _) = Preprocessor::fit(xs.view(), names, transform)?;
                let d = xt.ncols();
                let xt = xt.as_standard_layout().into_owned().into_raw_vec_and_offset().0;
                let dist = (!direct).then(|| cv::squared_distances(&xt, d));
                Ok(Prepared { transform, x: xt, d, dist })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Sample { y: ys, fold_of, prepared })
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

/// Cross-validates the grid on a stratified sample of `rows` of the raw
/// training rows `x` (one column per name in `names`, before imputation;
/// `y` indexes `classes`), then the leading cells on larger samples.
pub fn tune(
    x: ArrayView2<f64>,
    names: &[String],
    y: &[usize],
    classes: &[String],
    rows: usize,
    spec: &TuneSpec,
    quiet: bool,
) -> Result<Tuned> {
    let start = std::time::Instant::now();
    let k = classes.len();
    if spec.folds < 2 {
        return Err(Error::input("--folds must be at least 2"));
    }
    let first = Sample::draw(x, names, y, k, rows, &spec.transforms, spec)?;
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
    // The larger passes: twice the rows each, while the training rows allow.
    let mut rungs: Vec<(usize, usize)> = Vec::new();
    let (mut size, mut keep) = (n, RUNG_KEEP);
    for _ in 0..spec.rungs {
        let next = (size * 2).min(y.len());
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
    let rung_folds = RUNG_FOLDS.min(spec.folds);
    let first_cells = (coarse.len() * spec.transforms.len() * spec.class_weights.len() + fine_guess) as u64;
    let rung_cells: u64 = rungs.iter().map(|&(_, keep)| keep as u64).sum();
    let expected = first_cells + rung_cells;
    let planned = (first_cells * spec.folds as u64 + rung_cells * rung_folds as u64) * fits_per_fold;
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
            let sample = Sample::draw(x, names, y, k, size, &[t], spec)?;
            sample.score(0, &specs, Stage::Rung, 0..rung_folds, spec, k, &mut table, &bar);
        }
    }
    let chosen = choose(&table.cells, spec.select) as u32;
    let report = TuneReport { metric: spec.metric, select: spec.select, folds: spec.folds as u32, rows: n as u64, cells: table.cells, chosen };
    drop(bar);
    Ok(Tuned { report, fit_seconds: table.seconds, seconds: start.elapsed().as_secs_f64() })
}

/// `macro_f1 0.7321 (C=2^5, gamma=2^-3, log, balanced)`.
pub fn describe(c: &CvCell, metric: Metric) -> String {
    format!(
        "{} {:.4} (C=2^{}, gamma=2^{}, transform {}, class weight {}{})",
        metric.name(),
        c.mean,
        trim(c.log2c),
        trim(c.log2g),
        c.transform.name(),
        weight_name(c.class_weight),
        if c.oversample == Oversample::Smote { ", smote" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(log2c: f64, log2g: f64, mean: f64, std: f64) -> CvCell {
        CvCell {
            stage: Stage::Coarse,
            transform: Transform::None,
            class_weight: ClassWeight::None,
            oversample: Oversample::None,
            log2c,
            log2g,
            mean,
            std,
            folds: 4,
            converged: true,
            rows: 100,
        }
    }

    #[test]
    fn cells_of_the_largest_pass_rank_first_and_the_choice_is_among_them() {
        let mut cells = vec![cell(9.0, -5.0, 0.80, 0.01), cell(3.0, -7.0, 0.78, 0.01), cell(5.0, -7.0, 0.70, 0.05)];
        cells[1].rows = 400;
        cells[2].rows = 400;
        assert_eq!(ranking(&cells), vec![1, 2, 0]);
        assert_eq!(choose(&cells, Select::Best), 1);
        // Within one standard error of the top larger-pass cell (0.78 - 0.005): only itself;
        // the smaller-pass cell at 0.80 does not count.
        assert_eq!(choose(&cells, Select::OneSe), 1);
        // Top 0.79 +- 0.05 over 4 folds: bar 0.765; C 2^3 at 0.77 is simpler, at 0.76 out.
        cells[2].mean = 0.79;
        cells[1].mean = 0.77;
        assert_eq!(choose(&cells, Select::OneSe), 1);
        cells[1].mean = 0.76;
        assert_eq!(choose(&cells, Select::OneSe), 2);
    }

    #[test]
    fn cells_that_lost_the_race_rank_after_the_complete_ones_and_are_never_chosen() {
        // Scored on 2 of 4 folds: a mean of other folds, not comparable, however high.
        let mut cells = vec![cell(9.0, -5.0, 0.80, 0.01), cell(1.0, -7.0, 0.85, 0.0), cell(3.0, -7.0, 0.60, 0.02)];
        cells[1].folds = 2;
        assert_eq!(ranking(&cells), vec![0, 2, 1]);
        assert_eq!(choose(&cells, Select::Best), 0);
        assert_eq!(choose(&cells, Select::OneSe), 0, "the simpler raced-out cell is not a candidate");
    }

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

    #[test]
    fn one_se_rule_takes_the_simplest_cell_within_one_standard_error() {
        // Top: 0.80 +- 0.04 over 4 folds: standard error 0.02, bar 0.78.
        let cells = vec![cell(9.0, -5.0, 0.80, 0.04), cell(3.0, -7.0, 0.785, 0.01), cell(1.0, -7.0, 0.70, 0.01), cell(3.0, -9.0, 0.77, 0.0)];
        assert_eq!(ranking(&cells), vec![0, 1, 3, 2]);
        assert_eq!(choose(&cells, Select::Best), 0);
        assert_eq!(choose(&cells, Select::OneSe), 1);
        // Equal scores: the smaller C wins the ranking too.
        let tie = vec![cell(5.0, -3.0, 0.5, 0.0), cell(3.0, -3.0, 0.5, 0.0)];
        assert_eq!(choose(&tie, Select::Best), 1);
    }
}
