//! Streaming flow-CSV reader for `predict` and `evaluate`, and the validator
//! that locates bad cells for `train`.
//!
//! It reads records one by one with the `csv` crate, so that memory stays
//! bounded whatever the file size, every error names its exact line, and
//! `predict` can copy input columns through byte for byte. Gzip input
//! (`.csv.gz`, or any file starting with gzip's magic bytes) is decompressed
//! on the fly.
//!
//! With [`OnError::Skip`] a record that cannot be read (wrong number of
//! fields, a cell that is not a number, an empty label) does not stop the
//! read: it is handed back as a [`Reject`] holding its line number, the
//! reason and its bytes exactly as they were in the input.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::error::{display_path, Error, Result};

/// Which columns of a file feed the model, found by name (order in the file does not matter).
#[derive(Clone, Debug)]
pub struct ColumnPlan {
    /// Index in the file of each model feature, in model order.
    pub feature_idx: Vec<usize>,
    /// Feature names, in model order (for error messages).
    pub feature_names: Vec<String>,
    /// Index of the label column, when labels are read.
    pub label_idx: Option<usize>,
    /// Index in the file of each text column the model reads (its cells stay in the records).
    pub text_idx: Vec<usize>,
}

/// What to do with a record that cannot be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnError {
    /// Stop at the first bad record with an error naming its line and column.
    #[default]
    Fail,
    /// Set bad records aside (see `--rejects`) and go on.
    Skip,
}

/// A record set aside by [`OnError::Skip`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Why it was rejected (`column 'x': 'abc' is not a number`).
    pub reason: String,
    /// The record's bytes as in the input, without its line end.
    pub raw: Vec<u8>,
}

/// A batch of consecutive records.
#[derive(Default)]
pub struct Batch {
    /// The raw records, for passthrough.
    pub records: Vec<csv::ByteRecord>,
    /// Row-major features, `len() == records.len() * n_features`. Missing cells are NaN.
    pub features: Vec<f64>,
    /// Raw labels (empty when no label column is read).
    pub labels: Vec<String>,
    /// 1-based line number of each record in the input.
    pub lines: Vec<u64>,
    /// Byte offset in the input where each record starts.
    pub offsets: Vec<u64>,
    /// With [`OnError::Skip`]: the records of this stretch of input that were set aside, in input order.
    pub rejects: Vec<Reject>,
    /// With [`OnError::Skip`]: the input bytes of every accepted record, back to back
    /// (`raw_ends[i]` is where record i ends), so that a later check can reject it too.
    raw_bytes: Vec<u8>,
    raw_ends: Vec<usize>,
}

impl Batch {
    /// Accepted records (whether or not [`FlowReader::keep_records`] kept them).
    pub fn len(&self) -> usize {
        self.lines.len()
    }
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
    /// Records read into this batch, accepted or rejected.
    pub fn records_read(&self) -> usize {
        self.lines.len() + self.rejects.len()
    }
    /// The input bytes of accepted record `i` (empty unless reading with [`OnError::Skip`]).
    pub fn raw(&self, i: usize) -> &[u8] {
        if self.raw_ends.is_empty() {
            return &[];
        }
        let start = if i == 0 { 0 } else { self.raw_ends[i - 1] };
        &self.raw_bytes[start..self.raw_ends[i]]
    }
    fn clear(&mut self) {
        self.records.clear();
        self.features.clear();
        self.labels.clear();
        self.lines.clear();
        self.offsets.clear();
        self.rejects.clear();
        self.raw_bytes.clear();
        self.raw_ends.clear();
    }
}

pub struct FlowReader {
    name: String,
    rdr: csv::Reader<Box<dyn Read + Send>>,
    headers: Vec<String>,
    raw_headers: csv::ByteRecord,
    record: csv::ByteRecord,
    /// The input's bytes since the last record: a rejected record is copied
    /// out of it, and the last record's quotes checked.
    tape: Tape,
    /// Bad records are set aside, not errors.
    skip: bool,
    /// The input is gzip, decompressed on the fly.
    gzip: bool,
    /// Line ends before byte `counted_to` of the input: records are numbered
    /// by physical line, blank lines (which the csv crate skips) included.
    newlines: u64,
    counted_to: u64,
    /// Blank lines skipped so far.
    blank_lines: u64,
    /// Accepted records are copied into [`Batch::records`] (the default);
    /// a pass that reads only labels and features can do without.
    keep_records: bool,
}

