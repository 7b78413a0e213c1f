use std::io::Write;
use std::path::{Path, PathBuf};

use ntc::budget::MaxRows;
use ntc::data::classes::ClassMap;
use ntc::data::schema::DEFAULT_LABEL;
use ntc::features::Transform;
use ntc::io::{Named, Output};
use ntc::svm::{ClassWeight, Gamma, SvcParams};
use ntc::train::{train, HeldOutRows, ServerPort, TrainRequest, TuneRequest};
use ntc::tune::{Grid, Metric, Oversample, Select, TuneSpec};

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
    /// Columns of numbers that are names, not quantities, one-hot encoded over their frequent values
    /// (`none`: no such column). Columns of text are always categories. [default: Protocol]
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub categorical: Option<Vec<String>>,
    /// One categorical feature from two port columns: the smaller port, the server's well-known side
    /// of most flows (`auto`: Source.Port,Destination.Port when present; `none`: ports are numbers).
    #[arg(long, default_value = "auto", value_name = "auto|none|SRC,DST")]
    pub server_port: ServerPort,
    /// Cross-validation folds keep the rows of one value of this column together (a capture, a host):
    /// scores on flows the model has never seen, not on near-copies. Never a feature, never stored.
    #[arg(long, value_name = "COLUMN")]
    pub group_by: Option<String>,
    /// SVM regularisation C: larger fits the training rows more tightly.
    #[arg(long = "c", conflicts_with = "tune", value_parser = positive_number)]
    pub c: Option<f64>,
    /// RBF gamma: `scale` (1 / (features x variance), as scikit-learn) or a positive number.
    #[arg(long, conflicts_with = "tune")]
    pub gamma: Option<Gamma>,
    /// Weight C per class: `balanced` gives rare classes a larger C, `sqrt` half-way. With --tune, a comma
    /// list to try (default: none,sqrt).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub class_weight: Vec<ClassWeight>,
    /// Feature transform before scaling: `log` is sign(x)*ln(1+|x|). With --tune, a comma list to try (default: both).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub transform: Vec<Transform>,
    /// Oversample small classes with SMOTE (in each cross-validation training fold, and in the final fit).
    #[arg(long, value_enum, default_value_t = Oversample::None)]
    pub oversample: Oversample,
    /// Choose C, gamma, transform and class weight by stratified k-fold cross-validation (grouped with --group-by).
    #[arg(long)]
    pub tune: bool,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5, requires = "tune")]
    pub folds: usize,
    /// Rows of the tuning sample (stratified, drawn from the training rows); tuning time grows about with its square.
    #[arg(long, default_value_t = 3000, requires = "tune")]
    pub tune_rows: usize,
    /// Larger passes after the grid: the 16 leading cells are scored again on twice the tuning rows, then
    /// the best quarter on twice that, and so on (at most the training rows), each on 2 of the folds; the
    /// choice is made in the last pass.
    #[arg(long, default_value_t = 2, requires = "tune")]
    pub rungs: usize,
    /// Rows of the file outside the training rows on which the last pass scores the chosen cell and the
    /// untuned settings, each fitted on all the training rows (`auto`: as many as the training rows, when
    /// the file has at least 1000 more and is not grouped; `0`: no such pass).
    #[arg(long, default_value = "auto", value_name = "auto|N", requires = "tune")]
    pub held_out: HeldOutRows,
    /// log2 grid: `c=BEGIN:END:STEP,gamma=BEGIN:END:STEP` [default: c=-5:15:2,gamma=3:-15:-2, as libsvm's grid.py].
    #[arg(long, requires = "tune")]
    pub grid: Option<Grid>,
    /// Score that tuning maximises.
    #[arg(long, value_enum, default_value_t = Metric::MacroF1, requires = "tune")]
    pub metric: Metric,
    /// How the cell is chosen: `one-se` (the simplest within one standard error of the top score) or `best`.
    #[arg(long, value_enum, default_value_t = Select::OneSe, requires = "tune")]
    pub select: Select,
    /// Print the cross-validation table as JSON instead of text.
    #[arg(long, requires = "tune")]
    pub json: bool,
    /// Train on at most N rows, sampled per class (every class keeps a floor of rows). `auto`: as many as
    /// a fit of about a minute and a half takes here, within --memory; `all`: every row, when --memory holds them.
    #[arg(long, default_value = "auto", value_name = "auto|all|N")]
    pub max_rows: MaxRows,
    /// Memory budget, MiB: the training rows and the kernel cache stay inside it (the cache shrinks to fit;
    /// rows that cannot fit are refused before any work).
    #[arg(long, default_value_t = 2048, value_name = "MIB")]
    pub memory: usize,
    /// Seed of every random choice (sampling, probability calibration).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Skip the probability calibration (faster; `predict --proba` then refuses this model).
    #[arg(long)]
    pub no_proba: bool,
    /// Kernel cache, MiB (at most what --memory leaves beside the rows).
    #[arg(long, default_value_t = 1024)]
    pub cache_mb: usize,
    /// Also write the rows trained on (features as read, and the label) to this CSV.
    #[arg(long)]
    pub sample_out: Option<PathBuf>,
    /// Print where the time went: each step (reading, sampling, transform, tuning, fit,
    /// calibration, model card) and each pair's solve and calibration times, on stderr.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Training reads its input more than once (labels first, then the sampled
