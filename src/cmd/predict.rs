use std::path::PathBuf;

use ntc::io::{Named, Output};
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
    let mut files = vec![Named::input("the input", &a.csv), Named::input("--model", &a.model), Named::output("--output", &a.output)];
    files.extend(a.bad.named());
    ntc::io::refuse_same_file(&files)?;
    let model = Model::load(&a.model)?;
    let (mut reader, mut rejects) = a.bad.open(&a.csv)?;
    let progress = ntc::progress::Progress::rows("predicting", quiet);
    let mut out = Output::create(&a.output)?;
    let rows = match predict_csv(&model, &mut reader, &mut out, a.keep, a.proba, rejects.as_mut(), &progress) {
        Ok(rows) => rows,
        Err(e) if ntc::io::is_broken_pipe(&e) => {
            // `| head`: the reader left; the rejects of the rows read so far replace the last run's.
            if let Some(r) = rejects {
                r.commit()?;
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    drop(progress);
    super::finish_rejects(rejects, rows, quiet)?;
    out.commit()?;
    if !(quiet || a.output.as_os_str() == "-") {
        eprintln!("{rows} rows predicted, written to {}", a.output.display());
    }
    Ok(())
}
