//! Pass 1 on a plain file, on every core: when no cell is quoted, no line
//! is blank and every line has the header's number of fields (what
//! CICFlowMeter and `ntc synth` write), a record is a line and a field is
//! what lies between two commas, so the file can be cut at line ends and
//! its pieces read at once, without a CSV parser.
//!
//! It gives what the line-by-line reader gives ([`super::ingest::read_labels`]),
//! to the byte: the same label ids, offsets, survey, groups, duplicate count
//! and SHA-256. On anything else (a quote, a blank line, a ragged line, an
//! empty or non-UTF-8 label, gzip, stdin) it answers `None` and the
//! line-by-line reader reads the file, and reports the line at fault.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::data::ingest::{survey_cells, FirstPass, Labels};
use crate::data::reader::{hex_digest, FlowReader};

/// Bytes read at a time: memory stays bounded on the 1.7 GB file.
const BLOCK_BYTES: usize = 16 << 20;
/// Pieces a block is cut into per thread, so that uneven pieces even out.
const PIECES_PER_THREAD: usize = 4;

/// Pass 1 of `path` when it is plain (see the module's doc), else `None`.
pub fn scan_labels(path: &Path, opts: &FirstPass, chunk_rows: usize) -> Option<(Labels, String)> {
    scan_in_blocks(path, opts, chunk_rows, BLOCK_BYTES)
}

fn scan_in_blocks(path: &Path, opts: &FirstPass, chunk_rows: usize, block_bytes: usize) -> Option<(Labels, String)> {
    if path.as_os_str() == "-" {
        return None;
    }
    let r = FlowReader::open(path).ok()?;
    if r.is_gzip() {
        return None;
    }
    let columns = Columns {
        count: r.headers().len(),
        label: r.column_index(opts.label)?,
        group: match opts.group {
            Some(g) => Some(r.column_index(g)?),
            None => None,
        },
        duplicates: opts.count_duplicates,
    };
    let header = r.header_bytes();
    drop(r);
    let mut scan = Scan::new(columns, chunk_rows);
    let file = File::open(path).ok()?;
    // Mapped: blocks are read where the page cache holds them, not copied
    // into fresh memory first (see ingest::read_rows). A file that cannot be
    // mapped goes to the line-by-line reader.
    // SAFETY: the map is only read, and only while `file` is open.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let mut sha = Sha256::new();
    let mut at = 0usize; // where the lines not yet read start
    let mut hashed = 0usize; // where the bytes not yet hashed start
    let mut in_header = true;
    loop {
        let end = (hashed + block_bytes).min(map.len());
        let eof = end == map.len();
        let fresh = &map[hashed..end];
        // The new bytes are hashed while the lines are read.
        let (_, read) = rayon::join(
            || sha.update(fresh),
            || match memchr::memchr(b'"', fresh) {
                Some(_) => None,
                None => scan.lines_of(&map[at..end], at as u64, in_header, eof),
            },
        );
        let read = read?;
        in_header = false;
        at += read;
        hashed = end;
        if eof {
            break;
        }
    }
    let at = at as u64;
    Some((scan.finish(header, at), hex_digest(sha)))
}

/// The columns pass 1 reads.
#[derive(Clone, Copy)]
struct Columns {
    count: usize,
    label: usize,
    group: Option<usize>,
    duplicates: bool,
}

/// What one piece of a block holds: its rows' offsets, labels and groups
/// numbered in order of first appearance within the piece, and row hashes.
#[derive(Default)]
struct Piece {
    starts: Vec<u64>,
    label_names: Vec<String>,
    label_first_row: Vec<usize>,
    label: Vec<u32>,
    group_keys: Vec<Vec<u8>>,
    group: Vec<u32>,
    hashes: Vec<u64>,
}

/// The file so far.
struct Scan {
    columns: Columns,
    chunk_rows: usize,
    labels: Labels,
    label_index: HashMap<String, u32>,
    group: Vec<u32>,
    group_index: HashMap<Vec<u8>, u32>,
    seen: HashSet<u64>,
    duplicates: u64,
}

