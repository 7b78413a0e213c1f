//! `ntc report`: what is in a flow CSV and, with a model, what the model is,
//! how it scores on the file and whether the traffic has drifted from the
//! training data. One pass gathers the facts ([`build`]); the renderers
//! (HTML with inline SVG charts, Markdown, JSON) only present them.
//! Identifier columns (addresses, flow IDs, timestamps) are counted but
//! never profiled or printed.

pub mod charts;
pub mod html;
pub mod markdown;
pub mod profile;

use serde::Serialize;

use crate::data::classes::ClassMap;
use crate::data::reader::FlowReader;
use crate::data::schema;
use crate::drift::{ClassMixDrift, FeatureDrift, MIN_DRIFT_ROWS, PSI_ALERT};
use crate::error::Result;
use crate::features::Transform;
use crate::metrics::{Confusion, Metrics};
use crate::model::Model;
use crate::progress::Progress;
use crate::svm::Predictor;
pub use profile::{profile_csv, ColumnStats, DataProfile, ProfileOptions, RowSample};

/// Features shown as box plots.
pub const BOX_FEATURES: usize = 6;
/// Features in the correlation heatmap.
pub const CORRELATION_FEATURES: usize = 20;

/// Everything a report says, in the order it says it.
#[derive(Debug, Serialize)]
pub struct Report {
    pub file_name: String,
    /// How labels are grouped into the classes counted ("as the model groups them", "the five categories", ...).
    pub class_grouping: String,
    pub data: DataSection,
    pub model: Option<ModelSection>,
    pub evaluation: Option<Evaluation>,
    /// Labelled rows the evaluation left out, as `ntc evaluate` would (None when none was).
    pub left_out: Option<LeftOut>,
    pub drift: Option<DriftSection>,
}

/// Rows a model could not score, by reason.
#[derive(Debug, Serialize)]
pub struct LeftOut {
    /// A model column holds a cell that is not a number.
    pub not_numeric: u64,
    pub without_label: u64,
    /// In the score sample: labels the model's classes do not include.
    pub unknown_labels: u64,
}

impl LeftOut {
    /// One sentence for the Markdown and HTML reports.
    pub fn describe(&self, scored: bool) -> String {
        let mut parts = Vec::new();
        if self.not_numeric > 0 {
            parts.push(format!("{} rows whose model columns hold a cell that is not a number", self.not_numeric));
        }
        if self.without_label > 0 {
            parts.push(format!("{} rows with an empty label", self.without_label));
        }
        if self.unknown_labels > 0 {
            parts.push(format!("{} rows (of those scored) with a label the model's classes do not include", self.unknown_labels));
        }
        let lead = if scored { "Left out of the scores, as ntc evaluate rejects them" } else { "No row could be scored" };
        format!("{lead}: {}.", parts.join("; "))
    }
}

#[derive(Debug, Serialize)]
pub struct DataSection {
    pub rows: u64,
    pub columns: usize,
    pub identifier_columns_not_profiled: Vec<String>,
    pub label_column: Option<String>,
    pub duplicate_rows: u64,
    pub duplicate_flows_ignoring_identifiers: u64,
    pub median_exact: bool,
    pub column_stats: Vec<ColumnStats>,
    pub constant_columns: Vec<String>,
    /// Rows per class (by the model's class map, or the five categories), largest first.
    pub class_counts: Vec<(String, u64)>,
    /// Rows per raw label, largest first.
    pub label_counts: Vec<(String, u64)>,
    /// Features ranked by how well they separate the classes (eta squared of the log-transformed values).
    pub informative_features: Vec<(String, f64)>,
    pub box_plots: Vec<FeatureBoxes>,
    pub correlation: Correlation,
}

/// Five numbers of one class's values (raw units): 5th percentile, quartiles, 95th percentile.
#[derive(Clone, Debug, Serialize)]
pub struct BoxStats {
    pub class: String,
    pub rows: usize,
    pub p5: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub p95: f64,
}

#[derive(Debug, Serialize)]
pub struct FeatureBoxes {
    pub feature: String,
    pub boxes: Vec<BoxStats>,
}

