//! Helpers for the end-to-end tests: run the binary as a user would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;

pub fn ntc() -> Command {
    Command::cargo_bin("ntc").unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// Writes `ntc synth` output to `dir/name`.
pub fn synth(dir: &Path, name: &str, rows: u64, seed: u64, dirty: bool) -> PathBuf {
    let out = dir.join(name);
    let mut cmd = ntc();
    cmd.args(["synth", "--rows", &rows.to_string(), "--seed", &seed.to_string(), "-o"]).arg(&out);
    if dirty {
        cmd.arg("--dirty");
    }
    cmd.assert().success();
    out
}

/// A model trained once per test binary on synthetic data, with its train/test files.
pub struct Trained {
    pub dir: tempfile::TempDir,
    pub train: PathBuf,
    pub test: PathBuf,
    pub model: PathBuf,
}

pub fn trained() -> &'static Trained {
    static T: OnceLock<Trained> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let train = synth(dir.path(), "train.csv", 4000, 1, false);
        let test = synth(dir.path(), "test.csv", 1500, 2, false);
        let model = dir.path().join("m.cbor");
        ntc()
            .args(["train", "-q", "--max-rows", "2000", "-m"])
            .arg(&model)
            .arg(&train)
            .assert()
            .success();
        Trained { dir, train, test, model }
    })
}

pub fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|rec| rec.unwrap().iter().map(String::from).collect()).collect();
    (h, rows)
}

/// A directory or file of ../shared beside the checkout, or None (and a note)
/// when it is not there; `.ci/run` sets `NTC_REQUIRE_SHARED`, so that CI cannot skip.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(relative);
    if p.exists() {
        return Some(p);
    }
    assert!(std::env::var_os("NTC_REQUIRE_SHARED").is_none(), "NTC_REQUIRE_SHARED is set but {} is missing", p.display());
    eprintln!("skipped: no {}", p.display());
    None
}
