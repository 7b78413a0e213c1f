//! From a flow's columns to the vector the SVM sees.
//!
//! - [`numeric`]: quantities (byte counts, durations, rates): impute,
//!   transform, scale;
//! - [`categorical`]: names (ports, protocols, text columns such as
//!   `state`): vocabulary, one-hot encoding.
//!
//! A model reads one *input row* per flow: its numeric input columns as
//! numbers (the numeric features, then the columns that numeric categories
//! are made from, such as `Protocol` and the two ports), then one code per
//! text column (the value's position in its vocabulary, or the vocabulary's
//! length for "other"). An [`Encoder`] turns input rows into feature rows.

pub mod categorical;
pub mod numeric;

use std::collections::HashMap;

use ndarray::{Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

pub use categorical::{CategoricalFeature, Source};
pub use numeric::{median_sorted, Imputation, NumericFeatures, Transform};

use crate::error::{Error, Result};

/// Training columns as read, before anything is learnt from them.
#[derive(Clone, Debug)]
pub struct Columns {
    pub numeric_names: Vec<String>,
    /// `rows x numeric_names`, NaN where a cell is missing.
    pub numeric: Array2<f64>,
    pub text: Vec<TextColumn>,
}

/// A column of text cells, interned.
#[derive(Clone, Debug, PartialEq)]
pub struct TextColumn {
    pub name: String,
    /// Distinct values (cells without surrounding blanks).
    pub values: Vec<String>,
    /// Each row's value, as an index into `values`.
    pub codes: Vec<u32>,
}

impl TextColumn {
    pub fn new(name: &str) -> TextColumn {
        TextColumn { name: name.to_string(), values: Vec::new(), codes: Vec::new() }
    }

    /// Appends a row's cell, interning it with `index` (value -> code).
    pub fn push(&mut self, cell: &str, index: &mut HashMap<String, u32>) {
        let v = categorical::text_value(cell);
        let code = match index.get(v) {
            Some(&c) => c,
            None => {
                let c = self.values.len() as u32;
                index.insert(v.to_string(), c);
                self.values.push(v.to_string());
                c
            }
        };
        self.codes.push(code);
    }

    pub fn value(&self, row: usize) -> &str {
        &self.values[self.codes[row] as usize]
    }
}

impl Columns {
    pub fn rows(&self) -> usize {
        self.numeric.nrows()
    }

    /// The rows `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Columns {
        Columns {
            numeric_names: self.numeric_names.clone(),
            numeric: self.numeric.select(Axis(0), rows),
            text: self
                .text
                .iter()
                .map(|t| TextColumn { name: t.name.clone(), values: t.values.clone(), codes: rows.iter().map(|&i| t.codes[i]).collect() })
                .collect(),
        }
    }

    pub fn number(&self, name: &str) -> Option<ArrayView1<'_, f64>> {
        self.numeric_names.iter().position(|n| n == name).map(|j| self.numeric.column(j))
    }

    pub fn text(&self, name: &str) -> Option<&TextColumn> {
        self.text.iter().find(|t| t.name == name)
    }

    /// Every row's value of a categorical feature.
    fn values_of(&self, source: &Source) -> Result<Vec<String>> {
        let missing = |c: &str| Error::input(format!("no column '{c}' for the categorical feature {}", source.name()));
        Ok(match source {
            Source::Number(c) => self.number(c).ok_or_else(|| missing(c))?.iter().map(|&v| categorical::number_value(v)).collect(),
            Source::ServerPort(a, b) => {
                let (a, b) = (self.number(a).ok_or_else(|| missing(a))?, self.number(b).ok_or_else(|| missing(b))?);
                a.iter().zip(b.iter()).map(|(&a, &b)| categorical::number_value(categorical::server_port(a, b))).collect()
            }
            Source::Text(c) => {
                let t = self.text(c).ok_or_else(|| missing(c))?;
                (0..t.codes.len()).map(|i| t.value(i).to_string()).collect()
            }
        })
    }
}

/// What the training columns become, decided by `train` from its flags and the data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeaturePlan {
    /// Numeric columns that are numeric features.
    pub numeric: Vec<String>,
    pub categorical: Vec<Source>,
}

/// The whole fitted transform, stored in the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "Stored")]
pub struct Preprocessor {
    pub numeric: NumericFeatures,
    pub categorical: Vec<CategoricalFeature>,
}

/// The preprocessor as model files hold it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Current { numeric: NumericFeatures, categorical: Vec<CategoricalFeature> },
    /// Model format 5 and earlier: numeric features only.
    Numeric(NumericFeatures),
}