impl Scan {
    fn new(columns: Columns, chunk_rows: usize) -> Scan {
        let labels = Labels { chunk_rows, survey: vec![(0, 0); columns.count], ..Labels::default() };
        Scan { columns, chunk_rows, labels, label_index: HashMap::new(), group: Vec::new(), group_index: HashMap::new(), seen: HashSet::new(), duplicates: 0 }
    }

    /// Reads the whole lines of `buf` (file offset `at`; past the header
    /// line when `in_header`; and the last line too at the end of the file):
    /// how many bytes were read, `None` when a line is not plain.
    fn lines_of(&mut self, buf: &[u8], at: u64, in_header: bool, eof: bool) -> Option<usize> {
        let from = match (in_header, memchr::memchr(b'\n', buf)) {
            (false, _) => 0,
            (true, Some(p)) => p + 1,
            (true, None) if eof => buf.len(),
            // A header line longer than a block: not worth a fast path.
            (true, None) => return None,
        };
        let end = if eof { buf.len() } else { memchr::memrchr(b'\n', &buf[from..]).map_or(from, |p| from + p + 1) };
        if end > from {
            self.block(&buf[from..end], at + from as u64)?;
        }
        Some(end)
    }

    /// Reads `lines` (whole lines, but for the file's last), which start at
    /// file offset `at`; `None` when one is not plain.
    fn block(&mut self, lines: &[u8], at: u64) -> Option<()> {
        let cuts = cut_at_lines(lines, rayon::current_num_threads() * PIECES_PER_THREAD);
        let columns = self.columns;
        let pieces: Vec<Piece> = cuts
            .par_windows(2)
            .map(|w| read_piece(&lines[w[0]..w[1]], at + w[0] as u64, columns))
            .collect::<Option<_>>()?;
        let first_row = self.labels.row.len();
        if first_row < self.chunk_rows {
            let survey_rows: Vec<u64> = pieces.iter().flat_map(|p| p.starts.iter().copied()).take(self.chunk_rows - first_row).collect();
            self.survey(lines, at, &survey_rows);
        }
        for p in pieces {
            self.merge(p);
        }
        Some(())
    }

    /// Adds the rows starting at `starts` (file offsets, within `lines`) to the survey.
    fn survey<'a>(&mut self, lines: &'a [u8], at: u64, starts: &[u64]) {
        let count = self.columns.count;
        let add = |(mut acc, mut cells): (Vec<(u64, u64)>, Vec<&'a [u8]>), &s: &u64| {
            split_fields(content(&lines[(s - at) as usize..]), &mut cells);
            survey_cells(cells.iter().copied(), &mut acc);
            (acc, cells)
        };
        let sum = |mut a: Vec<(u64, u64)>, b: Vec<(u64, u64)>| {
            a.iter_mut().zip(b).for_each(|(x, y)| *x = (x.0 + y.0, x.1 + y.1));
            a
        };
        let got = starts.par_iter().fold(|| (vec![(0, 0); count], Vec::new()), add).map(|(acc, _)| acc).reduce(|| vec![(0, 0); count], sum);
        self.labels.survey = sum(std::mem::take(&mut self.labels.survey), got);
    }

    /// Appends a piece's rows, its local numbers turned into the file's.
    fn merge(&mut self, p: Piece) {
        let first_row = self.labels.row.len();
        let ids: Vec<u32> = p
            .label_names
            .into_iter()
            .zip(p.label_first_row)
            .map(|(name, r)| {
                *self.label_index.entry(name).or_insert_with_key(|name| {
                    self.labels.names.push(name.clone());
                    // Plain files have no blank or multi-line records: row r is on line r + 2.
                    self.labels.first_line.push((first_row + r) as u64 + 2);
                    (self.labels.names.len() - 1) as u32
                })
            })
            .collect();
        self.labels.row.extend(p.label.iter().map(|&l| ids[l as usize]));
        let groups: Vec<u32> = p
            .group_keys
            .into_iter()
            .map(|k| {
                let next = self.group_index.len() as u32;
                *self.group_index.entry(k).or_insert(next)
            })
            .collect();
        self.group.extend(p.group.iter().map(|&g| groups[g as usize]));
        for h in p.hashes {
            self.duplicates += !self.seen.insert(h) as u64;
        }
        self.labels.row_starts.extend_from_slice(&p.starts);
    }

    fn finish(mut self, header: Vec<u8>, file_len: u64) -> Labels {
        let l = &mut self.labels;
        l.chunk_starts = l.row_starts.iter().step_by(self.chunk_rows.max(1)).copied().collect();
        l.chunk_starts.push(file_len);
        l.header = header;
        l.group = self.columns.group.map(|_| self.group);
        l.duplicate_rows = self.columns.duplicates.then_some(self.duplicates);
        self.labels
    }
}

