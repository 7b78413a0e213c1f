//! Inputs found by trying to break ntc from outside: blank lines, tiny drift
//! samples, crafted model files, pipes, its own output, odd mapping files,
//! values near the largest float, empty inputs. None may panic, hang, lie
//! or destroy a file.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The header and the data lines of the shared test file.
fn test_lines() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(&trained().test).unwrap();
    let mut lines = text.lines().map(String::from);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

fn spoil_cell(line: &str, column: usize, value: &str) -> String {
    let mut f: Vec<&str> = line.split(',').collect();
    f[column] = value;
    f.join(",")
}

#[test]
fn blank_lines_keep_physical_line_numbers_and_a_parsable_rejects_file() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let (h, rows) = test_lines();
    // Lines: 1 header, 2 row, 3 blank, 4 row, 5 blank, 6 bad row, 7.. rows.
    let bad = spoil_cell(&rows[2], 9, "12x");
    let text = format!("{h}\n{}\n\n{}\n\n{bad}\n{}\n", rows[0], rows[1], rows[3..20].join("\n"));
    let f = write(dir.path(), "blank.csv", &text);
    ntc()
        .args(["predict", "-m"])
        .arg(&t.model)
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("blank.csv:6: column"));
    let rejects = dir.path().join("r.csv");
    let out = ntc()
        .args(["predict", "-q", "--keep", "none", "--on-error", "skip", "--rejects"])
        .arg(&rejects)
        .arg("-m")
        .arg(&t.model)
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1 + 19, "every good row predicted");
    let mut r = csv::ReaderBuilder::new().from_path(&rejects).unwrap();
    let recs: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(recs.len(), 1, "one rejected record, in one piece");
    assert_eq!(&recs[0][0], "6");
    assert_eq!(recs[0].len(), r.headers().unwrap().len());
    // CRLF blank lines too, and training (Polars reads the rows) sees the same rows as a file without them.
    let crlf = format!("{h}\r\n{}\r\n\r\n{}\r\n", rows[0], rows[1..].join("\r\n"));
    let f = write(dir.path(), "crlf.csv", &crlf);
    let plain = write(dir.path(), "plain.csv", &format!("{h}\n{}\n", rows.join("\n")));
    let m1 = dir.path().join("a.cbor");
    let m2 = dir.path().join("b.cbor");
    ntc().args(["train", "-q", "--max-rows", "500", "-m"]).arg(&m1).arg(&f).assert().success();
    ntc().args(["train", "-q", "--max-rows", "500", "-m"]).arg(&m2).arg(&plain).assert().success();
    let predict = |m: &Path| ntc().args(["predict", "-q", "--keep", "none", "-m"]).arg(m).arg(&plain).output().unwrap().stdout;
    assert_eq!(predict(&m1), predict(&m2));
}

#[test]
fn a_small_sample_of_the_training_traffic_is_not_drift() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&t.train).unwrap();
    let first: Vec<&str> = text.lines().take(21).collect();
    let f = write(dir.path(), "first20.csv", &(first.join("\n") + "\n"));
    let out = ntc().args(["report", "--fail-on-drift", "-m"]).arg(&t.model).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("- drift: not judged (20 rows; at least 300"), "{md}");
    // A large enough sample of changed traffic still fails.
    let (h, rows) = test_lines();
    let dur = h.split(',').position(|c| c == "Flow.Duration").unwrap();
    let changed: Vec<String> = rows.iter().map(|r| spoil_cell(r, dur, "99999999999")).collect();
    let f = write(dir.path(), "changed.csv", &format!("{h}\n{}\n", changed.join("\n")));
    ntc().args(["report", "-q", "--fail-on-drift", "-o", "/dev/null", "-m"]).arg(&t.model).arg(&f).assert().code(3);
}

/// A copy of the shared model with `spoil` applied, written with a valid checksum.
fn crafted(dir: &Path, name: &str, spoil: impl Fn(&mut ntc::model::Model)) -> PathBuf {
    let mut m = ntc::model::Model::load(&trained().model).unwrap();
    spoil(&mut m);
    let p = dir.join(name);
    std::fs::write(&p, m.to_bytes().unwrap()).unwrap();
    p
}

