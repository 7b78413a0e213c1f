//! Streaming prediction and scoring: rows are read, transformed and
//! classified in batches, so memory stays bounded for any input size, and
//! written in input order, one output row per input row.

use std::io::Write;

use crate::data::reader::FlowReader;
use crate::data::schema::ID_COLUMN;
use crate::error::{Error, Result};
use crate::metrics::{Confusion, Metrics};
use crate::model::Model;
use crate::progress::Progress;
use crate::svm::Predictor;

/// Which input columns `predict` copies to its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Keep {
    /// Every input column, byte for byte.
    All,
    /// `Flow.ID` (or the first column when there is none).
    Id,
    /// Only the prediction columns.
    None,
}

/// Rows read and classified at once.
pub const BATCH_ROWS: usize = 16384;

/// Classifies every row of `reader` and writes CSV to `out`. Returns the row count.
pub fn predict_csv<W: Write>(
    model: &Model,
    reader: &mut FlowReader,
    out: W,
    keep: Keep,
    proba: bool,
    progress: &Progress,
) -> Result<u64> {
    if proba && !model.svm.has_probability() {
        return Err(Error::input("--proba: this model was trained without probability estimates (train without --no-proba)"));
    }
    let plan = reader.plan(&model.preprocessor.features, None)?;
    let predictor = Predictor::new(&model.svm);
    let kept: Vec<usize> = match keep {
        Keep::All => (0..reader.headers().len()).collect(),
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
    header.push(b"predicted".to_vec());
    if proba {
        header.push(b"confidence".to_vec());
        header.extend(model.classes.iter().map(|c| format!("p_{c}").into_bytes()));
    }
    w.write_record(&header).map_err(csv_write_err)?;
    let mut rows = 0u64;
    let mut record = csv::ByteRecord::new();
    let mut num = String::new();
    let k = model.classes.len();
    reader.for_each_batch(&plan, BATCH_ROWS, |batch| {
        model.preprocessor.transform_rows(&mut batch.features);
        let pred = predictor.predict(&batch.features, proba);
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
        rows += batch.len() as u64;
        progress.inc(batch.len() as u64);
        Ok(())
    })?;
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
/// mapped to classes as in training).
pub fn score(model: &Model, reader: &mut FlowReader, progress: &Progress) -> Result<Metrics> {
    let label = &model.training.label_column;
    let plan = reader.plan(&model.preprocessor.features, Some(label))?;
    let k = model.classes.len();
    let predictor = Predictor::new(&model.svm);
    let mut confusion = Confusion::new(k);
    let name = reader.name().to_string();
    reader.for_each_batch(&plan, BATCH_ROWS, |batch| {
        let mut truth = Vec::with_capacity(batch.len());
        for (l, &line) in batch.labels.iter().zip(&batch.lines) {
            let class = model.class_map.class_of(l).ok_or_else(|| {
                Error::at(&name, line, Some(label), format!("label '{l}' is not in the model's class mapping"))
            })?;
            let idx = model.classes.iter().position(|c| *c == class).ok_or_else(|| {
                Error::at(
                    &name,
                    line,
                    Some(label),
                    format!("class '{class}' was never seen in training (model classes: {})", model.classes.join(", ")),
                )
            })?;
            truth.push(idx);
        }
        model.preprocessor.transform_rows(&mut batch.features);
        let pred = predictor.predict(&batch.features, false);
        for (t, p) in truth.into_iter().zip(pred.class) {
            confusion.add(t, p);
        }
        progress.inc(batch.len() as u64);
        Ok(())
    })?;
    let m = confusion.metrics(&model.classes);
    if m.rows == 0 {
        return Err(Error::input(format!("{}: no data rows (header only)", reader.name())));
    }
    Ok(m)
}