/// Offsets cutting `lines` into about `n` runs of whole lines (first 0, last `lines.len()`).
fn cut_at_lines(lines: &[u8], n: usize) -> Vec<usize> {
    let step = lines.len().div_ceil(n.max(1)).max(1);
    let mut cuts = vec![0];
    let mut at = 0;
    while at < lines.len() {
        let next = (at + step).min(lines.len());
        at = match memchr::memchr(b'\n', &lines[next.saturating_sub(1)..]) {
            Some(p) if next < lines.len() => next - 1 + p + 1,
            _ => lines.len(),
        };
        cuts.push(at);
    }
    cuts
}

/// A line without its line end (`\n`, and one `\r` before it).
fn content(line: &[u8]) -> &[u8] {
    let line = match memchr::memchr(b'\n', line) {
        Some(p) => &line[..p],
        None => line,
    };
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads the whole lines of `bytes` (file offset `at`); `None` at the first that is not plain.
fn read_piece(bytes: &[u8], at: u64, columns: Columns) -> Option<Piece> {
    let mut p = Piece::default();
    let mut labels: HashMap<&str, u32> = HashMap::new();
    let mut groups: HashMap<&[u8], u32> = HashMap::new();
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    let mut fields: Vec<&[u8]> = Vec::with_capacity(columns.count);
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |e| start + e + 1);
        let line = content(&bytes[start..end]);
        if line.is_empty() {
            return None;
        }
        split_fields(line, &mut fields);
        if fields.len() != columns.count {
            return None;
        }
        let label = std::str::from_utf8(fields[columns.label]).ok()?.trim();
        if label.is_empty() {
            return None;
        }
        let row = p.starts.len();
        let next = labels.len() as u32;
        let id = *labels.entry(label).or_insert_with(|| {
            p.label_names.push(label.to_string());
            p.label_first_row.push(row);
            next
        });
        p.label.push(id);
        if let Some(g) = columns.group {
            let key = fields[g].trim_ascii();
            let next = groups.len() as u32;
            let id = *groups.entry(key).or_insert_with(|| {
                p.group_keys.push(key.to_vec());
                next
            });
            p.group.push(id);
        }
        if columns.duplicates {
            // As the line-by-line reader hashes a record: field by field.
            let mut h = hasher.build_hasher();
            for f in &fields {
                f.hash(&mut h);
            }
            p.hashes.push(h.finish());
        }
        p.starts.push(at + start as u64);
        start = end;
    }
    Some(p)
}