/// Pearson correlation of the log-transformed values, on a uniform row sample.
#[derive(Debug, Serialize)]
pub struct Correlation {
    pub features: Vec<String>,
    pub matrix: Vec<Vec<f64>>,
    pub rows: usize,
}

#[derive(Debug, Serialize)]
pub struct ModelSection {
    pub ntc_version: String,
    pub trained_on: String,
    pub training_file_sha256: String,
    pub rows_in_file: u64,
    pub rows_used: u64,
    pub seed: u64,
    pub class_map: String,
    /// `(class, rows in the training file, rows used)`.
    pub rows_per_class: Vec<(String, u64, u64)>,
    pub c: f64,
    pub gamma: f64,
    pub class_weight: String,
    pub transform: String,
    pub oversample: String,
    /// Columns of the SVM's feature vector.
    pub features: usize,
    /// Each categorical feature and its values (the vocabulary stored in the model).
    pub categorical_features: Vec<String>,
    pub support_vectors: usize,
    /// `(class a, class b, support vectors of the pair's classifier)`.
    pub support_vectors_per_pair: Vec<(String, String, usize)>,
    pub probabilities: bool,
    pub training_accuracy: f64,
    pub training_macro_f1: f64,
    pub tuning: Option<TuningGrid>,
}

/// The coarse cross-validation grid of the chosen transform, weighting and
/// oversampling, as a C x gamma table of mean scores.
#[derive(Debug, Serialize)]
pub struct TuningGrid {
    pub metric: String,
    pub folds: usize,
    /// `5 folds grouped by capture (412 groups; no group in two folds)` or `5 stratified random folds`.
    pub fold_kind: String,
    pub rows: usize,
    pub cells: usize,
    pub chosen: String,
    pub chosen_log2_c: f64,
    pub chosen_log2_gamma: f64,
    pub log2_c: Vec<f64>,
    pub log2_gamma: Vec<f64>,
    /// `mean[gamma][c]`, NaN where the grid has no cell.
    pub mean: Vec<Vec<f64>>,
}

#[derive(Debug, Serialize)]
pub struct Evaluation {
    /// Rows scored: every row, or a seeded uniform sample of `--score-rows`.
    pub rows_scored: u64,
    pub rows_in_file: u64,
    /// Rows whose label the model's classes do not include (left out of the scores).
    pub unknown_labels: u64,
    pub metrics: Metrics,
}

#[derive(Debug, Serialize)]
pub struct DriftSection {
    pub psi_threshold: f64,
    /// Rows compared with the training data, and whether they were enough to
    /// judge drift ([`MIN_DRIFT_ROWS`]): when not, nothing is flagged.
    pub rows: u64,
    pub min_rows: u64,
    pub judged: bool,
    /// Features by PSI, largest first.
    pub features: Vec<FeatureDrift>,
    pub class_mix: ClassMixDrift,
    pub shifted_features: usize,
    /// True when a feature or the predicted class mix has a PSI above the threshold.
    pub drifted: bool,
}

/// How a report is made.
pub struct ReportOptions<'a> {
    pub label: &'a str,
    /// Groups labels for the charts when there is no model.
    pub class_map: ClassMap,
    pub seed: u64,
    pub score_rows: usize,
    pub quiet: bool,
}