#[test]
fn crafted_models_are_refused_or_reported_quickly() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let refused: Vec<(&str, Box<dyn Fn(&mut ntc::model::Model)>)> = vec![
        ("nan_gamma", Box::new(|m| m.svm.gamma = f64::NAN)),
        ("negative_gamma", Box::new(|m| m.svm.gamma = -0.5)),
        ("nan_scale", Box::new(|m| m.preprocessor.numeric.scale[3] = f64::NAN)),
        ("nan_rho", Box::new(|m| m.svm.pairs[1].rho = f64::NAN)),
        ("nan_platt", Box::new(|m| m.svm.pairs[0].platt = Some((f64::NAN, f64::NAN)))),
        ("inf_edge", Box::new(|m| *m.training.profile.features[0].edges.last_mut().unwrap() = f64::INFINITY)),
        ("duplicate_class", Box::new(|m| m.classes[1] = m.classes[0].clone())),
    ];
    for (name, spoil) in refused {
        let p = crafted(dir.path(), name, spoil);
        for cmd in ["predict", "evaluate", "report"] {
            ntc()
                .args([cmd, "-m"])
                .arg(&p)
                .arg(&t.test)
                .timeout(Duration::from_secs(60))
                .assert()
                .code(2)
                .stderr(predicates::str::contains("inconsistent ntc model"));
        }
    }
    // Huge but finite drift edges: a valid model, reported in seconds.
    let p = crafted(dir.path(), "huge_edges", |m| {
        for f in &mut m.training.profile.features {
            let n = f.edges.len();
            f.edges = (0..n).map(|i| 1e308 * (i as f64 / n as f64 - 0.5)).collect();
            f.min = -1.7e308;
            f.max = 1.7e308;
        }
    });
    let html = dir.path().join("r.html");
    ntc().args(["report", "-q", "-m"]).arg(&p).arg("-o").arg(&html).arg(&t.test).timeout(Duration::from_secs(60)).assert().success();
}

#[test]
fn a_grid_or_c_that_is_not_a_finite_positive_number_is_refused() {
    let t = trained();
    for args in [
        vec!["--tune", "--grid", "c=1:5:2,gamma=2000:2000:1"],
        vec!["--c", "inf"],
        vec!["--c", "0"],
        vec!["--c", "nan"],
        vec!["--gamma", "inf"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.cbor");
        ntc().args(["train", "-q", "--max-rows", "300"]).args(&args).arg("-m").arg(&m).arg(&t.train).assert().code(2);
        assert!(!m.exists(), "{args:?}: no model");
    }
}

#[test]
fn training_from_a_pipe_says_it_needs_a_file() {
    let t = trained();
    let text = std::fs::read(&t.train).unwrap();
    for input in ["-", "/dev/stdin"] {
        ntc()
            .args(["train", "-q", "-m", "/dev/null", input])
            .write_stdin(text.clone())
            .assert()
            .code(2)
            .stderr(predicates::str::contains("needs a regular file, not a pipe"));
    }
}

#[test]
fn predicting_its_own_output_replaces_the_prediction_columns() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let once = dir.path().join("once.csv");
    ntc().args(["predict", "-q", "--proba", "-m"]).arg(&t.model).arg("-o").arg(&once).arg(&t.test).assert().success();
    let twice = ntc().args(["predict", "-q", "--proba", "-m"]).arg(&t.model).arg(&once).output().unwrap();
    assert!(twice.status.success(), "{}", String::from_utf8_lossy(&twice.stderr));
    assert_eq!(String::from_utf8_lossy(&twice.stdout), std::fs::read_to_string(&once).unwrap(), "same columns, same values");
    // Without --proba, the earlier confidence and p_* columns are input columns, and kept once.
    let plain = ntc().args(["predict", "-q", "-m"]).arg(&t.model).arg(&once).output().unwrap();
    let (h, _) = read_csv(&String::from_utf8_lossy(&plain.stdout));
    assert_eq!(h.iter().filter(|c| *c == "predicted").count(), 1);
    assert_eq!(h.iter().filter(|c| *c == "confidence").count(), 1);
    // And ntc reads its own output back.
    ntc().args(["evaluate", "-m"]).arg(&t.model).arg(&once).assert().success();
}

