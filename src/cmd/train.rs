use std::path::PathBuf;

use ntc::data::classes::ClassMap;
use ntc::data::schema::DEFAULT_LABEL;
use ntc::svm::{ClassWeight, Gamma, SvcParams};
use ntc::train::{train, TrainRequest};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Labelled flow CSV.
    pub csv: PathBuf,
    /// Where to write the model.
    #[arg(short, long, default_value = super::DEFAULT_MODEL)]
    pub model: PathBuf,
    /// `categories` (Web, Secure, Streaming, DNS, Other), `apps` (one class per label), or a `name,class` CSV.
    #[arg(long, default_value = "categories")]
    pub classes: String,
    /// Column holding the labels.
    #[arg(long, default_value = DEFAULT_LABEL)]
    pub label: String,
    /// Columns to leave out, comma-separated (identifiers and label leaks are always left out).
    #[arg(long, value_delimiter = ',')]
    pub drop: Vec<String>,
    /// SVM regularisation C.
    #[arg(long = "c", default_value_t = 10.0)]
    pub c: f64,
    /// RBF gamma: `scale` (1 / (features x variance), as scikit-learn) or a positive number.
    #[arg(long, default_value = "scale")]
    pub gamma: Gamma,
    /// Weight C per class: `balanced` gives rare classes a larger C.
    #[arg(long, value_enum, default_value_t = ClassWeight::None)]
    pub class_weight: ClassWeight,
    /// Train on at most N rows, sampled per class (every class keeps a floor of rows).
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// Seed of every random choice (sampling, probability calibration).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Skip the probability calibration (faster; `predict --proba` then refuses this model).
    #[arg(long)]
    pub no_proba: bool,
    /// Kernel cache, MiB.
    #[arg(long, default_value_t = 1024)]
    pub cache_mb: usize,
    /// Also write the rows trained on (features as read, and the label) to this CSV.
    #[arg(long)]
    pub sample_out: Option<PathBuf>,
}

pub fn run(a: Args, quiet: bool) -> ntc::Result<()> {
    if a.max_rows == Some(0) {
        return Err(ntc::Error::input("--max-rows must be at least 1"));
    }
    let class_map = ClassMap::from_flag(&a.classes)?;
    let req = TrainRequest {
        csv: a.csv,
        class_map,
        label: a.label,
        drop: a.drop.into_iter().filter(|d| !d.is_empty()).collect(),
        svc: SvcParams {
            c: a.c,
            gamma: a.gamma,
            class_weight: a.class_weight,
            cache_mb: a.cache_mb.max(1),
            probability: !a.no_proba,
            seed: a.seed,
            ..SvcParams::default()
        },
        max_rows: a.max_rows,
        sample_out: a.sample_out,
        quiet,
    };
    let model = train(&req)?;
    if let Some(dir) = a.model.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| ntc::Error::input(format!("{}: cannot create directory: {e}", dir.display())))?;
    }
    model.save(&a.model)?;
    ntc::progress::note(quiet, format!("model written to {}", a.model.display()));
    Ok(())
}