impl From<Stored> for Preprocessor {
    fn from(s: Stored) -> Self {
        match s {
            Stored::Current { numeric, categorical } => Preprocessor { numeric, categorical },
            Stored::Numeric(numeric) => Preprocessor { numeric, categorical: Vec::new() },
        }
    }
}

/// What fitting found out about the columns.
pub struct FitSummary {
    /// Features left out because they hold one value in the training rows.
    pub constant: Vec<String>,
    /// Non-finite or missing cells of the numeric features.
    pub imputed_cells: u64,
}

/// The value of a one-hot column, given the numeric features: two flows
/// that differ in a category are as far apart as two flows that differ by
/// one standard deviation in every numeric feature (squared distance
/// `2 w^2 = d`). At weight 1 a port counted as much as one of 67 numeric
/// features and hardly moved the kernel; on the real flows, grouped by
/// capture, weights from 4 to 8 scored alike, well above 1 and 2
/// (bench/RESULTS.md, "Categorical features on real flows").
pub fn category_weight(numeric_features: usize) -> f64 {
    (numeric_features.max(2) as f64 / 2.0).sqrt()
}

impl Preprocessor {
    /// Learns every feature from the training rows and returns it with their feature matrix.
    pub fn fit(cols: &Columns, plan: &FeaturePlan, transform: Transform) -> Result<(Self, Array2<f64>, FitSummary)> {
        let n = cols.rows();
        if n == 0 {
            return Err(Error::input("no training rows"));
        }
        let idx: Vec<usize> = plan
            .numeric
            .iter()
            .map(|f| cols.numeric_names.iter().position(|c| c == f).ok_or_else(|| Error::input(format!("no numeric column '{f}'"))))
            .collect::<Result<_>>()?;
        let (numeric, xn, mut summary) = NumericFeatures::fit_columns(cols.numeric.view(), &idx, &plan.numeric, transform)?;
        let weight = category_weight(numeric.n_features());
        let mut categorical = Vec::new();
        let mut slots: Vec<Vec<u32>> = Vec::new();
        for source in &plan.categorical {
            let values = cols.values_of(source)?;
            match CategoricalFeature::fit(source.clone(), values.iter().map(String::as_str), weight) {
                Some(f) => {
                    let index = f.index();
                    let other = f.vocabulary.len() as u32;
                    slots.push(values.iter().map(|v| index.get(v.as_str()).copied().unwrap_or(other)).collect());
                    categorical.push(f);
                }
                None => summary.constant.push(source.name()),
            }
        }
        let pre = Preprocessor { numeric, categorical };
        let d = pre.n_features();
        if d == 0 {
            return Err(Error::input("every feature column is constant in the training rows: nothing to learn from"));
        }
        let dn = pre.numeric.n_features();
        let mut m = Array2::<f64>::zeros((n, d));
        m.slice_mut(ndarray::s![.., ..dn]).assign(&xn);
        let mut offset = dn;
        for (f, s) in pre.categorical.iter().zip(&slots) {
            for (i, &slot) in s.iter().enumerate() {
                m[[i, offset + slot as usize]] = f.weight;
            }
            offset += f.width();
        }
        Ok((pre, m, summary))
    }

    /// Columns of the SVM's feature vector.
    pub fn n_features(&self) -> usize {
        self.numeric.n_features() + self.categorical.iter().map(CategoricalFeature::width).sum::<usize>()
    }

    /// The numeric columns of an input row: the numeric features, then the
    /// columns numeric categories are made from.
    pub fn numeric_inputs(&self) -> Vec<String> {
        let mut out = self.numeric.features.clone();
        for f in &self.categorical {
            if let Source::Number(c) | Source::ServerPort(c, _) = &f.source {
                push_new(&mut out, c);
            }
            if let Source::ServerPort(_, c) = &f.source {
                push_new(&mut out, c);
            }
        }
        out
    }