#[test]
fn a_mapping_file_is_a_csv() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.cbor");
    let three = write(dir.path(), "three.csv", "GOOGLE,Search,extra\n*,Rest\n");
    ntc()
        .args(["train", "-q", "--classes"])
        .arg(&three)
        .arg("-m")
        .arg(&m)
        .arg(&t.train)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("three.csv:1: expected `name,class`, found 3 fields"));
    let two_stars = write(dir.path(), "stars.csv", "*,Rest\nGOOGLE,Search\n*,Other\n");
    ntc().args(["train", "-q", "--classes"]).arg(&two_stars).arg("-m").arg(&m).arg(&t.train).assert().code(2);
    let quoted = write(dir.path(), "quoted.csv", "name,class\n\"SSL\",\"Secure, encrypted\"\n*,Rest\n");
    ntc().args(["train", "-q", "--max-rows", "500", "--classes"]).arg(&quoted).arg("-m").arg(&m).arg(&t.train).assert().success();
    let out = ntc().args(["predict", "-q", "--keep", "none", "-m"]).arg(&m).arg(&t.test).output().unwrap();
    let (_, rows) = read_csv(&String::from_utf8_lossy(&out.stdout));
    assert!(rows.iter().all(|r| r[0] == "Secure, encrypted" || r[0] == "Rest"), "quotes are CSV quotes, not part of the name");
    assert!(rows.iter().any(|r| r[0] == "Secure, encrypted"));
}

#[test]
fn values_near_the_largest_float_do_not_collapse_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let (h, rows) = test_lines();
    let dur = h.split(',').position(|c| c == "Flow.Duration").unwrap();
    let huge: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| spoil_cell(r, dur, ["1e308", "-1e308", "1.7e308", "0"][i % 4]))
        .collect();
    let f = write(dir.path(), "huge.csv", &format!("{h}\n{}\n", huge.join("\n")));
    let m = dir.path().join("m.cbor");
    ntc().args(["train", "-q", "--transform", "none", "--no-proba", "-m"]).arg(&m).arg(&f).assert().success();
    let out = ntc().args(["predict", "-q", "--keep", "none", "-m"]).arg(&m).arg(&f).output().unwrap();
    let (_, rows) = read_csv(&String::from_utf8_lossy(&out.stdout));
    let mut classes: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    classes.sort();
    classes.dedup();
    assert!(classes.len() >= 3, "predictions collapsed to {classes:?}");
}

#[test]
fn an_empty_input_is_an_empty_result_for_predict_and_report() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let (h, _) = test_lines();
    let f = write(dir.path(), "quiet_hour.csv", &format!("{h}\n"));
    let out = ntc().args(["predict", "-m"]).arg(&t.model).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{h},predicted\n"));
    let out = ntc().args(["predict", "--keep", "none", "--proba", "-m"]).arg(&t.model).arg(&f).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("predicted,confidence,p_"));
    let out = ntc().args(["report", "-m"]).arg(&t.model).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("- rows: 0\n"));
    let html = dir.path().join("r.html");
    ntc().args(["report", "-q", "--fail-on-drift", "-m"]).arg(&t.model).arg("-o").arg(&html).arg(&f).assert().success();
    for cmd in ["train", "evaluate"] {
        ntc()
            .args([cmd, "-m"])
            .arg(if cmd == "train" { dir.path().join("new.cbor") } else { t.model.clone() })
            .arg(&f)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("quiet_hour.csv: no data rows"));
    }
}

