//! `ntc train` as a library call: read, sample, transform, fit, describe.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::classes::ClassMap;
use crate::data::reader::FlowReader;
use crate::data::{ingest, sample, schema};
use crate::drift::TrainingProfile;
use crate::error::{display_path, Error, Result};
use crate::features::{Preprocessor, Transform};
use crate::metrics::Metrics;
use crate::model::{Model, TrainingInfo};
use crate::progress::{note, Progress};
use crate::svm::{Gamma, SvcParams, SvmModel};
use crate::tune::{self, Oversample, TuneSpec, Tuned};

/// Above this many training rows, say that `--max-rows` exists.
const LARGE_TRAINING: usize = 100_000;

pub struct TrainRequest {
    pub csv: PathBuf,
    pub class_map: ClassMap,
    pub label: String,
    pub drop: Vec<String>,
    pub svc: SvcParams,
    pub transform: Transform,
    pub oversample: Oversample,
    /// Choose C, gamma, transform and class weighting by cross-validation first.
    pub tune: Option<TuneRequest>,
    pub max_rows: Option<usize>,
    /// Also write the sampled training rows (features and label, no identifiers) as CSV.
    pub sample_out: Option<PathBuf>,
    pub quiet: bool,
}

/// `--tune`: what to search, on how many rows.
pub struct TuneRequest {
    pub spec: TuneSpec,
    /// Size of the stratified tuning sample (drawn from the training rows).
    pub rows: usize,
}

/// A trained model, and the tuning run that chose its parameters.
pub struct Trained {
    pub model: Model,
    pub tuned: Option<Tuned>,
}

