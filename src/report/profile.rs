//! One streaming pass over a CSV with bounded memory: per-column statistics,
//! duplicate rows, class counts, seeded row samples for the charts, and
//! (with a model) the drift counts and the rows to score.

use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hasher};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::data::classes::ClassMap;
use crate::data::reader::{parse_cell, FlowReader};
use crate::data::schema;
use crate::drift::DriftCounter;
use crate::error::{Error, Result};
use crate::features::{median_sorted, Encoder};
use crate::model::Model;
use crate::progress::Progress;

/// Rows kept (a seeded uniform sample) for the medians and the correlation
/// matrix: medians are exact up to this many rows.
pub const ROW_SAMPLE: usize = 100_000;
/// Rows kept per class for the box plots and the feature ranking.
pub const CLASS_SAMPLE: usize = 1_000;
/// Records parsed per parallel task.
const CHUNK: usize = 1024;

#[derive(Clone, Debug, Serialize)]
pub struct ColumnStats {
    pub name: String,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    /// Empty cells.
    pub missing: u64,
    /// NaN or infinite values.
    pub non_finite: u64,
    /// Cells that are not numbers at all (a text column).
    pub text: u64,
}

/// A seeded uniform sample of rows: `values` is row-major over the profiled columns.
#[derive(Clone, Debug, Default)]
pub struct RowSample {
    pub values: Vec<f64>,
    pub rows: usize,
}

#[derive(Clone, Debug)]
pub struct DataProfile {
    pub rows: u64,
    pub columns: Vec<String>,
    /// Numeric (or numeric-looking) columns, in file order; identifiers and the label excluded.
    pub stats: Vec<ColumnStats>,
    /// Identifier columns present, not profiled.
    pub private: Vec<String>,
    /// Raw label counts, when a label column is present.
    pub label_column: Option<String>,
    pub labels: BTreeMap<String, u64>,
    pub median_exact: bool,
    /// Rows equal to an earlier row in every column.
    pub duplicate_rows: u64,
    /// Rows equal to an earlier row once identifier columns (addresses, flow ID, timestamp) are ignored.
    pub duplicate_flows: u64,
    /// Classes (by the class map) in order of first appearance, with a sample of rows of each.
    pub classes: Vec<String>,
    pub class_rows: Vec<u64>,
    pub class_samples: Vec<RowSample>,
    /// A uniform sample of rows (all rows up to [`ROW_SAMPLE`]).
    pub sample: RowSample,
    /// With a model: the drift counts and a uniform sample of the model's
    /// input rows (row-major, model order) with their raw labels, to score.
    pub drift: Option<DriftCounter>,
    pub score_sample: RowSample,
    pub score_labels: Vec<String>,
    /// Rows left out of the score sample as `ntc evaluate` would reject them:
    /// a model column holding a cell that is not a number, or an empty label.
    pub rows_not_numeric: u64,
    pub rows_without_label: u64,
}

impl DataProfile {
    /// Columns with a single value and no missing or non-finite cells.
    pub fn constant_columns(&self) -> Vec<&str> {
        self.stats
            .iter()
            .filter(|s| s.text == 0 && s.missing == 0 && s.non_finite == 0 && s.min == s.max)
            .map(|s| s.name.as_str())
            .collect()
    }
}

/// What the pass looks at besides the columns.
pub struct ProfileOptions<'a> {
    pub label: Option<&'a str>,
    /// Groups labels into the classes of the charts.
    pub class_map: &'a ClassMap,
    pub seed: u64,
    pub model: Option<&'a Model>,
    /// Rows sampled for scoring the model (all rows when the file has no more).
    pub score_rows: usize,
}

/// What the parallel part of the pass makes of a chunk of records.
struct Parsed {
    /// Row-major over the profiled columns: the value, NaN when missing or not a number.
    values: Vec<f64>,
    /// Hash of each row over every column, and over the non-identifier columns.
    hashes: Vec<(u64, u64)>,
    counts: ColumnCounts,
    drift: Option<DriftCounter>,
}

/// Order-free per-column counts, merged across chunks.
#[derive(Clone)]
struct ColumnCounts {
    missing: Vec<u64>,
    non_finite: Vec<u64>,
    text: Vec<u64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

impl ColumnCounts {
    fn new(d: usize) -> Self {
        ColumnCounts {
            missing: vec![0; d],
            non_finite: vec![0; d],
            text: vec![0; d],
            min: vec![f64::INFINITY; d],
            max: vec![f64::NEG_INFINITY; d],
        }
    }

    fn merge(&mut self, o: &ColumnCounts) {
        for j in 0..self.min.len() {
            self.missing[j] += o.missing[j];
            self.non_finite[j] += o.non_finite[j];
            self.text[j] += o.text[j];
            self.min[j] = self.min[j].min(o.min[j]);
            self.max[j] = self.max[j].max(o.max[j]);
        }
    }
}

/// Columns of the pass: which are profiled, which are hashed for flow
/// duplicates, which feed the model.
struct Layout<'m> {
    profiled: Vec<usize>,
    public: Vec<bool>,
    /// The model's numeric inputs, as positions among the profiled columns.
    model_cols: Vec<usize>,
    /// The model's text inputs, as indices in the file, and how to code them.
    model_text: Vec<usize>,
    encoder: Option<Encoder<'m>>,
}