    /// The text columns of an input row.
    pub fn text_inputs(&self) -> Vec<String> {
        self.categorical
            .iter()
            .filter_map(|f| match &f.source {
                Source::Text(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    /// One line per feature, for model cards: numeric names, then each categorical feature with its values.
    pub fn describe(&self) -> Vec<String> {
        let mut out = self.numeric.features.clone();
        for f in &self.categorical {
            let shown: Vec<&str> =
                f.vocabulary.iter().take(12).map(|v| if v == categorical::MISSING { "(empty)" } else { v.as_str() }).collect();
            let more = f.vocabulary.len().saturating_sub(shown.len());
            let from = match &f.source {
                Source::ServerPort(a, b) => format!(" (the smaller of {a} and {b})"),
                _ => String::new(),
            };
            out.push(format!(
                "{}{from}: category, one of {}{} or other",
                f.source.name(),
                shown.join(" "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ));
        }
        out
    }

    pub fn encoder(&self) -> Encoder<'_> {
        Encoder::new(self)
    }

    /// Feature rows (row-major) of columns read like the training ones, as predict would encode them.
    pub fn encode(&self, cols: &Columns) -> Result<Vec<f64>> {
        let encoder = self.encoder();
        let numeric = self.numeric_inputs();
        let missing = |c: &str| Error::input(format!("no column '{c}' to encode"));
        let numbers = numeric.iter().map(|c| cols.number(c).ok_or_else(|| missing(c))).collect::<Result<Vec<_>>>()?;
        let texts = self.text_inputs().iter().map(|c| cols.text(c).ok_or_else(|| missing(c))).collect::<Result<Vec<_>>>()?;
        let w = encoder.input_width();
        let mut inputs = Vec::with_capacity(cols.rows() * w);
        for i in 0..cols.rows() {
            inputs.extend(numbers.iter().map(|col| col[i]));
            inputs.extend(texts.iter().enumerate().map(|(t, col)| encoder.text_code(t, col.value(i).as_bytes())));
        }
        Ok(encoder.transform(&inputs))
    }
}

fn push_new(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// A number as a lookup key: one key for -0 and 0, one for every NaN.
fn number_key(v: f64) -> u64 {
    if v.is_nan() {
        u64::MAX
    } else {
        (v + 0.0).to_bits()
    }
}

/// How one categorical feature finds its column in an input row.
enum Lookup {
    Number { input: usize, index: HashMap<u64, u32> },
    ServerPort { a: usize, b: usize, index: HashMap<u64, u32> },
    /// The input row holds the column already (read with [`Encoder::text_code`]).
    Text { input: usize },
}

/// A model's preprocessor, ready to encode input rows (the lookups built once).
pub struct Encoder<'a> {
    pre: &'a Preprocessor,
    lookups: Vec<Lookup>,
    /// `value -> code` of each text input.
    text: Vec<HashMap<&'a str, u32>>,
    n_numeric_inputs: usize,
}

impl<'a> Encoder<'a> {
    fn new(pre: &'a Preprocessor) -> Self {
        let numeric = pre.numeric_inputs();
        let at = |c: &str| numeric.iter().position(|n| n == c).expect("a numeric input of this feature");
        let numbers = |f: &CategoricalFeature| -> HashMap<u64, u32> {
            f.vocabulary
                .iter()
                .enumerate()
                .map(|(i, v)| (number_key(if v == categorical::MISSING { f64::NAN } else { v.parse().unwrap_or(f64::NAN) }), i as u32))
                .collect()
        };
        let mut text = Vec::new();
        let lookups = pre
            .categorical
            .iter()
            .map(|f| match &f.source {
                Source::Number(c) => Lookup::Number { input: at(c), index: numbers(f) },
                Source::ServerPort(a, b) => Lookup::ServerPort { a: at(a), b: at(b), index: numbers(f) },
                Source::Text(_) => {
                    text.push(f.index());
                    Lookup::Text { input: numeric.len() + text.len() - 1 }
                }
            })
            .collect();
        Encoder { pre, lookups, text, n_numeric_inputs: numeric.len() }
    }

    /// Values in an input row: the numeric inputs, then one code per text input.
    pub fn input_width(&self) -> usize {
        self.n_numeric_inputs + self.text.len()
    }

    pub fn n_numeric_inputs(&self) -> usize {
        self.n_numeric_inputs
    }

    /// The code of text input `t`'s cell in an input row.
    pub fn text_code(&self, t: usize, cell: &[u8]) -> f64 {
        let v = String::from_utf8_lossy(cell);
        let index = &self.text[t];
        index.get(categorical::text_value(&v)).copied().unwrap_or(index.len() as u32) as f64
    }

    /// Feature rows of input rows (both row-major).
    pub fn transform(&self, inputs: &[f64]) -> Vec<f64> {
        let w = self.input_width();
        let d = self.pre.n_features();
        let dn = self.pre.numeric.n_features();
        let n = inputs.len().checked_div(w).unwrap_or(0);
        let mut out = vec![0.0; n * d];
        for (row, x) in inputs.chunks_exact(w.max(1)).zip(out.chunks_exact_mut(d.max(1))) {
            for (j, v) in x[..dn].iter_mut().enumerate() {
                *v = self.pre.numeric.apply(j, row[j]);
            }
            let mut offset = dn;
            for (f, lookup) in self.pre.categorical.iter().zip(&self.lookups) {
                let other = f.vocabulary.len() as u32;
                let slot = match lookup {
                    Lookup::Number { input, index } => index.get(&number_key(row[*input])).copied().unwrap_or(other),
                    Lookup::ServerPort { a, b, index } => {
                        index.get(&number_key(categorical::server_port(row[*a], row[*b]))).copied().unwrap_or(other)
                    }
                    Lookup::Text { input } => {
                        let code = row[*input];
                        // Codes come from `text_code`; anything else (NaN, a stray number) is other.
                        if code >= 0.0 && code < other as f64 { code as u32 } else { other }
                    }
                };
                x[offset + slot as usize] = f.weight;
                offset += f.width();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn columns() -> Columns {
        let mut state = TextColumn::new("state");
        let mut index = HashMap::new();
        for s in ["FIN", "CON", "FIN", " FIN ", "INT", "CON"] {
            state.push(s, &mut index);
        }
        Columns {
            numeric_names: vec!["bytes".into(), "Protocol".into(), "sport".into(), "dport".into()],
            numeric: array![
                [100.0, 6.0, 51000.0, 443.0],
                [2000.0, 17.0, 53.0, 40000.0],
                [150.0, 6.0, 443.0, 52000.0],
                [90.0, 6.0, 50000.0, 443.0],
                [5000.0, 17.0, 41000.0, 53.0],
                [120.0, 6.0, 50001.0, 8080.0]
            ],
            text: vec![state],
        }
    }

    fn plan() -> FeaturePlan {
        FeaturePlan {
            numeric: vec!["bytes".into()],
            categorical: vec![
                Source::Number("Protocol".into()),
                Source::ServerPort("sport".into(), "dport".into()),
                Source::Text("state".into()),
            ],
        }
    }

    #[test]
    fn categories_become_weighted_one_hot_columns() {
        let cols = columns();
        let (pre, m, summary) = Preprocessor::fit(&cols, &plan(), Transform::Log).unwrap();
        assert!(summary.constant.is_empty());
        let port = &pre.categorical[1];
        assert_eq!(port.vocabulary, vec!["443", "53"], "8080 is seen once: other");
        assert_eq!(pre.categorical[2].vocabulary, vec!["FIN", "CON"], "cells are trimmed; INT once");
        assert_eq!(pre.n_features(), 1 + 3 + 3 + 3);
        assert_eq!(pre.numeric_inputs(), vec!["bytes", "Protocol", "sport", "dport"]);
        assert_eq!(pre.text_inputs(), vec!["state"]);
        let w = category_weight(1);
        // Row 5: protocol 6, port 8080 (other), state CON.
        assert_eq!(m.row(5).slice(ndarray::s![1..]).to_vec(), vec![w, 0.0, 0.0, 0.0, 0.0, w, 0.0, w, 0.0]);
        // The encoder gives the same rows from input rows; unseen values are other.
        let enc = pre.encoder();
        assert_eq!(enc.input_width(), 5);
        let mut inputs = Vec::new();
        for i in 0..cols.rows() {
            inputs.extend(cols.numeric.row(i).iter().copied());
            inputs.push(enc.text_code(0, cols.text[0].value(i).as_bytes()));
        }
        let x = enc.transform(&inputs);
        for (a, b) in x.iter().zip(m.iter()) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(pre.encode(&cols).unwrap(), x, "columns encode as their input rows do");
        let unseen = enc.transform(&[100.0, 1.0, 9.0, 9999.0, enc.text_code(0, b"NEVER")]);
        assert_eq!(unseen[1..].to_vec(), vec![0.0, 0.0, w, 0.0, 0.0, w, 0.0, 0.0, w]);
        assert_eq!(enc.text_code(0, b" CON"), 1.0);
    }

    #[test]
    fn a_constant_category_is_left_out_and_categories_alone_are_features() {
        let mut cols = columns();
        cols.numeric.column_mut(1).fill(6.0);
        let plan = FeaturePlan { numeric: vec![], categorical: plan().categorical };
        let (pre, _, summary) = Preprocessor::fit(&cols, &plan, Transform::None).unwrap();
        assert_eq!(summary.constant, vec!["Protocol"]);
        assert_eq!(pre.n_features(), 6);
        assert_eq!(pre.categorical[0].weight, 1.0);
    }

    #[test]
    fn a_format_5_preprocessor_still_decodes() {
        let cols = columns();
        let (pre, _, _) = Preprocessor::fit(&cols, &plan(), Transform::Log).unwrap();
        let mut old = Vec::new();
        ciborium::into_writer(&pre.numeric, &mut old).unwrap();
        let back: Preprocessor = ciborium::from_reader(old.as_slice()).unwrap();
        assert_eq!(back, Preprocessor { numeric: pre.numeric.clone(), categorical: vec![] });
        let mut new = Vec::new();
        ciborium::into_writer(&pre, &mut new).unwrap();
        assert_eq!(ciborium::from_reader::<Preprocessor, _>(new.as_slice()).unwrap(), pre);
    }
}
