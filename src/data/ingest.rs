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

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use ndarray::Array2;
use polars::prelude::*;

use crate::data::label_scan::scan_labels;
use crate::data::reader::{is_number, Batch, FlowReader};
use crate::error::{display_path, Error, Result};
use crate::features::{Columns, TextColumn};

/// Feature columns and labels read from a training file.
pub struct LabelledRows {
    pub cols: Columns,
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
#[derive(Debug, Default, PartialEq)]
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
    /// The byte offset where each row starts: pass 2 hands Polars only the
    /// rows of a sample, not every row of its chunks.
    pub row_starts: Vec<u64>,
    /// The file is gzip: `chunk_starts` are offsets in its decompressed text.
    pub gzip: bool,
    /// The file has blank lines, which Polars would read as rows: pass 2 reads it line by line.
    pub blank_lines: bool,
    /// `--group-by`: each row's group, as an index into the distinct values
    /// of the group column (the values themselves are not kept: they may be addresses).
    pub group: Option<Vec<u32>>,
    /// Rows that are exact copies of an earlier row, when counted.
    pub duplicate_rows: Option<u64>,
    /// Per header column, the cells of the first chunk that are numbers and
    /// that are text (empty cells are neither): how [`column_is_text`] tells text columns.
    pub survey: Vec<(u64, u64)>,
}

/// What pass 1 reads besides the labels.
#[derive(Clone, Copy, Debug)]
pub struct FirstPass<'a> {
    pub label: &'a str,
    pub group: Option<&'a str>,
    /// Count exact duplicate rows (a hash per row: 8 bytes of memory each).
    pub count_duplicates: bool,
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

/// The label of every row and the file's SHA-256 (pass 1), and what
/// `opts` asks for. A plain file is cut at its line ends and read on every
/// core ([`scan_labels`]); any other is read line by line, so that a ragged
/// or truncated line is reported with its line number instead of being
/// padded with nulls.
pub fn read_labels(path: &Path, opts: &FirstPass) -> Result<(Labels, String)> {
    read_labels_in_chunks(path, opts, CHUNK_ROWS)
}

fn read_labels_in_chunks(path: &Path, opts: &FirstPass, chunk_rows: usize) -> Result<(Labels, String)> {
    match scan_labels(path, opts, chunk_rows) {
        Some(done) => Ok(done),
        None => read_labels_line_by_line(path, opts, chunk_rows),
    }
}

/// Pass 1 by the line-by-line reader: any file, and the line of any fault.
pub(super) fn read_labels_line_by_line(path: &Path, opts: &FirstPass, chunk_rows: usize) -> Result<(Labels, String)> {
    let (mut r, hash) = FlowReader::open_hashed(path)?;
    let plan = r.plan(&[], Some(opts.label))?;
    let group_idx = match opts.group {
        Some(g) => Some(r.column_index(g).ok_or_else(|| {
            Error::input(format!("{}:1: --group-by: no column '{g}' in the header", r.name()))
        })?),
        None => None,
    };
    let mut batch = Batch::default();
    let mut labels = Labels { chunk_rows, ..Labels::default() };
    labels.survey = vec![(0, 0); r.headers().len()];
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut group_index: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut group = Vec::new();
    let mut seen: Option<HashSet<u64>> = opts.count_duplicates.then(HashSet::new);
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    let mut duplicates = 0u64;
    // The records themselves are needed for the survey (the first chunk), groups and duplicates.
    let every_record = group_idx.is_some() || seen.is_some();
    while r.next_batch(&plan, chunk_rows, &mut batch)? > 0 {
        if labels.chunk_starts.is_empty() {
            survey(&batch.records, &mut labels.survey);
            r.keep_records(every_record);
        }
        labels.chunk_starts.push(batch.offsets[0]);
        labels.row_starts.extend_from_slice(&batch.offsets);
        for rec in &batch.records {
            if let Some(gi) = group_idx {
                let key = rec[gi].trim_ascii();
                let next = group_index.len() as u32;
                group.push(*group_index.entry(key.to_vec()).or_insert(next));
            }
            if let Some(seen) = seen.as_mut() {
                let mut h = hasher.build_hasher();
                for f in rec {
                    f.hash(&mut h);
                }
                duplicates += !seen.insert(h.finish()) as u64;
            }
        }
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
    labels.blank_lines = r.blank_lines() > 0;
    labels.group = group_idx.map(|_| group);
    labels.duplicate_rows = seen.map(|_| duplicates);
    let digest = hash.finish();
    Ok((labels, digest))
}

/// Counts number and text cells per column.
fn survey(records: &[csv::ByteRecord], out: &mut [(u64, u64)]) {
    for rec in records {
        survey_cells(rec.iter(), out);
    }
}

/// Counts one record's cells (in column order) as numbers or text, per
/// column; empty cells are neither.
pub(super) fn survey_cells<'c>(cells: impl Iterator<Item = &'c [u8]>, out: &mut [(u64, u64)]) {
    for (cell, o) in cells.zip(out.iter_mut()) {
        if cell.trim_ascii().is_empty() {
            continue;
        }
        if is_number(cell) {
            o.0 += 1;
        } else {
            o.1 += 1;
        }
    }
}

