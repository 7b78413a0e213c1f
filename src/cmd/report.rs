use std::io::Write;
use std::path::PathBuf;

use ntc::data::reader::FlowReader;
use ntc::data::schema::DEFAULT_LABEL;
use ntc::error::display_path;
use ntc::io::Output;
use ntc::model::Model;
use ntc::predict::score;
use ntc::report::{markdown, profile_csv};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Flow CSV.
    pub csv: PathBuf,
    /// Model to describe and score on this CSV.
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// Output file (Markdown), or `-` for stdout.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Label column, when there is no model to name it.
    #[arg(long, default_value = DEFAULT_LABEL)]
    pub label: String,
    /// Seed of the median sample on large files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(a: Args, quiet: bool) -> ntc::Result<()> {
    let model = a.model.as_deref().map(Model::load).transpose()?;
    let label = model.as_ref().map(|m| m.training.label_column.clone()).unwrap_or(a.label);
    let mut reader = FlowReader::open(&a.csv)?;
    let progress = ntc::progress::Progress::rows("profiling", quiet);
    let profile = profile_csv(&mut reader, Some(&label), a.seed, &progress)?;
    drop(progress);
    let metrics = match &model {
        Some(m) if profile.label_column.is_some() && profile.rows > 0 => {
            let mut reader = FlowReader::open(&a.csv)?;
            let progress = ntc::progress::Progress::rows("scoring", quiet);
            Some(score(m, &mut reader, &progress)?)
        }
        _ => None,
    };
    let name = a.csv.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| display_path(&a.csv));
    let text = markdown::render(&name, &profile, model.as_ref(), metrics.as_ref());
    let mut out = Output::create(&a.output)?;
    out.write_all(text.as_bytes())?;
    out.commit()?;
    if !(quiet || a.output.as_os_str() == "-") {
        eprintln!("report written to {}", a.output.display());
    }
    Ok(())
}
