//! End-to-end tests: every subcommand run as a user runs it.

mod common;

use common::*;
use predicates::prelude::*;

#[test]
fn synth_is_deterministic_and_has_the_unicauca_header() {
    let a = ntc().args(["synth", "--rows", "300", "--seed", "9"]).output().unwrap();
    let b = ntc().args(["synth", "--rows", "300", "--seed", "9"]).output().unwrap();
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    let text = String::from_utf8(a.stdout).unwrap();
    let (h, rows) = read_csv(&text);
    assert_eq!(h.len(), 87);
    assert_eq!(h[0], "Flow.ID");
    assert_eq!(h[86], "ProtocolName");
    assert_eq!(rows.len(), 300);
}

#[test]
fn train_writes_a_model_and_reports_on_stderr_only() {
    let t = trained();
    assert!(t.model.exists());
    let out = ntc().args(["train", "--max-rows", "600", "-m"]).arg(t.dir.path().join("other.cbor")).arg(&t.train).output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "stdout stays clean");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("trained on 600 of 4000 rows"), "{err}");
}

#[test]
fn quiet_train_prints_nothing() {
    let t = trained();
    ntc()
        .args(["train", "-q", "--max-rows", "300", "-m"])
        .arg(t.dir.path().join("quiet.cbor"))
        .arg(&t.train)
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn verbose_train_says_where_the_time_went_and_changes_no_byte() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let (plain, verbose) = (dir.path().join("plain.cbor"), dir.path().join("verbose.cbor"));
    ntc().args(["train", "-q", "--max-rows", "800", "-m"]).arg(&plain).arg(&t.train).assert().success();
    let out = ntc().args(["train", "-v", "--max-rows", "800", "-m"]).arg(&verbose).arg(&t.train).output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "stdout stays clean");
    let err = String::from_utf8_lossy(&out.stderr);
    for step in ["where the time went", "read the labels", "read the features of 800 rows", "transform and scale", "fit the SVM pairs, with calibration", "model card", "total"] {
        assert!(err.contains(step), "{step}: {err}");
    }
    // One line per pair of the five classes, with its solve and calibration times.
    assert_eq!(err.lines().filter(|l| l.contains(" rows, ") && l.contains("calibration")).count(), 10, "{err}");
    assert_eq!(std::fs::read(&plain).unwrap(), std::fs::read(&verbose).unwrap(), "timings are never stored");
    // -q wins.
    ntc().args(["train", "-q", "-v", "--max-rows", "300", "-m"]).arg(dir.path().join("q.cbor")).arg(&t.train).assert().success().stderr("");
}

#[test]
fn same_seed_gives_byte_identical_models() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let m = dir.path().join(name);
        ntc().args(["train", "-q", "--max-rows", "800", "--seed", seed, "-m"]).arg(&m).arg(&t.train).assert().success();
        std::fs::read(m).unwrap()
    };
    let a = run("a.cbor", "5");
    let b = run("b.cbor", "5");
    let c = run("c.cbor", "6");
    assert_eq!(a, b, "same data, same seed: same bytes");
    assert_ne!(a, c, "another seed samples other rows");
}

#[test]
fn predict_keeps_every_row_in_order() {
    let t = trained();
    let out = ntc().args(["predict", "-m"]).arg(&t.model).arg(&t.test).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (h, rows) = read_csv(&String::from_utf8(out.stdout).unwrap());
    let (ih, irows) = read_csv(&std::fs::read_to_string(&t.test).unwrap());
    assert_eq!(h.len(), ih.len() + 1);
    assert_eq!(&h[..ih.len()], &ih[..]);
    assert_eq!(h.last().unwrap(), "predicted");
    assert_eq!(rows.len(), irows.len());
    for (o, i) in rows.iter().zip(&irows) {
        assert_eq!(&o[..i.len()], &i[..], "input columns are copied unchanged, in order");
        assert!(["DNS", "Other", "Secure", "Streaming", "Web"].contains(&o.last().unwrap().as_str()));
    }
}

#[test]
fn predict_reads_stdin_and_keeps_ids_only() {
    let t = trained();
    let input = std::fs::read(&t.test).unwrap();
    let out = ntc().args(["predict", "-", "--keep", "id", "-m"]).arg(&t.model).write_stdin(input).output().unwrap();
    assert!(out.status.success());
    let (h, rows) = read_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(h, vec!["Flow.ID", "predicted"]);
    assert_eq!(rows.len(), 1500);
    let out = ntc().args(["predict", "--keep", "none", "-m"]).arg(&t.model).arg(&t.test).output().unwrap();
    let (h, _) = read_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(h, vec!["predicted"]);
}

#[test]
fn predict_proba_gives_distributions() {
    let t = trained();
    let out = ntc().args(["predict", "--proba", "--keep", "none", "-m"]).arg(&t.model).arg(&t.test).output().unwrap();
    assert!(out.status.success());
    let (h, rows) = read_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(h, vec!["predicted", "confidence", "p_DNS", "p_Other", "p_Secure", "p_Streaming", "p_Web"]);
    for r in &rows {
        let p: Vec<f64> = r[2..].iter().map(|v| v.parse().unwrap()).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-3, "{r:?}");
        let conf: f64 = r[1].parse().unwrap();
        let idx = h.iter().position(|c| *c == format!("p_{}", r[0])).unwrap();
        assert_eq!(conf, p[idx - 2], "confidence is the predicted class's probability");
    }
}