fn parse_chunk(records: &[csv::ByteRecord], l: &Layout<'_>, model: Option<&Model>) -> Parsed {
    let d = l.profiled.len();
    let mut counts = ColumnCounts::new(d);
    let mut drift = model.map(|m| DriftCounter::new(&m.training.profile));
    let mut values = Vec::with_capacity(records.len() * d);
    let mut hashes = Vec::with_capacity(records.len());
    let mut model_row = vec![0.0; l.model_cols.len()];
    for rec in records {
        let (mut h_all, mut h_public) = (DefaultHasher::new(), DefaultHasher::new());
        for (f, &public) in rec.iter().zip(&l.public) {
            h_all.write_usize(f.len());
            h_all.write(f);
            if public {
                h_public.write_usize(f.len());
                h_public.write(f);
            }
        }
        hashes.push((h_all.finish(), h_public.finish()));
        let start = values.len();
        for (j, &i) in l.profiled.iter().enumerate() {
            let cell = &rec[i];
            let v = if cell.iter().all(|b| b.is_ascii_whitespace()) {
                counts.missing[j] += 1;
                f64::NAN
            } else {
                match parse_cell(cell) {
                    None => {
                        counts.text[j] += 1;
                        f64::NAN
                    }
                    Some(v) if !v.is_finite() => {
                        counts.non_finite[j] += 1;
                        v
                    }
                    Some(v) => {
                        counts.min[j] = counts.min[j].min(v);
                        counts.max[j] = counts.max[j].max(v);
                        v
                    }
                }
            };
            values.push(v);
        }
        if let (Some(m), Some(dc)) = (model, drift.as_mut()) {
            let row = &values[start..];
            for (dst, &j) in model_row.iter_mut().zip(&l.model_cols) {
                *dst = row[j];
            }
            dc.add(&m.training.profile, model_row.iter().copied());
        }
    }
    Parsed { values, hashes, counts, drift }
}

/// Algorithm R: offers row `seen` (0-based) to a reservoir of `cap` rows;
/// returns the slot it should be written to, if any.
fn reservoir_slot(rng: &mut ChaCha8Rng, seen: u64, cap: usize) -> Option<usize> {
    if (seen as usize) < cap {
        Some(seen as usize)
    } else {
        let j = rng.random_range(0..=seen);
        ((j as usize) < cap).then_some(j as usize)
    }
}

fn put(sample: &mut RowSample, slot: usize, row: &[f64]) {
    let w = row.len();
    if slot == sample.rows {
        sample.values.extend_from_slice(row);
        sample.rows += 1;
    } else {
        sample.values[slot * w..(slot + 1) * w].copy_from_slice(row);
    }
}

