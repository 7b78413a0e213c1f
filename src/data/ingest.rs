//! Reading labelled training data through Polars' streaming CSV engine.
//!
//! Two passes keep memory bounded on the 1.7 GB file: the first reads only
//! the label column (to count classes and draw a stratified sample), the
//! second streams the feature columns batch by batch and keeps only the
//! sampled rows. Polars parses in parallel; when it rejects a file, the
//! line-by-line reader finds the exact line and column to report.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

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

fn scan(path: &Path, dtypes: Schema) -> Result<LazyFrame> {
    let pl_path = PlRefPath::try_from_path(path).map_err(|e| polars_err(path, e))?;
    Ok(LazyCsvReader::new(pl_path)
        .with_has_header(true)
        .with_dtype_overwrite(Some(Arc::new(dtypes)))
        .with_infer_schema_length(Some(100))
        .finish()
        .map_err(|e| polars_err(path, e))?)
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
}

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
    let (mut r, hash) = FlowReader::open_hashed(path)?;
    let plan = r.plan(&[], Some(label))?;
    let mut batch = Batch::default();
    let mut labels = Labels::default();
    let mut index: HashMap<String, u32> = HashMap::new();
    while r.next_batch(&plan, 65536, &mut batch)? > 0 {
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
    let digest = hash.finish();
    Ok((labels, digest))
}

/// Streams the feature columns and keeps the rows whose 0-based index is in
/// `rows` (sorted ascending), or every row when `rows` is `None` (pass 2).
pub fn read_rows(
    path: &Path,
    features: &[String],
    label: &str,
    rows: Option<&[usize]>,
    labels: &Labels,
) -> Result<LabelledRows> {
    let d = features.len();
    let mut dtypes = Schema::default();
    for f in features {
        dtypes.with_column(f.as_str().into(), DataType::Float64);
    }
    let keep: Option<Arc<Vec<usize>>> = rows.map(|r| Arc::new(r.to_vec()));
    let n_out = keep.as_ref().map(|k| k.len()).unwrap_or(labels.len());
    struct State {
        data: Vec<f64>,
        offset: usize,
        next_keep: usize,
    }
    let state = Arc::new(Mutex::new(State { data: Vec::with_capacity(n_out * d), offset: 0, next_keep: 0 }));
    let names: Arc<Vec<String>> = Arc::new(features.to_vec());
    let cb_state = Arc::clone(&state);
    let cb_keep = keep.clone();
    let callback = PlanCallback::new(move |df: DataFrame| -> PolarsResult<bool> {
        let cols: Vec<&Float64Chunked> =
            names.iter().map(|n| df.column(n.as_str()).and_then(|c| c.f64())).collect::<PolarsResult<_>>()?;
        let cols: Vec<Vec<f64>> =
            cols.iter().map(|c| c.iter().map(|v| v.unwrap_or(f64::NAN)).collect()).collect();
        let h = df.height();
        let mut st = cb_state.lock().unwrap();
        let start = st.offset;
        match &cb_keep {
            None => {
                for r in 0..h {
                    for c in &cols {
                        st.data.push(c[r]);
                    }
                }
            }
            Some(keep) => {
                while st.next_keep < keep.len() && keep[st.next_keep] < start + h {
                    let r = keep[st.next_keep] - start;
                    for c in &cols {
                        st.data.push(c[r]);
                    }
                    st.next_keep += 1;
                }
            }
        }
        st.offset += h;
        Ok(false)
    });
    let result = scan(path, dtypes)?
        .select(features.iter().map(|f| col(f.as_str())).collect::<Vec<_>>())
        .sink_batches(callback, true, None)
        .and_then(|lf| lf.collect_with_engine(Engine::Streaming));
    if let Err(e) = result {
        return Err(locate_error(path, features, label).unwrap_or_else(|| polars_err(path, e)));
    }
    let st = Arc::try_unwrap(state).map_err(|_| anyhow::anyhow!("reader still running"))?;
    let st = st.into_inner().unwrap();
    if st.offset != labels.len() {
        return Err(Error::input(format!(
            "{}: the label pass read {} rows but the feature pass {}; is the file changing while ntc reads it?",
            display_path(path),
            labels.len(),
            st.offset
        )));
    }
    let out_labels = match &keep {
        Some(k) => k.iter().map(|&i| labels.get(i).to_string()).collect(),
        None => (0..labels.len()).map(|i| labels.get(i).to_string()).collect(),
    };
    let x = Array2::from_shape_vec((n_out, d), st.data).map_err(|e| anyhow::anyhow!(e))?;
    Ok(LabelledRows { x, labels: out_labels })
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
    fn polars_rejection_is_located_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.csv");
        std::fs::write(&p, "x,ProtocolName\n1,HTTP\n2,SSL\nabc,DNS\n").unwrap();
        let (labels, _) = read_labels(&p, "ProtocolName").unwrap();
        let err = read_rows(&p, &["x".to_string()], "ProtocolName", None, &labels).err().unwrap().to_string();
        assert!(err.ends_with("g.csv:4: column 'x': 'abc' is not a number"), "{err}");
    }
}
