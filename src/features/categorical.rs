//! Categorical features: values that are names, not quantities. Port 443
//! is not "close to" 445, protocol 17 is not "more" than 6, and `state=FIN`
//! is no number at all. Each such feature becomes one-hot columns over the
//! values frequent in the training rows (its vocabulary, stored in the
//! model), plus one "other" column for every other value: rare in training,
//! or never seen. An unseen value at predict time is "other", never an error.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Training rows a value needs for a column of its own: a value seen once
/// says nothing about other flows.
pub const MIN_ROWS: usize = 2;

/// Values with a column of their own, at most (the most frequent): keeps
/// the feature vector small on files with thousands of distinct ports.
/// On the real flows, grouped by capture, 64 scored as well as no cap
/// (bench/RESULTS.md, "Categorical features on real flows").
pub const MAX_VALUES: usize = 64;

/// The one value every missing (empty) cell takes.
pub const MISSING: &str = "";

/// Where a categorical feature's value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// A column of numbers that are names (`Protocol`): the value is the number.
    Number(String),
    /// A column of text: the value is the cell without surrounding blanks,
    /// numbers included as written (`80` and `80.0` are two values).
    Text(String),
    /// The smaller of two port columns: the server's well-known port in most
    /// flows, whichever side sent the first packet.
    ServerPort(String, String),
}

impl Source {
    /// The name shown for the feature.
    pub fn name(&self) -> String {
        match self {
            Source::Number(c) | Source::Text(c) => c.clone(),
            Source::ServerPort(..) => "server port".into(),
        }
    }

    /// The input columns it is made from.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Source::Number(c) | Source::Text(c) => vec![c.as_str()],
            Source::ServerPort(a, b) => vec![a.as_str(), b.as_str()],
        }
    }
}

/// A fitted categorical feature, stored in the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoricalFeature {
    pub source: Source,
    /// The values with a column of their own, most frequent in training first.
    pub vocabulary: Vec<String>,
    /// Value of the set column (the others are 0): two flows with different
    /// values are `weight * sqrt(2)` apart in this feature.
    pub weight: f64,
}

impl CategoricalFeature {
    /// Learns the vocabulary from the training rows' values. None when every
    /// row falls in one column (the feature would be constant).
    pub fn fit<'a>(source: Source, values: impl Iterator<Item = &'a str>, weight: f64) -> Option<CategoricalFeature> {
        let mut count: HashMap<&str, usize> = HashMap::new();
        let mut rows = 0usize;
        for v in values {
            *count.entry(v).or_insert(0) += 1;
            rows += 1;
        }
        let mut frequent: Vec<(&str, usize)> = count.into_iter().filter(|&(_, n)| n >= MIN_ROWS).collect();
        frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        frequent.truncate(MAX_VALUES);
        let in_vocabulary: usize = frequent.iter().map(|p| p.1).sum();
        let other = rows - in_vocabulary;
        let columns_used = frequent.len() + usize::from(other > 0);
        if columns_used < 2 {
            return None;
        }
        Some(CategoricalFeature { source, vocabulary: frequent.into_iter().map(|(v, _)| v.to_string()).collect(), weight })
    }

    /// One-hot columns: the vocabulary, then "other".
    pub fn width(&self) -> usize {
        self.vocabulary.len() + 1
    }

    /// Column names: `Protocol=6`, ..., `Protocol=other`.
    pub fn column_names(&self) -> Vec<String> {
        let name = self.source.name();
        self.vocabulary
            .iter()
            .map(|v| format!("{name}={}", if v == MISSING { "(empty)" } else { v }))
            .chain(std::iter::once(format!("{name}=other")))
            .collect()
    }

    /// `value -> column`, for encoding.
    pub fn index(&self) -> HashMap<&str, u32> {
        self.vocabulary.iter().enumerate().map(|(i, v)| (v.as_str(), i as u32)).collect()
    }
}

/// The value of a number as a category: `6`, `443`, `0.5`; missing is [`MISSING`].
pub fn number_value(v: f64) -> String {
    if v.is_nan() {
        MISSING.to_string()
    } else {
        // -0 and 0 are one value.
        format!("{}", v + 0.0)
    }
}

/// The server port of a flow: the smaller port (a missing one loses).
pub fn server_port(a: f64, b: f64) -> f64 {
    match (a.is_nan(), b.is_nan()) {
        (true, _) => b,
        (_, true) => a,
        _ => a.min(b),
    }
}

/// The value of a text cell as a category.
pub fn text_value(cell: &str) -> &str {
    cell.trim()
}

/// A text column with more than [`MAX_VALUES`] distinct values, one per this
/// many rows or more, names rows (flow IDs, timestamps) or groups of rows (a
/// capture, a session), not kinds of traffic: the real flows' `capture`
/// column has 548 values in 3,582 rows, a protocol column a few dozen in
/// any number of rows.
pub const IDENTIFIER_SHARE: usize = 20;