#[test]
fn report_and_evaluate_agree_on_rows_that_cannot_be_scored() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let (h, rows) = test_lines();
    let dur = h.split(',').position(|c| c == "Flow.Duration").unwrap();
    let label = h.split(',').position(|c| c == "ProtocolName").unwrap();
    // Every row has a word where the model needs a number.
    let bad: Vec<String> = rows.iter().take(20).map(|r| spoil_cell(r, dur, "abc")).collect();
    let f = write(dir.path(), "all_bad.csv", &format!("{h}\n{}\n", bad.join("\n")));
    ntc().args(["evaluate", "-m"]).arg(&t.model).arg(&f).assert().code(2);
    let md = String::from_utf8_lossy(&ntc().args(["report", "-m"]).arg(&t.model).arg(&f).output().unwrap().stdout).into_owned();
    let on_file = md.split("## Model on this file").nth(1).expect("the section says why nothing was scored");
    assert!(!on_file.contains("accuracy"), "nothing was scored: {md}");
    assert!(md.contains("No row could be scored: 20 rows whose model columns hold a cell that is not a number."), "{md}");
    // Some rows bad, some with labels the model has no class for: both said in every format.
    let mut mixed: Vec<String> = rows.clone();
    mixed[0] = spoil_cell(&mixed[0], dur, "abc");
    mixed[1] = spoil_cell(&mixed[1], label, "");
    let f = write(dir.path(), "mixed.csv", &format!("{h}\n{}\n", mixed.join("\n")));
    let md = String::from_utf8_lossy(&ntc().args(["report", "-m"]).arg(&t.model).arg(&f).output().unwrap().stdout).into_owned();
    assert!(md.contains("Left out of the scores, as ntc evaluate rejects them: 1 rows whose model columns hold a cell that is not a number; 1 rows with an empty label."), "{md}");
    let html = dir.path().join("r.html");
    ntc().args(["report", "-q", "-m"]).arg(&t.model).arg("-o").arg(&html).arg(&f).assert().success();
    assert!(std::fs::read_to_string(&html).unwrap().contains("Left out of the scores"));
    let j: serde_json::Value =
        serde_json::from_slice(&ntc().args(["report", "--json", "-m"]).arg(&t.model).arg(&f).output().unwrap().stdout).unwrap();
    assert_eq!(j["left_out"]["not_numeric"], 1);
    assert_eq!(j["evaluation"]["rows_scored"], rows.len() as u64 - 2);
}

#[test]
fn a_cell_with_a_newline_or_nul_is_shown_escaped_on_one_line() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let (h, rows) = test_lines();
    let dur = h.split(',').position(|c| c == "Flow.Duration").unwrap();
    let bad = spoil_cell(&rows[0], dur, "\"1\n2\u{0}x\"");
    let f = write(dir.path(), "nl.csv", &format!("{h}\n{bad}\n"));
    let out = ntc().args(["predict", "-m"]).arg(&t.model).arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(r"'1\n2\u{0}x' is not a number"), "{err}");
}

#[test]
fn markdown_names_cannot_break_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "names.csv", "ProtocolName,a|b,<script>x</script>\nHTTP,1,2\nDNS,3,4\n");
    let md = String::from_utf8_lossy(&ntc().args(["report", "--classes", "apps"]).arg(&f).output().unwrap().stdout).into_owned();
    assert!(md.contains("| a\\|b |") && md.contains("&lt;script&gt;x&lt;/script&gt;") && !md.contains("<script>"), "{md}");
    assert!(md.contains("grouped into classes (one class per label)"), "{md}");
    // With a model, --classes would be ignored: refused.
    let t = trained();
    ntc().args(["report", "--classes", "apps", "-m"]).arg(&t.model).arg(&t.test).assert().code(2);
}

#[test]
fn quiet_may_be_given_twice_and_the_shell_gets_completions_and_a_man_page() {
    let t = trained();
    ntc().args(["-q", "evaluate", "-q", "-m"]).arg(&t.model).arg(&t.test).assert().success();
    for shell in ["bash", "zsh", "fish"] {
        let out = ntc().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("predict") && text.contains("max-rows"), "{shell}");
    }
    let man = String::from_utf8_lossy(&ntc().arg("man").output().unwrap().stdout).into_owned();
    assert!(man.contains(".TH ntc 1") && man.contains("train"), "{man}");
    let man = String::from_utf8_lossy(&ntc().args(["man", "train"]).output().unwrap().stdout).into_owned();
    assert!(man.contains(".TH ntc-train 1") && man.contains("max\\-rows"), "{man}");
    ntc().args(["man", "nope"]).assert().code(2);
}
