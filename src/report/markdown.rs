//! The Markdown report.

use std::fmt::Write;

use crate::metrics::Metrics;
use crate::model::Model;

use super::DataProfile;

fn num(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() >= 1e6 || v.abs() < 1e-3 {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

/// Renders the report. `metrics` is the model's score on this CSV, when it has labels.
pub fn render(file_name: &str, p: &DataProfile, model: Option<&Model>, metrics: Option<&Metrics>) -> String {
    let mut s = String::new();
    writeln!(s, "# ntc report: {file_name}\n").unwrap();
    writeln!(s, "- rows: {}", p.rows).unwrap();
    writeln!(s, "- columns: {}", p.columns.len()).unwrap();
    if !p.private.is_empty() {
        writeln!(s, "- identifier columns present, not profiled (privacy): {}", p.private.join(", ")).unwrap();
    }
    writeln!(s).unwrap();

    if let Some(lc) = &p.label_column {
        writeln!(s, "## Class distribution\n").unwrap();
        writeln!(s, "Label column `{lc}`{}.\n", if model.is_some() { ", with the model's class of each label" } else { "" }).unwrap();
        let total = p.rows.max(1) as f64;
        let mut by_count: Vec<(&String, &u64)> = p.labels.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if let Some(m) = model {
            let mut classes: std::collections::BTreeMap<String, u64> = Default::default();
            for (l, n) in &by_count {
                let c = m.class_map.class_of(l).unwrap_or_else(|| "(unmapped)".into());
                *classes.entry(c).or_default() += **n;
            }
            let mut cls: Vec<_> = classes.into_iter().collect();
            cls.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            writeln!(s, "| class | rows | share |\n|---|---:|---:|").unwrap();
            for (c, n) in cls {
                writeln!(s, "| {c} | {n} | {:.2}% |", 100.0 * n as f64 / total).unwrap();
            }
            writeln!(s).unwrap();
        }
        writeln!(s, "| label | rows | share |\n|---|---:|---:|").unwrap();
        for (l, n) in by_count {
            writeln!(s, "| {l} | {n} | {:.2}% |", 100.0 * *n as f64 / total).unwrap();
        }
        writeln!(s).unwrap();
    }

    writeln!(s, "## Columns\n").unwrap();
    writeln!(
        s,
        "Median {}.\n",
        if p.median_exact { "exact" } else { "estimated from a seeded uniform sample of 100,000 values per column" }
    )
    .unwrap();
    writeln!(s, "| column | min | median | max | missing | non-finite | not numeric |\n|---|---:|---:|---:|---:|---:|---:|").unwrap();
    for c in &p.stats {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.name,
            num(c.min),
            num(c.median),
            num(c.max),
            c.missing,
            c.non_finite,
            c.text
        )
        .unwrap();
    }
    let constant = p.constant_columns();
    writeln!(s, "\n### Constant columns\n").unwrap();
    if constant.is_empty() {
        writeln!(s, "None.").unwrap();
    } else {
        writeln!(s, "{} columns hold a single value: {}.", constant.len(), constant.join(", ")).unwrap();
    }

    if let Some(m) = model {
        writeln!(s, "\n## Model\n").unwrap();
        let t = &m.training;
        writeln!(s, "- ntc version: {}", m.ntc_version).unwrap();
        writeln!(s, "- trained on: `{}` (sha256 `{}`)", t.file_name, t.file_sha256).unwrap();
        writeln!(
            s,
            "- rows: {} used of {} (seed {}{})",
            t.rows_used,
            t.rows_in_file,
            t.seed,
            t.max_rows.map(|r| format!(", --max-rows {r}")).unwrap_or_default()
        )
        .unwrap();
        writeln!(s, "- classes ({}): {} (`--classes {}`, label column `{}`)", m.classes.len(), m.classes.join(", "), m.class_map.kind, t.label_column).unwrap();
        writeln!(
            s,
            "- RBF SVM, one-vs-one: C {}, gamma {} ({:.6e}), class weight {}, feature transform {}, oversampling {}, {} support vectors, probabilities {}",
            t.c,
            t.gamma_flag,
            m.svm.gamma,
            t.class_weight,
            t.transform,
            t.oversample,
            m.svm.n_support_vectors(),
            if m.svm.has_probability() { "yes" } else { "no" }
        )
        .unwrap();
        writeln!(s, "- features ({}): {}", m.preprocessor.features.len(), m.preprocessor.features.join(", ")).unwrap();
        writeln!(s, "- non-finite or missing training cells imputed: {}", t.imputed_cells).unwrap();
        writeln!(s, "\n| class | rows in training file | rows used |\n|---|---:|---:|").unwrap();
        for (c, f, u) in &t.rows_per_class {
            writeln!(s, "| {c} | {f} | {u} |").unwrap();
        }
        writeln!(s, "\n| column not used | why |\n|---|---|").unwrap();
        for (c, why) in &t.dropped_columns {
            writeln!(s, "| {c} | {why} |").unwrap();
        }
        writeln!(
            s,
            "\nOn its own training rows: accuracy {:.4}, macro-F1 {:.4} (an upper bound, not a test score).",
            t.training_metrics.accuracy, t.training_metrics.macro_f1
        )
        .unwrap();
        if let Some(tr) = &t.tuning {
            cross_validation(&mut s, tr);
        }
    }
    if let Some(mt) = metrics {
        writeln!(s, "\n## Model on this file\n").unwrap();
        writeln!(s, "```\n{}```", mt.to_table()).unwrap();
    }
    s
}

/// Rows of the cross-validation table shown in the report.
const CV_ROWS: usize = 10;

/// The `--tune` summary: how the parameters were chosen, and the best cells.
fn cross_validation(s: &mut String, tr: &crate::tune::TuneReport) {
    use crate::tune::{oversample_name, weight_name};
    writeln!(
        s,
        "\n### Cross-validation (`--tune`)\n\n{} cells scored by {}-fold stratified cross-validation on {} rows ({}); chosen by {}: {}.\n",
        tr.cells.len(),
        tr.folds,
        tr.rows,
        tr.metric.name(),
        match tr.select {
            crate::tune::Select::OneSe => "the one-standard-error rule",
            crate::tune::Select::Best => "the top score",
        },
        crate::tune::describe(tr.chosen(), tr.metric)
    )
    .unwrap();
    writeln!(s, "| rank | transform | class weight | oversampling | C | gamma | mean | std |\n|---:|---|---|---|---:|---:|---:|---:|").unwrap();
    for (rank, &i) in tr.ranking().iter().take(CV_ROWS).enumerate() {
        let c = &tr.cells[i];
        writeln!(
            s,
            "| {} | {} | {} | {} | {:.4} | {:.3e} | {:.4} | {:.4} |",
            rank + 1,
            c.transform.name(),
            weight_name(c.class_weight),
            oversample_name(c.oversample),
            c.c(),
            c.gamma(),
            c.mean,
            c.std
        )
        .unwrap();
    }
}