/// Bytes read from the input, from offset `start` on: lets a rejected record be copied out verbatim.
#[derive(Default)]
struct TapeBuf {
    start: u64,
    bytes: Vec<u8>,
}

type Tape = Arc<Mutex<TapeBuf>>;

/// Passes reads through, keeping a copy of the bytes on the tape.
struct TapeReader<R> {
    inner: R,
    tape: Tape,
}

impl<R: Read> Read for TapeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tape.lock().unwrap().bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Consumed tape bytes are dropped once this many have gathered (dropping on every record would copy the rest each time).
const TAPE_TRIM: u64 = 4 << 20;

/// Why one record was not read, before it is tied to a file and line.
struct RecordError {
    column: Option<String>,
    msg: String,
    /// The record has more or fewer fields than the header.
    ragged: bool,
}

impl RecordError {
    fn reason(&self) -> String {
        match &self.column {
            Some(c) => format!("column '{c}': {}", self.msg),
            None => self.msg.clone(),
        }
    }
}

/// Gzip's first two bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl FlowReader {
    /// Opens a CSV file, or stdin for `-`, and reads its header. Bad records are errors.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, OnError::Fail)
    }

    /// Opens a CSV file, or stdin for `-`, and reads its header.
    pub fn open_with(path: &Path, on_error: OnError) -> Result<Self> {
        let name = display_path(path);
        let input: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            // `Stdin`, not its lock: the reader may move to a read-ahead thread.
            Box::new(io::stdin())
        } else {
            let f = File::open(path).map_err(|e| Error::input(format!("{name}: {e}")))?;
            if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(Error::input(format!("{name}: is a directory, not a CSV file")));
            }
            Box::new(BufReader::with_capacity(1 << 20, f))
        };
        Self::from_reader_with(name, input, on_error)
    }

    /// Like [`FlowReader::open`], also hashing every byte read (SHA-256).
    pub fn open_hashed(path: &Path) -> Result<(Self, HashHandle)> {
        let name = display_path(path);
        let f = File::open(path).map_err(|e| Error::input(format!("{name}: {e}")))?;
        let handle = HashHandle(Arc::new(Mutex::new(Sha256::new())));
        let input = HashingReader { inner: BufReader::with_capacity(1 << 20, f), hash: handle.clone() };
        Ok((Self::from_reader(name, Box::new(input))?, handle))
    }

    pub fn from_reader(name: String, input: Box<dyn Read + Send>) -> Result<Self> {
        Self::from_reader_with(name, input, OnError::Fail)
    }

    pub fn from_reader_with(name: String, input: Box<dyn Read + Send>, on_error: OnError) -> Result<Self> {
        let read_err = |e: io::Error| Error::input(format!("{name}: read error: {e}"));
        let mut input = BufReader::with_capacity(1 << 16, input);
        let gzip = input.fill_buf().map_err(read_err)?.starts_with(&GZIP_MAGIC);
        let input: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(input))
        } else {
            Box::new(input)
        };
        let tape = Tape::default();
        let input: Box<dyn Read + Send> = Box::new(TapeReader { inner: input, tape: Arc::clone(&tape) });
        // Field counts are checked here, not by the csv crate, so that a
        // ragged record can be set aside and the read go on. A line ends at
        // `\n` only (a `\r` before it is dropped in `read_record`), as for
        // Polars, which reads the training rows: a stray `\r` inside a line
        // is data, so both readers see the same lines and line numbers.
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(1 << 20)
            .from_reader(Box::new(input) as Box<dyn Read + Send>);
        let mut raw_headers = rdr.byte_headers().map_err(|e| csv_error(&name, e, &[]))?.clone();
        drop_cr(&mut raw_headers);
        if raw_headers.is_empty() || (raw_headers.len() == 1 && raw_headers[0].is_empty()) {
            return Err(Error::input(format!("{name}: file is empty (no header line)")));
        }
        let headers: Vec<String> = raw_headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = String::from_utf8_lossy(h);
                // A UTF-8 byte-order mark is not part of the first name.
                let h = if i == 0 { h.trim_start_matches('\u{feff}') } else { &h };
                h.trim().to_string()
            })
            .collect();
        let mut seen = HashSet::new();
        for h in &headers {
            if !seen.insert(h.as_str()) {
                return Err(Error::at(&name, 1, Some(h), "duplicate column name in header"));
            }
        }
        Ok(FlowReader { name, rdr, headers, raw_headers, record: csv::ByteRecord::new(), tape, skip: on_error == OnError::Skip, gzip, newlines: 0, counted_to: 0, blank_lines: 0, keep_records: true })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the input is gzip (its byte offsets are those of the decompressed text).
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The header exactly as read (for passthrough).
    pub fn raw_headers(&self) -> &csv::ByteRecord {
        &self.raw_headers
    }

    /// Bytes consumed so far (the file's length once every record was read).
    pub fn bytes_read(&self) -> u64 {
        self.rdr.position().byte()
    }

    /// The header line (names as read: trimmed, without a byte-order mark), newline-terminated.
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        w.write_record(&self.headers).expect("writing to memory");
        w.into_inner().expect("writing to memory")
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// Resolves model features (and optionally the label) against this file's header.
    pub fn plan(&self, features: &[String], label: Option<&str>) -> Result<ColumnPlan> {
        self.plan_with_text(features, &[], label)
    }

    /// [`FlowReader::plan`] for a model that also reads text columns: their
    /// cells are not parsed, only located.
    pub fn plan_with_text(&self, features: &[String], text: &[String], label: Option<&str>) -> Result<ColumnPlan> {
        let mut missing = Vec::new();
        let mut feature_idx = Vec::with_capacity(features.len());
        for f in features {
            match self.column_index(f) {
                Some(i) => feature_idx.push(i),
                None => missing.push(f.as_str()),
            }
        }
        let mut text_idx = Vec::with_capacity(text.len());
        for f in text {
            match self.column_index(f) {
                Some(i) => text_idx.push(i),
                None => missing.push(f.as_str()),
            }
        }
        if !missing.is_empty() {
            let hint = if self.headers.iter().any(|h| h.contains('\r')) {
                " (the lines end in a bare CR, as in old Mac files: convert them with tr '\\r' '\\n')"
            } else if self.headers.len() == 1 && self.headers[0].contains([';', '\t', '|']) {
                " (the header has a single column: is the file separated by something other than commas?)"
            } else {
                ""
            };
            return Err(Error::input(format!(
                "{}:1: missing {} feature column{} the model needs: {}{hint}",
                self.name,
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                abbreviate(&missing, 8)
            )));
        }
        let label_idx = match label {
            Some(l) => Some(self.column_index(l).ok_or_else(|| {
                Error::input(format!("{}:1: no label column '{l}' in the header", self.name))
            })?),
            None => None,
        };
        Ok(ColumnPlan { feature_idx, feature_names: features.to_vec(), label_idx, text_idx })
    }

    /// Reads up to `max` records into `batch` (cleared first). Returns the
    /// number read, rejected ones included; 0 at end of input.
    pub fn next_batch(&mut self, plan: &ColumnPlan, max: usize, batch: &mut Batch) -> Result<usize> {
        batch.clear();
        while batch.records_read() < max {
            if !self.read_record()? {
                break;
            }
            let (start, blank) = self.record_start();
            self.blank_lines += blank;
            self.count_lines_to(start);
            let line = self.newlines + 1;
            self.count_lines_to(self.rdr.position().byte());
            let n_features = batch.features.len();
            let parsed = match self.open_quote(start) {
                Some(col) => Err(RecordError {
                    column: self.headers.get(col).cloned(),
                    msg: "quoted field not closed before the end of the file (truncated file?)".into(),
                    ragged: false,
                }),
                None => self.parse_record(plan, &mut batch.features, &mut batch.labels),
            };
            match parsed {
                Ok(()) => {
                    if self.skip {
                        let (raw, _) = self.take_raw(start);
                        batch.raw_bytes.extend_from_slice(&raw);
                        batch.raw_ends.push(batch.raw_bytes.len());
                    }
                    batch.offsets.push(start);
                    batch.lines.push(line);
                    if self.keep_records {
                        batch.records.push(self.record.clone());
                    }
                }
                Err(e) if self.skip => {
                    batch.features.truncate(n_features);
                    let (raw, line_end) = self.take_raw(start);
                    let reason = match (e.ragged, line_end) {
                        (true, false) => format!("{} (the last line, and it has no line end: truncated file?)", e.msg),
                        (true, true) => format!("{} (truncated or malformed line?)", e.msg),
                        _ => e.reason(),
                    };
                    batch.rejects.push(Reject { line, reason, raw });
                }
                Err(e) => {
                    let msg = if e.ragged { format!("{} (truncated or malformed line?)", e.msg) } else { e.msg };
                    return Err(Error::at(&self.name, line, e.column.as_deref(), msg));
                }
            }
            self.trim_tape();
        }
        Ok(batch.records_read())
    }

    /// Checks `self.record` and appends its features (and label) on success; nothing on failure.
    fn parse_record(&self, plan: &ColumnPlan, features: &mut Vec<f64>, labels: &mut Vec<String>) -> Result<(), RecordError> {
        let rec = &self.record;
        if rec.len() != self.headers.len() {
            return Err(RecordError {
                column: None,
                msg: format!("expected {} fields like the header, found {}", self.headers.len(), rec.len()),
                ragged: true,
            });
        }
        let label = match plan.label_idx {
            Some(li) => {
                let err = |msg: &str| RecordError { column: Some(self.headers[li].clone()), msg: msg.into(), ragged: false };
                let l = std::str::from_utf8(&rec[li]).map_err(|_| err("label is not valid UTF-8"))?.trim();
                if l.is_empty() {
                    return Err(err("empty label"));
                }
                Some(l.to_string())
            }
            None => None,
        };
        let n = features.len();
        for (k, &i) in plan.feature_idx.iter().enumerate() {
            match parse_cell(&rec[i]) {
                Some(v) => features.push(v),
                None => {
                    features.truncate(n);
                    return Err(bad_cell(&plan.feature_names[k], &rec[i]));
                }
            }
        }
        labels.extend(label);
        Ok(())
    }

    /// The input bytes of the record that starts at `start` and was just
    /// read, without its line end, and whether it had one (only the last line can lack it).
    fn take_raw(&self, start: u64) -> (Vec<u8>, bool) {
        self.with_raw(start, |mut raw| {
            let line_end = matches!(raw.last(), Some(b'\n' | b'\r'));
            while let [rest @ .., b'\n' | b'\r'] = raw {
                raw = rest;
            }
            (raw.to_vec(), line_end)
        })
    }

    /// The field index of a quoted field the record that starts at `start`
    /// left open. Only the last record can: the csv crate takes an
    /// unterminated quote as closed by the end of the input, which would
    /// hide a truncated file (and Polars, reading training rows, panics on it).
    fn open_quote(&self, start: u64) -> Option<usize> {
        let end = self.rdr.position().byte();
        {
            // An open quote runs to the end of the input: a record followed
            // by bytes already read was closed (the common, cheap case).
            let tape = self.tape.lock().unwrap();
            if end < tape.start + tape.bytes.len() as u64 {
                return None;
            }
        }
        self.with_raw(start, unclosed_quote)
    }

    /// Calls `f` on the input bytes of the record that starts at `start` and was just read.
    fn with_raw<T>(&self, start: u64, f: impl FnOnce(&[u8]) -> T) -> T {
        let end = self.rdr.position().byte();
        let tape = self.tape.lock().unwrap();
        let from = (start.saturating_sub(tape.start) as usize).min(tape.bytes.len());
        let to = (end.saturating_sub(tape.start) as usize).clamp(from, tape.bytes.len());
        f(&tape.bytes[from..to])
    }

    /// The first byte of the record just read, after the blank lines before
    /// it, and how many blank lines those were.
    fn record_start(&self) -> (u64, u64) {
        let after_last = self.record.position().map_or(0, |p| p.byte());
        let (bytes, lines) = self.with_raw(after_last, |raw| {
            let (mut i, mut lines) = (0, 0);
            loop {
                match raw[i..] {
                    [b'\n', ..] => i += 1,
                    [b'\r', b'\n', ..] => i += 2,
                    _ => return (i, lines),
                }
                lines += 1;
            }
        });
        (after_last + bytes as u64, lines)
    }

    /// Whether accepted records are copied into [`Batch::records`] (the default).
    pub fn keep_records(&mut self, keep: bool) {
        self.keep_records = keep;
    }

    /// Blank lines skipped so far (the csv crate skips them; Polars would read them as rows of nulls).
    pub fn blank_lines(&self) -> u64 {
        self.blank_lines
    }

    /// Counts the line ends of the input up to byte `to`. Called before the
    /// tape is trimmed past them, so they are still on it.
    fn count_lines_to(&mut self, to: u64) {
        let tape = self.tape.lock().unwrap();
        let from = (self.counted_to.saturating_sub(tape.start) as usize).min(tape.bytes.len());
        let upto = (to.saturating_sub(tape.start) as usize).clamp(from, tape.bytes.len());
        self.newlines += tape.bytes[from..upto].iter().filter(|&&b| b == b'\n').count() as u64;
        drop(tape);
        self.counted_to = self.counted_to.max(to);
    }

    /// Drops the tape's bytes before the current position once enough gathered.
    fn trim_tape(&self) {
        let end = self.rdr.position().byte();
        let mut tape = self.tape.lock().unwrap();
        if end.saturating_sub(tape.start) > TAPE_TRIM {
            let cut = ((end - tape.start) as usize).min(tape.bytes.len());
            tape.bytes.drain(..cut);
            tape.start += cut as u64;
        }
    }

    /// Calls `f` on each batch of up to `max` records, in input order, while
    /// a second thread reads and parses the next batch: parsing is serial,
    /// and the model's work on the previous batch hides it. Stops at the
    /// first error of either side.
    pub fn for_each_batch<F>(&mut self, plan: &ColumnPlan, max: usize, mut f: F) -> Result<()>
    where
        F: FnMut(&mut Batch) -> Result<()>,
    {
        // One batch in flight ahead of the consumer bounds memory; used
        // batches come back so that their buffers are reused.
        let (full_tx, full_rx) = mpsc::sync_channel::<Result<Batch>>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
        std::thread::scope(|scope| {
            scope.spawn(move || loop {
                let mut batch = empty_rx.try_recv().unwrap_or_default();
                let read = self.next_batch(plan, max, &mut batch);
                let done = !matches!(read, Ok(n) if n > 0);
                if matches!(read, Ok(0)) || full_tx.send(read.map(|_| batch)).is_err() || done {
                    return;
                }
            });
            for batch in full_rx {
                let mut batch = batch?;
                f(&mut batch)?;
                let _ = empty_tx.send(batch);
            }
            Ok(())
        })
    }

    /// Reads one record into `self.record`; false at end of input.
    fn read_record(&mut self) -> Result<bool> {
        loop {
            match self.rdr.read_byte_record(&mut self.record) {
                Ok(true) => {
                    drop_cr(&mut self.record);
                    // A CRLF file's blank line is a lone `\r`: skipped, as blank lines are.
                    if self.record.len() == 1 && self.record[0].is_empty() {
                        let start = self.record.position().map_or(0, |p| p.byte());
                        if self.with_raw(start, |raw| raw == b"\r\n" || raw == b"\r") {
                            self.count_lines_to(self.rdr.position().byte());
                            self.blank_lines += 1;
                            self.trim_tape();
                            continue;
                        }
                    }
                    return Ok(true);
                }
                Ok(false) => return Ok(false),
                Err(e) => return Err(csv_error(&self.name, e, &self.headers)),
            }
        }
    }

    /// Reads every remaining record, checking the planned columns; the first
    /// bad one is returned as an error. Used to locate what a faster reader rejected.
    pub fn validate(&mut self, plan: &ColumnPlan) -> Result<u64> {
        let mut batch = Batch::default();
        let mut n = 0u64;
        loop {
            let got = self.next_batch(plan, 65536, &mut batch)?;
            if got == 0 {
                return Ok(n);
            }
            n += got as u64;
        }
    }
}

