//! The Markdown report.

use std::fmt::Write;

use crate::model::Model;

use super::{number, Report};


/// A name from a file (a column, a label, a class) as Markdown text: a `|`
/// would end a table cell, and `<`, `>`, `&` would be raw HTML.
fn md(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push('\''),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Renders the report; `model` is the model the report was made with (for its card).
pub fn render(r: &Report, model: Option<&Model>) -> String {
    let d = &r.data;
    let mut s = String::new();
    writeln!(s, "# ntc report: {}\n", md(&r.file_name)).unwrap();
    writeln!(s, "- rows: {}", d.rows).unwrap();
    writeln!(s, "- columns: {}", d.columns).unwrap();
    writeln!(s, "- duplicate rows: {} ({} when identifier columns are ignored)", d.duplicate_rows, d.duplicate_flows_ignoring_identifiers).unwrap();
    if !d.identifier_columns_not_profiled.is_empty() {
        writeln!(s, "- identifier columns present, not profiled (privacy): {}", md(&d.identifier_columns_not_profiled.join(", "))).unwrap();
    }
    if let Some(dr) = r.drift.as_ref().filter(|d| !d.judged) {
        writeln!(s, "- drift: not judged ({} rows; at least {} are needed to tell a shift from chance)", dr.rows, dr.min_rows).unwrap();
    } else if let Some(dr) = &r.drift {
        writeln!(
            s,
            "- drift: {} ({} of {} features with PSI above {}; predicted class mix PSI {:.3})",
            if dr.drifted { "YES" } else { "none" },
            dr.shifted_features,
            dr.features.len(),
            dr.psi_threshold,
            dr.class_mix.psi
        )
        .unwrap();
    }
    writeln!(s).unwrap();

    if let Some(lc) = &d.label_column {
        writeln!(s, "## Class distribution\n").unwrap();
        writeln!(s, "Label column `{}`, grouped into classes ({}).\n", lc.replace('`', "'"), r.class_grouping).unwrap();
        let total = d.rows.max(1) as f64;
        writeln!(s, "| class | rows | share |\n|---|---:|---:|").unwrap();
        for (c, n) in &d.class_counts {
            writeln!(s, "| {} | {n} | {:.2}% |", md(c), 100.0 * *n as f64 / total).unwrap();
        }
        writeln!(s).unwrap();
        writeln!(s, "| label | rows | share |\n|---|---:|---:|").unwrap();
        for (l, n) in &d.label_counts {
            writeln!(s, "| {} | {n} | {:.2}% |", md(l), 100.0 * *n as f64 / total).unwrap();
        }
        writeln!(s).unwrap();
    }

    writeln!(s, "## Columns\n").unwrap();
    writeln!(
        s,
        "Median {}.\n",
        d.median_source()
    )
    .unwrap();
    writeln!(s, "| column | min | median | max | missing | non-finite | not numeric |\n|---|---:|---:|---:|---:|---:|---:|").unwrap();
    for c in &d.column_stats {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md(&c.name),
            number(c.min),
            number(c.median),
            number(c.max),
            c.missing,
            c.non_finite,
            c.text
        )
        .unwrap();
    }
    let constant = &d.constant_columns;
    writeln!(s, "\n### Constant columns\n").unwrap();
    if constant.is_empty() {
        writeln!(s, "None.").unwrap();
    } else {
        writeln!(s, "{} columns hold a single value: {}.", constant.len(), md(&constant.join(", "))).unwrap();
    }

    if let Some(m) = model {
        writeln!(s, "\n## Model\n").unwrap();
        let t = &m.training;
        writeln!(s, "- ntc version: {}", m.ntc_version).unwrap();
        writeln!(s, "- trained on: `{}` (sha256 `{}`)", t.file_name.replace('`', "'"), t.file_sha256).unwrap();
        writeln!(
            s,
            "- rows: {} used of {} (seed {}{})",
            t.rows_used,
            t.rows_in_file,
            t.seed,
            t.max_rows.map(|r| format!(", --max-rows {r}")).unwrap_or_default()
        )
        .unwrap();
        writeln!(s, "- classes ({}): {} (`--classes {}`, label column `{}`)", m.classes.len(), md(&m.classes.join(", ")), m.class_map.kind, t.label_column.replace('`', "'")).unwrap();
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
        writeln!(s, "- features ({} columns): {}", m.preprocessor.n_features(), md(&m.preprocessor.describe().join(", "))).unwrap();
        writeln!(s, "- non-finite or missing training cells imputed: {}", t.imputed_cells).unwrap();
        writeln!(s, "\n| class | rows in training file | rows used |\n|---|---:|---:|").unwrap();
        for (c, f, u) in &t.rows_per_class {
            writeln!(s, "| {} | {f} | {u} |", md(c)).unwrap();
        }
        writeln!(s, "\n| column not used | why |\n|---|---|").unwrap();
        for (c, why) in &t.dropped_columns {
            writeln!(s, "| {} | {} |", md(c), md(why)).unwrap();
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
    if let Some(e) = &r.evaluation {
        writeln!(s, "\n## Model on this file\n").unwrap();
        if e.rows_scored < e.rows_in_file {
            writeln!(s, "Scored on a seeded uniform sample of {} of the {} rows (`--score-rows`; `ntc evaluate` scores every row).\n", e.rows_scored, e.rows_in_file).unwrap();
        }
        writeln!(s, "```\n{}```", e.metrics.to_table()).unwrap();
    }
    if let Some(l) = &r.left_out {
        if r.evaluation.is_none() {
            writeln!(s, "\n## Model on this file\n").unwrap();
        }
        writeln!(s, "\n{}", l.describe(r.evaluation.is_some())).unwrap();
    }
    if let Some(dr) = &r.drift {
        writeln!(s, "\n## Drift against the training data\n").unwrap();
        writeln!(s, "| feature | PSI | outside training range | missing (training) | missing (here) |\n|---|---:|---:|---:|---:|").unwrap();
        for f in &dr.features {
            writeln!(
                s,
                "| {}{} | {:.4} | {:.2}% | {:.2}% | {:.2}% |",
                md(&f.feature),
                if f.shifted { " (shifted)" } else { "" },
                f.psi,
                100.0 * f.outside_range,
                100.0 * f.missing_training,
                100.0 * f.missing_now
            )
            .unwrap();
        }
        let cm = &dr.class_mix;
        writeln!(s, "\n| class | training file | predicted here |\n|---|---:|---:|").unwrap();
        for (i, c) in cm.classes.iter().enumerate() {
            writeln!(s, "| {} | {:.2}% | {:.2}% |", md(c), 100.0 * cm.training[i], 100.0 * cm.predicted[i]).unwrap();
        }
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
        "\n### Cross-validation (`--tune`)\n\n{} cells scored by cross-validation ({}) on {} rows ({}){}; chosen by {}: {}.\n",
        tr.cells.len(),
        tr.folds_description(),
        tr.rows,
        tr.metric.name(),
        if tr.cells.iter().any(|c| c.rows > tr.rows) { ", the leading ones again on larger samples (`rows`)" } else { "" },
        match tr.select {
            crate::tune::Select::OneSe => "the one-standard-error rule",
            crate::tune::Select::Best => "the top score",
        },
        crate::tune::describe(tr.chosen(), tr.metric)
    )
    .unwrap();
    writeln!(s, "| rank | transform | class weight | oversampling | C | gamma | mean | std | folds | rows |\n|---:|---|---|---|---:|---:|---:|---:|---:|---:|").unwrap();
    for (rank, &i) in tr.ranking().iter().take(CV_ROWS).enumerate() {
        let c = &tr.cells[i];
        writeln!(
            s,
            "| {} | {} | {} | {} | {:.4} | {:.3e} | {:.4} | {:.4} | {} | {} |",
            rank + 1,
            c.transform.name(),
            weight_name(c.class_weight),
            oversample_name(c.oversample),
            c.c(),
            c.gamma(),
            c.mean,
            c.std,
            c.folds,
            c.rows
        )
        .unwrap();
    }
}