/// rows), so a pipe (`-`, `/dev/stdin`, `<(...)`) cannot be its input.
fn refuse_a_stream(csv: &Path) -> ntc::Result<()> {
    let is_stream = csv.as_os_str() == "-" || std::fs::metadata(csv).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if is_stream {
        let name = if csv.as_os_str() == "-" { "<stdin>".to_string() } else { csv.display().to_string() };
        return Err(ntc::Error::input(format!(
            "{name}: training reads its input twice and needs a regular file, not a pipe: save the flows to a file first"
        )));
    }
    Ok(())
}

/// `--c`: a positive, finite number (`inf`, `nan`, `0` and `1e400` are refused before any work).
fn positive_number(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

/// The class weightings `--tune` tries unless told. `balanced` is left out:
/// on the real flows, grouped by capture, tuning that also tried it chose it
/// on folds where it cost 0.2 of accuracy for no macro-F1, and lost to
/// `none,sqrt` on both (bench/RESULTS.md, "Categorical features on real flows").
const TUNED_CLASS_WEIGHTS: [ClassWeight; 2] = [ClassWeight::None, ClassWeight::Sqrt];

/// The values `--tune` tries for a flag: the ones given, once each in the
/// order given, or `default` when none was given.
fn to_try<T: Clone + PartialEq>(given: &[T], default: &[T]) -> Vec<T> {
    let given = if given.is_empty() { default } else { given };
    let mut out: Vec<T> = Vec::new();
    for v in given {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

pub fn run(a: Args, quiet: bool) -> ntc::Result<()> {
    let mut files = vec![Named::input("the input", &a.csv), Named::output("--model", &a.model)];
    files.extend(a.sample_out.as_deref().map(|p| Named::output("--sample-out", p)));
    ntc::io::refuse_same_file(&files)?;
    refuse_a_stream(&a.csv)?;
    if a.model.as_os_str() == "-" {
        return Err(ntc::Error::input("--model cannot go to stdout; name a file"));
    }
    if a.model == Path::new(super::DEFAULT_MODEL) {
        // The default's directory is made on the first run; a directory the user names must exist, as for every output.
        std::fs::create_dir_all(super::DEFAULT_MODEL_DIR)
            .map_err(|e| ntc::Error::input(format!("{}: cannot create directory: {e}", super::DEFAULT_MODEL_DIR)))?;
    }
    let class_map = ClassMap::from_flag(&a.classes)?;
    let one = |flag: &str, n: usize| -> ntc::Result<()> {
        if n > 1 && !a.tune {
            return Err(ntc::Error::input(format!("--{flag}: give one value, or several with --tune")));
        }
        Ok(())
    };
    one("class-weight", a.class_weight.len())?;
    one("transform", a.transform.len())?;
    let defaults = SvcParams::default();
    let tune = a.tune.then(|| {
        TuneRequest {
            spec: TuneSpec {
                grid: a.grid.clone().unwrap_or_default(),
                transforms: to_try(&a.transform, <Transform as clap::ValueEnum>::value_variants()),
                class_weights: to_try(&a.class_weight, &TUNED_CLASS_WEIGHTS),
                oversample: a.oversample,
                folds: a.folds,
                metric: a.metric,
                select: a.select,
                eps: ntc::tune::CV_EPS,
                seed: a.seed,
                rungs: a.rungs,
                group_by: a.group_by.clone(),
                memory_mb: a.memory.max(1),
            },
            rows: a.tune_rows,
            held_out: a.held_out,
        }
    });
    if a.tune && a.tune_rows < 2 * a.folds {
        return Err(ntc::Error::input("--tune-rows must be at least twice --folds"));
    }
    let req = TrainRequest {
        csv: a.csv,
        class_map,
        label: a.label,
        drop: a.drop.into_iter().filter(|d| !d.is_empty()).collect(),
        categorical: a.categorical.map(|v| v.into_iter().filter(|c| !c.is_empty() && c != "none").collect()),
        server_port: a.server_port,
        group_by: a.group_by,
        svc: SvcParams {
            c: a.c.unwrap_or(defaults.c),
            gamma: a.gamma.unwrap_or(defaults.gamma),
            class_weight: a.class_weight.first().copied().unwrap_or(defaults.class_weight),
            cache_mb: a.cache_mb.max(1),
            probability: !a.no_proba,
            seed: a.seed,
            ..SvcParams::default()
        },
        transform: a.transform.first().copied().unwrap_or_default(),
        oversample: a.oversample,
        tune,
        max_rows: a.max_rows,
        memory_mb: a.memory.max(1),
        sample_out: a.sample_out,
        quiet,
        verbose: a.verbose,
    };
    let mut model_out = Output::create(&a.model)?;
    let trained = train(&req)?;
    let model = trained.model;
    model_out.write_all(&model.to_bytes()?)?;
    // Both in place, or neither: a run that fails or is interrupted before this replaces nothing.
    if let Some(sample) = trained.sample {
        sample.commit()?;
    }
    model_out.commit()?;
    ntc::progress::note(quiet, format!("model written to {}", a.model.display()));
    if let Some(t) = &trained.tuned {
        let text = if a.json {
            let mut json = t.report.to_json(&t.fit_seconds);
            json["tune_seconds"] = t.seconds.into();
            format!("{json:#}\n")
        } else {
            t.report.to_table(&t.fit_seconds)
        };
        super::print_stdout(&text)?;
    }
    Ok(())
}