#[test]
fn predict_writes_the_output_file_atomically() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labelled.csv");
    ntc().args(["predict", "-q", "-m"]).arg(&t.model).arg(&t.test).arg("-o").arg(&out).assert().success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1501);
    // Bad input: exit 2, no output file, no temporary left behind.
    let bad = dir.path().join("bad.csv");
    let mut lines: Vec<String> = std::fs::read_to_string(&t.test).unwrap().lines().map(String::from).collect();
    lines[700] = lines[700].replacen(",6,", ",six,", 1);
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let out2 = dir.path().join("never.csv");
    ntc()
        .args(["predict", "-m"])
        .arg(&t.model)
        .arg(&bad)
        .arg("-o")
        .arg(&out2)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.csv:701: column '"));
    assert!(!out2.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with(".ntc-")).collect();
    assert!(leftovers.is_empty());
}

#[test]
fn evaluate_prints_a_table_and_the_json_contract() {
    let t = trained();
    ntc()
        .args(["evaluate", "-m"])
        .arg(&t.model)
        .arg(&t.test)
        .assert()
        .success()
        .stdout(predicate::str::contains("accuracy").and(predicate::str::contains("confusion matrix")));
    let out = ntc().args(["evaluate", "--json", "-m"]).arg(&t.model).arg(&t.test).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["rows", "accuracy", "macro_f1", "weighted_f1", "classes", "per_class", "confusion"] {
        assert!(keys.contains(&k), "missing {k}");
    }
    assert_eq!(keys.len(), 7);
    assert_eq!(v["rows"], 1500);
    let acc = v["accuracy"].as_f64().unwrap();
    assert!(acc > 0.7, "a model of synthetic flows should beat the majority class: {acc}");
    let classes = v["classes"].as_array().unwrap();
    let conf = v["confusion"].as_array().unwrap();
    assert_eq!(conf.len(), classes.len());
    let total: u64 = conf.iter().flat_map(|r| r.as_array().unwrap()).map(|x| x.as_u64().unwrap()).sum();
    assert_eq!(total, 1500);
    for c in classes {
        let pc = &v["per_class"][c.as_str().unwrap()];
        for k in ["precision", "recall", "f1", "support"] {
            assert!(pc.get(k).is_some(), "{c} lacks {k}");
        }
    }
}

#[test]
fn report_describes_data_and_model_without_identifiers() {
    let t = trained();
    let out = ntc().args(["report", "-m"]).arg(&t.model).arg(&t.test).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8(out.stdout).unwrap();
    for s in ["# ntc report: test.csv", "## Class distribution", "## Columns", "### Constant columns", "## Model", "## Model on this file", "Flow.Duration"] {
        assert!(md.contains(s), "report lacks {s}");
    }
    // No address or flow ID of the input appears.
    let (h, rows) = read_csv(&std::fs::read_to_string(&t.test).unwrap());
    let ip = h.iter().position(|c| c == "Source.IP").unwrap();
    let id = h.iter().position(|c| c == "Flow.ID").unwrap();
    for r in rows.iter().take(200) {
        assert!(!md.contains(&r[ip]), "report leaks {}", r[ip]);
        assert!(!md.contains(&r[id]));
    }
}

#[test]
fn model_file_holds_no_addresses() {
    let t = trained();
    let bytes = std::fs::read(&t.model).unwrap();
    let (h, rows) = read_csv(&std::fs::read_to_string(&t.train).unwrap());
    for col in ["Source.IP", "Destination.IP", "Flow.ID", "Timestamp"] {
        let i = h.iter().position(|c| c == col).unwrap();
        for r in &rows {
            assert!(
                !bytes.windows(r[i].len()).any(|w| w == r[i].as_bytes()),
                "model contains {col} value {}",
                r[i]
            );
        }
    }
}

#[test]
fn a_model_of_synthetic_flows_reads_real_unicauca_rows() {
    let t = trained();
    let out = ntc().args(["predict", "--keep", "none", "-m"]).arg(&t.model).arg(fixture("unicauca_x_test_25rows.csv")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, rows) = read_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(rows.len(), 25);
}

#[test]
fn apps_and_mapping_files_set_the_classes() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("map.cbor");
    ntc()
        .args(["train", "-q", "--no-proba", "--max-rows", "800", "--classes"])
        .arg(fixture("mapping.csv"))
        .arg("-m")
        .arg(&m)
        .arg(&t.train)
        .assert()
        .success();
    let out = ntc().args(["evaluate", "--json", "-m"]).arg(&m).arg(&t.test).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["classes"], serde_json::json!(["Rest", "Search", "Video"]));
    let a = dir.path().join("apps.cbor");
    ntc().args(["train", "-q", "--no-proba", "--classes", "apps", "--max-rows", "800", "-m"]).arg(&a).arg(&t.train).assert().success();
    let out = ntc().args(["predict", "--keep", "none", "-m"]).arg(&a).arg(&t.test).output().unwrap();
    let (_, rows) = read_csv(&String::from_utf8(out.stdout).unwrap());
    assert!(rows.iter().any(|r| r[0] == "GOOGLE"));
    // --proba on a model trained without probabilities is refused clearly.
    ntc().args(["predict", "--proba", "-m"]).arg(&a).arg(&t.test).assert().code(2).stderr(predicate::str::contains("--no-proba"));
}

#[test]
fn dirty_data_trains_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let train = synth(dir.path(), "dirty.csv", 3000, 3, true);
    let m = dir.path().join("d.cbor");
    ntc().args(["train", "-q", "--max-rows", "1500", "-m"]).arg(&m).arg(&train).assert().success();
    let out = ntc().args(["predict", "--keep", "none", "-m"]).arg(&m).arg(&train).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, rows) = read_csv(&String::from_utf8(out.stdout).unwrap());
    let input_rows = std::fs::read_to_string(&train).unwrap().lines().count() - 1;
    assert_eq!(rows.len(), input_rows);
}
