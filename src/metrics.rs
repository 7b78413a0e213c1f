//! Classification metrics, defined as scikit-learn defines them (a class
//! with no predictions has precision 0; macro averages weigh classes equally,
//! weighted averages by support).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub rows: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    pub classes: Vec<String>,
    pub per_class: Vec<ClassScore>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Accumulates a confusion matrix batch by batch.
#[derive(Clone, Debug)]
pub struct Confusion {
    k: usize,
    counts: Vec<u64>,
}

impl Confusion {
    pub fn new(k: usize) -> Self {
        Confusion { k, counts: vec![0; k * k] }
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth * self.k + predicted] += 1;
    }

    pub fn metrics(&self, classes: &[String]) -> Metrics {
        let k = self.k;
        let at = |t: usize, p: usize| self.counts[t * k + p];
        let counts: Vec<f64> = self.counts.iter().map(|&c| c as f64).collect();
        let s = summarize(k, &counts);
        let per_class = (0..k)
            .map(|c| ClassScore {
                precision: s.precision[c],
                recall: s.recall[c],
                f1: s.f1[c],
                support: (0..k).map(|p| at(c, p)).sum(),
            })
            .collect();
        Metrics {
            rows: self.counts.iter().sum(),
            accuracy: s.accuracy,
            macro_f1: s.macro_f1,
            weighted_f1: s.weighted_f1,
            classes: classes.to_vec(),
            per_class,
            confusion: (0..k).map(|t| (0..k).map(|p| at(t, p)).collect()).collect(),
        }
    }
}

/// The scores of a confusion matrix of counts (or of weights: any
/// non-negative values; the property tests use fractional ones).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub f1: Vec<f64>,
}

/// Scores of the row-major `k x k` matrix `counts[true * k + predicted]`.
pub fn summarize(k: usize, counts: &[f64]) -> Summary {
    let at = |t: usize, p: usize| counts[t * k + p];
    let total: f64 = counts.iter().sum();
    let correct: f64 = (0..k).map(|c| at(c, c)).sum();
    let support: Vec<f64> = (0..k).map(|c| (0..k).map(|p| at(c, p)).sum()).collect();
    let predicted: Vec<f64> = (0..k).map(|c| (0..k).map(|t| at(t, c)).sum()).collect();
    let (mut precision, mut recall, mut f1) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    for c in 0..k {
        let tp = at(c, c);
        precision[c] = if predicted[c] > 0.0 { tp / predicted[c] } else { 0.0 };
        recall[c] = if support[c] > 0.0 { tp / support[c] } else { 0.0 };
        f1[c] = if precision[c] + recall[c] > 0.0 { 2.0 * precision[c] * recall[c] / (precision[c] + recall[c]) } else { 0.0 };
    }
    // As scikit-learn: averaged over the classes that occur in the truth
    // or the predictions (a class absent from both says nothing).
    let seen: Vec<usize> = (0..k).filter(|&c| support[c] > 0.0 || predicted[c] > 0.0).collect();
    let macro_f1 = if seen.is_empty() { 0.0 } else { seen.iter().map(|&c| f1[c]).sum::<f64>() / seen.len() as f64 };
    let weighted_f1 = if total > 0.0 { (0..k).map(|c| f1[c] * support[c]).sum::<f64>() / total } else { 0.0 };
    Summary { accuracy: if total > 0.0 { correct / total } else { 0.0 }, macro_f1, weighted_f1, precision, recall, f1 }
}

impl Metrics {
    pub fn from_pairs(truth: &[usize], predicted: &[usize], classes: &[String]) -> Metrics {
        let mut c = Confusion::new(classes.len());
        for (&t, &p) in truth.iter().zip(predicted) {
            c.add(t, p);
        }
        c.metrics(classes)
    }

    /// The `evaluate --json` object.
    pub fn to_json(&self) -> serde_json::Value {
        let per_class: serde_json::Map<String, serde_json::Value> = self
            .classes
            .iter()
            .zip(&self.per_class)
            .map(|(c, s)| {
                (
                    c.clone(),
                    serde_json::json!({"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}),
                )
            })
            .collect();
        serde_json::json!({
            "rows": self.rows,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
            "classes": self.classes,
            "per_class": per_class,
            "confusion": self.confusion,
        })
    }

    /// A readable table: summary, per-class scores, confusion matrix.
    pub fn to_table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let w = self.classes.iter().map(|c| c.len()).max().unwrap_or(5).max(9);
        writeln!(s, "rows         {}", self.rows).unwrap();
        writeln!(s, "accuracy     {:.4}", self.accuracy).unwrap();
        writeln!(s, "macro F1     {:.4}", self.macro_f1).unwrap();
        writeln!(s, "weighted F1  {:.4}", self.weighted_f1).unwrap();
        writeln!(s).unwrap();
        writeln!(s, "{:<w$}  {:>9}  {:>9}  {:>9}  {:>9}", "class", "precision", "recall", "f1", "support").unwrap();
        for (c, sc) in self.classes.iter().zip(&self.per_class) {
            writeln!(s, "{c:<w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9}", sc.precision, sc.recall, sc.f1, sc.support)
                .unwrap();
        }
        writeln!(s).unwrap();
        writeln!(s, "confusion matrix (rows: true class, columns: predicted)").unwrap();
        let cw = self
            .confusion
            .iter()
            .flatten()
            .map(|v| v.to_string().len())
            .chain(self.classes.iter().map(|c| c.len()))
            .max()
            .unwrap_or(1);
        write!(s, "{:<w$}", "").unwrap();
        for c in &self.classes {
            write!(s, "  {c:>cw$}").unwrap();
        }
        writeln!(s).unwrap();
        for (c, row) in self.classes.iter().zip(&self.confusion) {
            write!(s, "{c:<w$}").unwrap();
            for v in row {
                write!(s, "  {v:>cw$}").unwrap();
            }
            writeln!(s).unwrap();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn_on_a_small_case() {
        // sklearn: y_true=[0,0,1,1,2,2], y_pred=[0,1,1,1,2,0]
        let classes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let m = Metrics::from_pairs(&[0, 0, 1, 1, 2, 2], &[0, 1, 1, 1, 2, 0], &classes);
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // per class: a p=.5 r=.5 f=.5; b p=2/3 r=1 f=.8; c p=1 r=.5 f=2/3
        assert!((m.per_class[1].f1 - 0.8).abs() < 1e-12);
        assert!((m.macro_f1 - (0.5 + 0.8 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(m.confusion, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]);
    }

    #[test]
    fn class_never_predicted_has_zero_precision() {
        let classes: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let m = Metrics::from_pairs(&[0, 1], &[0, 0], &classes);
        assert_eq!(m.per_class[1].precision, 0.0);
        assert_eq!(m.per_class[1].f1, 0.0);
    }

    #[test]
    fn macro_f1_leaves_out_classes_absent_from_truth_and_predictions() {
        // sklearn f1_score([0, 0, 1], [0, 1, 1], average='macro') = (2/3 + 2/3) / 2,
        // whatever other labels the model knows.
        let classes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let m = Metrics::from_pairs(&[0, 0, 1], &[0, 1, 1], &classes);
        assert!((m.macro_f1 - 2.0 / 3.0).abs() < 1e-12, "{}", m.macro_f1);
    }
}