/// Reads every record once. Parsing and counting run in parallel on each
/// batch; the samples are drawn in input order from one seeded generator,
/// so the result does not depend on the thread count.
pub fn profile_csv(reader: &mut FlowReader, opts: &ProfileOptions, progress: &Progress) -> Result<DataProfile> {
    let headers = reader.headers().to_vec();
    let label_idx = opts.label.and_then(|l| reader.column_index(l));
    let profiled: Vec<usize> =
        (0..headers.len()).filter(|&i| !schema::is_private(&headers[i]) && Some(i) != label_idx).collect();
    let private: Vec<String> = headers.iter().filter(|h| schema::is_private(h)).cloned().collect();
    let (model_cols, model_text) = match opts.model {
        Some(m) => {
            let plan = crate::predict::model_plan(m, reader, None)?;
            let cols = plan
                .feature_idx
                .iter()
                .map(|i| profiled.iter().position(|p| p == i))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::input(format!("{}:1: a model feature is the label or an identifier column", reader.name())))?;
            (cols, plan.text_idx)
        }
        None => (vec![], vec![]),
    };
    let layout = Layout {
        public: headers.iter().map(|h| !schema::is_private(h)).collect(),
        profiled,
        model_cols,
        model_text,
        encoder: opts.model.map(|m| m.preprocessor.encoder()),
    };
    let d = layout.profiled.len();
    let mut counts = ColumnCounts::new(d);
    let mut drift = opts.model.map(|m| DriftCounter::new(&m.training.profile));
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut labels: BTreeMap<String, u64> = BTreeMap::new();
    let mut class_of: BTreeMap<String, usize> = BTreeMap::new();
    let (mut classes, mut class_rows, mut class_samples) = (Vec::new(), Vec::new(), Vec::<RowSample>::new());
    let mut sample = RowSample::default();
    let (mut score_sample, mut score_labels) = (RowSample::default(), Vec::new());
    let (mut seen_all, mut seen_public) = (HashSet::new(), HashSet::new());
    let (mut duplicate_rows, mut duplicate_flows) = (0u64, 0u64);
    let mut model_row = vec![0.0; layout.model_cols.len() + layout.model_text.len()];
    let plan = reader.plan(&[], None)?;
    let mut rows = 0u64;
    let (mut scorable, mut rows_not_numeric, mut rows_without_label) = (0u64, 0u64, 0u64);
    reader.for_each_batch(&plan, 16384, |batch| {
        let parsed: Vec<Parsed> =
            batch.records.par_chunks(CHUNK).map(|recs| parse_chunk(recs, &layout, opts.model)).collect();
        let mut recs = batch.records.iter();
        for chunk in &parsed {
            counts.merge(&chunk.counts);
            if let (Some(a), Some(b)) = (drift.as_mut(), chunk.drift.as_ref()) {
                a.merge(b);
            }
            for (r, &(h_all, h_public)) in chunk.hashes.iter().enumerate() {
                let row = &chunk.values[r * d..(r + 1) * d];
                let rec = recs.next().expect("one record per parsed row");
                duplicate_rows += !seen_all.insert(h_all) as u64;
                duplicate_flows += !seen_public.insert(h_public) as u64;
                if let Some(slot) = reservoir_slot(&mut rng, rows, ROW_SAMPLE) {
                    put(&mut sample, slot, row);
                }
                let label = label_idx.map(|li| String::from_utf8_lossy(&rec[li]).trim().to_string());
                if let Some(l) = &label {
                    *labels.entry(l.clone()).or_insert(0) += 1;
                    let class = opts.class_map.class_of(l).unwrap_or_else(|| "(unmapped)".into());
                    let c = *class_of.entry(class.clone()).or_insert_with(|| {
                        classes.push(class);
                        class_rows.push(0);
                        class_samples.push(RowSample::default());
                        classes.len() - 1
                    });
                    if let Some(slot) = reservoir_slot(&mut rng, class_rows[c], CLASS_SAMPLE) {
                        put(&mut class_samples[c], slot, row);
                    }
                    class_rows[c] += 1;
                }
                let not_numeric = || layout.model_cols.iter().any(|&j| parse_cell(&rec[layout.profiled[j]]).is_none());
                if opts.model.is_some() && not_numeric() {
                    rows_not_numeric += 1;
                } else if opts.model.is_some() && label.as_deref() == Some("") {
                    rows_without_label += 1;
                } else if opts.model.is_some() {
                    let slot = reservoir_slot(&mut rng, scorable, opts.score_rows);
                    scorable += 1;
                    if let Some(slot) = slot {
                        for (dst, &j) in model_row.iter_mut().zip(&layout.model_cols) {
                            *dst = row[j];
                        }
                        if let Some(enc) = &layout.encoder {
                            let text = &mut model_row[layout.model_cols.len()..];
                            for (t, (dst, &i)) in text.iter_mut().zip(&layout.model_text).enumerate() {
                                *dst = enc.text_code(t, &rec[i]);
                            }
                        }
                        put(&mut score_sample, slot, &model_row);
                        let l = label.unwrap_or_default();
                        if slot == score_labels.len() {
                            score_labels.push(l);
                        } else {
                            score_labels[slot] = l;
                        }
                    }
                }
                rows += 1;
            }
        }
        progress.inc(batch.len() as u64);
        Ok(())
    })?;
    let median_exact = rows as usize <= ROW_SAMPLE;
    let stats = (0..d)
        .map(|j| {
            let mut finite: Vec<f64> = (0..sample.rows).map(|r| sample.values[r * d + j]).filter(|v| v.is_finite()).collect();
            finite.sort_by(|x, y| x.total_cmp(y));
            let none = counts.min[j] > counts.max[j];
            ColumnStats {
                name: headers[layout.profiled[j]].clone(),
                min: if none { f64::NAN } else { counts.min[j] },
                max: if none { f64::NAN } else { counts.max[j] },
                median: median_sorted(&finite),
                missing: counts.missing[j],
                non_finite: counts.non_finite[j],
                text: counts.text[j],
            }
        })
        .collect();
    Ok(DataProfile {
        rows,
        columns: headers,
        stats,
        private,
        label_column: label_idx.map(|_| opts.label.unwrap().to_string()),
        labels,
        median_exact,
        duplicate_rows,
        duplicate_flows,
        classes,
        class_rows,
        class_samples,
        sample,
        drift,
        score_sample,
        score_labels,
        rows_not_numeric,
        rows_without_label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservoir_keeps_the_first_rows_then_samples() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut s = RowSample::default();
        for i in 0..1000u64 {
            if let Some(slot) = reservoir_slot(&mut rng, i, 10) {
                put(&mut s, slot, &[i as f64, -(i as f64)]);
            }
        }
        assert_eq!(s.rows, 10);
        assert_eq!(s.values.len(), 20);
        // Rows stay whole, and later rows replaced earlier ones.
        assert!(s.values.chunks(2).all(|r| r[0] == -r[1]));
        assert!(s.values.chunks(2).any(|r| r[0] >= 10.0));
    }
}
