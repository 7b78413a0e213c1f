//! Property tests: the scaler and the metrics hold their promises on any
//! input, not only on the examples the unit tests chose.

use ndarray::Array2;
use ntc::features::{NumericFeatures, Transform};
use ntc::metrics::{summarize, Metrics};
use proptest::prelude::*;

/// A cell as flow CSVs hold them: mostly ordinary values over many orders
/// of magnitude, some missing (NaN) or infinite (CICFlowMeter's rates).
fn cell() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1e12f64..1e12,
        4 => (0u32..1000).prop_map(f64::from),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
    ]
}

fn matrix() -> impl Strategy<Value = Array2<f64>> {
    (1usize..40, 1usize..6)
        .prop_flat_map(|(n, d)| prop::collection::vec(cell(), n * d).prop_map(move |v| Array2::from_shape_vec((n, d), v).unwrap()))
}

fn transform() -> impl Strategy<Value = Transform> {
    prop_oneof![Just(Transform::None), Just(Transform::Log)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever the training rows, fitting either fails with an error (every
    /// column constant) or yields finite, standardised columns, and applying
    /// the stored transform to the raw rows reproduces the fitted matrix.
    #[test]
    fn scaler_output_is_finite_standardised_and_reproducible(x in matrix(), t in transform()) {
        let names: Vec<String> = (0..x.ncols()).map(|j| format!("f{j}")).collect();
        let Ok((pre, m, summary)) = NumericFeatures::fit(x.view(), &names, t) else { return Ok(()) };
        prop_assert_eq!(pre.n_features() + summary.constant.len(), x.ncols());
        prop_assert!(m.iter().all(|v| v.is_finite()), "non-finite output {:?}", m);
        for col in m.columns() {
            let n = col.len() as f64;
            let mean = col.sum() / n;
            let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            prop_assert!(mean.abs() < 1e-6, "mean {}", mean);
            // Unit variance, or zero when imputation made the column constant.
            prop_assert!((var - 1.0).abs() < 1e-6 || var < 1e-12, "variance {}", var);
        }
        let kept: Vec<usize> = pre.features.iter().map(|f| names.iter().position(|n| n == f).unwrap()).collect();
        let mut raw: Vec<f64> = x.rows().into_iter().flat_map(|r| kept.iter().map(move |&j| r[j])).collect();
        pre.transform_rows(&mut raw);
        for (a, b) in raw.iter().zip(m.iter()) {
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{} vs {}", a, b);
        }
    }

    /// Row order does not change what the scaler learns.
    #[test]
    fn scaler_ignores_row_order(x in matrix(), t in transform(), seed in any::<u64>()) {
        let names: Vec<String> = (0..x.ncols()).map(|j| format!("f{j}")).collect();
        let mut order: Vec<usize> = (0..x.nrows()).collect();
        let mut s = seed;
        for i in (1..order.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        let shuffled = x.select(ndarray::Axis(0), &order);
        match (NumericFeatures::fit(x.view(), &names, t), NumericFeatures::fit(shuffled.view(), &names, t)) {
            (Ok((a, _, _)), Ok((b, _, _))) => {
                prop_assert_eq!(&a.features, &b.features);
                prop_assert_eq!(&a.imputation, &b.imputation);
                for (p, q) in a.mean.iter().zip(&b.mean).chain(a.scale.iter().zip(&b.scale)) {
                    prop_assert!((p - q).abs() <= 1e-9 * (1.0 + p.abs()), "{} vs {}", p, q);
                }
            }
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "one order fits, the other does not"),
        }
    }
}

fn pairs() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (2usize..7).prop_flat_map(|k| (Just(k), prop::collection::vec((0..k, 0..k), 1..200)))
}

fn metrics(k: usize, p: &[(usize, usize)]) -> Metrics {
    let classes: Vec<String> = (0..k).map(|c| format!("c{c}")).collect();
    let (t, q): (Vec<usize>, Vec<usize>) = p.iter().copied().unzip();
    Metrics::from_pairs(&t, &q, &classes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn metrics_are_bounded_and_consistent((k, p) in pairs()) {
        let m = metrics(k, &p);
        prop_assert_eq!(m.rows, p.len() as u64);
        prop_assert_eq!(m.confusion.iter().flatten().sum::<u64>(), p.len() as u64);
        for v in [m.accuracy, m.macro_f1, m.weighted_f1] {
            prop_assert!((0.0..=1.0).contains(&v), "{}", v);
        }
        let correct = p.iter().filter(|(t, q)| t == q).count() as f64;
        prop_assert!((m.accuracy - correct / p.len() as f64).abs() < 1e-12);
        // Macro-F1: the mean F1 of the classes seen in the truth or the predictions.
        let seen: Vec<usize> = (0..k).filter(|&c| p.iter().any(|&(t, q)| t == c || q == c)).collect();
        let mean = seen.iter().map(|&c| m.per_class[c].f1).sum::<f64>() / seen.len() as f64;
        prop_assert!((m.macro_f1 - mean).abs() < 1e-12);
        for (c, s) in m.per_class.iter().enumerate() {
            prop_assert_eq!(s.support, p.iter().filter(|(t, _)| *t == c).count() as u64);
            prop_assert!(s.f1 <= s.precision.max(s.recall) + 1e-12);
            prop_assert!(s.f1 >= s.precision.min(s.recall) - 1e-12);
        }
    }

    #[test]
    fn perfect_predictions_score_one((k, p) in pairs()) {
        let same: Vec<(usize, usize)> = p.iter().map(|&(t, _)| (t, t)).collect();
        let m = metrics(k, &same);
        prop_assert_eq!(m.accuracy, 1.0);
        prop_assert_eq!(m.macro_f1, 1.0);
        prop_assert_eq!(m.weighted_f1, 1.0);
    }

    /// Neither the order of the rows nor the names (numbers) of the classes matter.
    #[test]
    fn metrics_ignore_row_order_and_class_numbering((k, p) in pairs(), shift in 1usize..6) {
        let m = metrics(k, &p);
        let mut rev = p.clone();
        rev.reverse();
        prop_assert_eq!(&metrics(k, &rev), &m);
        let relabel = |c: usize| (c + shift) % k;
        let r = metrics(k, &p.iter().map(|&(t, q)| (relabel(t), relabel(q))).collect::<Vec<_>>());
        prop_assert!((r.accuracy - m.accuracy).abs() < 1e-12);
        prop_assert!((r.macro_f1 - m.macro_f1).abs() < 1e-12);
        prop_assert!((r.weighted_f1 - m.weighted_f1).abs() < 1e-12);
    }

    /// Weighted counts (cross-validation's class reweighting) with weight 1
    /// are the plain counts, and scaling every weight changes nothing.
    #[test]
    fn weighted_summary_matches_counts((k, p) in pairs(), scale in 0.01f64..100.0) {
        let m = metrics(k, &p);
        let mut counts = vec![0.0; k * k];
        for &(t, q) in &p {
            counts[t * k + q] += 1.0;
        }
        let s = summarize(k, &counts);
        prop_assert_eq!(s.accuracy, m.accuracy);
        prop_assert_eq!(s.macro_f1, m.macro_f1);
        prop_assert_eq!(s.weighted_f1, m.weighted_f1);
        let scaled: Vec<f64> = counts.iter().map(|c| c * scale).collect();
        let z = summarize(k, &scaled);
        prop_assert!((z.macro_f1 - s.macro_f1).abs() < 1e-9 && (z.accuracy - s.accuracy).abs() < 1e-9);
    }
}
