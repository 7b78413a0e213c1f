//! Output files that are either complete or absent: everything is written to
//! a temporary file in the target's directory and renamed into place only
//! when complete, so an interrupted run never leaves a partial file behind.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{display_path, Error, Result};

/// Where a command's main output goes: stdout (`-`) or a file written atomically.
pub enum Output {
    Stdout(BufWriter<io::Stdout>),
    File { tmp: BufWriter<NamedTempFile>, target: PathBuf },
}

impl Output {
    /// Opens `-` as stdout, anything else as a temporary file beside the target.
    pub fn create(path: &Path) -> Result<Output> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout(BufWriter::with_capacity(1 << 16, io::stdout())));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::input(format!(
                "{}: directory {} does not exist",
                path.display(),
                dir.display()
            )));
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".ntc-").suffix(".tmp");
        #[cfg(unix)]
        {
            // Like any new file (0666 less the umask), not tempfile's private 0600.
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder
            .tempfile_in(&dir)
            .map_err(|e| Error::input(format!("{}: cannot create a file in {}: {e}", path.display(), dir.display())))?;
        Ok(Output::File { tmp: BufWriter::with_capacity(1 << 16, tmp), target: path.to_path_buf() })
    }

    /// Flushes and, for a file, renames it into place.
    pub fn commit(self) -> Result<()> {
        match self {
            Output::Stdout(mut w) => w.flush().map_err(Into::into),
            Output::File { tmp, target } => {
                let tmp = tmp.into_inner().map_err(|e| e.into_error())?;
                tmp.as_file().sync_all()?;
                tmp.persist(&target)
                    .map_err(|e| Error::input(format!("{}: cannot write: {}", display_path(&target), e.error)))?;
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File { tmp, .. } => tmp.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.write_all(buf),
            Output::File { tmp, .. } => tmp.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File { tmp, .. } => tmp.flush(),
        }
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.as_os_str() == "-" {
        return Err(Error::input("this output cannot go to stdout; name a file"));
    }
    let mut out = Output::create(path)?;
    out.write_all(bytes)?;
    out.commit()
}

/// True when an error chain is a closed pipe (`ntc predict ... | head`): not a failure.
pub fn is_broken_pipe(err: &Error) -> bool {
    match err {
        Error::Other(e) => e
            .chain()
            .any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)),
        Error::Input(_) | Error::Drift(_) => false,
    }
}
