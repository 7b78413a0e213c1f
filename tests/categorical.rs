//! Categorical features and grouped cross-validation, as a user meets them:
//! flow CSVs of other tools with text columns (UNSW-NB15 style), unseen
//! values at predict time, identifier columns, `--group-by`, and models of
//! the previous format.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::PredicateBooleanExt;

/// A UNSW-NB15-style flow CSV: text columns `proto`, `state`, `service`
/// (with `-` and a few bare numbers in it), an address column, a unique id,
/// numeric columns, and the label `attack_cat`. The categories say most
/// about the label; the numbers overlap.
fn unsw(dir: &Path, name: &str, rows: usize, seed: u64) -> PathBuf {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut text = String::from("id,srcip,proto,state,dur,sbytes,dbytes,service,attack_cat\n");
    let cats = ["Normal", "Exploits", "DoS", "Generic"];
    for i in 0..rows {
        let c = (next() % 4) as usize;
        let pick = |r: u64, opts: &[&'static str]| opts[(r % opts.len() as u64) as usize];
        let (proto, state, service) = match c {
            0 => (pick(next(), &["tcp", "tcp", "udp"]), pick(next(), &["FIN", "CON"]), pick(next(), &["http", "-", "dns"])),
            1 => (pick(next(), &["tcp", "tcp", "ospf"]), pick(next(), &["FIN", "INT"]), pick(next(), &["http", "ftp", "80"])),
            2 => (pick(next(), &["udp", "tcp", "arp"]), pick(next(), &["INT", "REQ"]), pick(next(), &["-", "dns", "80"])),
            _ => (pick(next(), &["udp", "udp", "sctp"]), pick(next(), &["INT", "CON"]), pick(next(), &["dns", "-", "ftp"])),
        };
        let dur = (next() % 1000) as f64 / 100.0 + c as f64;
        let sbytes = 100 + next() % 5000 + 800 * c as u64;
        let dbytes = next() % 9000;
        writeln!(text, "flow-{seed}-{i:06},10.0.{}.{},{proto},{state},{dur},{sbytes},{dbytes},{service},{}", i % 7, i % 5, cats[c]).unwrap();
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn train_unsw(dir: &Path, extra: &[&str]) -> (PathBuf, String) {
    let data = unsw(dir, "unsw.csv", 600, 1);
    let model = dir.join("unsw.cbor");
    let out = ntc()
        .args(["train", "--classes", "apps", "--label", "attack_cat", "--no-proba", "-m"])
        .arg(&model)
        .arg(&data)
        .args(extra)
        .assert()
        .success();
    (model, String::from_utf8(out.get_output().stderr.clone()).unwrap())
}

#[test]
fn a_csv_with_text_columns_trains_predicts_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let (model, stderr) = train_unsw(dir.path(), &[]);
    // The id and the addresses are left out, and the user is told.
    assert!(stderr.contains("column 'id' left out") && stderr.contains("identifier"), "{stderr}");
    assert!(stderr.contains("column 'srcip' left out") && stderr.contains("IP addresses"), "{stderr}");
    assert!(stderr.contains("one-hot for proto, state, service"), "{stderr}");
    // Neither an address nor an id is in the model file.
    let bytes = std::fs::read(&model).unwrap();
    for needle in ["10.0.", "flow-1-"] {
        assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle} is in the model");
    }
    let test = unsw(dir.path(), "test.csv", 300, 2);
    let out = ntc().args(["evaluate", "-q", "--json", "-m"]).arg(&model).arg(&test).assert().success();
    let m: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(m["rows"], 300);
    assert!(m["accuracy"].as_f64().unwrap() > 0.6, "the categories carry the label: {m}");
    let out = ntc().args(["predict", "-q", "--keep", "id", "-m"]).arg(&model).arg(&test).assert().success();
    let (h, rows) = read_csv(std::str::from_utf8(&out.get_output().stdout).unwrap());
    assert_eq!(h, vec!["id", "predicted"], "--keep id keeps the first column when there is no Flow.ID");
    assert_eq!(rows.len(), 300);
    // The model card names the features and the values they know.
    let out = ntc().args(["report", "-q", "-m"]).arg(&model).arg(&test).assert().success();
    let md = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(md.contains("state: category, one of"), "{md}");
}

#[test]
fn unseen_values_and_empty_cells_are_other_never_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = train_unsw(dir.path(), &[]);
    let input = dir.path().join("new.csv");
    std::fs::write(
        &input,
        "id,srcip,proto,state,dur,sbytes,dbytes,service,attack_cat\n\
         a,10.9.9.9,never-seen,FIN,1.5,300,20,http,Normal\n\
         b,10.9.9.8,,,2.5,400,30,,DoS\n\
         c,10.9.9.7,tcp,FIN,1.5,300,20,12345,Normal\n",
    )
    .unwrap();
    let out = ntc().args(["predict", "-q", "--keep", "none", "-m"]).arg(&model).arg(&input).assert().success();
    let (_, rows) = read_csv(std::str::from_utf8(&out.get_output().stdout).unwrap());
    assert_eq!(rows.len(), 3);
    ntc().args(["evaluate", "-q", "-m"]).arg(&model).arg(&input).assert().success();
    // A row that differs only in an unseen protocol is predicted as if its protocol were any other rare one.
    let twin = dir.path().join("twin.csv");
    std::fs::write(
        &twin,
        "id,srcip,proto,state,dur,sbytes,dbytes,service,attack_cat\n\
         a,1.1.1.1,zzz,FIN,1.5,300,20,http,Normal\n\
         a,1.1.1.1,yyy,FIN,1.5,300,20,http,Normal\n",
    )
    .unwrap();
    let out = ntc().args(["predict", "-q", "--keep", "none", "-m"]).arg(&model).arg(&twin).assert().success();
    let (_, rows) = read_csv(std::str::from_utf8(&out.get_output().stdout).unwrap());
    assert_eq!(rows[0], rows[1]);
}

