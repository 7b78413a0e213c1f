//! The model file: everything `predict` needs, plus a card describing how
//! the model was made. CBOR (ciborium) behind a small binary header:
//!
//! ```text
//! "NTCMODEL" | format version (u32 LE) | payload length (u64 LE) | SHA-256 of payload | CBOR payload
//! ```
//!
//! The header lets a loader say "not an ntc model", "another format
//! version", "truncated" or "corrupted" before decoding anything. Nothing in
//! the file changes from run to run (no clock time, no absolute paths), so
//! the same data and seed give byte-identical files. A model is plain data:
//! loading one can never run code.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::classes::ClassMap;
use crate::drift::TrainingProfile;
use crate::error::{display_path, Error, Result};
use crate::features::Preprocessor;
use crate::metrics::Metrics;
use crate::svm::SvmModel;

pub const MAGIC: &[u8; 8] = b"NTCMODEL";
pub const FORMAT_VERSION: u32 = 8;
/// The oldest format this version reads: 5 had numeric features only, which
/// 6 reads as a preprocessor without categorical features; 7 added the
/// final pass of `--tune` to the tuning table (6 reads as a table without
/// one); 8 added the features the kernel ties (7 reads as none tied, the
/// kernel it was trained with).
pub const OLDEST_READABLE: u32 = 5;
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

/// How and on what a model was trained (the model card).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// File name only (no directory: paths say things about the machine and user).
    pub file_name: String,
    pub file_sha256: String,
    pub rows_in_file: u64,
    pub rows_used: u64,
    /// `(class, rows in the file, rows used)`.
    pub rows_per_class: Vec<(String, u64, u64)>,
    pub seed: u64,
    pub max_rows: Option<u64>,
    pub label_column: String,
    /// `--c`, `--gamma` as given, `--class-weight`.
    pub c: f64,
    pub gamma_flag: String,
    pub class_weight: String,
    /// Feature transform and oversampling of the final fit.
    pub transform: String,
    pub oversample: String,
    /// The cross-validation table, when `--tune` chose the parameters.
    pub tuning: Option<crate::tune::TuneReport>,
    /// Columns present but not used, with the reason.
    pub dropped_columns: Vec<(String, String)>,
    pub imputed_cells: u64,
    /// Scores on the training rows themselves (resubstitution): an upper bound, not a test score.
    pub training_metrics: Metrics,
    /// The training file's feature distributions and class mix, for drift reports.
    pub profile: TrainingProfile,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub ntc_version: String,
    pub class_map: ClassMap,
    pub classes: Vec<String>,
    pub preprocessor: Preprocessor,
    pub svm: SvmModel,
    pub training: TrainingInfo,
}

