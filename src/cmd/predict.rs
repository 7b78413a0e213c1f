use std::path::PathBuf;

use ntc::io::Output;
use ntc::model::Model;
use ntc::predict::{predict_csv, Keep};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Flow CSV, or `-` for stdin.
    pub csv: PathBuf,
    /// Model file.
    #[arg(short, long, default_value = super::DEFAULT_MODEL)]
    pub model: PathBuf,
    /// Output CSV, or `-` for stdout.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Add `confidence` and one `p_<class>` probability column per class.
    #[arg(long)]
    pub proba: bool,
    /// Input columns to copy to the output.
    #[arg(long, value_enum, default_value_t = Keep::All)]
    pub keep: Keep,
    #[command(flatten)]
    pub bad: super::BadRecords,
}

pub fn run(a: Args, quiet: bool) -> ntc::Result<()> {
    let model = Model::load(&a.model)?;
    let (mut reader, mut rejects) = a.bad.open(&a.csv)?;
    let progress = ntc::progress::Progress::rows("predicting", quiet);
    let mut out = Output::create(&a.output)?;
    let rows = predict_csv(&model, &mut reader, &mut out, a.keep, a.proba, rejects.as_mut(), &progress)?;
    drop(progress);
    super::finish_rejects(rejects, rows, quiet)?;
    out.commit()?;
    if !(quiet || a.output.as_os_str() == "-") {
        eprintln!("{rows} rows predicted, written to {}", a.output.display());
    }
    Ok(())
}
