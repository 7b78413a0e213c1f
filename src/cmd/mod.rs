//! Command-line definitions, one file per subcommand.

pub mod evaluate;
pub mod predict;
pub mod report;
pub mod synth;
pub mod train;

use clap::{Parser, Subcommand};

/// Classify network traffic flows (CICFlowMeter CSV) with an RBF-kernel SVM.
#[derive(Parser, Debug)]
#[command(name = "ntc", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// No progress bars or status lines on stderr (errors are still printed).
    #[arg(short, long, global = true)]
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
}

pub fn run(cli: Cli) -> ntc::Result<()> {
    let q = cli.quiet;
    match cli.command {
        Command::Train(a) => train::run(a, q),
        Command::Predict(a) => predict::run(a, q),
        Command::Evaluate(a) => evaluate::run(a, q),
        Command::Report(a) => report::run(a, q),
        Command::Synth(a) => synth::run(a, q),
    }
}

/// Default model path of every subcommand.
pub const DEFAULT_MODEL: &str = "models/ntc.cbor";

/// Writes a command's result to stdout (a closed pipe is handled by `main`).
pub fn print_stdout(text: &str) -> ntc::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
