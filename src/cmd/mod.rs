//! Command-line definitions, one file per subcommand.

pub mod completions;
pub mod evaluate;
pub mod flows;
pub mod man;
pub mod predict;
pub mod report;
pub mod synth;
pub mod train;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use ntc::data::reader::{FlowReader, OnError};
use ntc::data::rejects::RejectsFile;

/// Classify network traffic flows (CICFlowMeter CSV) with an RBF-kernel SVM.
#[derive(Parser, Debug)]
#[command(name = "ntc", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// No progress bars or status lines on stderr (errors are still printed).
    #[arg(short, long, global = true, overrides_with = "quiet")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model on a labelled flow CSV.
    Train(train::Args),
    /// Label every row of a flow CSV (or stdin) with its predicted class.
    Predict(predict::Args),
    /// Score a model on a labelled flow CSV.
    Evaluate(evaluate::Args),
    /// Summarise a flow CSV and, with a model, the model and its score.
    Report(report::Args),
    /// Write synthetic flows in the Unicauca schema (no download needed).
    Synth(synth::Args),
    /// Cut a packet capture (pcap, pcapng) into flows measured as CICFlowMeter V3 did.
    Flows(flows::Args),
    /// Print a shell completion script (`ntc completions bash > /etc/bash_completion.d/ntc`).
    Completions(completions::Args),
    /// Print the manual page (`ntc man | man -l -`; `ntc man train` for one subcommand).
    Man(man::Args),
}

pub fn run(cli: Cli) -> ntc::Result<()> {
    let q = cli.quiet;
    match cli.command {
        Command::Train(a) => train::run(a, q),
        Command::Predict(a) => predict::run(a, q),
        Command::Evaluate(a) => evaluate::run(a, q),
        Command::Report(a) => report::run(a, q),
        Command::Synth(a) => synth::run(a, q),
        Command::Flows(a) => flows::run(a, q),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
    }
}

/// Default model path of every subcommand.
pub const DEFAULT_MODEL: &str = "models/ntc.cbor";
/// The default model's directory, which `train` creates when missing.
pub const DEFAULT_MODEL_DIR: &str = "models";

/// `--on-error` and `--rejects`, shared by the commands that read flows record by record.
#[derive(clap::Args, Debug)]
pub struct BadRecords {
    /// What to do with a record that cannot be read (wrong field count, a cell that is not a number, an
    /// unknown label): `fail` stops with its line and column, `skip` sets it aside in --rejects and goes on.
    #[arg(long, value_enum, default_value_t = OnError::Fail)]
    pub on_error: OnError,
    /// With `--on-error skip`: CSV file receiving every rejected record verbatim, after its line number and the reason.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
}

impl BadRecords {
    /// The rejects file, for the same-file check.
    pub fn named(&self) -> Option<ntc::io::Named<'_>> {
        self.rejects.as_deref().map(|p| ntc::io::Named::output("--rejects", p))
    }

    /// Opens the input with this policy, and the rejects file when skipping.
    pub fn open(&self, csv: &Path) -> ntc::Result<(FlowReader, Option<RejectsFile>)> {
        let rejects_path = match (self.on_error, &self.rejects) {
            (OnError::Skip, Some(p)) => Some(p),
            (OnError::Skip, None) => {
                return Err(ntc::Error::input("--on-error skip needs --rejects FILE: rejected records are never dropped silently"))
            }
            (OnError::Fail, Some(_)) => return Err(ntc::Error::input("--rejects needs --on-error skip")),
            (OnError::Fail, None) => None,
        };
        let reader = FlowReader::open_with(csv, self.on_error)?;
        let rejects = rejects_path.map(|p| RejectsFile::create(p, reader.headers())).transpose()?;
        Ok((reader, rejects))
    }
}

/// Puts the rejects file in place and, unless quiet, says how many records went where.
pub fn finish_rejects(rejects: Option<RejectsFile>, accepted: u64, quiet: bool) -> ntc::Result<()> {
    let Some(r) = rejects else { return Ok(()) };
    let path = r.path().display().to_string();
    let rejected = r.commit()?;
    if !quiet {
        eprintln!(
            "{} records read: {accepted} accepted, {rejected} rejected{}",
            accepted + rejected,
            if rejected > 0 { format!(" (written to {path} with their line numbers and reasons)") } else { String::new() }
        );
    }
    Ok(())
}

/// Writes a command's result to stdout (a closed pipe is handled by `main`).
pub fn print_stdout(text: &str) -> ntc::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(ntc::io::stdout_error)?;
    out.flush().map_err(ntc::io::stdout_error)?;
    Ok(())
}