/// Reads the CSV once and gathers the report's facts.
pub fn build(reader: &mut FlowReader, file_name: &str, model: Option<&Model>, o: &ReportOptions) -> Result<Report> {
    let label = model.map(|m| m.training.label_column.as_str()).unwrap_or(o.label);
    let class_map = model.map(|m| &m.class_map).unwrap_or(&o.class_map);
    let progress = Progress::rows("profiling", o.quiet);
    let p = profile_csv(
        reader,
        &ProfileOptions { label: Some(label), class_map, seed: o.seed, model, score_rows: o.score_rows },
        &progress,
    )?;
    drop(progress);
    let data = data_section(&p);
    let (evaluation, drift) = match model {
        Some(m) => {
            let (evaluation, predicted) = score_sample(m, &p);
            let mut features = {
                let mut f = p.drift.as_ref().expect("a model gives drift counts").finish(&m.training.profile);
                f.sort_by(|a, b| b.psi.total_cmp(&a.psi).then(a.feature.cmp(&b.feature)));
                f
            };
            let mut class_mix = ClassMixDrift::new(&m.classes, &m.training.profile.class_mix, &predicted);
            let judged = p.rows >= MIN_DRIFT_ROWS;
            if !judged {
                // A quiet hour is not an alert: too few rows to tell a shift from chance.
                features.iter_mut().for_each(|f| f.shifted = false);
                class_mix.shifted = false;
            }
            let shifted_features = features.iter().filter(|f| f.shifted).count();
            let drifted = shifted_features > 0 || class_mix.shifted;
            let drift = DriftSection {
                psi_threshold: PSI_ALERT,
                rows: p.rows,
                min_rows: MIN_DRIFT_ROWS,
                judged,
                features,
                class_mix,
                shifted_features,
                drifted,
            };
            (evaluation, Some(drift))
        }
        None => (None, None),
    };
    let left_out = match (model, &p.label_column) {
        (Some(_), Some(_)) => Some(LeftOut {
            not_numeric: p.rows_not_numeric,
            without_label: p.rows_without_label,
            unknown_labels: evaluation.as_ref().map_or(0, |e| e.unknown_labels),
        })
        .filter(|l| l.not_numeric + l.without_label + l.unknown_labels > 0 || p.rows > 0 && evaluation.is_none()),
        _ => None,
    };
    let class_grouping = match (model, o.class_map.kind.as_str()) {
        (Some(_), _) => "as the model groups them".to_string(),
        (None, "categories") => "the five categories".to_string(),
        (None, "apps") => "one class per label".to_string(),
        (None, _) => "as the mapping file groups them".to_string(),
    };
    Ok(Report { file_name: file_name.to_string(), class_grouping, data, model: model.map(model_section), evaluation, left_out, drift })
}

impl DataSection {
    /// Where the medians come from.
    pub fn median_source(&self) -> &'static str {
        if self.median_exact {
            "exact"
        } else {
            "from a seeded uniform sample of 100,000 rows"
        }
    }
}

/// A statistic for a table: integers as integers, very large or small values in scientific notation.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() >= 1e6 || v.abs() < 1e-3 {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

fn data_section(p: &DataProfile) -> DataSection {
    let mut class_counts: Vec<(String, u64)> = p.classes.iter().cloned().zip(p.class_rows.iter().copied()).collect();
    class_counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut label_counts: Vec<(String, u64)> = p.labels.iter().map(|(l, n)| (l.clone(), *n)).collect();
    label_counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let constant_columns: Vec<&str> = p.constant_columns();
    // A set: a file may have 200,000 columns, most of them constant.
    let constant: std::collections::HashSet<&str> = constant_columns.iter().copied().collect();
    // Numeric, non-constant feature columns (never the label's other forms).
    let candidates: Vec<usize> = (0..p.stats.len())
        .filter(|&j| {
            let s = &p.stats[j];
            s.text == 0 && !schema::is_excluded(&s.name) && !constant.contains(s.name.as_str()) && s.min < s.max
        })
        .collect();
    let informative = rank_features(p, &candidates);
    let groups: Vec<(String, &RowSample)> = if p.classes.is_empty() {
        vec![("all rows".to_string(), &p.sample)]
    } else {
        // Largest classes first, as the bar chart.
        let mut order: Vec<usize> = (0..p.classes.len()).collect();
        order.sort_by(|&a, &b| p.class_rows[b].cmp(&p.class_rows[a]).then(p.classes[a].cmp(&p.classes[b])));
        order.into_iter().take(charts::MAX_GROUPS).map(|c| (p.classes[c].clone(), &p.class_samples[c])).collect()
    };
    let width = p.stats.len();
    let box_plots = informative
        .iter()
        .take(BOX_FEATURES)
        .map(|(name, _)| {
            let j = p.stats.iter().position(|s| &s.name == name).unwrap();
            FeatureBoxes {
                feature: name.clone(),
                boxes: groups
                    .iter()
                    .filter_map(|(class, s)| {
                        let mut v: Vec<f64> = column(s, width, j).filter(|v| v.is_finite()).collect();
                        v.sort_by(|a, b| a.total_cmp(b));
                        (!v.is_empty()).then(|| BoxStats {
                            class: class.clone(),
                            rows: v.len(),
                            p5: quantile(&v, 0.05),
                            q1: quantile(&v, 0.25),
                            median: quantile(&v, 0.5),
                            q3: quantile(&v, 0.75),
                            p95: quantile(&v, 0.95),
                        })
                    })
                    .collect(),
            }
        })
        .collect();
    let corr_features: Vec<usize> = informative
        .iter()
        .take(CORRELATION_FEATURES)
        .map(|(name, _)| p.stats.iter().position(|s| &s.name == name).unwrap())
        .collect();
    DataSection {
        rows: p.rows,
        columns: p.columns.len(),
        identifier_columns_not_profiled: p.private.clone(),
        label_column: p.label_column.clone(),
        duplicate_rows: p.duplicate_rows,
        duplicate_flows_ignoring_identifiers: p.duplicate_flows,
        median_exact: p.median_exact,
        column_stats: p.stats.clone(),
        constant_columns: constant_columns.into_iter().map(String::from).collect(),
        class_counts,
        label_counts,
        correlation: correlation(p, &corr_features),
        informative_features: informative,
        box_plots,
    }
}

