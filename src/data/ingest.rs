//! Reading labelled training data through Polars' streaming CSV engine.
//!
//! Two passes keep memory bounded on the 1.7 GB file. The first reads only
//! the label column (to count classes and draw a stratified sample) and notes
//! where every chunk of rows starts in the file. The second hands Polars one
//! chunk at a time (read into memory, not memory-mapped: a mapped 2 GB file
//! counts against the process' memory), skips chunks holding no sampled row,
//! and keeps only the sampled rows. Polars parses each chunk in parallel;
//! when it rejects one, the line-by-line reader finds the exact line and
//! column to report. A gzip file cannot be read from the middle, so its
//! second pass streams the whole file through the line-by-line reader.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use ndarray::Array2;
use polars::prelude::*;

use crate::data::reader::{Batch, FlowReader};
use crate::error::{display_path, Error, Result};

/// Feature matrix and labels read from a training file.
pub struct LabelledRows {
    /// Row-major `rows × features`; missing cells are NaN.
    pub x: Array2<f64>,
    pub labels: Vec<String>,
}

fn polars_err(path: &Path, e: PolarsError) -> Error {
    Error::input(format!("{}: {}", display_path(path), one_line(&e.to_string())))
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The label of every row, interned: 3.58M rows hold a few dozen distinct
/// labels, so each row keeps an index into `names`.
#[derive(Debug, Default)]
pub struct Labels {
    /// Distinct labels, in order of first appearance.
    pub names: Vec<String>,
    /// 1-based line of each name's first row (for error messages).
    pub first_line: Vec<u64>,
    /// Index into `names` of every row.
    pub row: Vec<u32>,
    /// The header line, and the byte offset where row `i * CHUNK_ROWS` starts
    /// (plus the end of the file): pass 2 reads the file chunk by chunk.
    pub header: Vec<u8>,
    pub chunk_starts: Vec<u64>,
    pub chunk_rows: usize,
    /// The file is gzip: `chunk_starts` are offsets in its decompressed text.
    pub gzip: bool,
}

/// Rows per chunk of pass 2 (a few tens of MB of CSV).
pub const CHUNK_ROWS: usize = 65536;

impl Labels {
    pub fn len(&self) -> usize {
        self.row.len()
    }
    pub fn is_empty(&self) -> bool {
        self.row.is_empty()
    }
    pub fn get(&self, row: usize) -> &str {
        &self.names[self.row[row] as usize]
    }
}

/// The label of every row and the file's SHA-256 (pass 1). The line-by-line
/// reader does this pass so that a ragged or truncated line is reported with
/// its line number instead of being padded with nulls.
pub fn read_labels(path: &Path, label: &str) -> Result<(Labels, String)> {
    read_labels_in_chunks(path, label, CHUNK_ROWS)
}

fn read_labels_in_chunks(path: &Path, label: &str, chunk_rows: usize) -> Result<(Labels, String)> {
    let (mut r, hash) = FlowReader::open_hashed(path)?;
    let plan = r.plan(&[], Some(label))?;
    let mut batch = Batch::default();
    let mut labels = Labels { chunk_rows, ..Labels::default() };
    let mut index: HashMap<String, u32> = HashMap::new();
    while r.next_batch(&plan, chunk_rows, &mut batch)? > 0 {
        labels.chunk_starts.push(batch.offsets[0]);
        for (l, &line) in batch.labels.drain(..).zip(&batch.lines) {
            let id = match index.get(&l) {
                Some(&id) => id,
                None => {
                    let id = labels.names.len() as u32;
                    index.insert(l.clone(), id);
                    labels.names.push(l);
                    labels.first_line.push(line);
                    id
                }
            };
            labels.row.push(id);
        }
    }
    labels.chunk_starts.push(r.bytes_read());
    labels.header = r.header_bytes();
    labels.gzip = r.is_gzip();
    let digest = hash.finish();
    Ok((labels, digest))
}

/// Reads the feature columns of the rows whose 0-based index is in `rows`
/// (sorted ascending), or of every row when `rows` is `None` (pass 2).
pub fn read_rows(
    path: &Path,
    features: &[String],
    label: &str,
    rows: Option<&[usize]>,
    labels: &Labels,
) -> Result<LabelledRows> {
    if labels.gzip {
        return read_rows_streaming(path, features, label, rows, labels);
    }
    let d = features.len();
    let mut dtypes = Schema::default();
    for f in features {
        dtypes.with_column(f.as_str().into(), DataType::Float64);
    }
    let dtypes = Arc::new(dtypes);
    let columns: Arc<[PlSmallStr]> = features.iter().map(|f| PlSmallStr::from(f.as_str())).collect();
    let n_out = rows.map_or(labels.len(), <[usize]>::len);
    let mut data = Vec::with_capacity(n_out * d);
    let mut file = File::open(path).map_err(|e| Error::input(format!("{}: {e}", display_path(path))))?;
    let mut next = 0; // next wanted position in `rows`
    let mut buf = Vec::new();
    for (c, w) in labels.chunk_starts.windows(2).enumerate() {
        let first = c * labels.chunk_rows;
        let n = (labels.len() - first).min(labels.chunk_rows);
        let wanted: Vec<usize> = match rows {
            None => (0..n).collect(),
            Some(r) => {
                let mut v = Vec::new();
                while next < r.len() && r[next] < first + n {
                    v.push(r[next] - first);
                    next += 1;
                }
                v
            }
        };
        if wanted.is_empty() {
            continue;
        }
        buf.clear();
        buf.extend_from_slice(&labels.header);
        file.seek(SeekFrom::Start(w[0]))?;
        (&mut file).take(w[1] - w[0]).read_to_end(&mut buf)?;
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_schema_overwrite(Some(Arc::clone(&dtypes)))
            .with_columns(Some(Arc::clone(&columns)))
            .into_reader_with_file_handle(Cursor::new(&buf))
            .finish();
        let df = match df {
            Ok(df) if df.height() == n => df,
            Ok(df) => {
                return Err(locate_error(path, features, label).unwrap_or_else(|| {
                    Error::input(format!(
                        "{}: Polars read {} rows where the first pass counted {n} (rows {}..)",
                        display_path(path),
                        df.height(),
                        first + 1
                    ))
                }))
            }
            Err(e) => return Err(locate_error(path, features, label).unwrap_or_else(|| polars_err(path, e))),
        };
        let cols: Vec<&Float64Chunked> = features
            .iter()
            .map(|f| df.column(f.as_str()).and_then(|c| c.f64()))
            .collect::<PolarsResult<_>>()
            .map_err(|e| polars_err(path, e))?;
        // One column at a time into a chunk-local buffer, then rows in order.
        let mut values = vec![0.0; wanted.len() * d];
        for (j, col) in cols.iter().enumerate() {
            for (k, &r) in wanted.iter().enumerate() {
                values[k * d + j] = col.get(r).unwrap_or(f64::NAN);
            }
        }
        data.extend_from_slice(&values);
    }
    labelled(data, d, rows, labels)
}

fn labelled(data: Vec<f64>, d: usize, rows: Option<&[usize]>, labels: &Labels) -> Result<LabelledRows> {
    let out_labels: Vec<String> = match rows {
        Some(k) => k.iter().map(|&i| labels.get(i).to_string()).collect(),
        None => (0..labels.len()).map(|i| labels.get(i).to_string()).collect(),
    };
    let x = Array2::from_shape_vec((out_labels.len(), d), data).map_err(|e| anyhow::anyhow!(e))?;
    Ok(LabelledRows { x, labels: out_labels })
}

/// [`read_rows`] for a file that cannot be read from the middle (gzip): every record is parsed, the wanted ones kept.
fn read_rows_streaming(
    path: &Path,
    features: &[String],
    label: &str,
    rows: Option<&[usize]>,
    labels: &Labels,
) -> Result<LabelledRows> {
    let d = features.len();
    let mut r = FlowReader::open(path)?;
    let plan = r.plan(features, Some(label))?;
    let mut data = Vec::with_capacity(rows.map_or(labels.len(), <[usize]>::len) * d);
    let (mut row, mut next) = (0usize, 0usize);
    r.for_each_batch(&plan, CHUNK_ROWS, |batch| {
        match rows {
            None => data.extend_from_slice(&batch.features),
            Some(wanted) => {
                while next < wanted.len() && wanted[next] < row + batch.len() {
                    let i = wanted[next] - row;
                    data.extend_from_slice(&batch.features[i * d..(i + 1) * d]);
                    next += 1;
                }
            }
        }
        row += batch.len();
        Ok(())
    })?;
    if row != labels.len() {
        return Err(Error::input(format!(
            "{}: {row} rows on the second read, {} on the first (did the file change while training?)",
            display_path(path),
            labels.len()
        )));
    }
    labelled(data, d, rows, labels)
}

/// Re-reads the file line by line to name the line and column Polars choked on.
fn locate_error(path: &Path, features: &[String], label: &str) -> Option<Error> {
    let mut r = FlowReader::open(path).ok()?;
    let plan = r.plan(features, Some(label)).ok()?;
    r.validate(&plan).err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polars_pass_reads_cicflowmeter_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        std::fs::write(&p, "x,y,ProtocolName\n1,Infinity,HTTP\n2,NaN,SSL\n3,,DNS\n4,-Infinity,HTTP\n").unwrap();
        let (labels, sha) = read_labels(&p, "ProtocolName").unwrap();
        assert_eq!(labels.names, vec!["HTTP", "SSL", "DNS"]);
        assert_eq!(labels.row, vec![0, 1, 2, 0]);
        assert_eq!(labels.first_line, vec![2, 3, 4]);
        assert_eq!(sha.len(), 64);
        let names = vec!["x".to_string(), "y".to_string()];
        let all = read_rows(&p, &names, "ProtocolName", None, &labels).unwrap();
        assert_eq!(all.x.column(0).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        let y = all.x.column(1).to_vec();
        assert_eq!(y[0], f64::INFINITY);
        assert!(y[1].is_nan() && y[2].is_nan());
        assert_eq!(y[3], f64::NEG_INFINITY);
        let some = read_rows(&p, &names, "ProtocolName", Some(&[1, 3]), &labels).unwrap();
        assert_eq!(some.x.column(0).to_vec(), vec![2.0, 4.0]);
        assert_eq!(some.labels, vec!["SSL", "HTTP"]);
    }

    #[test]
    fn rows_are_found_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.csv");
        let mut text = String::from("\u{feff}x,\"y\",ProtocolName\r\n");
        for i in 0..10 {
            text.push_str(&format!("{i},\"{}\",{}\r\n", i * 10, if i % 2 == 0 { "HTTP" } else { "SSL" }));
        }
        std::fs::write(&p, text).unwrap();
        let (labels, _) = read_labels_in_chunks(&p, "ProtocolName", 3).unwrap();
        assert_eq!(labels.chunk_starts.len(), 5, "4 chunks of up to 3 rows, plus the end");
        let names = vec!["y".to_string(), "x".to_string()];
        let some = read_rows(&p, &names, "ProtocolName", Some(&[0, 2, 3, 8, 9]), &labels).unwrap();
        assert_eq!(some.x.column(1).to_vec(), vec![0.0, 2.0, 3.0, 8.0, 9.0]);
        assert_eq!(some.x.column(0).to_vec(), vec![0.0, 20.0, 30.0, 80.0, 90.0]);
        assert_eq!(some.labels, vec!["HTTP", "HTTP", "SSL", "HTTP", "SSL"]);
        let all = read_rows(&p, &names, "ProtocolName", None, &labels).unwrap();
        assert_eq!(all.x.column(1).to_vec(), (0..10).map(f64::from).collect::<Vec<_>>());
    }

    #[test]
    fn polars_rejection_is_located_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.csv");
        std::fs::write(&p, "x,ProtocolName\n1,HTTP\n2,SSL\nabc,DNS\n").unwrap();
        let (labels, _) = read_labels(&p, "ProtocolName").unwrap();
        let err = read_rows(&p, &["x".to_string()], "ProtocolName", None, &labels).err().unwrap().to_string();
        assert!(err.ends_with("g.csv:4: column 'x': 'abc' is not a number"), "{err}");
    }
}
