//! Bad input: one clear line naming the file (and line or column), exit code 2, never a panic.

mod common;

use common::*;
use predicates::prelude::*;

fn train_error(file: &std::path::Path, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.cbor");
    let out = ntc().args(["train", "-q", "-m"]).arg(&m).arg(file).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(expect), "expected '{expect}' in: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));
    assert!(!m.exists(), "no model written on error");
}

#[test]
fn training_input_errors_name_file_line_and_column() {
    train_error(&fixture("bad_cell.csv"), "bad_cell.csv:3: column 'b': 'oops' is not a number");
    train_error(&fixture("bad_truncated.csv"), "bad_truncated.csv:4: expected 3 fields");
    train_error(&fixture("bad_header_only.csv"), "bad_header_only.csv: no data rows");
    train_error(&fixture("bad_empty.csv"), "bad_empty.csv: file is empty");
    train_error(&fixture("bad_semicolon.csv"), "bad_semicolon.csv:1: no label column 'ProtocolName'");
    train_error(&fixture("bad_duplicate_column.csv"), "bad_duplicate_column.csv:1: column 'a': duplicate column name");
    train_error(&fixture("does_not_exist.csv"), "does_not_exist.csv");
}

#[test]
fn one_class_is_not_enough() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("one.csv");
    std::fs::write(&f, "a,ProtocolName\n1,HTTP\n2,GOOGLE\n").unwrap();
    train_error(&f, "at least two classes");
}

#[test]
fn model_files_are_checked_before_use() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&t.model).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("text.cbor", b"hello, not a model".to_vec(), "not an ntc model file"),
        ("short.cbor", bytes[..bytes.len() / 2].to_vec(), "truncated"),
        ("flipped.cbor", {
            let mut b = bytes.clone();
            let n = b.len() - 10;
            b[n] ^= 0x55;
            b
        }, "corrupted"),
        ("huge_length.cbor", {
            // A length field claiming 2^62 bytes: refused as truncated, nothing of that size allocated.
            let mut b = bytes[..200].to_vec();
            b[12..20].copy_from_slice(&(1u64 << 62).to_le_bytes());
            b
        }, "truncated"),
        ("future.cbor", {
            let mut b = bytes.clone();
            b[8] = 99;
            b
        }, "format version 99"),
    ];
    for (name, content, expect) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        ntc()
            .args(["predict", "-m"])
            .arg(&p)
            .arg(&t.test)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(name).and(predicate::str::contains(expect)));
    }
    ntc().args(["evaluate", "-m", "nope.cbor"]).arg(&t.test).assert().code(2).stderr(predicate::str::contains("nope.cbor"));
    #[cfg(target_os = "linux")]
    ntc().args(["predict", "-m", "/dev/zero"]).arg(&t.test).assert().code(2).stderr(predicate::str::contains("/dev/zero: not an ntc model file"));
}

#[test]
fn predict_names_missing_features() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("few.csv");
    std::fs::write(&f, "Flow.Duration,Protocol\n1,6\n").unwrap();
    ntc()
        .args(["predict", "-m"])
        .arg(&t.model)
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("few.csv:1: missing").and(predicate::str::contains("feature columns the model needs")));
}

#[test]
fn evaluate_rejects_a_class_the_model_never_saw() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let apps = dir.path().join("apps.cbor");
    ntc().args(["train", "-q", "--no-proba", "--classes", "apps", "--max-rows", "500", "-m"]).arg(&apps).arg(&t.train).assert().success();
    // Rename one row's app to something never seen.
    let text = std::fs::read_to_string(&t.test).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let l = &lines[5];
    let cut = l.rfind(',').unwrap();
    lines[5] = format!("{},NEVER_SEEN_APP", &l[..cut]);
    let f = dir.path().join("new_app.csv");
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    ntc()
        .args(["evaluate", "-m"])
        .arg(&apps)
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("new_app.csv:6: column 'ProtocolName': class 'NEVER_SEEN_APP' was never seen"));
}

#[test]
fn bad_flags_are_usage_errors() {
    ntc().args(["train", "x.csv", "--gamma", "-1"]).assert().code(2);
    ntc().args(["train", "x.csv", "--max-rows", "0"]).assert().code(2);
    let t = trained();
    ntc().args(["train", "--drop", "NoSuchColumn", "-m"]).arg(t.dir.path().join("x.cbor")).arg(&t.train).assert().code(2).stderr(predicate::str::contains("--drop: no column 'NoSuchColumn'"));
}