#[test]
fn a_text_column_with_numbers_is_one_category_per_written_value() {
    let dir = tempfile::tempdir().unwrap();
    // `service` holds `80` for some rows: a value like `http`, not a quantity.
    let (model, _) = train_unsw(dir.path(), &[]);
    let out = ntc().args(["report", "-q", "-m"]).arg(&model).arg(dir.path().join("unsw.csv")).assert().success();
    let md = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let line = md.lines().find(|l| l.contains("- features (")).unwrap();
    assert!(line.contains("service: category, one of") && line.contains(" 80"), "{line}");
    // A numeric column named with --categorical is a category too.
    let (model, stderr) = train_unsw(dir.path(), &["--categorical", "sbytes"]);
    assert!(stderr.contains("one-hot for sbytes, proto"), "{stderr}");
    ntc().args(["evaluate", "-q", "-m"]).arg(&model).arg(dir.path().join("unsw.csv")).assert().success();
    ntc()
        .args(["train", "-q", "--classes", "apps", "--label", "attack_cat", "--categorical", "nope"])
        .arg(dir.path().join("unsw.csv"))
        .assert()
        .failure()
        .code(2)
        .stderr(predicates::str::contains("--categorical: no feature column 'nope'"));
}

#[test]
fn a_unique_per_row_text_column_is_left_out_not_one_hot_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let (model, stderr) = train_unsw(dir.path(), &[]);
    assert!(stderr.contains("column 'id' left out: text with 600 distinct values in 600 rows"), "{stderr}");
    let out = ntc().args(["report", "-q", "--json", "-m"]).arg(&model).arg(dir.path().join("unsw.csv")).assert().success();
    let r: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let features = r["model"]["features"].as_u64().unwrap();
    assert!(features < 40, "a handful of numbers and three small vocabularies, not 600 columns: {features}");
    // Told to drop it, ntc does so silently.
    let (_, stderr) = train_unsw(dir.path(), &["--drop", "id,srcip"]);
    assert!(!stderr.contains("left out"), "{stderr}");
}

#[test]
fn unicauca_ports_and_protocol_are_categories_by_default() {
    let t = trained();
    let out = ntc().args(["report", "-q", "-m"]).arg(&t.model).arg(&t.test).assert().success();
    let md = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let line = md.lines().find(|l| l.contains("- features (")).unwrap();
    assert!(line.contains("Protocol: category, one of"), "{line}");
    assert!(line.contains("server port (the smaller of Source.Port and Destination.Port): category, one of"), "{line}");
    assert!(line.contains(" 443 ") && line.contains(" 53 "), "{line}");
    assert!(!line.contains("Source.Port,") && !line.contains("Destination.Port,"), "ports are not numbers: {line}");
    // Off, they are numbers as before.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.cbor");
    ntc()
        .args(["train", "-q", "--max-rows", "500", "--no-proba", "--server-port", "none", "--categorical", "none", "-m"])
        .arg(&model)
        .arg(&t.train)
        .assert()
        .success();
    let out = ntc().args(["report", "-q", "-m"]).arg(&model).arg(&t.test).assert().success();
    let md = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let line = md.lines().find(|l| l.contains("- features (")).unwrap();
    assert!(line.contains("Source.Port") && line.contains("Protocol") && !line.contains("category"), "{line}");
}