/// Why a text column is no category, if it is none: values that are IP
/// addresses (never stored in a model), or so many distinct values that they
/// name rows or groups of rows (see [`IDENTIFIER_SHARE`]): one-hot, they
/// would say nothing about other flows.
pub fn not_a_category(values: &[String], codes: &[u32]) -> Option<String> {
    let mut rows_of = vec![0usize; values.len()];
    for &c in codes {
        rows_of[c as usize] += 1;
    }
    let present: Vec<usize> = (0..values.len()).filter(|&i| rows_of[i] > 0 && values[i] != MISSING).collect();
    let filled: usize = present.iter().map(|&i| rows_of[i]).sum();
    let addresses: usize =
        present.iter().filter(|&&i| values[i].parse::<std::net::IpAddr>().is_ok()).map(|&i| rows_of[i]).sum();
    if filled > 0 && addresses * 2 > filled {
        return Some("IP addresses (identifiers: never a feature, never stored)".into());
    }
    if present.len() > MAX_VALUES && present.len() * IDENTIFIER_SHARE > codes.len() {
        return Some(format!(
            "text with {} distinct values in {} rows: an identifier or a group key, not a category",
            present.len(),
            codes.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_is_the_frequent_values_most_frequent_first() {
        let values = ["tcp", "udp", "tcp", "icmp", "udp", "tcp", "gre"];
        let f = CategoricalFeature::fit(Source::Text("proto".into()), values.iter().copied(), 2.0).unwrap();
        assert_eq!(f.vocabulary, vec!["tcp", "udp"], "icmp and gre are seen once: other");
        assert_eq!(f.column_names(), vec!["proto=tcp", "proto=udp", "proto=other"]);
        assert_eq!(f.width(), 3);
        // One value everywhere: constant, no feature.
        assert!(CategoricalFeature::fit(Source::Text("p".into()), ["a", "a", "a"].iter().copied(), 1.0).is_none());
        // Every value rare: all "other", constant too.
        assert!(CategoricalFeature::fit(Source::Text("p".into()), ["a", "b", "c"].iter().copied(), 1.0).is_none());
        // Ties are broken by value, so the order never depends on the rows' order.
        let f = CategoricalFeature::fit(Source::Text("p".into()), ["b", "a", "b", "a"].iter().copied(), 1.0).unwrap();
        assert_eq!(f.vocabulary, vec!["a", "b"]);
    }

    #[test]
    fn at_most_max_values_get_a_column() {
        let values: Vec<String> = (0..200).flat_map(|i| std::iter::repeat_n(format!("v{i:03}"), 2 + i % 3)).collect();
        let f = CategoricalFeature::fit(Source::Text("p".into()), values.iter().map(String::as_str), 1.0).unwrap();
        assert_eq!(f.vocabulary.len(), MAX_VALUES);
        assert_eq!(f.vocabulary[0], "v002", "the most frequent (4 rows) first, by value");
    }

    #[test]
    fn numbers_and_ports_as_values() {
        assert_eq!(number_value(6.0), "6");
        assert_eq!(number_value(-0.0), "0");
        assert_eq!(number_value(0.5), "0.5");
        assert_eq!(number_value(f64::NAN), MISSING);
        assert_eq!(server_port(51234.0, 443.0), 443.0);
        assert_eq!(server_port(53.0, 60000.0), 53.0);
        assert_eq!(server_port(f64::NAN, 80.0), 80.0);
        assert!(server_port(f64::NAN, f64::NAN).is_nan());
    }

    #[test]
    fn addresses_and_identifiers_are_no_categories() {
        let col = |vals: Vec<String>| {
            let codes: Vec<u32> = (0..vals.len() as u32).collect();
            not_a_category(&vals, &codes)
        };
        let ips: Vec<String> = (0..10).map(|i| format!("10.0.0.{}", i % 3)).collect();
        assert!(col(ips).unwrap().contains("IP addresses"));
        let ids: Vec<String> = (0..500).map(|i| format!("id{i}")).collect();
        assert!(col(ids).unwrap().contains("500 distinct values in 500 rows"));
        // 100 groups of 10 rows: group keys too; 100 values in 5,000 rows are categories.
        let values: Vec<String> = (0..100).map(|i| format!("g{i}")).collect();
        let codes: Vec<u32> = (0..1000).map(|i| i / 10).collect();
        assert!(not_a_category(&values, &codes).unwrap().contains("group key"));
        let codes: Vec<u32> = (0..5000).map(|i| i % 100).collect();
        assert_eq!(not_a_category(&values, &codes), None);
        let states = vec!["FIN".to_string(), "CON".to_string()];
        assert_eq!(not_a_category(&states, &[0, 1, 0, 0, 1]), None);
    }
}
