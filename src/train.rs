//! `ntc train` as a library call: choose the columns, read the labels,
//! sample, read the features, decide what each column becomes, tune, fit,
//! describe. Each step is a function of its own below, in that order.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::budget::{self, FitShape, MaxRows};
use crate::data::classes::ClassMap;
use crate::data::ingest::{self, FirstPass, LabelledRows, Labels};
use crate::data::reader::FlowReader;
use crate::data::{sample, schema};
use crate::drift::TrainingProfile;
use crate::error::{display_path, Error, Result};
use crate::features::{categorical, Columns, FeaturePlan, Preprocessor, Source, Transform};
use crate::metrics::Metrics;
use crate::model::{Model, TrainingInfo};
use crate::progress::{note, Progress};
use crate::svm::multiclass::PairTime;
use crate::svm::{Gamma, SvcParams, SvmModel};
use crate::tune::{self, Oversample, TuneData, TuneSpec, Tuned};

/// The port columns of the Unicauca schema, the default of `--server-port`.
pub const PORT_COLUMNS: (&str, &str) = ("Source.Port", "Destination.Port");

/// The column `--categorical` names by default: a protocol number is a name.
pub const DEFAULT_CATEGORICAL: &str = "Protocol";

/// How the two port columns of a flow are used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerPort {
    /// One categorical feature, the smaller of the two ports, when the file
    /// has `Source.Port` and `Destination.Port`.
    Auto,
    /// The same from these two columns.
    Columns(String, String),
    /// No such feature: port columns are numbers like any other.
    Off,
}

impl std::str::FromStr for ServerPort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(ServerPort::Auto),
            "none" => Ok(ServerPort::Off),
            _ => match s.split_once(',') {
                Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() && !b.contains(',') => {
                    Ok(ServerPort::Columns(a.trim().to_string(), b.trim().to_string()))
                }
                _ => Err(format!("'{s}' is not 'auto', 'none' or two columns 'SRC,DST'")),
            },
        }
    }
}

pub struct TrainRequest {
    pub csv: PathBuf,
    pub class_map: ClassMap,
    pub label: String,
    pub drop: Vec<String>,
    /// Columns of numbers that are names; None: `Protocol`, when the file has it.
    pub categorical: Option<Vec<String>>,
    pub server_port: ServerPort,
    /// `--group-by`: the column whose groups cross-validation keeps in one fold.
    pub group_by: Option<String>,
    pub svc: SvcParams,
    pub transform: Transform,
    pub oversample: Oversample,
    /// Choose C, gamma, transform and class weighting by cross-validation first.
    pub tune: Option<TuneRequest>,
    pub max_rows: MaxRows,
    /// `--memory`, MiB: the rows and the kernel cache stay inside it.
    pub memory_mb: usize,
    /// Also write the sampled training rows (features and label, no identifiers) as CSV.
    pub sample_out: Option<PathBuf>,
    pub quiet: bool,
    /// `-v`: print where the time went, step by step (stderr; `-q` wins).
    pub verbose: bool,
}

/// `--tune`: what to search, on how many rows.
pub struct TuneRequest {
    pub spec: TuneSpec,
    /// Size of the stratified tuning sample (drawn from the training rows).
    pub rows: usize,
    /// `--held-out`: rows outside the training rows for the final pass.
    pub held_out: HeldOutRows,
}

/// `--held-out`: how many rows of the file outside the training rows the
/// final pass of `--tune` scores its candidates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldOutRows {
    /// As many as the training rows (or all there are), when ungrouped and at least [`tune::final_pass::MIN_HELD_OUT`].
    Auto,
    /// At most this many (0: no final pass).
    Rows(usize),
}

impl std::str::FromStr for HeldOutRows {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(HeldOutRows::Auto),
            _ => s.parse().map(HeldOutRows::Rows).map_err(|_| format!("'{s}' is not 'auto' or a number of rows")),
        }
    }
}

/// A trained model, the tuning run that chose its parameters, and the
/// `--sample-out` file, written but not yet in place: the caller commits it
/// with the model, so that a failed run replaces neither.
pub struct Trained {
    pub model: Model,
    pub tuned: Option<Tuned>,
    pub sample: Option<crate::io::Output>,
}

