//! `ntc train --tune`: the cross-validation table, its JSON form, the model
//! it chooses, reproducibility, and the flags' rules.

mod common;

use common::*;
use predicates::prelude::*;

const GRID: &str = "c=-1:5:2,gamma=-7:-3:2";

fn tune(train: &std::path::Path, model: &std::path::Path, extra: &[&str]) -> (String, Vec<u8>) {
    let out = ntc()
        .args(["train", "-q", "--no-proba", "--tune", "--tune-rows", "600", "--folds", "3", "--grid", GRID])
        .args(extra)
        .arg("-m")
        .arg(model)
        .arg(train)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "quiet: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), std::fs::read(model).unwrap())
}

#[test]
fn tune_prints_the_ranked_table_and_keeps_it_in_the_model() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("tuned.cbor");
    let (table, bytes) = tune(&t.train, &m, &[]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("rank") && lines[0].contains("macro_f1") && lines[0].contains("fit s"), "{table}");
    // 4 C x 3 gamma x 2 transforms x 2 weights (none, sqrt) coarse cells and 24 fine ones on 600 rows, then
    // the 16 leading cells again on 1,200 rows and the 4 leading ones of those on 2,400.
    assert_eq!(lines.len() - 1, 4 * 3 * 2 * 2 + 24 + 16 + 4, "{table}");
    let field = |l: &str, i: usize| l.split_whitespace().nth(i).unwrap().to_string();
    let scored: Vec<(u64, u32, f64)> = lines[1..]
        .iter()
        .map(|l| (field(l, 13).parse().unwrap(), field(l, 12).parse().unwrap(), field(l, 10).parse().unwrap()))
        .collect();
    assert!(
        scored.windows(2).all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && (w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].2 >= w[1].2)))),
        "larger passes first, then cells scored on every fold, each ranked best first: {scored:?}"
    );
    let rows: Vec<u64> = scored.iter().map(|s| s.0).collect();
    assert_eq!(rows.iter().filter(|&&r| r == 2400).count(), 4, "{table}");
    assert_eq!(rows.iter().filter(|&&r| r == 1200).count(), 16, "{table}");
    assert!(scored[24].2 > scored[scored.len() - 1].2, "the grid spans good and bad cells");
    // The grid holds out each of the 3 folds, but for the coarse cells far
    // below the best on the first 2 (the race); the larger passes hold out 2.
    let folds = |stage: &str| lines[1..].iter().filter(|l| field(l, 2) == stage).map(|l| field(l, 12)).collect::<Vec<_>>();
    assert!(folds("larger").iter().all(|f| f == "2") && folds("fine").iter().all(|f| f == "3"), "{table}");
    let coarse = folds("coarse");
    assert!(coarse.iter().all(|f| f == "2" || f == "3"), "{table}");
    assert!(coarse.contains(&"2".to_string()) && coarse.contains(&"3".to_string()), "the race leaves some cells out: {table}");
    // Each larger pass re-scores the leaders of the pass before it.
    let params = |l: &str| (3..=9).filter(|&i| i != 7).map(|i| field(l, i)).collect::<Vec<_>>().join(" ");
    let of_pass = |r: u64| lines[1..].iter().filter(|l| field(l, 13) == r.to_string()).map(|l| params(l)).collect::<Vec<_>>();
    for (bigger, smaller, keep) in [(1200, 600, 16), (2400, 1200, 4)] {
        let mut leaders = of_pass(smaller)[..keep].to_vec();
        let mut again = of_pass(bigger);
        leaders.sort();
        again.sort();
        assert_eq!(again, leaders, "pass on {bigger} rows");
    }

    // Exactly one cell is chosen (by the one-standard-error rule: never a
    // larger C than the top cell's), and the model card names its parameters.
    let chosen: Vec<&&str> = lines[1..].iter().filter(|l| l.split_whitespace().nth(1) == Some("chosen")).collect();
    assert_eq!(chosen.len(), 1, "{table}");
    assert_eq!(field(chosen[0], 13), "2400", "chosen in the last pass: {table}");
    let pick: Vec<&str> = chosen[0].split_whitespace().collect();
    let top: Vec<&str> = lines[1].split_whitespace().collect();
    assert!(pick[6].parse::<f64>().unwrap() <= top[6].parse::<f64>().unwrap(), "{table}");
    let report = ntc().args(["report", "-q", "-m"]).arg(&m).arg(&t.test).output().unwrap();
    let report = String::from_utf8(report.stdout).unwrap();
    assert!(report.contains(&format!("feature transform {}", pick[3])), "{report}\n{}", chosen[0]);
    assert!(report.contains(&format!("class weight {}", pick[4])), "{report}");
    assert!(report.contains("Cross-validation"), "{report}");

    // Same seed: same table (but for the timings) and the same model bytes.
    let m2 = dir.path().join("again.cbor");
    let (table2, bytes2) = tune(&t.train, &m2, &[]);
    let strip = |s: &str| s.lines().map(|l| l.rsplitn(2, ' ').nth(1).unwrap_or("").to_string()).collect::<Vec<_>>();
    assert_eq!(strip(&table), strip(&table2));
    assert!(bytes == bytes2, "tuned models differ");

    // The tuned model predicts every row and beats chance on held-out flows.
    ntc()
        .args(["evaluate", "-q", "--json", "-m"])
        .arg(&m)
        .arg(&t.test)
        .assert()
        .success()
        .stdout(predicate::function(|s: &str| {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            v["rows"] == 1500 && v["macro_f1"].as_f64().unwrap() > 0.3
        }));
}