/// The fields of a line that has no quotes, into `out` (cleared first):
/// eight bytes at a time, each comma found by a bit trick, not a byte compare.
fn split_fields<'a>(line: &'a [u8], out: &mut Vec<&'a [u8]>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    out.clear();
    let mut field = 0;
    let mut base = 0;
    let mut words = line.chunks_exact(8);
    for w in words.by_ref() {
        let v = u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ (ONES * b',' as u64);
        // The high bit of each byte of v that is zero (a comma), exactly.
        let mut hits = !(((v & LOW7) + LOW7) | v | LOW7);
        while hits != 0 {
            let at = base + (hits.trailing_zeros() / 8) as usize;
            out.push(&line[field..at]);
            field = at + 1;
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b',' {
            out.push(&line[field..base + i]);
            field = base + i + 1;
        }
    }
    out.push(&line[field..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ingest::read_labels_line_by_line;

    /// A plain file of `rows` rows: labels with spaces and accents, groups, duplicate rows.
    fn plain(rows: usize, crlf: bool, last_newline: bool) -> String {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("\u{feff}Flow.ID,bytes,cap,proto,ProtocolName{eol}");
        let names = ["HTTP", " SSL ", "DNS", "caf\u{e9}", "GOOGLE"];
        for i in 0..rows {
            let r = (i * 7919) % 13;
            text.push_str(&format!("10.0.0.{r}-1,{},{},{},{}", r * 3, ["a", " b", "c "][r % 3], if r % 4 == 0 { "" } else { "tcp" }, names[(r * r) % 5]));
            if i + 1 < rows || last_newline {
                text.push_str(eol);
            }
        }
        text
    }

    #[test]
    fn plain_files_read_as_the_line_by_line_reader_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        for (rows, crlf, last_newline) in [(0, false, true), (1, false, false), (200, false, true), (200, true, true), (301, true, false), (2000, false, false)] {
            std::fs::write(&p, plain(rows, crlf, last_newline)).unwrap();
            for opts in [
                FirstPass { label: "ProtocolName", group: None, count_duplicates: false },
                FirstPass { label: "ProtocolName", group: Some("cap"), count_duplicates: true },
                FirstPass { label: "proto", group: Some("Flow.ID"), count_duplicates: false },
            ] {
                for (chunk_rows, block) in [(1, 1 << 20), (7, 64), (65536, 100), (3, 4096)] {
                    let what = format!("{rows} rows, crlf {crlf}, last newline {last_newline}, {opts:?}, chunks {chunk_rows}, blocks {block}");
                    let want = read_labels_line_by_line(&p, &opts, chunk_rows);
                    let got = scan_in_blocks(&p, &opts, chunk_rows, block);
                    match (want, got) {
                        // An empty label in `proto`: the line-by-line reader's error to report.
                        (Err(e), got) => assert!(got.is_none() && e.to_string().contains("empty label"), "{what}: {e}"),
                        (Ok(want), got) => assert_eq!(got, Some(want), "{what}"),
                    }
                }
            }
        }
    }

    #[test]
    fn anything_but_a_plain_file_is_left_to_the_line_by_line_reader() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.csv");
        let opts = FirstPass { label: "ProtocolName", group: None, count_duplicates: false };
        for text in [
            "x,ProtocolName\n1,\"HTTP\"\n",
            "x,ProtocolName\n1,HTTP\n\n2,DNS\n",
            "x,ProtocolName\n1,HTTP\r\n\r\n2,DNS\n",
            "x,ProtocolName\n1,HTTP\n2\n",
            "x,ProtocolName\n1,HTTP,3\n",
            "x,ProtocolName\n1, \n",
            "x,label\n1,HTTP\n",
        ] {
            std::fs::write(&p, text).unwrap();
            assert!(scan_in_blocks(&p, &opts, 10, 1 << 20).is_none(), "{text:?}");
        }
        std::fs::write(&p, b"x,ProtocolName\n1,\xff\n").unwrap();
        assert!(scan_in_blocks(&p, &opts, 10, 1 << 20).is_none());
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, b"x,ProtocolName\n1,HTTP\n").unwrap();
        std::fs::write(&p, e.finish().unwrap()).unwrap();
        assert!(scan_in_blocks(&p, &opts, 10, 1 << 20).is_none());
    }

    #[test]
    fn fields_split_as_a_byte_split() {
        let mut out = Vec::new();
        for line in ["", ",", "a", "a,b", ",,,", "abcdefg,", "abcdefgh,ijklmnop,", "1,22,333,4444,55555,666666,7777777,88888888,9", "\u{e9},x,\u{20ac}\u{20ac}\u{20ac},,"] {
            split_fields(line.as_bytes(), &mut out);
            let want: Vec<&[u8]> = line.as_bytes().split(|&b| b == b',').collect();
            assert_eq!(out, want, "{line:?}");
        }
    }
}