/// Trains a model; progress and a summary go to stderr unless quiet.
pub fn train(req: &TrainRequest) -> Result<Trained> {
    let started = Instant::now();
    let mut phases = Phases::new();
    let name = display_path(&req.csv);
    let mut columns = choose_columns(req, &name)?;
    refuse_what_cannot_be_held(req, &columns)?;
    let labels = read_labels(req, &name)?;
    let classes = Classes::of(req, &name, &labels.labels)?;
    phases.lap("read the labels (first pass over the file)");
    let shape = fit_shape(req, &columns, labels.labels.len());
    let rows = sample_rows(req, &labels.labels, &classes, &shape)?;
    let held_out_rows = held_out_rows(req, &labels.labels, rows.as_deref());
    note_final_pass(req, &shape, rows.as_ref().map_or(0, Vec::len), held_out_rows.as_ref().map(Vec::len));
    let kinds = column_kinds(req, &name, &columns, &labels.labels)?;
    phases.lap("choose the rows and columns");
    let (data, held_out) = read_features(req, &name, &kinds, rows.as_deref(), held_out_rows.as_deref(), &labels.labels)?;
    let held_out = held_out.map(|cols| (cols, of_rows(&classes.of_row, held_out_rows.as_deref())));
    let y = of_rows(&classes.of_row, rows.as_deref());
    let plan = feature_plan(req, &kinds, &data.cols, &mut columns.dropped);
    phases.lap(&format!("read the features of {} rows (second pass)", crate::text::thousands(y.len() as u64)));
    let sample = req.sample_out.as_deref().map(|path| write_sample(path, &data.cols, &plan, &req.label, &data.labels)).transpose()?;
    note_duplicates(req, &labels.labels);
    let groups = labels.labels.group.as_deref().map(|g| of_rows(g, rows.as_deref()));
    let mut choice = Choice { svc: req.svc.clone(), transform: req.transform, oversample: req.oversample };
    // Held-out rows live twice (as read, encoded), where training rows count six copies.
    let held_out_share = held_out.as_ref().map_or(0, |(_, y)| y.len().div_ceil(3));
    choice.svc.cache_mb = kernel_cache(req, &shape, y.len() + held_out_share);
    if sample.is_some() {
        phases.lap("write --sample-out");
    }
    let mut tuned = match &req.tune {
        Some(t) => {
            let held_out = held_out.as_ref().map(|(cols, y)| tune::HeldOut { cols, y });
            let data = TuneData { cols: &data.cols, plan: &plan, y: &y, groups: groups.as_deref(), held_out, cache_mb: choice.svc.cache_mb };
            Some(tune_parameters(req, t, &data, &classes.names, &mut choice)?)
        }
        None => None,
    };
    if tuned.is_some() {
        phases.lap("tune (cross-validation)");
    }
    let chosen_fit = tuned.as_mut().and_then(|t| t.fit.take());
    let mut fitted = fit(req, &data.cols, &plan, &y, &classes.names, &choice, chosen_fit, &mut columns.dropped, &mut phases)?;
    let pair_times = std::mem::take(&mut fitted.pair_times);
    let model = describe(req, labels, classes, &data.cols, &y, fitted, &choice, tuned.as_ref(), columns.dropped);
    phases.lap("model card (training profile for drift)");
    note(!req.verbose || req.quiet, phases.to_text(&pair_times, &model.classes, &model.svm.tied()));
    note(
        req.quiet,
        format!(
            "trained on {} of {} rows: {} classes, {} features{}, {} support vectors, gamma {:.4e}, training accuracy {:.4} ({:.1}s)",
            model.training.rows_used,
            model.training.rows_in_file,
            model.classes.len(),
            model.preprocessor.n_features(),
            categorical_summary(&model.preprocessor),
            model.svm.n_support_vectors(),
            model.svm.gamma,
            model.training.training_metrics.accuracy,
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(Trained { model, tuned, sample })
}

/// The values of the sampled rows (all of them without a sample).
fn of_rows<T: Copy>(all: &[T], rows: Option<&[usize]>) -> Vec<T> {
    match rows {
        Some(r) => r.iter().map(|&i| all[i]).collect(),
        None => all.to_vec(),
    }
}

/// The header's columns that may be features, and those left out with the reason.
struct ColumnChoice {
    headers: Vec<String>,
    candidates: Vec<String>,
    dropped: Vec<(String, String)>,
}

fn choose_columns(req: &TrainRequest, name: &str) -> Result<ColumnChoice> {
    let headers = FlowReader::open(&req.csv)?.headers().to_vec();
    if !headers.iter().any(|h| h == &req.label) {
        return Err(Error::input(format!(
            "{name}:1: no label column '{}' (use --label to name the column holding the labels)",
            req.label
        )));
    }
    for d in &req.drop {
        if !headers.iter().any(|h| h == d) {
            return Err(Error::input(format!("--drop: no column '{d}' in {name}")));
        }
    }
    if let Some(g) = &req.group_by {
        if !headers.iter().any(|h| h == g) {
            return Err(Error::input(format!("{name}:1: --group-by: no column '{g}' in the header")));
        }
        if g == &req.label {
            return Err(Error::input(format!("--group-by {g}: that is the label column")));
        }
    }
    let mut dropped: Vec<(String, String)> = Vec::new();
    let mut candidates = Vec::new();
    for h in &headers {
        if h == &req.label {
            continue;
        } else if schema::is_private(h) {
            dropped.push((h.clone(), "identifier (never used, never stored)".into()));
        } else if schema::is_excluded(h) {
            dropped.push((h.clone(), "label or label leak".into()));
        } else if req.drop.contains(h) {
            dropped.push((h.clone(), "--drop".into()));
        } else if req.group_by.as_ref() == Some(h) {
            dropped.push((h.clone(), "--group-by (the folds' groups: never a feature, never stored)".into()));
        } else {
            candidates.push(h.clone());
        }
    }
    if candidates.is_empty() {
        return Err(Error::input(format!("{name}: no feature columns left to train on")));
    }
    Ok(ColumnChoice { headers, candidates, dropped })
}

/// Pass 1 and the file's fingerprint.
struct FirstRead {
    labels: Labels,
    sha256: String,
}

fn read_labels(req: &TrainRequest, name: &str) -> Result<FirstRead> {
    let spin = Progress::spinner(&format!("reading labels of {name}"), req.quiet);
    let opts = FirstPass {
        label: &req.label,
        group: req.group_by.as_deref(),
        count_duplicates: req.tune.is_some() && req.group_by.is_none(),
    };
    let (labels, sha256) = ingest::read_labels(&req.csv, &opts)?;
    drop(spin);
    if labels.is_empty() {
        return Err(Error::input(format!("{name}: no data rows (header only)")));
    }
    Ok(FirstRead { labels, sha256 })
}

/// The model's classes and every row's class.
struct Classes {
    names: Vec<String>,
    of_row: Vec<usize>,
}

impl Classes {
    fn of(req: &TrainRequest, name: &str, labels: &Labels) -> Result<Classes> {
        let mut label_class = Vec::with_capacity(labels.names.len());
        for (l, &line) in labels.names.iter().zip(&labels.first_line) {
            let c = req.class_map.class_of(l).ok_or_else(|| {
                Error::at(name, line, Some(&req.label), format!("label '{l}' is not in the class mapping"))
            })?;
            label_class.push(c);
        }
        let names: Vec<String> = label_class.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        let index: Vec<usize> = label_class.iter().map(|c| names.binary_search(c).expect("class listed")).collect();
        if names.len() < 2 {
            return Err(Error::input(format!(
                "{name}: every row is of class '{}': a classifier needs at least two classes",
                names[0]
            )));
        }
        Ok(Classes { names, of_row: labels.row.iter().map(|&l| index[l as usize]).collect() })
    }
}

/// The fit's shape for the estimates: the file's rows, about one feature per candidate column.
fn fit_shape(req: &TrainRequest, columns: &ColumnChoice, file_rows: usize) -> FitShape {
    FitShape {
        file_rows,
        features: columns.candidates.len(),
        probability: req.svc.probability,
        threads: rayon::current_num_threads(),
    }
}

/// `--max-rows all` on a file too large for the budget: refused from the file's
/// size, in a second, before the file is read (a gzip file is counted first).
fn refuse_what_cannot_be_held(req: &TrainRequest, columns: &ColumnChoice) -> Result<()> {
    if req.max_rows != MaxRows::All {
        return Ok(());
    }
    if let Some(rows) = budget::rows_in_file_estimate(&req.csv) {
        fit_shape(req, columns, rows).check(rows, false, req.memory_mb, "--max-rows all")?;
    }
    Ok(())
}

/// `--max-rows`: the rows trained on (None: all of them). Says what was capped
/// and what a large fit is expected to cost; refuses one the budget cannot hold.
fn sample_rows(req: &TrainRequest, labels: &Labels, classes: &Classes, shape: &FitShape) -> Result<Option<Vec<usize>>> {
    let n = labels.len();
    let cap = match req.max_rows {
        MaxRows::Auto => shape.auto_rows(req.memory_mb),
        MaxRows::All => n,
        MaxRows::Rows(m) => m.min(n),
    };
    if req.max_rows != MaxRows::Auto {
        shape.check(cap, true, req.memory_mb, &format!("--max-rows {}", req.max_rows))?;
    }
    let rows = (cap < n).then(|| sample::stratified(&classes.of_row, classes.names.len(), cap, req.svc.seed));
    let used = rows.as_ref().map_or(n, Vec::len);
    let e = shape.estimate(used, shape.cache_mb(used, req.svc.cache_mb, req.memory_mb));
    let cost = format!("a fit estimated at about {} and {} here", crate::text::duration_text(e.seconds), crate::text::bytes_text(e.bytes));
    if req.max_rows == MaxRows::Auto && used < n {
        note(
            req.quiet,
            format!(
                "note: --max-rows auto: training on {} of {} rows ({cost}); --max-rows N or all to change it",
                crate::text::thousands(used as u64),
                crate::text::thousands(n as u64)
            ),
        );
    } else if used != cap {
        // The class floor: every class keeps some rows, so a tiny cap is exceeded.
        note(
            req.quiet,
            format!(
                "note: --max-rows {cap}: training on {} rows, since every class keeps at least {} (or all it has)",
                crate::text::thousands(used as u64),
                sample::class_floor(cap, classes.names.len())
            ),
        );
    } else if e.seconds > budget::AUTO_FIT_SECONDS {
        note(req.quiet, format!("note: fitting on {} rows: {cost}", crate::text::thousands(used as u64)));
    }
    Ok(rows)
}

/// `--cache-mb`, cut to what the `--memory` budget leaves beside the rows (said when cut).
fn kernel_cache(req: &TrainRequest, shape: &FitShape, rows: usize) -> usize {
    let mb = shape.cache_mb(rows, req.svc.cache_mb, req.memory_mb);
    if mb < req.svc.cache_mb {
        note(req.quiet, format!("note: kernel cache {mb} MiB (--cache-mb {} does not fit in --memory {} beside the rows)", req.svc.cache_mb, req.memory_mb));
    }
    mb
}

/// Whether each candidate column is read as numbers or as text.
struct ColumnKinds {
    numeric: Vec<String>,
    text: Vec<String>,
    /// Numeric columns that are categories (`--categorical`).
    categorical: Vec<String>,
    server_port: Option<(String, String)>,
}

fn column_kinds(req: &TrainRequest, name: &str, columns: &ColumnChoice, labels: &Labels) -> Result<ColumnKinds> {
    let (headers, candidates) = (&columns.headers, &columns.candidates);
    // The Unicauca columns are numbers by contract: a word in one is an error, not a category.
    let is_text = |c: &String| {
        let j = headers.iter().position(|h| h == c).expect("a candidate is in the header");
        !schema::UNICAUCA_COLUMNS.contains(&c.as_str()) && ingest::column_is_text(labels.survey[j])
    };
    let (text, numeric): (Vec<String>, Vec<String>) = candidates.iter().cloned().partition(is_text);
    let categorical: Vec<String> = match &req.categorical {
        None => numeric.iter().filter(|c| *c == DEFAULT_CATEGORICAL).cloned().collect(),
        Some(list) => {
            for c in list {
                if !candidates.contains(c) {
                    return Err(Error::input(format!("--categorical: no feature column '{c}' in {name}")));
                }
            }
            numeric.iter().filter(|c| list.contains(c)).cloned().collect()
        }
    };
    let server_port = match &req.server_port {
        ServerPort::Off => None,
        ServerPort::Auto => {
            let (a, b) = PORT_COLUMNS;
            (numeric.iter().any(|c| c == a) && numeric.iter().any(|c| c == b)).then(|| (a.to_string(), b.to_string()))
        }
        ServerPort::Columns(a, b) => {
            for c in [a, b] {
                if !numeric.contains(c) {
                    return Err(Error::input(format!("--server-port: no numeric feature column '{c}' in {name}")));
                }
            }
            Some((a.clone(), b.clone()))
        }
    };
    Ok(ColumnKinds { numeric, text, categorical, server_port })
}

/// `--tune`'s held-out rows ([`HeldOutRows`]): rows outside the training
/// sample, drawn at random. None when every row trains, when grouped (the
/// training sample is not drawn by group, so other rows of its groups would
/// be near-copies of training rows), or when too few are left.
fn held_out_rows(req: &TrainRequest, labels: &Labels, rows: Option<&[usize]>) -> Option<Vec<usize>> {
    let t = req.tune.as_ref()?;
    let explicit = matches!(t.held_out, HeldOutRows::Rows(n) if n > 0);
    let Some(rows) = rows else {
        note(!explicit || req.quiet, "note: --held-out: every row of the file trains, none is left to hold out: no final pass");
        return None;
    };
    if req.group_by.is_some() {
        note(
            !explicit || req.quiet,
            "note: --held-out: no final pass with --group-by (the training rows are not drawn by group, so the rest of their groups would be held out beside them)",
        );
        return None;
    }
    let (want, least) = match t.held_out {
        HeldOutRows::Auto => (rows.len(), tune::final_pass::MIN_HELD_OUT),
        HeldOutRows::Rows(0) => return None,
        HeldOutRows::Rows(n) => (n, 1),
    };
    let spare = labels.len() - rows.len();
    if spare < least {
        return None;
    }
    // Another stream than the training sample's, from the same seed.
    Some(sample::outside(labels.len(), rows, want.min(spare), req.svc.seed ^ 0x4845_4C44_4F55_5421))
}

/// Says what the final pass of `--tune` will cost when it is more than a moment.
fn note_final_pass(req: &TrainRequest, shape: &FitShape, rows: usize, held_out: Option<usize>) {
    let (Some(t), Some(held)) = (&req.tune, held_out) else { return };
    let fits = 1 + t.spec.class_weights.len();
    let each = FitShape { probability: false, ..*shape }.seconds(rows);
    if each * fits as f64 > 30.0 {
        note(
            req.quiet,
            format!(
                "note: --tune: the final pass fits up to {fits} candidates on the {} training rows (about {} each here) and scores them on {} held-out rows; --held-out 0 skips it",
                crate::text::thousands(rows as u64),
                crate::text::duration_text(each),
                crate::text::thousands(held as u64)
            ),
        );
    }
}

/// Pass 2: the sampled rows' columns, and the held-out rows' (read in the same pass).
fn read_features(
    req: &TrainRequest,
    name: &str,
    kinds: &ColumnKinds,
    rows: Option<&[usize]>,
    held_out: Option<&[usize]>,
    labels: &Labels,
) -> Result<(LabelledRows, Option<Columns>)> {
    let spin = Progress::spinner(&format!("reading features of {name}"), req.quiet);
    let read = |rows: Option<&[usize]>| ingest::read_rows(&req.csv, &kinds.numeric, &kinds.text, &req.label, rows, labels);
    let (Some(train), Some(held)) = (rows, held_out) else {
        let data = read(rows)?;
        drop(spin);
        return Ok((data, None));
    };
    // Both sets of rows are ascending and disjoint: one merged read, split by position.
    let mut both: Vec<usize> = train.iter().chain(held).copied().collect();
    both.sort_unstable();
    let all = read(Some(&both))?;
    drop(spin);
    let position = |wanted: &[usize]| -> Vec<usize> { wanted.iter().map(|i| both.binary_search(i).expect("a merged row")).collect() };
    let (at_train, at_held) = (position(train), position(held));
    let data = LabelledRows { cols: all.cols.select(&at_train), labels: at_train.iter().map(|&p| all.labels[p].clone()).collect() };
    Ok((data, Some(all.cols.select(&at_held))))
}

/// What each column becomes: numbers, categories from numbers (protocol,
/// server port), categories from text. A text column of addresses or of
/// a different value in nearly every row is left out, and said so.
fn feature_plan(req: &TrainRequest, kinds: &ColumnKinds, cols: &Columns, dropped: &mut Vec<(String, String)>) -> FeaturePlan {
    let mut plan = FeaturePlan::default();
    let port_columns: Vec<&String> = kinds.server_port.iter().flat_map(|(a, b)| [a, b]).collect();
    for c in &kinds.numeric {
        if kinds.categorical.contains(c) {
            plan.categorical.push(Source::Number(c.clone()));
        } else if !port_columns.contains(&c) {
            plan.numeric.push(c.clone());
        }
    }
    if let Some((a, b)) = &kinds.server_port {
        plan.categorical.push(Source::ServerPort(a.clone(), b.clone()));
    }
    for t in &cols.text {
        match categorical::not_a_category(&t.values, &t.codes) {
            Some(why) => {
                note(req.quiet, format!("note: column '{}' left out: {why} (--drop {n} or --group-by {n} to say so)", t.name, n = t.name));
                dropped.push((t.name.clone(), why));
            }
            None => plan.categorical.push(Source::Text(t.name.clone())),
        }
    }
    plan
}

/// Says when exact copies of rows make random folds optimistic.
fn note_duplicates(req: &TrainRequest, labels: &Labels) {
    if let Some(d) = labels.duplicate_rows.filter(|&d| d > 0) {
        note(
            req.quiet,
            format!(
                "note: {d} of {} rows are exact copies of an earlier row; random folds put copies on both sides, which inflates \
                 the cross-validation scores: --group-by COLUMN (a capture, or a host such as Source.IP) keeps related flows in one fold",
                labels.len()
            ),
        );
    }
}

/// The parameters of the final fit.
struct Choice {
    svc: SvcParams,
    transform: Transform,
    oversample: Oversample,
}

fn tune_parameters(req: &TrainRequest, t: &TuneRequest, data: &TuneData, classes: &[String], choice: &mut Choice) -> Result<Tuned> {
    let tuned = tune::tune(data, classes, t.rows, &t.spec, req.quiet)?;
    let report = &tuned.report;
    let best = report.chosen();
    let largest = report.cells.iter().filter(|c| c.stage == tune::Stage::Rung).map(|c| c.rows).max();
    let finals = report.cells.iter().filter(|c| c.stage == tune::Stage::Final).count();
    note(
        req.quiet,
        format!(
            "tuning: {} cells x {} on {} rows{}{} in {:.1} s; chosen {}",
            report.cells.len(),
            report.folds_description(),
            report.rows,
            largest.map_or(String::new(), |l| format!(", the leading ones again on up to {l}")),
            if finals > 0 {
                format!(
                    ", then {finals} fitted on all {} training rows and scored on {} held-out rows",
                    crate::text::thousands(data.y.len() as u64),
                    crate::text::thousands(report.held_out_rows)
                )
            } else {
                String::new()
            },
            tuned.seconds,
            tune::describe(best, t.spec.metric)
        ),
    );
    choice.svc.c = best.c();
    choice.svc.gamma = Gamma::Value(best.gamma());
    choice.svc.class_weight = best.class_weight;
    choice.transform = best.transform;
    choice.oversample = best.oversample;
    Ok(tuned)
}

/// The fitted preprocessor and SVM, with what fitting noticed.
struct Fitted {
    pre: Preprocessor,
    svm: SvmModel,
    training_metrics: Metrics,
    imputed_cells: u64,
    pair_times: Vec<PairTime>,
}

/// Wall time of each step of a training run, for `train -v`.
struct Phases {
    last: Instant,
    steps: Vec<(String, f64)>,
}

impl Phases {
    fn new() -> Phases {
        Phases { last: Instant::now(), steps: Vec::new() }
    }

    /// Ends a step: the time since the previous one goes to `name`.
    fn lap(&mut self, name: &str) {
        let now = Instant::now();
        self.steps.push((name.to_string(), (now - self.last).as_secs_f64()));
        self.last = now;
    }

    /// The steps, then each pair's solve and calibration times (pairs run in parallel: their
    /// times add up to more than the fit's wall time).
    fn to_text(&self, pairs: &[PairTime], classes: &[String], tied: &crate::svm::tied::TiedFeatures) -> String {
        let total: f64 = self.steps.iter().map(|s| s.1).sum();
        let mut out = String::from("where the time went (wall seconds):\n");
        for (name, secs) in &self.steps {
            out.push_str(&format!("  {name:<52} {secs:>9.2} s  {:>5.1}%\n", 100.0 * secs / total.max(1e-12)));
        }
        out.push_str(&format!("  {:<52} {total:>9.2} s\n", "total"));
        let solve: f64 = pairs.iter().map(|p| p.solve_seconds).sum();
        let calibration: f64 = pairs.iter().map(|p| p.calibration_seconds).sum();
        out.push_str(&format!(
            "  kernel: {} of {} features dotted ({} equal to another in every training row, dotted with it)\n",
            tied.len(),
            tied.d(),
            tied.d() - tied.len()
        ));
        out.push_str(&format!(
            "  pairs ({} on {} threads): solve {solve:.2} s, calibration {calibration:.2} s of their summed time\n",
            pairs.len(),
            rayon::current_num_threads()
        ));
        for p in pairs {
            out.push_str(&format!(
                "    {} - {}: {} rows, {} iterations, solve {:.2} s, calibration {:.2} s\n",
                classes[p.a],
                classes[p.b],
                crate::text::thousands(p.rows as u64),
                crate::text::thousands(p.iterations),
                p.solve_seconds,
                p.calibration_seconds
            ));
        }
        out.pop();
        out
    }
}

fn fit(
    req: &TrainRequest,
    cols: &Columns,
    plan: &FeaturePlan,
    y: &[usize],
    classes: &[String],
    choice: &Choice,
    chosen_fit: Option<tune::FinalFit>,
    dropped: &mut Vec<(String, String)>,
    phases: &mut Phases,
) -> Result<Fitted> {
    let k = classes.len();
    let (pre, xs, summary) = Preprocessor::fit(cols, plan, choice.transform)?;
    phases.lap("transform and scale the features");
    for c in &summary.constant {
        dropped.push((c.clone(), "constant in the training rows".into()));
    }
    let d = pre.n_features();
    let xs = xs.as_standard_layout().into_owned().into_raw_vec_and_offset().0;
    let spin = Progress::spinner(
        &format!("fitting RBF SVM on {} rows x {d} features ({k} classes, {} pairs)", y.len(), k * (k - 1) / 2),
        req.quiet,
    );
    let oversampled = (choice.oversample == Oversample::Smote).then(|| tune::smote::oversample(&xs, d, y, k, choice.svc.seed));
    let (x_fit, y_fit) = oversampled.as_ref().map_or((&xs[..], y), |(xo, yo)| (&xo[..], &yo[..]));
    let reused = chosen_fit.is_some();
    let (svm, pair_times, duals) = match chosen_fit {
        // Tuning's final pass fitted these rows with these settings already.
        Some(tune::FinalFit { mut svm, mut pair_times, duals }) => {
            if choice.svc.probability {
                for (t, s) in pair_times.iter_mut().zip(svm.calibrate(x_fit, y_fit, &choice.svc, &duals)) {
                    t.calibration_seconds = s;
                }
            }
            (svm, pair_times, duals)
        }
        None => {
            let fit = SvmModel::fit_timed(x_fit, d, y_fit, k, &choice.svc)?;
            (fit.svm, fit.pair_times, fit.duals)
        }
    };
    drop(spin);
    phases.lap(match (reused, choice.svc.probability) {
        (true, true) => "calibrate the final pass's fit",
        (true, false) => "(the final pass's fit is the model)",
        (false, true) => "fit the SVM pairs, with calibration",
        (false, false) => "fit the SVM pairs",
    });
    let predicted = match oversampled {
        // SMOTE's rows are in the fit too: its decision values are not the training rows'.
        Some(_) => svm.predict(&xs, false).class,
        None => svm.training_classes(&xs, d, y, &duals),
    };
    let training_metrics = Metrics::from_pairs(y, &predicted, classes);
    phases.lap("training accuracy (predict the training rows)");
    Ok(Fitted { pre, svm, training_metrics, imputed_cells: summary.imputed_cells, pair_times })
}

/// The model and its card.
#[allow(clippy::too_many_arguments)]
fn describe(
    req: &TrainRequest,
    first: FirstRead,
    classes: Classes,
    cols: &Columns,
    y: &[usize],
    fitted: Fitted,
    choice: &Choice,
    tuned: Option<&Tuned>,
    dropped: Vec<(String, String)>,
) -> Model {
    let k = classes.names.len();
    let mut in_file = vec![0u64; k];
    for &c in &classes.of_row {
        in_file[c] += 1;
    }
    let mut used = vec![0u64; k];
    for &c in y {
        used[c] += 1;
    }
    // Drift compares the raw numeric inputs: the numeric features, and the
    // numbers categories are made of (protocol, ports).
    let inputs = fitted.pre.numeric_inputs();
    let profile = {
        let idx: Vec<usize> =
            inputs.iter().map(|f| cols.numeric_names.iter().position(|c| c == f).expect("numeric inputs were read")).collect();
        let raw = cols.numeric.select(ndarray::Axis(1), &idx);
        let raw = raw.as_standard_layout();
        TrainingProfile::from_rows(raw.as_slice().expect("standard layout"), &inputs, y, &in_file)
    };
    let svc = &choice.svc;
    let info = TrainingInfo {
        file_name: req.csv.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        file_sha256: first.sha256,
        rows_in_file: first.labels.len() as u64,
        rows_used: y.len() as u64,
        rows_per_class: classes.names.iter().enumerate().map(|(i, c)| (c.clone(), in_file[i], used[i])).collect(),
        seed: req.svc.seed,
        max_rows: match req.max_rows {
            MaxRows::Rows(m) => Some(m as u64),
            MaxRows::Auto => (y.len() < first.labels.len()).then_some(y.len() as u64),
            MaxRows::All => None,
        },
        label_column: req.label.clone(),
        c: svc.c,
        gamma_flag: match svc.gamma {
            Gamma::Scale => "scale".into(),
            Gamma::Value(v) => v.to_string(),
        },
        class_weight: tune::weight_name(svc.class_weight).into(),
        transform: choice.transform.name().into(),
        oversample: tune::oversample_name(choice.oversample).into(),
        tuning: tuned.map(|t| t.report.clone()),
        dropped_columns: dropped,
        imputed_cells: fitted.imputed_cells,
        training_metrics: fitted.training_metrics,
        profile,
    };
    Model {
        ntc_version: crate::NTC_VERSION.to_string(),
        class_map: req.class_map.clone(),
        classes: classes.names,
        preprocessor: fitted.pre,
        svm: fitted.svm,
        training: info,
    }
}

/// `, of them 70 one-hot for Protocol, server port` (empty without categories).
fn categorical_summary(pre: &Preprocessor) -> String {
    if pre.categorical.is_empty() {
        return String::new();
    }
    let names: Vec<String> = pre.categorical.iter().map(|f| f.source.name()).collect();
    format!(
        " ({} numeric, {} one-hot for {})",
        pre.numeric.n_features(),
        pre.n_features() - pre.numeric.n_features(),
        names.join(", ")
    )
}

/// The sampled training rows as CSV: the columns the features are made of,
/// as read (before imputation), and the label. Text columns left out as
/// identifiers are not written. Returned unfinished: see [`Trained::sample`].
fn write_sample(path: &Path, cols: &Columns, plan: &FeaturePlan, label: &str, labels: &[String]) -> Result<crate::io::Output> {
    let text: Vec<&crate::features::TextColumn> =
        cols.text.iter().filter(|t| plan.categorical.contains(&Source::Text(t.name.clone()))).collect();
    let mut out = crate::io::Output::create(path)?;
    let mut w = csv::Writer::from_writer(&mut out);
    let mut header: Vec<&str> = cols.numeric_names.iter().map(String::as_str).collect();
    header.extend(text.iter().map(|t| t.name.as_str()));
    header.push(label);
    w.write_record(&header).map_err(anyhow::Error::from)?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for (i, (row, l)) in cols.numeric.outer_iter().zip(labels).enumerate() {
        rec.clear();
        rec.extend(row.iter().map(|v| if v.is_nan() { String::new() } else { v.to_string() }));
        rec.extend(text.iter().map(|t| t.value(i).to_string()));
        rec.push(l.clone());
        w.write_record(&rec).map_err(anyhow::Error::from)?;
    }
    w.flush()?;
    drop(w);
    Ok(out)
}
