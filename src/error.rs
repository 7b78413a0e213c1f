//! Error type. Three kinds matter to a caller: bad input (the user's file or
//! flags are wrong: exit code 2), drift found by `report --fail-on-drift`
//! (exit code 3) and everything else (exit code 1).

use std::fmt;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input (a CSV, a model file, a flag value) is wrong. Exit code 2.
    #[error("{0}")]
    Input(String),
    /// `report --fail-on-drift` found drift (the report itself was written). Exit code 3.
    #[error("{0}")]
    Drift(String),
    /// Anything else (I/O, internal failures). Exit code 1.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(msg: impl fmt::Display) -> Self {
        Error::Input(msg.to_string())
    }

    /// A bad-input error located in a file: `file:line: column 'c': msg`.
    pub fn at(file: &str, line: u64, column: Option<&str>, msg: impl fmt::Display) -> Self {
        match column {
            Some(c) => Error::Input(format!("{file}:{line}: column '{c}': {msg}")),
            None => Error::Input(format!("{file}:{line}: {msg}")),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Drift(_) => 3,
            Error::Other(_) => 1,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Other(e.into())
    }
}

/// `s` fit for a one-line message: control characters (a newline, a NUL) escaped, at most `max` characters.
pub fn printable(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Displayable name for a path given on the command line (`-` is stdin).
pub fn display_path(p: &Path) -> String {
    if p.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        p.display().to_string()
    }
}
