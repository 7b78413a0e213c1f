use std::path::PathBuf;

use ntc::io::Output;
use ntc::progress::Progress;
use ntc::synth::{write_csv, SynthOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of flows (the full Unicauca file has 3,577,296).
    #[arg(long, default_value_t = 10000)]
    pub rows: u64,
    /// Seed: the same seed and row count give the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Add what real files hold: Infinity/NaN rates, empty cells, duplicate rows.
    #[arg(long)]
    pub dirty: bool,
    /// Output CSV, or `-` for stdout.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
}

pub fn run(a: Args, quiet: bool) -> ntc::Result<()> {
    let mut out = Output::create(&a.output)?;
    let progress = Progress::bar(a.rows, "synth", quiet);
    write_csv(&mut out, &SynthOptions { rows: a.rows, seed: a.seed, dirty: a.dirty }, |n| progress.inc(n))?;
    out.commit()?;
    drop(progress);
    Ok(())
}