fn bad_cell(column: &str, cell: &[u8]) -> RecordError {
    let shown = crate::error::printable(&String::from_utf8_lossy(cell), 40);
    RecordError { column: Some(column.to_string()), msg: format!("'{shown}' is not a number"), ragged: false }
}

/// The running SHA-256 of a file read through [`FlowReader::open_hashed`].
#[derive(Clone)]
pub struct HashHandle(Arc<Mutex<Sha256>>);

impl HashHandle {
    /// Hex digest of everything read so far.
    pub fn finish(&self) -> String {
        hex_digest(self.0.lock().unwrap().clone())
    }
}

/// A SHA-256 as lowercase hex, as model files record it.
pub fn hex_digest(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

struct HashingReader<R> {
    inner: R,
    hash: HashHandle,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.0.lock().unwrap().update(&buf[..n]);
        Ok(n)
    }
}

/// Whether a cell is a number to [`parse_cell`], without parsing it when it
/// is plainly written (digits, one point, a sign): the first pass surveys
/// 65,536 rows of every column this way.
pub fn is_number(cell: &[u8]) -> bool {
    let s = cell.trim_ascii();
    let digits = s.strip_prefix(b"-").or_else(|| s.strip_prefix(b"+")).unwrap_or(s);
    let (mut points, mut any_digit, mut plain) = (0, false, true);
    for &b in digits {
        match b {
            b'0'..=b'9' => any_digit = true,
            b'.' => points += 1,
            _ => {
                plain = false;
                break;
            }
        }
    }
    if plain && any_digit && points <= 1 {
        return true;
    }
    parse_cell(cell).is_some()
}

