//! Streaming prediction and scoring: rows are read, transformed and
//! classified in batches, so memory stays bounded for any input size, and
//! written in input order, one output row per input row.

use std::io::Write;

use crate::data::reader::{Batch, ColumnPlan, FlowReader, Reject};
use crate::data::rejects::RejectsFile;
use crate::data::schema::ID_COLUMN;
use crate::error::{Error, Result};
use crate::features::Encoder;
use crate::metrics::{Confusion, Metrics};
use crate::model::Model;
use crate::progress::Progress;
use crate::svm::Predictor;

/// Which input columns `predict` copies to its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Keep {
    /// Every input column, byte for byte (except earlier `predicted`, `confidence` and `p_*` columns, replaced).
    All,
    /// `Flow.ID` (or the first column when there is none).
    Id,
    /// Only the prediction columns.
    None,
}

/// Rows read and classified at once.
pub const BATCH_ROWS: usize = 16384;

/// The columns of `reader` a model reads (and the label, if asked).
pub fn model_plan(model: &Model, reader: &FlowReader, label: Option<&str>) -> Result<ColumnPlan> {
    let pre = &model.preprocessor;
    reader.plan_with_text(&pre.numeric_inputs(), &pre.text_inputs(), label)
}

/// The feature rows of a batch read with [`model_plan`]: its numeric inputs as
/// read, the codes of its text cells, encoded.
pub fn feature_rows(enc: &Encoder, plan: &ColumnPlan, batch: &Batch) -> Vec<f64> {
    if plan.text_idx.is_empty() {
        return enc.transform(&batch.features);
    }
    let (dn, w) = (enc.n_numeric_inputs(), enc.input_width());
    let mut inputs = Vec::with_capacity(batch.len() * w);
    for (r, rec) in batch.records.iter().enumerate() {
        inputs.extend_from_slice(&batch.features[r * dn..(r + 1) * dn]);
        inputs.extend(plan.text_idx.iter().enumerate().map(|(t, &i)| enc.text_code(t, &rec[i])));
    }
    enc.transform(&inputs)
}

/// Classifies every row of `reader` and writes CSV to `out`, one output row
/// per accepted input row, in input order. Records the reader set aside
/// (`--on-error skip`) go to `rejects`. Returns the number of rows predicted
/// (0 for a file with a header and no rows, which gets the output's header).
pub fn predict_csv<W: Write>(
    model: &Model,
    reader: &mut FlowReader,
    out: W,
    keep: Keep,
    proba: bool,
    mut rejects: Option<&mut RejectsFile>,
    progress: &Progress,
) -> Result<u64> {
    if proba && !model.svm.has_probability() {
        return Err(Error::input("--proba: this model was trained without probability estimates (train without --no-proba)"));
    }
    let plan = model_plan(model, reader, None)?;
    let encoder = model.preprocessor.encoder();
    let predictor = Predictor::new(&model.svm);
    let mut added: Vec<String> = vec!["predicted".into()];
    if proba {
        added.push("confidence".into());
        added.extend(model.classes.iter().map(|c| format!("p_{c}")));
    }
    let kept: Vec<usize> = match keep {
        // Columns of an earlier prediction (`predict` on its own output) are replaced, not repeated.
        Keep::All => (0..reader.headers().len()).filter(|&i| !added.contains(&reader.headers()[i])).collect(),
        Keep::Id => vec![reader.column_index(ID_COLUMN).unwrap_or(0)],
        Keep::None => vec![],
    };
    let mut w = csv::WriterBuilder::new().flexible(false).from_writer(out);
    let mut header: Vec<Vec<u8>> = kept.iter().map(|&i| reader.raw_headers()[i].to_vec()).collect();
    if let Some(first) = header.first_mut().filter(|_| kept.first() == Some(&0)) {
        // Do not carry a byte-order mark into the middle of a pipeline.
        if first.starts_with("\u{feff}".as_bytes()) {
            first.drain(..3);
        }
    }
    header.extend(added.iter().map(|c| c.as_bytes().to_vec()));
    w.write_record(&header).map_err(csv_write_err)?;
    let mut rows = 0u64;
    let mut record = csv::ByteRecord::new();
    let mut num = String::new();
    let k = model.classes.len();
    reader.for_each_batch(&plan, BATCH_ROWS, |batch| {
        let x = feature_rows(&encoder, &plan, batch);
        let pred = predictor.predict(&x, proba);
        for (r, raw) in batch.records.iter().enumerate() {
            record.clear();
            for &i in &kept {
                record.push_field(&raw[i]);
            }
            let c = pred.class[r];
            record.push_field(model.classes[c].as_bytes());
            if let Some(p) = &pred.proba {
                let p = &p[r * k..(r + 1) * k];
                for v in std::iter::once(p[c]).chain(p.iter().copied()) {
                    num.clear();
                    use std::fmt::Write as _;
                    write!(num, "{v:.6}").unwrap();
                    record.push_field(num.as_bytes());
                }
            }
            w.write_byte_record(&record).map_err(csv_write_err)?;
        }
        if let Some(r) = rejects.as_deref_mut() {
            r.write_merged(&batch.rejects, &[])?;
        }
        rows += batch.len() as u64;
        progress.inc(batch.records_read() as u64);
        Ok(())
    })?;
    // A header and no rows (a quiet hour of traffic) is an empty result: the header alone.
    w.flush()?;
    Ok(rows)
}

