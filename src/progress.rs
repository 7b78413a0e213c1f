//! Progress bars on stderr, shown only when stderr is a terminal and the
//! user did not ask for quiet: stdout stays clean for pipelines, logs of
//! cron jobs stay free of control characters.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress indicator that may be hidden.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    fn shown(quiet: bool) -> bool {
        !quiet && std::io::stderr().is_terminal()
    }

    /// A bar over `total` rows.
    pub fn bar(total: u64, msg: &str, quiet: bool) -> Progress {
        Self::sized(total, "{prefix:>10} [{bar:30}] {human_pos}/{human_len} rows ({eta})", msg, quiet)
    }

    /// A bar over `total` steps of work with a changing message (ETA shown).
    pub fn steps(total: u64, msg: &str, quiet: bool) -> Progress {
        Self::sized(total, "{prefix} [{bar:30}] {percent}% ({eta}) {wide_msg}", msg, quiet)
    }

    fn sized(total: u64, template: &str, prefix: &str, quiet: bool) -> Progress {
        if !Self::shown(quiet) {
            return Progress(None);
        }
        let pb = ProgressBar::new(total);
        pb.set_style(ProgressStyle::with_template(template).unwrap().progress_chars("=> "));
        pb.set_prefix(prefix.to_string());
        Progress(Some(pb))
    }

    pub fn set_message(&self, msg: String) {
        if let Some(pb) = &self.0 {
            pb.set_message(msg);
        }
    }

    /// A spinner for work of unknown length.
    pub fn spinner(msg: &str, quiet: bool) -> Progress {
        Self::ticking("{spinner} {msg} ({elapsed})", msg, quiet)
    }

    /// A counter of rows processed, for streams of unknown length (stdin).
    pub fn rows(msg: &str, quiet: bool) -> Progress {
        Self::ticking("{spinner} {msg}: {human_pos} rows ({elapsed})", msg, quiet)
    }

    fn ticking(template: &str, msg: &str, quiet: bool) -> Progress {
        if !Self::shown(quiet) {
            return Progress(None);
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(ProgressStyle::with_template(template).unwrap());
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(pb))
    }

    /// `n` of the planned steps will not be taken after all.
    pub fn fewer(&self, n: u64) {
        if let Some(pb) = &self.0 {
            pb.set_length(pb.length().unwrap_or(0).saturating_sub(n));
        }
    }

    pub fn inc(&self, n: u64) {
        if let Some(pb) = &self.0 {
            pb.inc(n);
        }
    }

    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Prints a status line on stderr unless quiet.
pub fn note(quiet: bool, msg: impl std::fmt::Display) {
    if !quiet {
        eprintln!("{msg}");
    }
}