#[test]
fn rows_beyond_the_training_rows_score_a_final_pass_whose_choice_is_the_model() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("final.cbor");
    // 4,000 rows, 1,500 train: the final pass holds out 1,500 of the other 2,500.
    let out = ntc()
        .args(["train", "--tune", "--tune-rows", "400", "--folds", "3", "--grid", GRID, "--max-rows", "1500", "--json", "--seed", "5", "-m"])
        .arg(&m)
        .arg(&t.train)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fitted on all 1,500 training rows and scored on 1,500 held-out rows"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["held_out_rows"], 1500);
    let cells = v["cells"].as_array().unwrap();
    let finals: Vec<&serde_json::Value> = cells.iter().filter(|c| c["stage"] == "final").collect();
    // The larger passes' choice and the untuned C 2^9, gamma 2^-9, log with each weighting (none, sqrt).
    assert!(finals.len() == 2 || finals.len() == 3, "{finals:?}");
    assert!(cells[..finals.len()].iter().all(|c| c["stage"] == "final" && c["folds"] == 1 && c["rows"] == 1500), "final cells rank first");
    for w in ["none", "sqrt"] {
        assert!(
            finals.iter().any(|c| c["log2_c"] == 9.0 && c["log2_gamma"] == -9.0 && c["transform"] == "log" && c["class_weight"] == w),
            "untuned settings with weight {w}: {finals:?}"
        );
    }
    let chosen = &cells[0];
    assert_eq!(chosen["chosen"], true, "the top held-out score is chosen");
    let scores: Vec<f64> = finals.iter().map(|c| c["mean"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] > 0.3, "{scores:?}");

    // The chosen fit is the model (calibrated after): the same as training with those settings.
    let plain = dir.path().join("plain.cbor");
    ntc()
        .args(["train", "-q", "--max-rows", "1500", "--seed", "5", "--c"])
        .arg(chosen["c"].to_string())
        .arg("--gamma")
        .arg(chosen["gamma"].to_string())
        .args(["--transform", chosen["transform"].as_str().unwrap(), "--class-weight", chosen["class_weight"].as_str().unwrap(), "-m"])
        .arg(&plain)
        .arg(&t.train)
        .assert()
        .success();
    let predict = |model: &std::path::Path| {
        ntc().args(["predict", "-q", "--proba", "-m"]).arg(model).arg(&t.test).output().unwrap().stdout
    };
    let tuned = predict(&m);
    assert!(tuned.len() > 1000 && tuned == predict(&plain), "the tuned model predicts as a fresh fit of its settings");

    // --held-out 0: no final pass; a count above what is left takes all of it.
    let none = dir.path().join("none.cbor");
    let (json, _) = tune(&t.train, &none, &["--json", "--max-rows", "1500", "--held-out", "0"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["held_out_rows"], 0);
    assert!(v["cells"].as_array().unwrap().iter().all(|c| c["stage"] != "final"));
    let (json, _) = tune(&t.train, &none, &["--json", "--max-rows", "1500", "--held-out", "9999", "--rungs", "0"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["held_out_rows"], 2500);
    // Every row trains: nothing to hold out, and said when asked for.
    ntc()
        .args(["train", "--no-proba", "--tune", "--tune-rows", "400", "--grid", GRID, "--rungs", "0", "--held-out", "500", "-m"])
        .arg(&none)
        .arg(&t.train)
        .assert()
        .success()
        .stderr(predicate::str::contains("--held-out: every row of the file trains"));
}

#[test]
fn tune_json_lists_every_cell_with_its_parameters() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("tuned.cbor");
    let (json, _) = tune(&t.train, &m, &["--json", "--transform", "log", "--class-weight", "balanced", "--metric", "accuracy", "--select", "best"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["metric"], "accuracy");
    assert_eq!(v["select"], "best");
    assert_eq!(v["folds"], 3);
    // The search's wall time: at least the solver time of any one cell spread over every core.
    let seconds = v["tune_seconds"].as_f64().unwrap();
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    let cells = v["cells"].as_array().unwrap();
    let slowest = cells.iter().map(|c| c["fit_seconds"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!(seconds > 0.0 && seconds >= slowest / cores, "{seconds} s, slowest cell {slowest} s");
    assert_eq!(cells.len(), 4 * 3 + 24 + 16 + 4);
    assert_eq!(cells[0]["chosen"], true, "--select best chooses the top cell");
    for (i, c) in cells.iter().enumerate() {
        assert_eq!(c["rank"], i + 1);
        assert_eq!(c["chosen"], i == 0);
        assert_eq!(c["transform"], "log");
        assert_eq!(c["class_weight"], "balanced");
        let (lc, c_val) = (c["log2_c"].as_f64().unwrap(), c["c"].as_f64().unwrap());
        assert!((2f64.powf(lc) - c_val).abs() < 1e-9 * c_val);
        assert!(c["mean"].as_f64().unwrap() >= 0.0 && c["std"].as_f64().unwrap() >= 0.0);
        assert!(c["fit_seconds"].as_f64().unwrap() >= 0.0);
        let rows = if i < 4 { 2400 } else if i < 20 { 1200 } else { 600 };
        assert_eq!(c["rows"], rows, "cell {i}");
        assert_eq!(c["stage"] == "larger", rows > 600, "cell {i}");
        let folds = c["folds"].as_u64().unwrap();
        match c["stage"].as_str().unwrap() {
            "larger" => assert_eq!(folds, 2, "cell {i}"),
            "fine" => assert_eq!(folds, 3, "cell {i}"),
            _ => assert!(folds == 2 || folds == 3, "cell {i}"),
        }
    }
    // Without the larger passes: the grid alone, all on the tuning rows.
    let (json, _) = tune(&t.train, &m, &["--json", "--transform", "log", "--class-weight", "balanced", "--rungs", "0"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let cells0 = v["cells"].as_array().unwrap();
    assert_eq!(cells0.len(), 4 * 3 + 24);
    assert!(cells0.iter().all(|c| c["rows"] == 600));
    // The fine cells surround the best coarse cell, a quarter step apart.
    let fine: Vec<f64> = cells.iter().filter(|c| c["stage"] == "fine").map(|c| c["log2_c"].as_f64().unwrap()).collect();
    assert_eq!(fine.len(), 24);
    assert!(fine.iter().any(|v| v.fract() != 0.0));
}

#[test]
fn smote_tuning_runs_and_is_recorded() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("smote.cbor");
    let out = ntc()
        .args(["train", "-q", "--no-proba", "--tune", "--tune-rows", "300", "--folds", "3"])
        .args(["--grid", "c=1:3:2,gamma=-5", "--transform", "log", "--class-weight", "none", "--oversample", "smote"])
        .arg("-m")
        .arg(&m)
        .arg(&t.train)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    // Two coarse cells and 4 fine ones (single gamma) on 300 rows, the 6 again on 600, 4 of them on 1,200.
    assert_eq!(table.lines().count(), 1 + 2 + 4 + 6 + 4, "{table}");
    assert!(table.lines().skip(1).all(|l| l.contains("smote")), "{table}");
}

#[test]
fn tuning_flags_are_checked() {
    let t = trained();
    let usage = |args: &[&str], expect: &str| {
        ntc()
            .args(["train", "-q"])
            .args(args)
            .arg(&t.train)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expect));
    };
    usage(&["--folds", "3"], "--tune");
    usage(&["--tune", "--c", "3"], "--c");
    usage(&["--transform", "none,log"], "several with --tune");
    usage(&["--tune", "--grid", "c=1:5:-1"], "--grid");
    usage(&["--tune", "--folds", "1"], "--folds must be at least 2");
}