impl Model {
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut payload = Vec::new();
        ciborium::into_writer(self, &mut payload).map_err(|e| anyhow::anyhow!("encoding model: {e}"))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&payload));
        out.extend_from_slice(&payload);
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Model> {
        let bad = |msg: &str| Error::input(format!("{name}: {msg}"));
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not an ntc model file"));
        }
        if bytes.len() < HEADER_LEN {
            return Err(bad("truncated ntc model file (header incomplete)"));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if !(OLDEST_READABLE..=FORMAT_VERSION).contains(&version) {
            return Err(bad(&format!(
                "model format version {version}; this ntc ({}) reads versions {OLDEST_READABLE} to {FORMAT_VERSION}: retrain the model with this version",
                crate::NTC_VERSION
            )));
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
        let payload = &bytes[HEADER_LEN..];
        if (payload.len() as u64) < len {
            return Err(bad(&format!("truncated ntc model file ({} of {len} payload bytes)", payload.len())));
        }
        if payload.len() as u64 != len {
            return Err(bad("ntc model file has trailing bytes (corrupted)"));
        }
        if Sha256::digest(payload).as_slice() != &bytes[20..52] {
            return Err(bad("ntc model file is corrupted (checksum mismatch)"));
        }
        let model: Model =
            ciborium::from_reader(payload).map_err(|e| bad(&format!("cannot decode ntc model: {e}")))?;
        model.check().map_err(|m| bad(&format!("inconsistent ntc model: {m}")))?;
        Ok(model)
    }

    /// Internal consistency, so that a decodable but wrong file cannot cause a panic later.
    fn check(&self) -> std::result::Result<(), String> {
        let p = &self.preprocessor.numeric;
        let dn = p.features.len();
        if p.imputation.len() != dn || p.mean.len() != dn || p.scale.len() != dn {
            return Err("numeric feature count differs between parts".into());
        }
        for f in &self.preprocessor.categorical {
            if !(f.weight.is_finite() && f.weight > 0.0) || f.source.columns().iter().any(|c| c.is_empty()) {
                return Err(format!("categorical feature '{}' is malformed", f.source.name()));
            }
        }
        let d = self.preprocessor.n_features();
        if self.svm.n_features != d {
            return Err("feature count differs between parts".into());
        }
        if d == 0 || self.svm.support_vectors.len() % d != 0 {
            return Err("support vector matrix has the wrong size".into());
        }
        self.svm.check_ties()?;
        let k = self.classes.len();
        if self.svm.n_classes != k || k == 0 || self.svm.pairs.len() != k * (k - 1) / 2 {
            return Err("class count differs between parts".into());
        }
        let pf = &self.training.profile;
        if pf.features.len() != self.preprocessor.numeric_inputs().len() || pf.class_mix.len() != k || pf.features.iter().any(|f| f.shares.len() != f.edges.len() + 2) {
            return Err("training profile does not match the features and classes".into());
        }
        self.check_values()?;
        let n_sv = self.svm.n_support_vectors();
        let starts = &self.svm.sv_class_start;
        if starts.len() != k + 1 || starts[0] != 0 || starts[k] as usize != n_sv || starts.windows(2).any(|w| w[0] > w[1]) {
            return Err("support vector class ranges are malformed".into());
        }
        let in_class = |i: u32, c: u32| starts[c as usize] <= i && i < starts[c as usize + 1];
        for pm in &self.svm.pairs {
            if pm.a as usize >= k || pm.b as usize >= k || pm.sv.len() != pm.coef.len() {
                return Err("a class pair is malformed".into());
            }
            if pm.sv.iter().any(|&i| !(in_class(i, pm.a) || in_class(i, pm.b))) {
                return Err("a support vector index is out of range".into());
            }
        }
        Ok(())
    }

    /// Every number in range and every name distinct: a model with a NaN
    /// gamma or an infinite drift edge (checksum intact, so made on purpose
    /// or by a broken tool) would predict nonsense or stall the report.
    fn check_values(&self) -> std::result::Result<(), String> {
        let finite = |v: &f64| v.is_finite();
        let positive = |v: &f64| v.is_finite() && *v > 0.0;
        let svm = &self.svm;
        if !positive(&svm.gamma) || !positive(&svm.c) || !svm.class_c.iter().all(positive) {
            return Err(format!("C and gamma must be positive numbers (C {}, gamma {})", svm.c, svm.gamma));
        }
        if !svm.support_vectors.iter().all(finite) {
            return Err("a support vector holds a value that is not a finite number".into());
        }
        for pm in &svm.pairs {
            let platt_ok = pm.platt.is_none_or(|(a, b)| a.is_finite() && b.is_finite());
            if !(pm.rho.is_finite() && platt_ok && pm.coef.iter().all(finite)) {
                return Err("a class pair's coefficients, offset or probability sigmoid are not finite numbers".into());
            }
        }
        let num = &self.preprocessor.numeric;
        for (j, name) in num.features.iter().enumerate() {
            let imp = &num.imputation[j];
            if !(finite(&num.mean[j]) && positive(&num.scale[j]) && [imp.median, imp.min, imp.max].iter().all(finite)) {
                return Err(format!("feature '{name}': its scaling or imputation values are not finite numbers"));
            }
        }
        let pf = &self.training.profile;
        for f in &pf.features {
            let ascending = f.edges.windows(2).all(|w| w[0] < w[1]);
            let shares_ok = f.shares.iter().all(|s| (0.0..=1.0 + 1e-9).contains(s));
            let range_ok = [f.min, f.max].iter().all(|v| v.is_finite() || v.is_nan());
            if !(f.edges.iter().all(finite) && ascending && shares_ok && range_ok) {
                return Err(format!("the training profile of '{}' is malformed", f.name));
            }
        }
        if !pf.class_mix.iter().all(|s| (0.0..=1.0 + 1e-9).contains(s)) {
            return Err("the training class mix is malformed".into());
        }
        let mut names: Vec<&String> = self.classes.iter().collect();
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("class '{}' appears twice", w[0]));
        }
        if names.iter().any(|n| n.is_empty()) {
            return Err("a class has no name".into());
        }
        for f in &self.preprocessor.categorical {
            let mut v: Vec<&String> = f.vocabulary.iter().collect();
            v.sort();
            if v.windows(2).any(|w| w[0] == w[1]) {
                return Err(format!("categorical feature '{}' lists a value twice", f.source.name()));
            }
        }
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Model> {
        use std::io::Read;
        let name = display_path(path);
        let cannot = |e: std::io::Error| Error::input(format!("{name}: cannot read model: {e}"));
        let mut file = std::fs::File::open(path).map_err(cannot)?;
        // The header first: what is not a model is refused after 52 bytes (`-m /dev/zero` too), and
        // the payload is read only as far as the header says, plus one byte to notice trailing bytes.
        let mut bytes = Vec::with_capacity(HEADER_LEN);
        (&mut file).take(HEADER_LEN as u64).read_to_end(&mut bytes).map_err(cannot)?;
        if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Self::from_bytes(&bytes, &name);
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
        file.take(len.saturating_add(1)).read_to_end(&mut bytes).map_err(cannot)?;
        Self::from_bytes(&bytes, &name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svm::SvcParams;
    use ndarray::array;

    fn tiny_model() -> Model {
        let x = array![[0.0, 1.0], [0.1, 1.2], [3.0, 0.0], [3.2, 0.1], [0.2, 0.9], [2.9, 0.2]];
        let names = vec!["a".to_string(), "b".to_string()];
        let (numeric, xs, _) = crate::features::NumericFeatures::fit(x.view(), &names, crate::features::Transform::None).unwrap();
        let pre = Preprocessor { numeric, categorical: vec![] };
        let y = [0, 0, 1, 1, 0, 1];
        let flat: Vec<f64> = xs.iter().copied().collect();
        let svm = SvmModel::fit(&flat, 2, &y, 2, &SvcParams { probability: false, ..SvcParams::default() }).unwrap();
        let classes = vec!["Secure".to_string(), "Web".to_string()];
        let training_metrics = Metrics::from_pairs(&y, &svm.predict(&flat, false).class, &classes);
        Model {
            ntc_version: crate::NTC_VERSION.into(),
            class_map: ClassMap::categories(),
            classes: classes.clone(),
            preprocessor: pre,
            svm,
            training: TrainingInfo {
                file_name: "t.csv".into(),
                file_sha256: "0".repeat(64),
                rows_in_file: 6,
                rows_used: 6,
                rows_per_class: vec![("Secure".into(), 3, 3), ("Web".into(), 3, 3)],
                seed: 1,
                max_rows: None,
                label_column: "ProtocolName".into(),
                c: 10.0,
                gamma_flag: "scale".into(),
                class_weight: "none".into(),
                transform: "none".into(),
                oversample: "none".into(),
                tuning: None,
                dropped_columns: vec![],
                imputed_cells: 0,
                training_metrics,
                profile: crate::drift::TrainingProfile::from_rows(
                    x.as_slice().unwrap(),
                    &names,
                    &y,
                    &[3, 3],
                ),
            },
        }
    }

    #[test]
    fn round_trip_is_exact() {
        let m = tiny_model();
        let bytes = m.to_bytes().unwrap();
        assert_eq!(&bytes[..8], MAGIC);
        let back = Model::from_bytes(&bytes, "m.cbor").unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_bytes().unwrap(), bytes, "encoding is deterministic");
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = tiny_model().to_bytes().unwrap();
        for cut in 0..bytes.len() {
            let err = Model::from_bytes(&bytes[..cut], "m.cbor").unwrap_err().to_string();
            assert!(err.starts_with("m.cbor: "), "{err}");
        }
    }

    #[test]
    fn values_out_of_range_are_refused_on_load() {
        let cases: Vec<(&str, Box<dyn Fn(&mut Model)>)> = vec![
            ("NaN gamma", Box::new(|m| m.svm.gamma = f64::NAN)),
            ("negative gamma", Box::new(|m| m.svm.gamma = -1.0)),
            ("infinite gamma", Box::new(|m| m.svm.gamma = f64::INFINITY)),
            ("NaN scale", Box::new(|m| m.preprocessor.numeric.scale[0] = f64::NAN)),
            ("NaN rho", Box::new(|m| m.svm.pairs[0].rho = f64::NAN)),
            ("NaN Platt", Box::new(|m| m.svm.pairs[0].platt = Some((f64::NAN, 0.0)))),
            ("infinite edge", Box::new(|m| m.training.profile.features[0].edges = vec![0.0, f64::INFINITY])),
            ("unsorted edges", Box::new(|m| m.training.profile.features[0].edges = vec![1.0, 0.0])),
            ("duplicate class", Box::new(|m| m.classes[1] = m.classes[0].clone())),
        ];
        for (what, spoil) in cases {
            let mut m = tiny_model();
            spoil(&mut m);
            // Keep the shapes consistent where the spoiling changed a length.
            let f = &mut m.training.profile.features[0];
            f.shares = vec![1.0 / (f.edges.len() + 2) as f64; f.edges.len() + 2];
            let err = Model::from_bytes(&m.to_bytes().unwrap(), "m.cbor").unwrap_err().to_string();
            assert!(err.starts_with("m.cbor: inconsistent ntc model: "), "{what}: {err}");
        }
        // Huge but finite profile values are a legitimate model.
        let mut m = tiny_model();
        m.training.profile.features[0].edges = vec![-1e308, 1e308];
        m.training.profile.features[0].shares = vec![0.25; 4];
        Model::from_bytes(&m.to_bytes().unwrap(), "m.cbor").unwrap();
    }

    #[test]
    fn a_decodable_but_inconsistent_model_is_refused() {
        let mut m = tiny_model();
        m.svm.pairs[0].sv.push(9999);
        m.svm.pairs[0].coef.push(1.0);
        let err = Model::from_bytes(&m.to_bytes().unwrap(), "m.cbor").unwrap_err().to_string();
        assert!(err.contains("support vector index is out of range"), "{err}");
    }
}