/// A column is text when most of its non-empty cells in the first chunk are
/// not numbers (`tcp`, `FIN`, `-`); its numbers are then values like any
/// other. A column of numbers with a stray word stays numeric, and the word
/// is an error naming its line.
pub fn column_is_text(survey: (u64, u64)) -> bool {
    survey.1 > survey.0
}

/// Reads the numeric and text columns of the rows whose 0-based index is
/// in `rows` (sorted ascending), or of every row when `rows` is `None` (pass 2).
pub fn read_rows(
    path: &Path,
    numeric: &[String],
    text: &[String],
    label: &str,
    rows: Option<&[usize]>,
    labels: &Labels,
) -> Result<LabelledRows> {
    if labels.gzip || labels.blank_lines {
        return read_rows_streaming(path, numeric, text, label, rows, labels);
    }
    let d = numeric.len();
    let mut dtypes = Schema::default();
    for f in numeric {
        dtypes.with_column(f.as_str().into(), DataType::Float64);
    }
    for f in text {
        dtypes.with_column(f.as_str().into(), DataType::String);
    }
    let dtypes = Arc::new(dtypes);
    let columns: Arc<[PlSmallStr]> = numeric.iter().chain(text).map(|f| PlSmallStr::from(f.as_str())).collect();
    let n_out = rows.map_or(labels.len(), <[usize]>::len);
    let mut data = Vec::with_capacity(n_out * d);
    let mut texts = TextColumns::new(text);
    let mut file = File::open(path).map_err(|e| Error::input(format!("{}: {e}", display_path(path))))?;
    // Mapped, the sample's rows are copied once, from the page cache; read, a
    // chunk is copied into fresh memory first (on a virtual machine, fresh
    // memory costs as much as parsing). A file cut short while mapped stops
    // the process (SIGBUS), as it does for ripgrep and Polars, which map too.
    // SAFETY: the map is only read, and only while `file` is open.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok();
    let mut next = 0; // next wanted position in `rows`
    let (mut buf, mut read) = (Vec::new(), Vec::new());
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
        let chunk: &[u8] = match &map {
            Some(m) => m.get(w[0] as usize..w[1] as usize).ok_or_else(|| changed_since_first_pass(path))?,
            None => {
                read.clear();
                file.seek(SeekFrom::Start(w[0]))?;
                (&mut file).take(w[1] - w[0]).read_to_end(&mut read)?;
                &read
            }
        };
        buf.clear();
        buf.extend_from_slice(&labels.header);
        if wanted.len() == n {
            buf.extend_from_slice(&chunk);
        } else {
            // Only the sample's rows: Polars parses what is used, and row k is wanted[k].
            for &r in &wanted {
                let from = (labels.row_starts[first + r] - w[0]) as usize;
                let to = labels.row_starts.get(first + r + 1).map_or(chunk.len(), |&e| (e - w[0]) as usize);
                buf.extend_from_slice(&chunk[from..to]);
                if !buf.ends_with(b"\n") {
                    buf.push(b'\n');
                }
            }
        }
        let height = wanted.len();
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_schema_overwrite(Some(Arc::clone(&dtypes)))
            .with_columns(Some(Arc::clone(&columns)))
            .into_reader_with_file_handle(Cursor::new(&buf))
            .finish();
        let df = match df {
            Ok(df) if df.height() == height => df,
            Ok(df) => {
                return Err(locate_error(path, numeric, label).unwrap_or_else(|| {
                    Error::input(format!(
                        "{}: Polars read {} rows where the first pass counted {height} (rows {}..)",
                        display_path(path),
                        df.height(),
                        first + 1
                    ))
                }))
            }
            Err(e) => return Err(locate_error(path, numeric, label).unwrap_or_else(|| polars_err(path, e))),
        };
        let cols: Vec<&Float64Chunked> = numeric
            .iter()
            .map(|f| df.column(f.as_str()).and_then(|c| c.f64()))
            .collect::<PolarsResult<_>>()
            .map_err(|e| polars_err(path, e))?;
        // Row k of the frame is wanted[k] (the whole chunk: wanted[k] == k).
        append_rows(&cols, &mut data);
        for (t, name) in text.iter().enumerate() {
            let col = df.column(name.as_str()).and_then(|c| c.str()).map_err(|e| polars_err(path, e))?;
            for k in 0..wanted.len() {
                texts.push(t, col.get(k).unwrap_or(""));
            }
        }
    }
    labelled(data, numeric, texts, rows, labels)
}

