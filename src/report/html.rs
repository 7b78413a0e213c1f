//! The HTML report: one self-contained page (inline CSS and SVG, no
//! scripts, nothing fetched), readable on screen and in print.

use std::fmt::Write;

use super::charts::{self, Bars, GroupedBars, Heatmap, Palette};
use super::{number, DataSection, DriftSection, Evaluation, ModelSection, Report};
use crate::error::Result;

/// Features in the drift chart (the table lists them all).
const DRIFT_CHART_FEATURES: usize = 25;

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { border-bottom: 2px solid #0072b2; padding-bottom: 4px; margin-top: 40px; }
h3 { margin-top: 28px; }
.sub { color: #555; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px 16px; min-width: 130px; }
.card b { display: block; font-size: 1.4em; }
.alert { border-left: 6px solid #d55e00; background: #fff4ec; padding: 10px 14px; }
.fine { border-left: 6px solid #009e73; background: #eefaf5; padding: 10px 14px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 6px; max-width: 100%; }
figure svg { max-width: 100%; height: auto; display: block; }
.half svg { width: 520px; }
table { border-collapse: collapse; background: #fff; font-size: 0.9em; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.flag td { background: #fff4ec; }
nav a { margin-right: 14px; color: #0072b2; }
code { background: #eee; padding: 0 3px; }
@media print { body { background: #fff; } details { display: block; } figure { break-inside: avoid; } nav { display: none; } }
"#;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}


fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}


fn figure(out: &mut String, svg: &str, class: &str) {
    writeln!(out, "<figure class=\"{class}\">{svg}</figure>").unwrap();
}

pub fn render(r: &Report) -> Result<String> {
    let mut s = String::new();
    writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ntc report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>",
        esc(&r.file_name)
    )
    .unwrap();
    writeln!(s, "<h1>ntc report: {}</h1>", esc(&r.file_name)).unwrap();
    writeln!(
        s,
        "<p class=\"sub\">Made by ntc {}. Identifier columns (addresses, flow IDs, timestamps) are counted, never shown.</p>",
        crate::NTC_VERSION
    )
    .unwrap();
    summary(&mut s, r);
    write!(s, "<nav><a href=\"#data\">Data</a>").unwrap();
    if r.model.is_some() {
        write!(s, "<a href=\"#model\">Model</a>").unwrap();
    }
    if r.evaluation.is_some() {
        write!(s, "<a href=\"#evaluation\">Evaluation</a>").unwrap();
    }
    if r.drift.is_some() {
        write!(s, "<a href=\"#drift\">Drift</a>").unwrap();
    }
    writeln!(s, "</nav>").unwrap();
    if let Some(d) = &r.drift {
        drift(&mut s, d)?;
    }
    data(&mut s, &r.data)?;
    if let Some(m) = &r.model {
        model(&mut s, m)?;
    }
    if let Some(e) = &r.evaluation {
        evaluation(&mut s, e)?;
    }
    if let Some(l) = &r.left_out {
        if r.evaluation.is_none() {
            writeln!(s, "<h2 id=\"evaluation\">Evaluation on this file</h2>").unwrap();
        }
        writeln!(s, "<p>{}</p>", esc(&l.describe(r.evaluation.is_some()))).unwrap();
    }
    writeln!(s, "</main>\n</body>\n</html>").unwrap();
    Ok(s)
}

fn summary(s: &mut String, r: &Report) {
    let d = &r.data;
    writeln!(s, "<div class=\"cards\">").unwrap();
    let mut card = |label: &str, value: String| writeln!(s, "<div class=\"card\">{label}<b>{value}</b></div>", ).unwrap();
    card("rows", crate::text::thousands(d.rows));
    card("columns", d.columns.to_string());
    card("duplicate rows", crate::text::thousands(d.duplicate_rows));
    if !d.class_counts.is_empty() {
        card("classes", d.class_counts.len().to_string());
    }
    if let Some(e) = &r.evaluation {
        card("macro-F1 on this file", format!("{:.4}", e.metrics.macro_f1));
        card("accuracy on this file", format!("{:.4}", e.metrics.accuracy));
    }
    if let Some(dr) = &r.drift {
        let verdict = if !dr.judged { "too few rows" } else if dr.drifted { "DRIFT" } else { "none" };
        card("drift", verdict.to_string());
    }
    writeln!(s, "</div>").unwrap();
}

fn data(s: &mut String, d: &DataSection) -> Result<()> {
    writeln!(s, "<h2 id=\"data\">Data</h2>").unwrap();
    writeln!(
        s,
        "<p>{} rows, {} columns. {} rows repeat an earlier row exactly; {} repeat one when identifier columns are ignored.{}</p>",
        crate::text::thousands(d.rows),
        d.columns,
        crate::text::thousands(d.duplicate_rows),
        crate::text::thousands(d.duplicate_flows_ignoring_identifiers),
        if d.identifier_columns_not_profiled.is_empty() {
            String::new()
        } else {
            format!(" Not profiled (privacy): {}.", esc(&d.identifier_columns_not_profiled.join(", ")))
        }
    )
    .unwrap();
    if !d.class_counts.is_empty() {
        writeln!(s, "<h3>Class distribution</h3>").unwrap();
        let total = d.rows.max(1) as f64;
        let svg = charts::bars(&Bars {
            title: "Rows per class",
            x_desc: "share of rows (%)",
            names: d.class_counts.iter().map(|c| c.0.clone()).collect(),
            values: d.class_counts.iter().map(|c| 100.0 * c.1 as f64 / total).collect(),
            value_label: &|v| format!("{v:.2}%"),
            threshold: None,
        })?;
        figure(s, &svg, "");
        writeln!(
            s,
            "<details><summary>Rows per label of <code>{}</code> ({} labels)</summary>",
            esc(d.label_column.as_deref().unwrap_or("")),
            d.label_counts.len()
        )
        .unwrap();
        writeln!(s, "<table><tr><th>label</th><th class=\"n\">rows</th><th class=\"n\">share</th></tr>").unwrap();
        for (l, n) in &d.label_counts {
            writeln!(s, "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>", esc(l), crate::text::thousands(*n), pct(*n as f64 / total)).unwrap();
        }
        writeln!(s, "</table></details>").unwrap();
    }

    if !d.box_plots.is_empty() {
        writeln!(s, "<h3>Most informative features</h3>").unwrap();
        writeln!(
            s,
            "<p>The features whose log-transformed values differ most between classes (share of the variance between classes, on up to {} rows per class). Boxes span the middle half of the flows, whiskers the 5th to 95th percentile; the axis is logarithmic.</p>",
            super::profile::CLASS_SAMPLE
        )
        .unwrap();
        writeln!(s, "<div class=\"charts\">").unwrap();
        for fb in &d.box_plots {
            figure(s, &charts::box_plot(&fb.feature, &fb.boxes)?, "half");
        }
        writeln!(s, "</div>").unwrap();
        writeln!(s, "<details><summary>Ranking of all features</summary><table><tr><th>feature</th><th class=\"n\">between-class share</th></tr>").unwrap();
        for (f, v) in &d.informative_features {
            writeln!(s, "<tr><td>{}</td><td class=\"n\">{v:.3}</td></tr>", esc(f)).unwrap();
        }
        writeln!(s, "</table></details>").unwrap();
    }

    let c = &d.correlation;
    if c.features.len() > 1 {
        writeln!(s, "<h3>Feature correlation</h3>").unwrap();
        writeln!(
            s,
            "<p>Pearson correlation of the log-transformed values of the {} most informative features, on a uniform sample of {} rows. Strongly correlated features carry the same information.</p>",
            c.features.len(),
            crate::text::thousands(c.rows as u64)
        )
        .unwrap();
        let n = c.features.len();
        let svg = charts::heatmap(&Heatmap {
            title: "Feature correlation",
            x_desc: "feature (numbered as the rows)",
            y_desc: "",
            x_labels: (1..=n).map(|i| i.to_string()).collect(),
            y_labels: c.features.iter().enumerate().map(|(i, f)| format!("{} {f}", i + 1)).collect(),
            values: c.matrix.iter().flatten().copied().collect(),
            range: (-1.0, 1.0),
            palette: Palette::Diverging,
            cell_text: Some(&|_, _, v| format!("{v:.2}")),
            highlight: None,
            legend: "r",
        })?;
        figure(s, &svg, "");
    }

    writeln!(s, "<h3>Columns</h3>").unwrap();
    let constant = &d.constant_columns;
    if constant.is_empty() {
        writeln!(s, "<p>No constant columns.</p>").unwrap();
    } else {
        writeln!(s, "<p>{} columns hold a single value (useless to a model): {}.</p>", constant.len(), esc(&constant.join(", "))).unwrap();
    }
    let with_gaps: Vec<_> = d.column_stats.iter().filter(|c| c.missing + c.non_finite + c.text > 0).collect();
    if with_gaps.is_empty() {
        writeln!(s, "<p>No missing, non-finite or non-numeric cells.</p>").unwrap();
    } else {
        writeln!(s, "<p>{} columns have missing, non-finite or non-numeric cells:</p>", with_gaps.len()).unwrap();
        writeln!(s, "<table><tr><th>column</th><th class=\"n\">missing</th><th class=\"n\">non-finite</th><th class=\"n\">not numeric</th></tr>").unwrap();
        for c in with_gaps {
            writeln!(
                s,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&c.name),
                crate::text::thousands(c.missing),
                crate::text::thousands(c.non_finite),
                crate::text::thousands(c.text)
            )
            .unwrap();
        }
        writeln!(s, "</table>").unwrap();
    }
    writeln!(
        s,
        "<details><summary>Statistics of every column (median {})</summary>",
        d.median_source()
    )
    .unwrap();
    writeln!(s, "<table><tr><th>column</th><th class=\"n\">min</th><th class=\"n\">median</th><th class=\"n\">max</th><th class=\"n\">missing</th><th class=\"n\">non-finite</th><th class=\"n\">not numeric</th></tr>").unwrap();
    for c in &d.column_stats {
        writeln!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.name),
            number(c.min),
            number(c.median),
            number(c.max),
            c.missing,
            c.non_finite,
            c.text
        )
        .unwrap();
    }
    writeln!(s, "</table></details>").unwrap();
    Ok(())
}

fn model(s: &mut String, m: &ModelSection) -> Result<()> {
    writeln!(s, "<h2 id=\"model\">Model</h2>").unwrap();
    writeln!(s, "<table>").unwrap();
    let mut row = |k: &str, v: String| writeln!(s, "<tr><th>{k}</th><td>{v}</td></tr>").unwrap();
    row("trained on", format!("{} (SHA-256 <code>{}</code>)", esc(&m.trained_on), esc(&m.training_file_sha256)));
    row("rows", format!("{} used of {} (seed {})", crate::text::thousands(m.rows_used), crate::text::thousands(m.rows_in_file), m.seed));
    row("classes", format!("{} ({})", m.rows_per_class.len(), esc(&m.class_map)));
    row(
        "RBF SVM",
        format!("C {}, gamma {:.4e}, class weight {}, one-vs-one", number(m.c), m.gamma, esc(&m.class_weight)),
    );
    row("features", format!("{}, transform {}, oversampling {}", m.features, esc(&m.transform), esc(&m.oversample)));
    for c in &m.categorical_features {
        row("categorical feature", esc(c));
    }
    row("support vectors", crate::text::thousands(m.support_vectors as u64));
    row("probabilities", if m.probabilities { "yes".into() } else { "no".into() });
    row(
        "on its own training rows",
        format!("accuracy {:.4}, macro-F1 {:.4} (an upper bound, not a test score)", m.training_accuracy, m.training_macro_f1),
    );
    row("ntc version", esc(&m.ntc_version));
    writeln!(s, "</table>").unwrap();

    writeln!(s, "<h3>Rows per class</h3><table><tr><th>class</th><th class=\"n\">in the training file</th><th class=\"n\">used</th></tr>").unwrap();
    for (c, f, u) in &m.rows_per_class {
        writeln!(s, "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>", esc(c), crate::text::thousands(*f), crate::text::thousands(*u)).unwrap();
    }
    writeln!(s, "</table>").unwrap();
    writeln!(s, "<h3>Support vectors per class pair</h3><table><tr><th>pair</th><th class=\"n\">support vectors</th></tr>").unwrap();
    for (a, b, n) in &m.support_vectors_per_pair {
        writeln!(s, "<tr><td>{} / {}</td><td class=\"n\">{}</td></tr>", esc(a), esc(b), crate::text::thousands(*n as u64)).unwrap();
    }
    writeln!(s, "</table>").unwrap();

    if let Some(t) = &m.tuning {
        writeln!(s, "<h3>Cross-validation (<code>--tune</code>)</h3>").unwrap();
        writeln!(
            s,
            "<p>{} cells scored by cross-validation ({}) on {} rows; chosen: {}. The heatmap shows the coarse grid of the chosen transform and class weighting: C (the penalty for misclassified training flows) across, gamma (how local each support vector's influence is) down; the chosen cell is outlined in red. A cell more than {} below the best on the first {} folds was not scored on the others (the race) and shows the mean of those.</p>",
            t.cells,
            esc(&t.fold_kind),
            crate::text::thousands(t.rows as u64),
            esc(&t.chosen),
            crate::tune::RACE_MARGIN,
            crate::tune::RACE_FOLDS
        )
        .unwrap();
        let finite: Vec<f64> = t.mean.iter().flatten().copied().filter(|v| v.is_finite()).collect();
        let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let highlight = t
            .log2_gamma
            .iter()
            .position(|&g| g == t.chosen_log2_gamma)
            .zip(t.log2_c.iter().position(|&c| c == t.chosen_log2_c));
        if highlight.is_none() {
            writeln!(s, "<p>The chosen cell comes from the fine pass, between the points of this grid.</p>").unwrap();
        }
        let title = format!("Cross-validated {} by C and gamma", t.metric);
        let svg = charts::heatmap(&Heatmap {
            title: &title,
            x_desc: "log2 C",
            y_desc: "log2 gamma",
            x_labels: t.log2_c.iter().map(|c| format!("{c}")).collect(),
            y_labels: t.log2_gamma.iter().map(|g| format!("{g}")).collect(),
            values: t.mean.iter().flatten().copied().collect(),
            range: if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) },
            palette: Palette::Sequential,
            cell_text: Some(&|_, _, v| format!("{v:.2}")),
            highlight,
            legend: &t.metric,
        })?;
        figure(s, &svg, "");
    }
    Ok(())
}

fn evaluation(s: &mut String, e: &Evaluation) -> Result<()> {
    let m = &e.metrics;
    writeln!(s, "<h2 id=\"evaluation\">Evaluation on this file</h2>").unwrap();
    let scope = if e.rows_scored < e.rows_in_file {
        format!(
            "a seeded uniform sample of {} of the {} rows (<code>--score-rows</code>; <code>ntc evaluate</code> scores every row)",
            crate::text::thousands(e.rows_scored),
            crate::text::thousands(e.rows_in_file)
        )
    } else {
        format!("all {} rows", crate::text::thousands(e.rows_in_file))
    };
    writeln!(
        s,
        "<p>Scored on {scope}: accuracy <b>{:.4}</b>, macro-F1 <b>{:.4}</b>, weighted F1 {:.4}.{}</p>",
        m.accuracy,
        m.macro_f1,
        m.weighted_f1,
        if e.unknown_labels > 0 {
            format!(" {} rows have labels outside the model's classes and are not scored.", crate::text::thousands(e.unknown_labels))
        } else {
            String::new()
        }
    )
    .unwrap();
    let k = m.classes.len();
    let counts: Vec<f64> = m.confusion.iter().flatten().map(|&c| c as f64).collect();
    let max = counts.iter().copied().fold(1.0, f64::max);
    let conf = m.confusion.clone();
    let svg = charts::heatmap(&Heatmap {
        title: "Confusion matrix (rows)",
        x_desc: "predicted class",
        y_desc: "true class",
        x_labels: m.classes.clone(),
        y_labels: m.classes.clone(),
        values: counts,
        range: (0.0, max),
        palette: Palette::Sequential,
        cell_text: Some(&|i, j, _| conf[i][j].to_string()),
        highlight: None,
        legend: "rows",
    })?;
    writeln!(s, "<div class=\"charts\">").unwrap();
    figure(s, &svg, "");
    let normalised: Vec<f64> = m
        .confusion
        .iter()
        .flat_map(|row| {
            let t: u64 = row.iter().sum();
            row.iter().map(move |&c| if t > 0 { c as f64 / t as f64 } else { f64::NAN })
        })
        .collect();
    let svg = charts::heatmap(&Heatmap {
        title: "Confusion matrix (share of each true class)",
        x_desc: "predicted class",
        y_desc: "true class",
        x_labels: m.classes.clone(),
        y_labels: m.classes.clone(),
        values: normalised,
        range: (0.0, 1.0),
        palette: Palette::Sequential,
        cell_text: Some(&|_, _, v| format!("{v:.2}")),
        highlight: None,
        legend: "share",
    })?;
    figure(s, &svg, "");
    writeln!(s, "</div>").unwrap();
    let svg = charts::grouped_bars(&GroupedBars {
        title: "Precision, recall and F1 per class",
        x_desc: "score (0 to 1)",
        names: (0..k).map(|c| format!("{} (n={})", m.classes[c], m.per_class[c].support)).collect(),
        series: vec![
            ("precision", m.per_class.iter().map(|c| c.precision).collect()),
            ("recall", m.per_class.iter().map(|c| c.recall).collect()),
            ("F1", m.per_class.iter().map(|c| c.f1).collect()),
        ],
        x_max: 1.0,
    })?;
    figure(s, &svg, "");
    Ok(())
}

fn drift(s: &mut String, d: &DriftSection) -> Result<()> {
    writeln!(s, "<h2 id=\"drift\">Drift against the training data</h2>").unwrap();
    let cm = &d.class_mix;
    if !d.judged {
        writeln!(
            s,
            "<p class=\"fine\"><b>Not judged.</b> {} rows are too few to tell a shift from chance (at least {} are needed): nothing is flagged. The figures below are shown as measured.</p>",
            d.rows, d.min_rows
        )
        .unwrap();
    } else if d.drifted {
        writeln!(
            s,
            "<p class=\"alert\"><b>Drift.</b> {} of {} features have a population stability index (PSI) above {}{}. The traffic has changed since the model was trained: check the features below and consider retraining.</p>",
            d.shifted_features,
            d.features.len(),
            d.psi_threshold,
            if cm.shifted { format!(", and the predicted class mix has PSI {:.3}", cm.psi) } else { String::new() }
        )
        .unwrap();
    } else {
        writeln!(
            s,
            "<p class=\"fine\"><b>No drift.</b> Every feature's PSI and the predicted class mix's PSI ({:.3}) are at or below {}.</p>",
            cm.psi, d.psi_threshold
        )
        .unwrap();
    }
    writeln!(
        s,
        "<p>PSI compares the share of rows in each decile of the training data: below 0.1 the distribution is stable, 0.1 to 0.2 it moved, above 0.2 it shifted. Missing and non-finite values count as a bin of their own.</p>"
    )
    .unwrap();
    let shown: Vec<_> = d.features.iter().take(DRIFT_CHART_FEATURES).collect();
    let title = format!("Population stability index, top {} features", shown.len());
    let svg = charts::bars(&Bars {
        title: &title,
        x_desc: "PSI (line: alert threshold)",
        names: shown.iter().map(|f| f.feature.clone()).collect(),
        values: shown.iter().map(|f| f.psi).collect(),
        value_label: &|v| format!("{v:.3}"),
        threshold: Some(d.psi_threshold),
    })?;
    figure(s, &svg, "");
    let svg = charts::grouped_bars(&GroupedBars {
        title: "Class mix: training file against predictions on this file",
        x_desc: "share of rows",
        names: cm.classes.clone(),
        series: vec![("training", cm.training.clone()), ("predicted here", cm.predicted.clone())],
        x_max: cm.training.iter().chain(&cm.predicted).copied().fold(0.0, f64::max).max(0.01) * 1.1,
    })?;
    figure(s, &svg, "");
    writeln!(
        s,
        "<details><summary>Every feature</summary><table><tr><th>feature</th><th class=\"n\">PSI</th><th class=\"n\">outside the training range</th><th class=\"n\">missing (training)</th><th class=\"n\">missing (here)</th></tr>"
    )
    .unwrap();
    for f in &d.features {
        writeln!(
            s,
            "<tr{}><td>{}</td><td class=\"n\">{:.4}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            if f.shifted { " class=\"flag\"" } else { "" },
            esc(&f.feature),
            f.psi,
            pct(f.outside_range),
            pct(f.missing_training),
            pct(f.missing_now)
        )
        .unwrap();
    }
    writeln!(s, "</table></details>").unwrap();
    Ok(())
}
