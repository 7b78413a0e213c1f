use std::io::Write;
use std::path::{Path, PathBuf};

use ntc::data::classes::ClassMap;
use ntc::data::reader::FlowReader;
use ntc::data::schema::DEFAULT_LABEL;
use ntc::error::display_path;
use ntc::io::{Named, Output};
use ntc::model::Model;
use ntc::report::{self, html, markdown, ReportOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Flow CSV.
    pub csv: PathBuf,
    /// Model to describe, score on this CSV (when it has labels) and compare the traffic with (drift).
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// Output file: HTML when it ends in .html, else Markdown; `-` for stdout.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Write the report's facts as JSON instead (to --output).
    #[arg(long)]
    pub json: bool,
    /// Exit with code 3 when a feature or the predicted class mix has drifted (needs --model); the report is still written.
    #[arg(long, requires = "model")]
    pub fail_on_drift: bool,
    /// Label column, when there is no model to name it.
    #[arg(long, default_value = DEFAULT_LABEL)]
    pub label: String,
    /// How the charts group labels when there is no model: `categories`, `apps` or a `name,class` CSV
    /// (a model groups them its own way). [default: categories]
    #[arg(long, conflicts_with = "model")]
    pub classes: Option<String>,
    /// Rows the model classifies for the evaluation and the predicted class mix: a seeded uniform sample (all rows when the file has no more).
    #[arg(long, default_value_t = 100_000)]
    pub score_rows: usize,
    /// Seed of the samples.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

fn is_html(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
}

pub fn run(a: Args, quiet: bool) -> ntc::Result<()> {
    let mut files = vec![Named::input("the input", &a.csv), Named::output("--output", &a.output)];
    files.extend(a.model.as_deref().map(|m| Named::input("--model", m)));
    ntc::io::refuse_same_file(&files)?;
    if a.score_rows == 0 {
        return Err(ntc::Error::input("--score-rows must be at least 1"));
    }
    let model = a.model.as_deref().map(Model::load).transpose()?;
    let opts = ReportOptions {
        label: &a.label,
        class_map: ClassMap::from_flag(a.classes.as_deref().unwrap_or("categories"))?,
        seed: a.seed,
        score_rows: a.score_rows,
        quiet,
    };
    let mut reader = FlowReader::open(&a.csv)?;
    let name = a.csv.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| display_path(&a.csv));
    let r = report::build(&mut reader, &name, model.as_ref(), &opts)?;
    let text = if a.json {
        let mut j = serde_json::to_string_pretty(&r).map_err(|e| anyhow::anyhow!("encoding JSON: {e}"))?;
        j.push('\n');
        j
    } else if is_html(&a.output) {
        html::render(&r)?
    } else {
        markdown::render(&r, model.as_ref())
    };
    let mut out = Output::create(&a.output)?;
    out.write_all(text.as_bytes())?;
    out.commit()?;
    if !(quiet || a.output.as_os_str() == "-") {
        eprintln!("report written to {}", a.output.display());
    }
    if let Some(d) = r.drift.as_ref().filter(|d| a.fail_on_drift && !d.judged) {
        ntc::progress::note(quiet, format!("note: drift not judged: {} rows, at least {} are needed", d.rows, d.min_rows));
    }
    match &r.drift {
        Some(d) if a.fail_on_drift && d.drifted => Err(ntc::Error::Drift(format!(
            "drift: {} of {} features shifted (PSI > {}), predicted class mix PSI {:.3}; report {}",
            d.shifted_features,
            d.features.len(),
            d.psi_threshold,
            d.class_mix.psi,
            if a.output.as_os_str() == "-" { "on stdout".to_string() } else { format!("in {}", a.output.display()) }
        ))),
        _ => Ok(()),
    }
}
