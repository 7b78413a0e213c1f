//! Output files that are either complete or absent: everything is written to
//! a temporary file in the target's directory and renamed into place only
//! when complete, so an interrupted run never leaves a partial file behind.
//! A rename is atomic, so two runs writing the same path leave one of their
//! files, never a mixture. On SIGINT, SIGTERM or SIGHUP the temporary files
//! are removed before exiting ([`clean_up_on_signals`]); on an error they
//! are removed as they are dropped. What a path names decides how it is
//! written ([`target`]); an output that is also an input is refused ([`same_file`]).

pub mod same_file;
pub mod target;

pub use same_file::{refuse_same_file, Named};

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::NamedTempFile;

use crate::error::{display_path, Error, Result};

/// Where a command's output goes: stdout (`-`), a file written atomically, or
/// something that is not a regular file (a device, a FIFO), written into.
pub enum Output {
    Stdout(StdoutBuf),
    File { tmp: BufWriter<NamedTempFile>, target: PathBuf, _pending: Pending },
    Stream { file: BufWriter<File>, target: PathBuf },
}

/// Buffered stdout whose unwritten rest is dropped, not written, when the
/// run fails before [`Output::commit`]: a failed run adds as little as it can to a pipeline.
pub struct StdoutBuf(BufWriter<io::Stdout>);

impl Drop for StdoutBuf {
    fn drop(&mut self) {
        let w = std::mem::replace(&mut self.0, BufWriter::with_capacity(0, io::stdout()));
        let _ = w.into_parts();
    }
}

/// Temporary files not yet renamed into place, for the signal handler to remove.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file's entry in [`PENDING`], removed when the file is renamed or dropped.
pub struct Pending(PathBuf);

impl Pending {
    fn new(path: &Path) -> Self {
        pending().push(path.to_path_buf());
        Pending(path.to_path_buf())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        pending().retain(|p| p != &self.0);
    }
}

/// Removes unfinished output files and exits 128 + the signal number on
/// SIGINT, SIGTERM and SIGHUP (`kill`, Ctrl-C, a cron job's timeout).
pub fn clean_up_on_signals() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else { return };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                // Held until exit: a rename in progress finishes first, and no new one starts.
                let files = pending();
                for p in files.iter() {
                    let _ = std::fs::remove_file(p);
                }
                let name = match sig {
                    SIGINT => "SIGINT",
                    SIGTERM => "SIGTERM",
                    _ => "SIGHUP",
                };
                eprintln!("ntc: interrupted by {name}; no output file was written or replaced");
                std::process::exit(128 + sig);
            }
        });
    }
}

impl Output {
    /// Opens `-` as stdout, a regular file (or a new one) as a temporary file
    /// beside it, anything else (a device, a FIFO) for writing.
    pub fn create(path: &Path) -> Result<Output> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout(StdoutBuf(BufWriter::with_capacity(1 << 16, io::stdout()))));
        }
        let (real, existing) = match target::resolve(path)? {
            target::Target::Stream(real) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&real)
                    .map_err(|e| Error::input(format!("{}: cannot write: {e}", path.display())))?;
                return Ok(Output::Stream { file: BufWriter::with_capacity(1 << 16, file), target: path.to_path_buf() });
            }
            target::Target::Replace { path, existing } => (path, existing),
        };
        let dir = target::directory_of(&real);
        let mut builder = tempfile::Builder::new();
        builder.prefix(".ntc-").suffix(".tmp");
        #[cfg(unix)]
        {
            // Like any new file (0666 less the umask), not tempfile's private 0600.
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let cannot_create = |e: io::Error| Error::input(format!("{}: cannot create a file in {}: {e}", path.display(), dir.display()));
        let tmp = builder.tempfile_in(&dir).map_err(cannot_create)?;
        let entry = Pending::new(tmp.path());
        target::keep_mode_and_owner(tmp.as_file(), existing.as_ref()).map_err(cannot_create)?;
        Ok(Output::File { tmp: BufWriter::with_capacity(1 << 16, tmp), target: real, _pending: entry })
    }

    /// Flushes and, for a file, renames it into place.
    pub fn commit(self) -> Result<()> {
        match self {
            Output::Stdout(mut w) => w.0.flush().map_err(|e| Error::from(located(e, "stdout"))),
            Output::File { tmp, target, _pending } => {
                let tmp = tmp.into_inner().map_err(|e| e.into_error())?;
                tmp.as_file().sync_all()?;
                // Not while the signal handler is removing files.
                let lock = pending();
                let persisted = tmp.persist(&target);
                drop(lock);
                persisted.map_err(|e| Error::input(format!("{}: cannot write: {}", display_path(&target), e.error)))?;
                Ok(())
            }
            Output::Stream { mut file, target } => {
                file.flush().map_err(|e| Error::from(located(e, &target.display().to_string())))
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.0.write(buf).map_err(|e| located(e, "stdout")),
            Output::File { tmp, target, .. } => tmp.write(buf).map_err(|e| located(e, &target.display().to_string())),
            Output::Stream { file, target } => file.write(buf).map_err(|e| located(e, &target.display().to_string())),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.0.write_all(buf).map_err(|e| located(e, "stdout")),
            Output::File { tmp, target, .. } => tmp.write_all(buf).map_err(|e| located(e, &target.display().to_string())),
            Output::Stream { file, target } => file.write_all(buf).map_err(|e| located(e, &target.display().to_string())),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.0.flush().map_err(|e| located(e, "stdout")),
            Output::File { tmp, target, .. } => tmp.flush().map_err(|e| located(e, &target.display().to_string())),
            Output::Stream { file, target } => file.flush().map_err(|e| located(e, &target.display().to_string())),
        }
    }
}

/// The same error (its kind kept: a closed pipe stays recognisable), saying what was being written.
fn located(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("writing to {what}: {e}"))
}

/// A failed write to stdout, said as such (`ntc: writing to stdout: No space left on device`).
pub fn stdout_error(e: io::Error) -> Error {
    Error::from(located(e, "stdout"))
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
