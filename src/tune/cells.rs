//! The cross-validation table: its cells (stored in the model), how they
//! rank, which one is chosen, and its text and JSON forms.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Metric, Oversample, Select};
use crate::features::Transform;
use crate::svm::ClassWeight;

/// Which pass of the search a cell belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Coarse,
    Fine,
    /// A leading cell scored again on a larger sample ([`RUNG_FOLDS`] of its folds).
    Rung,
    /// A candidate fitted on all the training rows and scored on held-out rows of the file.
    Final,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Coarse => "coarse",
            Stage::Fine => "fine",
            Stage::Rung => "larger",
            Stage::Final => "final",
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
    /// `--group-by`: the column whose groups no fold split (the name only, never its values).
    #[serde(default)]
    pub grouped_by: Option<String>,
    /// Groups in the tuning sample, when grouped.
    #[serde(default)]
    pub groups: u64,
    /// Rows of the file outside the training rows that the final pass scored on (0: no final pass).
    #[serde(default)]
    pub held_out_rows: u64,
}

/// Cell indices: the final pass's cells first (fitted as the final model
/// is, scored on rows it never saw), then cells scored on more rows (theirs
/// are the scores nearest the final fit's), then on more folds (a coarse cell that lost
/// the race has a mean of fewer folds, not comparable), then top score
/// first; ties go to the simpler model (smaller C, then smaller gamma), then
/// to table order.
pub(super) fn ranking(cells: &[CvCell]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&cells[a], &cells[b]);
        (y.stage == Stage::Final)
            .cmp(&(x.stage == Stage::Final))
            .then(y.rows.cmp(&x.rows))
            .then(y.folds.cmp(&x.folds))
            .then(y.mean.total_cmp(&x.mean))
            .then(x.log2c.total_cmp(&y.log2c))
            .then(x.log2g.total_cmp(&y.log2g))
            .then(a.cmp(&b))
    });
    order
}

/// The index of the cell `select` picks, among the cells scored on the most rows (and folds).
pub(super) fn choose(cells: &[CvCell], select: Select) -> usize {
    let top = ranking(cells)[0];
    match select {
        Select::Best => top,
        Select::OneSe => {
            let bar = cells[top].mean - cells[top].std / (cells[top].folds.max(1) as f64).sqrt();
            (0..cells.len())
                .filter(|&i| {
                    let (c, t) = (&cells[i], &cells[top]);
                    ((c.stage == Stage::Final), c.rows, c.folds) == ((t.stage == Stage::Final), t.rows, t.folds) && c.mean >= bar
                })
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
        if self.held_out_rows > 0 {
            writeln!(s, "(final: fitted on all the training rows, scored on {} held-out rows of the file)", self.held_out_rows).unwrap();
        }
        if let Some(g) = &self.grouped_by {
            writeln!(s, "(folds grouped by {g}: {} groups in the {}-row tuning sample, none split across folds)", self.groups, self.rows).unwrap();
        }
        s
    }

    /// How the folds were cut, in words.
    pub fn folds_description(&self) -> String {
        match &self.grouped_by {
            Some(g) => format!("{} folds grouped by {g} ({} groups; no group in two folds)", self.folds, self.groups),
            None => format!("{} stratified random folds", self.folds),
        }
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
            "grouped_by": self.grouped_by,
            "groups": self.groups,
            "held_out_rows": self.held_out_rows,
            "cells": cells,
        })
    }
}

pub fn weight_name(w: ClassWeight) -> &'static str {
    match w {
        ClassWeight::None => "none",
        ClassWeight::Balanced => "balanced",
        ClassWeight::Sqrt => "sqrt",
    }
}

pub fn oversample_name(o: Oversample) -> &'static str {
    match o {
        Oversample::None => "none",
        Oversample::Smote => "smote",
    }
}

pub(super) fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
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
pub(super) mod tests {
    use super::*;

    /// A coarse cell scored on 4 folds of 100 rows.
    pub(in crate::tune) fn cell(log2c: f64, log2g: f64, mean: f64, std: f64) -> CvCell {
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
    fn final_cells_rank_first_and_the_best_of_them_is_chosen() {
        let mut cells = vec![cell(3.0, -7.0, 0.90, 0.01), cell(9.0, -9.0, 0.71, 0.0), cell(6.0, -10.0, 0.70, 0.0)];
        cells[0].rows = 8000;
        for c in &mut cells[1..] {
            (c.stage, c.rows, c.folds) = (Stage::Final, 8000, 1);
        }
        assert_eq!(ranking(&cells), vec![1, 2, 0], "held-out scores after a final fit outrank cross-validation's");
        assert_eq!(choose(&cells, Select::OneSe), 1, "no spread on one held-out set: the top score");
        assert_eq!(choose(&cells, Select::Best), 1);
    }

    #[test]
    fn a_format_6_table_reads_without_a_final_pass() {
        let report = TuneReport {
            metric: Metric::MacroF1,
            select: Select::OneSe,
            folds: 5,
            rows: 100,
            cells: vec![cell(1.0, -3.0, 0.5, 0.1)],
            chosen: 0,
            grouped_by: None,
            groups: 0,
            held_out_rows: 0,
        };
        let mut v = serde_json::to_value(&report).unwrap();
        v.as_object_mut().unwrap().remove("held_out_rows");
        assert_eq!(serde_json::from_value::<TuneReport>(v).unwrap(), report);
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