fn csv_write_err(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Other(io.into()),
        other => Error::Other(anyhow::anyhow!("writing CSV: {other:?}")),
    }
}

/// Scores the model on a labelled CSV (labels in the model's label column,
/// mapped to classes as in training). With `rejects`, records the reader set
/// aside and rows whose label the model cannot score go there instead of
/// stopping the run.
pub fn score(
    model: &Model,
    reader: &mut FlowReader,
    mut rejects: Option<&mut RejectsFile>,
    progress: &Progress,
) -> Result<Metrics> {
    let label = &model.training.label_column;
    let plan = model_plan(model, reader, Some(label))?;
    let encoder = model.preprocessor.encoder();
    let k = model.classes.len();
    let predictor = Predictor::new(&model.svm);
    let mut confusion = Confusion::new(k);
    let name = reader.name().to_string();
    let unknown = |l: &str| -> std::result::Result<usize, String> {
        let class = model.class_map.class_of(l).ok_or_else(|| format!("label '{l}' is not in the model's class mapping"))?;
        model.classes.iter().position(|c| *c == class).ok_or_else(|| {
            format!("class '{class}' was never seen in training (model classes: {})", model.classes.join(", "))
        })
    };
    reader.for_each_batch(&plan, BATCH_ROWS, |batch| {
        // The class of each row; None for a row set aside.
        let mut truth = Vec::with_capacity(batch.len());
        let mut unscored = Vec::new();
        for (i, (l, &line)) in batch.labels.iter().zip(&batch.lines).enumerate() {
            match (unknown(l), rejects.is_some()) {
                (Ok(idx), _) => truth.push(Some(idx)),
                (Err(msg), true) => {
                    let reason = format!("column '{label}': {msg}");
                    unscored.push(Reject { line, reason, raw: batch.raw(i).to_vec() });
                    truth.push(None);
                }
                (Err(msg), false) => return Err(Error::at(&name, line, Some(label), msg)),
            }
        }
        if let Some(r) = rejects.as_deref_mut() {
            r.write_merged(&batch.rejects, &unscored)?;
        }
        let x = feature_rows(&encoder, &plan, batch);
        let pred = predictor.predict(&x, false);
        for (t, p) in truth.into_iter().zip(pred.class) {
            if let Some(t) = t {
                confusion.add(t, p);
            }
        }
        progress.inc(batch.records_read() as u64);
        Ok(())
    })?;
    let m = confusion.metrics(&model.classes);
    if m.rows == 0 {
        return Err(Error::input(match rejects.map_or(0, |r| r.count()) {
            0 => format!("{}: no data rows (header only)", reader.name()),
            n => format!("{}: no row could be scored: all {n} records were rejected", reader.name()),
        }));
    }
    Ok(m)
}
