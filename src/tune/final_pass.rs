//! The last pass of `--tune`, when the file has rows beyond the training
//! sample: a few candidates fitted on all the training rows, as the final
//! model will be, and scored on held-out rows of the file.
//!
//! Cross-validation on a few thousand rows ranks settings for that many
//! rows. On synthetic flows, 8,000-row folds preferred a smaller gamma and C
//! than what scored best when fitted on 20,000 rows; scored on held-out rows
//! after a fit on the final rows, the ranking matched the test file's
//! (bench/RESULTS.md, "A final pass on held-out rows").

use super::cells::{CvCell, Stage};
use super::{smote, Metric, Oversample, TuneData, TuneSpec};
use crate::error::Result;
use crate::features::{Columns, Preprocessor, Transform};
use crate::metrics::Metrics;
use crate::progress::Progress;
use crate::svm::multiclass::Fit;
use crate::svm::{ClassWeight, Gamma, SvcParams, SvmModel, DEFAULT_C, DEFAULT_GAMMA};

/// Rows of the file outside the training sample, as read.
pub struct HeldOut<'a> {
    pub cols: &'a Columns,
    /// Each row's class.
    pub y: &'a [usize],
}

/// Fewest held-out rows worth a final pass: fewer cannot tell cells a point apart.
pub const MIN_HELD_OUT: usize = 1000;

/// Train's untuned settings: they were chosen by tuning on the full-size
/// files, so they are a candidate whenever the final size is large.
pub const UNTUNED_TRANSFORM: Transform = Transform::Log;

/// The candidates: the cell the larger passes chose, then train's untuned
/// C, gamma and transform with each class weighting tried (once each; the
/// untuned transform only if it is among those tried).
pub(super) fn candidates(chosen: &CvCell, spec: &TuneSpec) -> Vec<CvCell> {
    let mut out = vec![final_cell(chosen.transform, chosen.class_weight, chosen.log2c, chosen.log2g, chosen.oversample)];
    if spec.transforms.contains(&UNTUNED_TRANSFORM) {
        for &w in &spec.class_weights {
            let c = final_cell(UNTUNED_TRANSFORM, w, DEFAULT_C.log2(), DEFAULT_GAMMA.log2(), spec.oversample);
            if !out.iter().any(|o| same_settings(o, &c)) {
                out.push(c);
            }
        }
    }
    out
}

fn same_settings(a: &CvCell, b: &CvCell) -> bool {
    (a.transform, a.class_weight, a.oversample) == (b.transform, b.class_weight, b.oversample) && a.log2c == b.log2c && a.log2g == b.log2g
}

fn final_cell(transform: Transform, class_weight: ClassWeight, log2c: f64, log2g: f64, oversample: Oversample) -> CvCell {
    CvCell { stage: Stage::Final, transform, class_weight, oversample, log2c, log2g, mean: 0.0, std: 0.0, folds: 1, converged: true, rows: 0 }
}