/// Trains a model; progress and a summary go to stderr unless quiet.
pub fn train(req: &TrainRequest) -> Result<Trained> {
    let started = Instant::now();
    let name = display_path(&req.csv);
    let headers = FlowReader::open(&req.csv)?.headers().to_vec();
    if !headers.iter().any(|h| h == &req.label) {
        return Err(Error::input(format!(
            "{name}:1: no label column '{}' (use --label to name the column holding the labels)",
            req.label
        )));
    }
    for d in &req.drop {
        if !headers.iter().any(|h| h == d) {
            return Err(Error::input(format!("--drop: no column '{d}' in {name}")));
        }
    }
    let mut dropped: Vec<(String, String)> = Vec::new();
    let mut candidates = Vec::new();
    for h in &headers {
        if h == &req.label {
            continue;
        } else if schema::is_private(h) {
            dropped.push((h.clone(), "identifier (never used, never stored)".into()));
        } else if schema::is_excluded(h) {
            dropped.push((h.clone(), "label or label leak".into()));
        } else if req.drop.contains(h) {
            dropped.push((h.clone(), "--drop".into()));
        } else {
            candidates.push(h.clone());
        }
    }
    if candidates.is_empty() {
        return Err(Error::input(format!("{name}: no feature columns left to train on")));
    }

    // Pass 1: labels (and the file's fingerprint).
    let spin = Progress::spinner(&format!("reading labels of {name}"), req.quiet);
    let (labels, sha256) = ingest::read_labels(&req.csv, &req.label)?;
    drop(spin);
    if labels.is_empty() {
        return Err(Error::input(format!("{name}: no data rows (header only)")));
    }
    // Classes of the distinct labels, then of every row.
    let mut label_class = Vec::with_capacity(labels.names.len());
    for (l, &line) in labels.names.iter().zip(&labels.first_line) {
        let c = req.class_map.class_of(l).ok_or_else(|| {
            Error::at(&name, line, Some(&req.label), format!("label '{l}' is not in the class mapping"))
        })?;
        label_class.push(c);
    }
    let classes: Vec<String> = label_class.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let label_class_index: Vec<usize> =
        label_class.iter().map(|c| classes.binary_search(c).expect("class listed")).collect();
    let class_of_row: Vec<usize> = labels.row.iter().map(|&l| label_class_index[l as usize]).collect();
    if classes.len() < 2 {
        return Err(Error::input(format!(
            "{name}: every row is of class '{}': a classifier needs at least two classes",
            classes[0]
        )));
    }
    let k = classes.len();

    // Sample, then pass 2: only the sampled rows' features.
    let rows: Option<Vec<usize>> = match req.max_rows {
        Some(m) if m < labels.len() => Some(sample::stratified(&class_of_row, k, m, req.svc.seed)),
        _ => None,
    };
    let n_used = rows.as_ref().map_or(labels.len(), Vec::len);
    if n_used > LARGE_TRAINING {
        note(
            req.quiet,
            format!(
                "note: fitting an RBF SVM on {n_used} rows; its cost grows with the square of the rows (--max-rows caps them)"
            ),
        );
    }
    let spin = Progress::spinner(&format!("reading features of {name}"), req.quiet);
    let data = ingest::read_rows(&req.csv, &candidates, &req.label, rows.as_deref(), &labels)?;
    drop(spin);
    let y: Vec<usize> = match &rows {
        Some(r) => r.iter().map(|&i| class_of_row[i]).collect(),
        None => class_of_row.clone(),
    };
    if let Some(path) = &req.sample_out {
        write_sample(path, &candidates, &req.label, &data.x, &data.labels)?;
    }

    let mut svc = req.svc.clone();
    let (mut transform, mut oversample) = (req.transform, req.oversample);
    let tuned = match &req.tune {
        Some(t) => {
            let tuned = tune::tune(data.x.view(), &candidates, &y, &classes, t.rows, &t.spec, req.quiet)?;
            let best = tuned.report.chosen();
            let largest = best.rows;
            note(
                req.quiet,
                format!(
                    "tuning: {} cells x {} folds on {} rows{} in {:.1} s; chosen {}",
                    tuned.report.cells.len(),
                    t.spec.folds,
                    tuned.report.rows,
                    if largest > tuned.report.rows { format!(", the leading ones again on up to {largest}") } else { String::new() },
                    tuned.seconds,
                    tune::describe(best, t.spec.metric)
                ),
            );
            svc.c = best.c();
            svc.gamma = Gamma::Value(best.gamma());
            svc.class_weight = best.class_weight;
            transform = best.transform;
            oversample = best.oversample;
            Some(tuned)
        }
        None => None,
    };
    let (pre, xs, summary) = Preprocessor::fit(data.x.view(), &candidates, transform)?;
    for c in &summary.constant {
        dropped.push((c.clone(), "constant in the training rows".into()));
    }
    let d = pre.n_features();
    let xs = xs.as_standard_layout().into_owned().into_raw_vec_and_offset().0;
    let spin = Progress::spinner(
        &format!("fitting RBF SVM on {} rows x {d} features ({k} classes, {} pairs)", y.len(), k * (k - 1) / 2),
        req.quiet,
    );
    let svm = match oversample {
        Oversample::None => SvmModel::fit(&xs, d, &y, k, &svc)?,
        Oversample::Smote => {
            let (xo, yo) = tune::smote::oversample(&xs, d, &y, k, svc.seed);
            SvmModel::fit(&xo, d, &yo, k, &svc)?
        }
    };
    drop(spin);
    let pred = svm.predict(&xs, false);
    let training_metrics = Metrics::from_pairs(&y, &pred.class, &classes);

    let mut in_file = vec![0u64; k];
    for &c in &class_of_row {
        in_file[c] += 1;
    }
    let mut used = vec![0u64; k];
    for &c in &y {
        used[c] += 1;
    }
    let profile = {
        let cols: Vec<usize> =
            pre.features.iter().map(|f| candidates.iter().position(|c| c == f).expect("model features are candidates")).collect();
        let raw = data.x.select(ndarray::Axis(1), &cols);
        let raw = raw.as_standard_layout();
        TrainingProfile::from_rows(raw.as_slice().expect("standard layout"), &pre.features, &y, &in_file)
    };
    let info = TrainingInfo {
        file_name: req.csv.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        file_sha256: sha256,
        rows_in_file: labels.len() as u64,
        rows_used: y.len() as u64,
        rows_per_class: classes.iter().enumerate().map(|(i, c)| (c.clone(), in_file[i], used[i])).collect(),
        seed: req.svc.seed,
        max_rows: req.max_rows.map(|m| m as u64),
        label_column: req.label.clone(),
        c: svc.c,
        gamma_flag: match svc.gamma {
            Gamma::Scale => "scale".into(),
            Gamma::Value(v) => v.to_string(),
        },
        class_weight: tune::weight_name(svc.class_weight).into(),
        transform: transform.name().into(),
        oversample: tune::oversample_name(oversample).into(),
        tuning: tuned.as_ref().map(|t| t.report.clone()),
        dropped_columns: dropped,
        imputed_cells: summary.imputed_cells,
        training_metrics,
        profile,
    };
    let model = Model {
        ntc_version: crate::NTC_VERSION.to_string(),
        class_map: req.class_map.clone(),
        classes,
        preprocessor: pre,
        svm,
        training: info,
    };
    note(
        req.quiet,
        format!(
            "trained on {} of {} rows: {} classes, {} features, {} support vectors, gamma {:.4e}, training accuracy {:.4} ({:.1}s)",
            model.training.rows_used,
            model.training.rows_in_file,
            k,
            d,
            model.svm.n_support_vectors(),
            model.svm.gamma,
            model.training.training_metrics.accuracy,
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(Trained { model, tuned })
}

/// The sampled training rows as CSV: the candidate feature columns as read (before imputation) and the label.
fn write_sample(path: &Path, features: &[String], label: &str, x: &ndarray::Array2<f64>, labels: &[String]) -> Result<()> {
    use std::io::Write;
    let mut out = crate::io::Output::create(path)?;
    let mut w = csv::Writer::from_writer(&mut out);
    let mut header: Vec<&str> = features.iter().map(String::as_str).collect();
    header.push(label);
    w.write_record(&header).map_err(anyhow::Error::from)?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for (row, l) in x.outer_iter().zip(labels) {
        rec.clear();
        rec.extend(row.iter().map(|v| if v.is_nan() { String::new() } else { v.to_string() }));
        rec.push(l.clone());
        w.write_record(&rec).map_err(anyhow::Error::from)?;
    }
    w.flush()?;
    drop(w);
    out.flush()?;
    out.commit()
}