fn changed_since_first_pass(path: &Path) -> Error {
    Error::input(format!("{}: the file is shorter than in the first pass (changed while being read?)", display_path(path)))
}

/// Appends the frame's rows to the row-major `data`, a missing cell as NaN.
fn append_rows(cols: &[&Float64Chunked], data: &mut Vec<f64>) {
    // Rows in blocks, each column's block gathered first: writing a whole
    // column at a time into row-major memory strides over every cache line.
    const BLOCK: usize = 256;
    let (d, height) = (cols.len(), cols.first().map_or(0, |c| c.len()));
    let mut iters: Vec<_> = cols.iter().map(|c| c.iter()).collect();
    let mut block = vec![0f64; BLOCK * d];
    for start in (0..height).step_by(BLOCK) {
        let n = BLOCK.min(height - start);
        for (j, it) in iters.iter_mut().enumerate() {
            for (slot, v) in block[j * BLOCK..j * BLOCK + n].iter_mut().zip(it.by_ref()) {
                *slot = v.unwrap_or(f64::NAN);
            }
        }
        for k in 0..n {
            data.extend((0..d).map(|j| block[j * BLOCK + k]));
        }
    }
}

/// Text columns being read, with each one's `value -> code`.
struct TextColumns {
    columns: Vec<TextColumn>,
    index: Vec<HashMap<String, u32>>,
}

impl TextColumns {
    fn new(names: &[String]) -> Self {
        TextColumns { columns: names.iter().map(|n| TextColumn::new(n)).collect(), index: vec![HashMap::new(); names.len()] }
    }

    fn push(&mut self, t: usize, cell: &str) {
        self.columns[t].push(cell, &mut self.index[t]);
    }
}

fn labelled(data: Vec<f64>, numeric: &[String], texts: TextColumns, rows: Option<&[usize]>, labels: &Labels) -> Result<LabelledRows> {
    let out_labels: Vec<String> = match rows {
        Some(k) => k.iter().map(|&i| labels.get(i).to_string()).collect(),
        None => (0..labels.len()).map(|i| labels.get(i).to_string()).collect(),
    };
    let x = Array2::from_shape_vec((out_labels.len(), numeric.len()), data).map_err(|e| anyhow::anyhow!(e))?;
    let cols = Columns { numeric_names: numeric.to_vec(), numeric: x, text: texts.columns };
    Ok(LabelledRows { cols, labels: out_labels })
}

