//! The rejects file of `--on-error skip`: every record set aside, with its
//! line number and the reason, so that nothing read is lost.
//!
//! It is a CSV whose header is `line,reason,` followed by the input's
//! header, and whose rows are the line number, the reason, then the
//! record's bytes exactly as they were in the input: dropping the first two
//! fields gives back the rejected lines, to mend and feed in again. It is
//! written like every output: complete under its name, or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::data::reader::Reject;
use crate::error::Result;
use crate::io::Output;

pub struct RejectsFile {
    out: Output,
    path: PathBuf,
    count: u64,
}

impl RejectsFile {
    /// Creates the file (as a temporary until [`RejectsFile::commit`]) and writes its header.
    pub fn create(path: &Path, input_header: &[String]) -> Result<Self> {
        let mut out = Output::create(path)?;
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        w.write_record(["line", "reason"].into_iter().chain(input_header.iter().map(String::as_str)))
            .expect("writing to memory");
        out.write_all(&w.into_inner().expect("writing to memory"))?;
        Ok(RejectsFile { out, path: path.to_path_buf(), count: 0 })
    }

    pub fn write(&mut self, r: &Reject) -> Result<()> {
        write!(self.out, "{},\"{}\",", r.line, r.reason.replace('"', "\"\""))?;
        self.out.write_all(&r.raw)?;
        self.out.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    /// Writes rejects from two sources (the reader's and a later check's), each in input order, merged by line.
    pub fn write_merged(&mut self, a: &[Reject], b: &[Reject]) -> Result<()> {
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if j == b.len() || (i < a.len() && a[i].line <= b[j].line) {
                self.write(&a[i])?;
                i += 1;
            } else {
                self.write(&b[j])?;
                j += 1;
            }
        }
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the file in place; returns the number of rejected records.
    pub fn commit(self) -> Result<u64> {
        self.out.commit()?;
        Ok(self.count)
    }
}
