//! One streaming pass over a CSV: per-column statistics with bounded memory.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::reader::{parse_cell, FlowReader};
use crate::data::schema;
use crate::error::Result;
use crate::features::median_sorted;
use crate::progress::Progress;

/// Values kept per column for the median: exact up to this many rows, a
/// seeded uniform sample (reservoir) beyond.
pub const MEDIAN_SAMPLE: usize = 100_000;

#[derive(Clone, Debug)]
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

#[derive(Clone, Debug)]
pub struct DataProfile {
    pub rows: u64,
    pub columns: Vec<String>,
    /// Numeric (or numeric-looking) columns, in file order; identifiers excluded.
    pub stats: Vec<ColumnStats>,
    /// Identifier columns present, not profiled.
    pub private: Vec<String>,
    /// Raw label counts, when a label column is present.
    pub label_column: Option<String>,
    pub labels: BTreeMap<String, u64>,
    pub median_exact: bool,
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

struct Acc {
    min: f64,
    max: f64,
    missing: u64,
    non_finite: u64,
    text: u64,
    seen: u64,
    reservoir: Vec<f64>,
}

pub fn profile_csv(reader: &mut FlowReader, label: Option<&str>, seed: u64, progress: &Progress) -> Result<DataProfile> {
    let headers = reader.headers().to_vec();
    let label_idx = label.and_then(|l| reader.column_index(l));
    let profiled: Vec<usize> =
        (0..headers.len()).filter(|&i| !schema::is_private(&headers[i]) && Some(i) != label_idx).collect();
    let private: Vec<String> = headers.iter().filter(|h| schema::is_private(h)).cloned().collect();
    let mut acc: Vec<Acc> = profiled
        .iter()
        .map(|_| Acc {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            missing: 0,
            non_finite: 0,
            text: 0,
            seen: 0,
            reservoir: Vec::new(),
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut labels = BTreeMap::new();
    let plan = reader.plan(&[], None)?;
    let mut batch = crate::data::reader::Batch::default();
    let mut rows = 0u64;
    while reader.next_batch(&plan, 16384, &mut batch)? > 0 {
        for rec in &batch.records {
            for (a, &i) in acc.iter_mut().zip(&profiled) {
                let cell = &rec[i];
                if cell.iter().all(|b| b.is_ascii_whitespace()) {
                    a.missing += 1;
                    continue;
                }
                match parse_cell(cell) {
                    None => a.text += 1,
                    Some(v) if !v.is_finite() => a.non_finite += 1,
                    Some(v) => {
                        a.min = a.min.min(v);
                        a.max = a.max.max(v);
                        a.seen += 1;
                        if a.reservoir.len() < MEDIAN_SAMPLE {
                            a.reservoir.push(v);
                        } else {
                            let j = rng.random_range(0..a.seen);
                            if (j as usize) < MEDIAN_SAMPLE {
                                a.reservoir[j as usize] = v;
                            }
                        }
                    }
                }
            }
            if let Some(li) = label_idx {
                let l = String::from_utf8_lossy(&rec[li]).trim().to_string();
                *labels.entry(l).or_insert(0u64) += 1;
            }
        }
        rows += batch.len() as u64;
        progress.inc(batch.len() as u64);
    }
    let median_exact = rows as usize <= MEDIAN_SAMPLE;
    let stats = acc
        .into_iter()
        .zip(&profiled)
        .map(|(mut a, &i)| {
            a.reservoir.sort_by(|x, y| x.total_cmp(y));
            let none = a.seen == 0;
            ColumnStats {
                name: headers[i].clone(),
                min: if none { f64::NAN } else { a.min },
                max: if none { f64::NAN } else { a.max },
                median: median_sorted(&a.reservoir),
                missing: a.missing,
                non_finite: a.non_finite,
                text: a.text,
            }
        })
        .collect();
    Ok(DataProfile {
        rows,
        columns: headers,
        stats,
        private,
        label_column: label_idx.map(|_| label.unwrap().to_string()),
        labels,
        median_exact,
    })
}