/// [`read_rows`] for a file that cannot be read from the middle (gzip): every record is parsed, the wanted ones kept.
fn read_rows_streaming(
    path: &Path,
    numeric: &[String],
    text: &[String],
    label: &str,
    rows: Option<&[usize]>,
    labels: &Labels,
) -> Result<LabelledRows> {
    let d = numeric.len();
    let mut r = FlowReader::open(path)?;
    let plan = r.plan(numeric, Some(label))?;
    let text_idx: Vec<usize> = text.iter().map(|t| r.column_index(t).expect("text columns are in the header")).collect();
    let mut data = Vec::with_capacity(rows.map_or(labels.len(), <[usize]>::len) * d);
    let mut texts = TextColumns::new(text);
    let (mut row, mut next) = (0usize, 0usize);
    r.for_each_batch(&plan, CHUNK_ROWS, |batch| {
        let mut keep = |i: usize| {
            data.extend_from_slice(&batch.features[i * d..(i + 1) * d]);
            for (t, &ti) in text_idx.iter().enumerate() {
                texts.push(t, &String::from_utf8_lossy(&batch.records[i][ti]));
            }
        };
        match rows {
            None => (0..batch.len()).for_each(&mut keep),
            Some(wanted) => {
                while next < wanted.len() && wanted[next] < row + batch.len() {
                    keep(wanted[next] - row);
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
    labelled(data, numeric, texts, rows, labels)
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
        let (labels, sha) = read_labels(&p, &first_pass()).unwrap();
        assert_eq!(labels.names, vec!["HTTP", "SSL", "DNS"]);
        assert_eq!(labels.row, vec![0, 1, 2, 0]);
        assert_eq!(labels.first_line, vec![2, 3, 4]);
        assert_eq!(sha.len(), 64);
        let names = vec!["x".to_string(), "y".to_string()];
        let all = read_rows(&p, &names, &[], "ProtocolName", None, &labels).unwrap();
        assert_eq!(all.cols.numeric.column(0).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        let y = all.cols.numeric.column(1).to_vec();
        assert_eq!(y[0], f64::INFINITY);
        assert!(y[1].is_nan() && y[2].is_nan());
        assert_eq!(y[3], f64::NEG_INFINITY);
        let some = read_rows(&p, &names, &[], "ProtocolName", Some(&[1, 3]), &labels).unwrap();
        assert_eq!(some.cols.numeric.column(0).to_vec(), vec![2.0, 4.0]);
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
        let (labels, _) = read_labels_in_chunks(&p, &first_pass(), 3).unwrap();
        assert_eq!(labels.chunk_starts.len(), 5, "4 chunks of up to 3 rows, plus the end");
        let names = vec!["y".to_string(), "x".to_string()];
        let some = read_rows(&p, &names, &[], "ProtocolName", Some(&[0, 2, 3, 8, 9]), &labels).unwrap();
        assert_eq!(some.cols.numeric.column(1).to_vec(), vec![0.0, 2.0, 3.0, 8.0, 9.0]);
        assert_eq!(some.cols.numeric.column(0).to_vec(), vec![0.0, 20.0, 30.0, 80.0, 90.0]);
        assert_eq!(some.labels, vec!["HTTP", "HTTP", "SSL", "HTTP", "SSL"]);
        let all = read_rows(&p, &names, &[], "ProtocolName", None, &labels).unwrap();
        assert_eq!(all.cols.numeric.column(1).to_vec(), (0..10).map(f64::from).collect::<Vec<_>>());
    }

    #[test]
    fn polars_rejection_is_located_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.csv");
        std::fs::write(&p, "x,ProtocolName\n1,HTTP\n2,SSL\nabc,DNS\n").unwrap();
        let (labels, _) = read_labels(&p, &first_pass()).unwrap();
        let err = read_rows(&p, &["x".to_string()], &[], "ProtocolName", None, &labels).err().unwrap().to_string();
        assert!(err.ends_with("g.csv:4: column 'x': 'abc' is not a number"), "{err}");
    }

    fn first_pass() -> FirstPass<'static> {
        FirstPass { label: "ProtocolName", group: None, count_duplicates: false }
    }

    #[test]
    fn text_columns_groups_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        for gz in [false, true] {
            let p = dir.path().join(if gz { "t.csv.gz" } else { "t.csv" });
            let text = "proto,bytes,host,cap,ProtocolName\ntcp,1,10.0.0.1,a,HTTP\n udp ,2,10.0.0.2,b,DNS\ntcp,1,10.0.0.1,a,HTTP\n,4,10.0.0.3,a,SSL\n";
            if gz {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
                std::fs::write(&p, e.finish().unwrap()).unwrap();
            } else {
                std::fs::write(&p, text).unwrap();
            }
            let opts = FirstPass { label: "ProtocolName", group: Some("cap"), count_duplicates: true };
            let (labels, _) = read_labels(&p, &opts).unwrap();
            assert_eq!(labels.group.as_deref(), Some(&[0, 1, 0, 0][..]));
            assert_eq!(labels.duplicate_rows, Some(1));
            assert_eq!(labels.survey, vec![(0, 3), (4, 0), (0, 4), (0, 4), (0, 4)]);
            assert!(column_is_text(labels.survey[0]) && !column_is_text(labels.survey[1]));
            let got = read_rows(&p, &["bytes".into()], &["proto".into()], "ProtocolName", Some(&[1, 2, 3]), &labels).unwrap();
            let t = &got.cols.text[0];
            assert_eq!((0..3).map(|i| t.value(i)).collect::<Vec<_>>(), vec!["udp", "tcp", ""], "gzip {gz}");
            assert_eq!(got.cols.numeric.column(0).to_vec(), vec![2.0, 1.0, 4.0]);
        }
    }
}