fn column(s: &RowSample, width: usize, j: usize) -> impl Iterator<Item = f64> + '_ {
    (0..s.rows).map(move |r| s.values[r * width + j])
}

fn symlog(v: f64) -> f64 {
    Transform::Log.apply(v)
}

/// Linear-interpolated quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Ranks columns by eta squared (between-class share of the variance) of
/// their log-transformed values in the per-class samples, so that every
/// class counts however rare; without labels, by the spread of the
/// log-transformed values of the uniform sample.
fn rank_features(p: &DataProfile, candidates: &[usize]) -> Vec<(String, f64)> {
    let width = p.stats.len();
    let mut ranked: Vec<(String, f64)> = candidates
        .iter()
        .map(|&j| {
            let score = if p.classes.is_empty() {
                let v: Vec<f64> = column(&p.sample, width, j).filter(|v| v.is_finite()).map(symlog).collect();
                let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
                (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
            } else {
                let groups: Vec<Vec<f64>> = p
                    .class_samples
                    .iter()
                    .map(|s| column(s, width, j).filter(|v| v.is_finite()).map(symlog).collect())
                    .collect();
                let all: Vec<f64> = groups.iter().flatten().copied().collect();
                let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
                let total: f64 = all.iter().map(|x| (x - mean).powi(2)).sum();
                let between: f64 = groups
                    .iter()
                    .filter(|g| !g.is_empty())
                    .map(|g| {
                        let m = g.iter().sum::<f64>() / g.len() as f64;
                        g.len() as f64 * (m - mean).powi(2)
                    })
                    .sum();
                if total > 0.0 {
                    between / total
                } else {
                    0.0
                }
            };
            (p.stats[j].name.clone(), score)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

fn correlation(p: &DataProfile, cols: &[usize]) -> Correlation {
    let width = p.stats.len();
    // Rows where every chosen column is finite.
    let rows: Vec<usize> =
        (0..p.sample.rows).filter(|&r| cols.iter().all(|&j| p.sample.values[r * width + j].is_finite())).collect();
    let z: Vec<Vec<f64>> = cols
        .iter()
        .map(|&j| {
            let v: Vec<f64> = rows.iter().map(|&r| symlog(p.sample.values[r * width + j])).collect();
            let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>()).sqrt();
            v.iter().map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 }).collect()
        })
        .collect();
    let matrix = z
        .iter()
        .map(|a| z.iter().map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>().clamp(-1.0, 1.0)).collect())
        .collect();
    Correlation { features: cols.iter().map(|&j| p.stats[j].name.clone()).collect(), matrix, rows: rows.len() }
}

