//! Any bytes as a model file, and any bytes as a model payload behind a
//! valid header and checksum (else the checksum stops nearly every input
//! before decoding): an error or a model that predicts, never a panic or
//! an allocation beyond the input's size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntc::model::{Model, FORMAT_VERSION, MAGIC};
use ntc::svm::Predictor;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let _ = Model::from_bytes(data, "m.cbor");
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(data.len() as u64).to_le_bytes());
    file.extend_from_slice(&Sha256::digest(data));
    file.extend_from_slice(data);
    if let Ok(model) = Model::from_bytes(&file, "m.cbor") {
        // A model that passed its checks must be usable on any row.
        let enc = model.preprocessor.encoder();
        let w = enc.input_width();
        // One row of zeros, one of NaN (a text code of NaN is "other").
        let mut inputs = vec![0.0; w * 2];
        inputs[w..].iter_mut().for_each(|v| *v = f64::NAN);
        let rows = enc.transform(&inputs);
        assert_eq!(rows.len(), 2 * model.preprocessor.n_features());
        let p = Predictor::new(&model.svm).predict(&rows, model.svm.has_probability());
        assert_eq!(p.class.len(), 2);
        assert!(p.class.iter().all(|&c| c < model.classes.len()));
    }
});
