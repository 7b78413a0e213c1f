use std::path::PathBuf;

use ntc::io::Named;
use ntc::model::Model;
use ntc::predict::score;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Labelled flow CSV.
    pub csv: PathBuf,
    /// Model file.
    #[arg(short, long, default_value = super::DEFAULT_MODEL)]
    pub model: PathBuf,
    /// Print the metrics as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub bad: super::BadRecords,
}

pub fn run(a: Args, quiet: bool) -> ntc::Result<()> {
    let mut files = vec![Named::input("the input", &a.csv), Named::input("--model", &a.model)];
    files.extend(a.bad.named());
    ntc::io::refuse_same_file(&files)?;
    let model = Model::load(&a.model)?;
    let (mut reader, mut rejects) = a.bad.open(&a.csv)?;
    let progress = ntc::progress::Progress::rows("scoring", quiet);
    let m = score(&model, &mut reader, rejects.as_mut(), &progress)?;
    drop(progress);
    super::finish_rejects(rejects, m.rows, quiet)?;
    let text = if a.json { format!("{}\n", m.to_json()) } else { m.to_table() };
    super::print_stdout(&text)
}