/// Classifies the sampled rows: the evaluation (when they have labels) and
/// the predicted rows per class.
fn score_sample(m: &Model, p: &DataProfile) -> (Option<Evaluation>, Vec<u64>) {
    let k = m.classes.len();
    let x = m.preprocessor.encoder().transform(&p.score_sample.values);
    let pred = Predictor::new(&m.svm).predict(&x, false);
    let mut predicted = vec![0u64; k];
    for &c in &pred.class {
        predicted[c] += 1;
    }
    if p.label_column.is_none() {
        return (None, predicted);
    }
    let mut confusion = Confusion::new(k);
    let mut unknown = 0u64;
    for (l, &c) in p.score_labels.iter().zip(&pred.class) {
        match m.class_map.class_of(l).and_then(|class| m.classes.iter().position(|x| *x == class)) {
            Some(t) => confusion.add(t, c),
            None => unknown += 1,
        }
    }
    let metrics = confusion.metrics(&m.classes);
    let evaluation = (metrics.rows > 0).then(|| Evaluation {
        rows_scored: p.score_sample.rows as u64,
        rows_in_file: p.rows,
        unknown_labels: unknown,
        metrics,
    });
    (evaluation, predicted)
}

fn model_section(m: &Model) -> ModelSection {
    let t = &m.training;
    let pairs = m
        .svm
        .pairs
        .iter()
        .map(|pm| (m.classes[pm.a as usize].clone(), m.classes[pm.b as usize].clone(), pm.sv.len()))
        .collect();
    ModelSection {
        ntc_version: m.ntc_version.clone(),
        trained_on: t.file_name.clone(),
        training_file_sha256: t.file_sha256.clone(),
        rows_in_file: t.rows_in_file,
        rows_used: t.rows_used,
        seed: t.seed,
        class_map: m.class_map.kind.clone(),
        rows_per_class: t.rows_per_class.clone(),
        c: t.c,
        gamma: m.svm.gamma,
        class_weight: t.class_weight.clone(),
        transform: t.transform.clone(),
        oversample: t.oversample.clone(),
        features: m.preprocessor.n_features(),
        categorical_features: m.preprocessor.describe().split_off(m.preprocessor.numeric.n_features()),
        support_vectors: m.svm.n_support_vectors(),
        support_vectors_per_pair: pairs,
        probabilities: m.svm.has_probability(),
        training_accuracy: t.training_metrics.accuracy,
        training_macro_f1: t.training_metrics.macro_f1,
        tuning: t.tuning.as_ref().map(tuning_grid),
    }
}

fn tuning_grid(tr: &crate::tune::TuneReport) -> TuningGrid {
    use crate::tune::Stage;
    let ch = tr.chosen();
    let same = |c: &&crate::tune::CvCell| {
        c.stage == Stage::Coarse && c.transform == ch.transform && c.class_weight == ch.class_weight && c.oversample == ch.oversample
    };
    let mut cs: Vec<f64> = tr.cells.iter().filter(same).map(|c| c.log2c).collect();
    let mut gs: Vec<f64> = tr.cells.iter().filter(same).map(|c| c.log2g).collect();
    cs.sort_by(f64::total_cmp);
    cs.dedup();
    gs.sort_by(|a, b| b.total_cmp(a));
    gs.dedup();
    let mut mean = vec![vec![f64::NAN; cs.len()]; gs.len()];
    for c in tr.cells.iter().filter(same) {
        let i = gs.iter().position(|&g| g == c.log2g).unwrap();
        let j = cs.iter().position(|&x| x == c.log2c).unwrap();
        mean[i][j] = c.mean;
    }
    TuningGrid {
        metric: tr.metric.name().to_string(),
        folds: tr.folds as usize,
        fold_kind: tr.folds_description(),
        rows: tr.rows as usize,
        cells: tr.cells.len(),
        chosen: crate::tune::describe(ch, tr.metric),
        chosen_log2_c: ch.log2c,
        chosen_log2_gamma: ch.log2g,
        log2_c: cs,
        log2_gamma: gs,
        mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [0.0, 10.0, 20.0, 30.0, 40.0];
        assert_eq!(quantile(&v, 0.5), 20.0);
        assert_eq!(quantile(&v, 0.25), 10.0);
        assert_eq!(quantile(&v, 0.05), 2.0);
        assert_eq!(quantile(&[7.0], 0.95), 7.0);
    }
}
