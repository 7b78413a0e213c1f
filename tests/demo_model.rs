//! Reproducible training, proved on every run: retraining the committed demo
//! model with the documented commands (models/README.md) gives the same bytes.

mod common;

use common::*;

#[test]
fn demo_model_is_reproduced_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "demo-synth.csv", 3000, 7, false);
    let model = dir.path().join("demo-synth.cbor");
    ntc().args(["train", "-q", "--max-rows", "1000", "--seed", "7", "-m"]).arg(&model).arg(&data).assert().success();
    let fresh = std::fs::read(&model).unwrap();
    let committed_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo-synth.cbor");
    if std::env::var_os("NTC_BLESS").is_some() {
        std::fs::write(&committed_path, &fresh).unwrap();
    }
    let committed = std::fs::read(&committed_path).expect("models/demo-synth.cbor is committed");
    assert!(
        fresh == committed,
        "retrained demo model differs from models/demo-synth.cbor ({} vs {} bytes): training is not reproducible, \
         or the model format changed (then regenerate it with NTC_BLESS=1 cargo test --release --test demo_model)",
        fresh.len(),
        committed.len()
    );
}