#[test]
fn a_model_of_the_previous_format_loads_and_predicts_as_before() {
    // fixtures/model_v5.cbor: format 5 (numeric features only, Protocol and a port among them),
    // trained by ntc before categorical features; its predictions were recorded then.
    let out = ntc()
        .args(["predict", "-q", "--keep", "none", "--proba", "-m"])
        .arg(fixture("model_v5.cbor"))
        .arg(fixture("model_v5_flows.csv"))
        .assert()
        .success();
    let expected = std::fs::read_to_string(fixture("model_v5_predictions.csv")).unwrap();
    assert_eq!(String::from_utf8(out.get_output().stdout.clone()).unwrap(), expected);
    ntc().args(["evaluate", "-q", "-m"]).arg(fixture("model_v5.cbor")).arg(fixture("model_v5_flows.csv")).assert().success();
    // A format older than 5 is refused with what to do.
    let mut old = std::fs::read(fixture("model_v5.cbor")).unwrap();
    old[8..12].copy_from_slice(&4u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v4.cbor");
    std::fs::write(&p, old).unwrap();
    ntc()
        .args(["predict", "-q", "-m"])
        .arg(&p)
        .arg(fixture("model_v5_flows.csv"))
        .assert()
        .failure()
        .code(2)
        .stderr(predicates::str::contains("model format version 4; this ntc").and(predicates::str::contains("reads versions 5 to 8: retrain")));
}

/// Synthetic flows with a `capture` column: 40 captures of 25 rows.
fn with_captures(dir: &Path) -> PathBuf {
    let src = synth(dir, "flows.csv", 1000, 3, false);
    let text = std::fs::read_to_string(&src).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            writeln!(out, "{line},capture").unwrap();
        } else {
            writeln!(out, "{line},secret-capture-{:02}", (i - 1) / 25).unwrap();
        }
    }
    let p = dir.join("grouped.csv");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn group_by_keeps_captures_in_one_fold_and_out_of_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = with_captures(dir.path());
    let model = dir.path().join("g.cbor");
    let out = ntc()
        .args(["train", "--tune", "--tune-rows", "400", "--rungs", "0", "--grid", "c=1:5:2,gamma=-7:-3:2", "--no-proba"])
        .args(["--group-by", "capture", "-m"])
        .arg(&model)
        .arg(&data)
        .assert()
        .success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let last = table.lines().last().unwrap();
    assert!(last.starts_with("(folds grouped by capture: 16 groups in the 400-row tuning sample"), "{table}");
    assert!(stderr.contains("5 folds grouped by capture"), "{stderr}");
    assert!(!stderr.contains("exact copies"), "grouped folds need no duplicate warning: {stderr}");
    let bytes = std::fs::read(&model).unwrap();
    assert!(!bytes.windows(14).any(|w| w == b"secret-capture"), "a group value is in the model");
    let out = ntc().args(["report", "-q", "--json", "-m"]).arg(&model).arg(&data).assert().success();
    let r: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(!r.to_string().contains("secret-capture"), "a group value is in the report");
    // The column is never a feature: the model predicts files without it.
    let plain = synth(dir.path(), "plain.csv", 50, 4, false);
    ntc().args(["predict", "-q", "-m"]).arg(&model).arg(&plain).assert().success();
    // Grouped, no final pass on held-out rows: the rest of the training rows' groups would be among them.
    ntc()
        .args(["train", "--tune", "--tune-rows", "400", "--rungs", "0", "--grid", "c=1:3:2,gamma=-5:-3:2", "--no-proba"])
        .args(["--group-by", "capture", "--max-rows", "500", "--held-out", "300", "-m"])
        .arg(&model)
        .arg(&data)
        .assert()
        .success()
        .stderr(predicates::str::contains("--held-out: no final pass with --group-by"))
        .stdout(predicates::str::contains(" final ").not());
    // A group column that does not exist, or too few groups for the folds, is a clear error.
    ntc()
        .args(["train", "-q", "--tune", "--group-by", "nope"])
        .arg(&data)
        .assert()
        .failure()
        .code(2)
        .stderr(predicates::str::contains("--group-by: no column 'nope'"));
    ntc()
        .args(["train", "-q", "--tune", "--tune-rows", "400", "--folds", "20", "--group-by", "capture", "-m"])
        .arg(&model)
        .arg(&data)
        .assert()
        .failure()
        .code(2)
        .stderr(predicates::str::contains("groups, fewer than --folds 20"));
}

#[test]
fn hosts_can_be_the_groups_and_their_addresses_stay_out_of_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "hosts.csv", 800, 6, false);
    let model = dir.path().join("h.cbor");
    let out = ntc()
        .args(["train", "-q", "--tune", "--tune-rows", "300", "--rungs", "0", "--grid", "c=1:3:2,gamma=-5:-3:2", "--no-proba"])
        .args(["--group-by", "Source.IP", "-m"])
        .arg(&model)
        .arg(&data)
        .assert()
        .success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(table.lines().last().unwrap().starts_with("(folds grouped by Source.IP: "), "{table}");
    let text = std::fs::read_to_string(&data).unwrap();
    let (h, rows) = read_csv(&text);
    let ip = h.iter().position(|c| c == "Source.IP").unwrap();
    let bytes = std::fs::read(&model).unwrap();
    for r in rows.iter().take(50) {
        let a = r[ip].as_bytes();
        assert!(!bytes.windows(a.len()).any(|w| w == a), "address {} is in the model", r[ip]);
    }
}

#[test]
fn random_folds_on_a_file_with_copies_say_the_scores_are_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "dirty.csv", 600, 5, true);
    let out = ntc()
        .args(["train", "--tune", "--tune-rows", "200", "--rungs", "0", "--grid", "c=1:3:2,gamma=-5:-3:2", "--no-proba", "-m"])
        .arg(dir.path().join("d.cbor"))
        .arg(&data)
        .assert()
        .success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("rows are exact copies of an earlier row") && stderr.contains("--group-by"), "{stderr}");
    assert!(stderr.contains("5 stratified random folds"), "{stderr}");
}