/// Fits each candidate on all of `data`'s rows with the final fit's
/// settings (libsvm's tolerance, no probabilities) and scores it on
/// `held`; returns the cells with their scores, fitting seconds and fits.
pub(super) fn score(
    data: &TuneData,
    held: &HeldOut,
    classes: &[String],
    cells: Vec<CvCell>,
    spec: &TuneSpec,
    bar: &Progress,
) -> Result<Vec<Scored>> {
    let k = classes.len();
    let pairs = (k * (k - 1) / 2) as u64;
    let mut out = Vec::with_capacity(cells.len());
    let mut prepared: Option<(Transform, Vec<f64>, usize, Vec<f64>)> = None;
    for mut cell in cells {
        if prepared.as_ref().map(|p| p.0) != Some(cell.transform) {
            let (pre, x, _) = Preprocessor::fit(data.cols, data.plan, cell.transform)?;
            let d = x.ncols();
            let x = x.as_standard_layout().into_owned().into_raw_vec_and_offset().0;
            let xh = pre.encode(held.cols)?;
            prepared = Some((cell.transform, x, d, xh));
        }
        let (_, x, d, xh) = prepared.as_ref().expect("prepared above");
        let params = SvcParams {
            c: cell.c(),
            gamma: Gamma::Value(cell.gamma()),
            class_weight: cell.class_weight,
            eps: SvcParams::default().eps,
            cache_mb: data.cache_mb,
            probability: false,
            seed: spec.seed,
        };
        let start = std::time::Instant::now();
        let fit = match cell.oversample {
            Oversample::None => SvmModel::fit_timed(x, *d, data.y, k, &params)?,
            Oversample::Smote => {
                let (xo, yo) = smote::oversample(x, *d, data.y, k, spec.seed);
                SvmModel::fit_timed(&xo, *d, &yo, k, &params)?
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        let predicted = fit.svm.predict(xh, false).class;
        cell.mean = held_out_score(spec.metric, &Metrics::from_pairs(held.y, &predicted, classes));
        cell.rows = data.y.len() as u64;
        bar.inc(pairs);
        out.push(Scored { cell, seconds, fit });
    }
    Ok(out)
}

/// A candidate's fit on all the training rows: the final model when it is
/// chosen (without Platt scaling, which [`SvmModel::calibrate`] adds from
/// its duals), so that the choice costs no fit of its own.
pub type FinalFit = Fit;

pub(super) struct Scored {
    pub cell: CvCell,
    pub seconds: f64,
    pub fit: FinalFit,
}

/// `metric` on the held-out rows, macro-F1 over the classes they hold. The
/// training sample keeps every row of a rare class (its floor), so the
/// held-out rows may have none; a candidate that predicts such a class for
/// a few rows would otherwise lose a whole class's share of the average,
/// where its mistakes already cost the true classes' recall.
fn held_out_score(metric: Metric, m: &Metrics) -> f64 {
    match metric {
        Metric::MacroF1 => {
            let present: Vec<f64> = m.per_class.iter().filter(|c| c.support > 0).map(|c| c.f1).collect();
            present.iter().sum::<f64>() / present.len().max(1) as f64
        }
        _ => metric.of(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::cells::tests::cell;
    use crate::tune::{Grid, Select};

    fn spec(transforms: Vec<Transform>, class_weights: Vec<ClassWeight>) -> TuneSpec {
        TuneSpec {
            grid: Grid::default(),
            transforms,
            class_weights,
            oversample: Oversample::None,
            folds: 5,
            metric: Metric::MacroF1,
            select: Select::OneSe,
            eps: 1e-2,
            seed: 1,
            group_by: None,
            rungs: 2,
            memory_mb: 2048,
        }
    }

    #[test]
    fn a_class_the_held_out_rows_lack_does_not_count_in_their_macro_f1() {
        let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        // No row of c; one row of a predicted as c.
        let m = Metrics::from_pairs(&[0, 0, 1, 1], &[0, 2, 1, 1], &classes);
        assert!((m.macro_f1 - (2.0 / 3.0 + 1.0 + 0.0) / 3.0).abs() < 1e-12, "scikit-learn's average counts c");
        assert!((held_out_score(Metric::MacroF1, &m) - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        assert_eq!(held_out_score(Metric::Accuracy, &m), 0.75);
    }

    #[test]
    fn candidates_are_the_choice_and_the_untuned_settings_once_each() {
        let mut chosen = cell(6.0, -10.0, 0.77, 0.01);
        chosen.transform = Transform::Log;
        chosen.class_weight = ClassWeight::Sqrt;
        let c = candidates(&chosen, &spec(vec![Transform::Log, Transform::None], vec![ClassWeight::None, ClassWeight::Sqrt]));
        let settings: Vec<(f64, f64, ClassWeight)> = c.iter().map(|c| (c.log2c, c.log2g, c.class_weight)).collect();
        assert_eq!(settings, vec![(6.0, -10.0, ClassWeight::Sqrt), (9.0, -9.0, ClassWeight::None), (9.0, -9.0, ClassWeight::Sqrt)]);
        assert!(c.iter().all(|c| c.stage == Stage::Final && c.folds == 1));
        // The choice is the untuned cell: once.
        (chosen.log2c, chosen.log2g) = (9.0, -9.0);
        assert_eq!(candidates(&chosen, &spec(vec![Transform::Log], vec![ClassWeight::Sqrt])).len(), 1);
        // The untuned transform was not tried: the choice alone.
        chosen.transform = Transform::None;
        assert_eq!(candidates(&chosen, &spec(vec![Transform::None], vec![ClassWeight::None])).len(), 1);
    }
}