/// Parses one numeric cell. Empty means missing (NaN); CICFlowMeter's
/// `Infinity`/`NaN` are accepted. `None` when the cell is not a number.
pub fn parse_cell(cell: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(cell).ok()?.trim();
    if s.is_empty() {
        return Some(f64::NAN);
    }
    s.parse::<f64>().ok()
}

/// The index of the field left open if `raw` (one record's bytes) ends
/// inside a quoted field, following the csv crate's rules: a quote opens a
/// field only at its start, and `""` inside quotes is a quote.
fn unclosed_quote(raw: &[u8]) -> Option<usize> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let (mut state, mut field) = (State::FieldStart, 0);
    for &b in raw {
        state = match (state, b) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::FieldStart, b'"') | (State::QuoteInQuoted, b'"') => State::Quoted,
            (_, b',') => {
                field += 1;
                State::FieldStart
            }
            _ => State::Unquoted,
        };
    }
    (state == State::Quoted).then_some(field)
}

/// Drops the `\r` of a CRLF line end from the record's last field.
fn drop_cr(record: &mut csv::ByteRecord) {
    let n = record.len();
    if n > 0 && record[n - 1].ends_with(b"\r") {
        let last = record[n - 1][..record[n - 1].len() - 1].to_vec();
        record.truncate(n - 1);
        record.push_field(&last);
    }
}

fn csv_error(name: &str, e: csv::Error, headers: &[String]) -> Error {
    use csv::ErrorKind;
    let line = e.position().map(|p| p.line());
    match e.kind() {
        ErrorKind::UnequalLengths { expected_len, len, .. } => Error::at(
            name,
            line.unwrap_or(0),
            None,
            format!(
                "expected {expected_len} fields like the header, found {len} (truncated or malformed line?)"
            ),
        ),
        ErrorKind::Io(io) => Error::input(format!("{name}: read error: {io}")),
        ErrorKind::Utf8 { err, .. } => {
            let col = headers.get(err.field()).map(|s| s.as_str());
            Error::at(name, line.unwrap_or(0), col, "invalid UTF-8")
        }
        _ => match line {
            Some(l) => Error::at(name, l, None, e.to_string()),
            None => Error::input(format!("{name}: {e}")),
        },
    }
}

/// `a, b, c and 5 more`
pub fn abbreviate(items: &[&str], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &str) -> FlowReader {
        FlowReader::from_reader("t.csv".into(), Box::new(io::Cursor::new(text.as_bytes().to_vec())))
            .unwrap()
    }

    #[test]
    fn cells_parse_like_cicflowmeter_writes_them() {
        assert_eq!(parse_cell(b"1.5"), Some(1.5));
        assert_eq!(parse_cell(b" 7 "), Some(7.0));
        assert_eq!(parse_cell(b"Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_cell(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_cell(b"NaN").unwrap().is_nan());
        assert!(parse_cell(b"").unwrap().is_nan());
        assert_eq!(parse_cell(b"abc"), None);
    }

    #[test]
    fn bad_cell_names_line_and_column() {
        let mut r = reader("a,b,y\n1,2,X\n3,oops,Y\n");
        let plan = r.plan(&["b".into(), "a".into()], Some("y")).unwrap();
        let err = r.validate(&plan).unwrap_err().to_string();
        assert_eq!(err, "t.csv:3: column 'b': 'oops' is not a number");
    }

    #[test]
    fn columns_match_by_name_and_bom_is_ignored() {
        let mut r = reader("\u{feff}b,a\r\n2,1\r\n");
        let plan = r.plan(&["a".into(), "b".into()], None).unwrap();
        let mut batch = Batch::default();
        assert_eq!(r.next_batch(&plan, 10, &mut batch).unwrap(), 1);
        assert_eq!(batch.features, vec![1.0, 2.0]);
        assert_eq!(batch.lines, vec![2]);
    }

    #[test]
    fn crlf_files_report_true_line_numbers() {
        let mut r = reader("a,b\r\n1,2\r\n3,x\r\n");
        let plan = r.plan(&["b".into()], None).unwrap();
        assert_eq!(r.validate(&plan).unwrap_err().to_string(), "t.csv:3: column 'b': 'x' is not a number");
        let mut r = reader("a,b\r\n1,2\r\n3\r\n");
        let plan = r.plan(&["b".into()], None).unwrap();
        assert!(r.validate(&plan).unwrap_err().to_string().starts_with("t.csv:3: expected 2 fields"));
    }

    #[test]
    fn a_line_ends_at_lf_only() {
        // Found by fuzzing: the csv crate also ends a record at a bare `\r`,
        // giving two records the same line number (Polars, reading the
        // training rows, would see one line). A stray `\r` is data.
        let mut r = reader("a,b\n1,2\r3\n4,5\n");
        let plan = r.plan(&["a".into(), "b".into()], None).unwrap();
        // Shown escaped: the message stays one line.
        assert_eq!(r.validate(&plan).unwrap_err().to_string(), "t.csv:2: column 'b': '2\\r3' is not a number");
        let mut r = FlowReader::from_reader_with("t.csv".into(), Box::new(io::Cursor::new(b"a,b\n1,2\r3\n4,5\n".to_vec())), OnError::Skip).unwrap();
        let mut batch = Batch::default();
        assert_eq!(r.next_batch(&plan, 10, &mut batch).unwrap(), 2);
        assert_eq!(batch.lines, vec![3]);
        assert_eq!((batch.rejects[0].line, batch.rejects[0].raw.as_slice()), (2, &b"1,2\r3"[..]));
        // A whole file in bare-CR lines is one header line; the error says so.
        let r = reader("a,b\r1,2\r");
        let err = r.plan(&["a".into(), "b".into()], None).unwrap_err().to_string();
        assert!(err.contains("bare CR"), "{err}");
    }

    #[test]
    fn an_unclosed_quote_at_the_end_is_a_truncated_file() {
        // Found by fuzzing: the csv crate closes the quote at the end of the
        // input (and Polars, reading training rows, panicked on a lone `"`).
        for (text, col) in [("a,b\n1,2\n3,\"", "b"), ("a,b\n1,2\n\"3,4\n", "a"), ("a,b\n1,\"2\"\"\n", "b")] {
            let mut r = reader(text);
            let plan = r.plan(&["a".into(), "b".into()], None).unwrap();
            let err = r.validate(&plan).unwrap_err().to_string();
            assert!(err.contains(&format!("column '{col}': quoted field not closed")), "{text:?}: {err}");
        }
        // Closed quotes, escaped quotes and quoted line ends are fine, at the end or not.
        for text in ["a,b\n1,\"2\"", "a,b\n\"1\",\"2\"\"\"\n", "a,b\n\"1\n\",2", "a,b\n1,2\""] {
            assert_eq!(unclosed_quote(text.split_once('\n').unwrap().1.as_bytes()), None, "{text:?}");
        }
        // Skipping sets it aside, its bytes kept.
        let mut r = FlowReader::from_reader_with("t.csv".into(), Box::new(io::Cursor::new(b"a,b\n1,2\n3,\"4".to_vec())), OnError::Skip).unwrap();
        let plan = r.plan(&["a".into(), "b".into()], None).unwrap();
        let mut batch = Batch::default();
        assert_eq!(r.next_batch(&plan, 10, &mut batch).unwrap(), 2);
        assert_eq!((batch.rejects[0].line, batch.rejects[0].raw.as_slice()), (3, &b"3,\"4"[..]));
        // A quoted empty field alone on a line is a (short) record, not a blank line.
        let mut r = reader("a,b\r\n1,2\r\n\"\"\r\n");
        let plan = r.plan(&["a".into()], None).unwrap();
        assert!(r.validate(&plan).unwrap_err().to_string().starts_with("t.csv:3: expected 2 fields"));
    }

    #[test]
    fn crlf_records_lose_their_cr_and_blank_lines_are_skipped() {
        let mut r = reader("a,b\r\n1,\"x\"\r\n\r\n\r\n3,4\r\n");
        assert_eq!(r.raw_headers().iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b"]);
        let plan = r.plan(&["a".into()], None).unwrap();
        let mut batch = Batch::default();
        assert_eq!(r.next_batch(&plan, 10, &mut batch).unwrap(), 2);
        assert_eq!(batch.lines, vec![2, 5]);
        assert_eq!(batch.offsets, vec![5, 16]);
        assert_eq!(&batch.records[0][1], b"x");
        assert_eq!(&batch.records[1][1], b"4");
    }

    #[test]
    fn short_line_is_an_error_with_its_line() {
        let mut r = reader("a,b\n1,2\n3\n");
        let plan = r.plan(&["a".into()], None).unwrap();
        let err = r.validate(&plan).unwrap_err().to_string();
        assert!(err.starts_with("t.csv:3: expected 2 fields"), "{err}");
    }

    /// Found by `bench/fuzz.sh` (csv_ingest): a gzip stream damaged after
    /// its first records. Skipping sets bad records aside, but input that
    /// cannot be read at all still stops the read, with the file's name.
    #[test]
    fn a_damaged_gzip_stream_is_a_read_error_even_when_skipping() {
        let bytes = include_bytes!("../../fixtures/fuzz_damaged_gzip.csv.gz");
        for on_error in [OnError::Fail, OnError::Skip] {
            let mut r = FlowReader::from_reader_with("z.csv.gz".into(), Box::new(io::Cursor::new(bytes.to_vec())), on_error).unwrap();
            assert!(r.is_gzip());
            let h = r.headers().to_vec();
            let plan = r.plan(&[], h.last().map(String::as_str)).unwrap();
            let mut batch = Batch::default();
            let err = loop {
                match r.next_batch(&plan, 5, &mut batch) {
                    Ok(0) => panic!("{on_error:?}: the damaged stream was read to its end"),
                    Ok(_) => continue,
                    Err(e) => break e.to_string(),
                }
            };
            // Its checksum fails at the end of the stream, after every record was read.
            assert!(err.starts_with("z.csv.gz: read error") && err.contains("checksum"), "{on_error:?}: {err}");
        }
    }

    #[test]
    fn skipped_records_keep_their_bytes_and_line_numbers() {
        let text = "a,b,y\r\n1,2,X\r\n3,oops,Y\r\n4\r\n\"5\",6,Z\r\n7,8";
        let mut r = FlowReader::from_reader_with("s.csv".into(), Box::new(io::Cursor::new(text.as_bytes().to_vec())), OnError::Skip).unwrap();
        let plan = r.plan(&["b".into()], Some("y")).unwrap();
        let mut batch = Batch::default();
        assert_eq!(r.next_batch(&plan, 100, &mut batch).unwrap(), 5);
        assert_eq!(batch.lines, vec![2, 5]);
        assert_eq!(batch.features, vec![2.0, 6.0]);
        assert_eq!(batch.raw(1), b"\"5\",6,Z");
        let rejects: Vec<(u64, &str, &[u8])> = batch.rejects.iter().map(|r| (r.line, r.reason.as_str(), r.raw.as_slice())).collect();
        assert_eq!(
            rejects,
            vec![
                (3, "column 'b': 'oops' is not a number", &b"3,oops,Y"[..]),
                (4, "expected 3 fields like the header, found 1 (truncated or malformed line?)", &b"4"[..]),
                (6, "expected 3 fields like the header, found 2 (the last line, and it has no line end: truncated file?)", &b"7,8"[..]),
            ]
        );
        assert_eq!(r.next_batch(&plan, 100, &mut batch).unwrap(), 0);
    }

    #[test]
    fn missing_and_duplicate_columns_are_errors() {
        let r = reader("a,b\n1,2\n");
        let err = r.plan(&["c".into()], None).unwrap_err().to_string();
        assert!(err.contains("missing 1 feature column the model needs: c"), "{err}");
        let err = FlowReader::from_reader("d.csv".into(), Box::new(io::Cursor::new(b"a,a\n1,2\n".to_vec())))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(err, "d.csv:1: column 'a': duplicate column name in header");
    }
}
