//! The input contract, case by case: every way a flow CSV can be wrong gets
//! one line naming the file (and line and column), exit code 2, no panic and
//! no output file; every harmless variation (BOM, CRLF, quotes, reordered or
//! extra columns, gzip) gives exactly the predictions of the plain file.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The test file's text, and its header and records as fields.
fn plain() -> (String, Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(&trained().test).unwrap();
    let (h, rows) = read_csv(&text);
    (text, h, rows)
}

fn join(h: &[String], rows: &[Vec<String>], sep: &str, end: &str) -> String {
    let mut s = h.join(sep) + end;
    for r in rows {
        s.push_str(&r.join(sep));
        s.push_str(end);
    }
    s
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Predictions (`--keep none`) of a file, or the failed run's output.
fn predict(file: &Path) -> std::process::Output {
    ntc().args(["predict", "--keep", "none", "-m"]).arg(&trained().model).arg(file).output().unwrap()
}

/// Runs every command that reads `file`, each writing to a file where it
/// writes one, and checks the error contract.
fn rejected_everywhere(file: &Path, expect: &str, commands: &[&str]) {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    for &cmd in commands {
        let target = dir.path().join(format!("{cmd}.out"));
        let mut c = ntc();
        match cmd {
            "train" => c.args(["train", "-q", "--no-proba", "--max-rows", "300", "-m"]).arg(&target),
            "predict" => c.args(["predict", "-m"]).arg(&t.model).arg("-o").arg(&target),
            "evaluate" => c.args(["evaluate", "-m"]).arg(&t.model),
            "report" => c.args(["report", "-m"]).arg(&t.model).arg("-o").arg(&target),
            _ => unreachable!(),
        };
        let out = c.arg(file).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let what = format!("{cmd} {}", file.display());
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(expect), "{what}: expected '{expect}' in: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
        assert!(err.starts_with("ntc: "), "{what}: {err}");
        assert!(out.stdout.is_empty(), "{what}: stdout must stay empty");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{what}: no output (not even a temporary file) is left: {left:?}");
    }
}

const ALL: &[&str] = &["train", "predict", "evaluate", "report"];
const WITH_MODEL: &[&str] = &["predict", "evaluate", "report"];

#[test]
fn every_broken_input_is_one_clear_line_and_exit_2() {
    let (text, h, rows) = plain();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let dur = col("Flow.Duration");

    let mut bad_cell = rows[..50].to_vec();
    bad_cell[6][dur] = "12x".into();
    let mut dup = h.clone();
    dup[col("Flow.Duration")] = "Protocol".into();
    let no_duration: Vec<usize> = (0..h.len()).filter(|&i| i != dur).collect();
    let pick = |r: &Vec<String>| no_duration.iter().map(|&i| r[i].clone()).collect::<Vec<_>>();
    let missing = join(&pick(&h), &rows[..20].iter().map(pick).collect::<Vec<_>>(), ",", "\n");
    let mut truncated = join(&h, &rows[..30], ",", "\n");
    truncated.truncate(truncated.len() - 40);
    let gz = gzip(text.as_bytes());
    // A quote opened in the last line and never closed (the file was cut).
    let mut open_quote = rows[..31].to_vec();
    open_quote[30][dur] = "\"12".into();
    let open_quote = join(&h, &open_quote, ",", "\n") + "\n";

    let cases: Vec<(&str, Vec<u8>, String, &[&str])> = vec![
        ("empty.csv", vec![], "empty.csv: file is empty".into(), ALL),
        // predict and report give an empty result (tests/hostile_inputs.rs).
        ("header_only.csv", (h.join(",") + "\n").into_bytes(), "header_only.csv: no data rows".into(), &["train", "evaluate"]),
        ("bad_cell.csv", join(&h, &bad_cell, ",", "\n").into_bytes(), "bad_cell.csv:8: column 'Flow.Duration': '12x' is not a number".into(), &["train", "predict", "evaluate"]),
        ("dup.csv", join(&dup, &rows[..20], ",", "\n").into_bytes(), "dup.csv:1: column 'Protocol': duplicate column name in header".into(), ALL),
        ("missing.csv", missing.into_bytes(), "missing.csv:1: missing 1 feature column the model needs: Flow.Duration".into(), WITH_MODEL),
        ("semicolon.csv", join(&h, &rows[..20], ";", "\n").into_bytes(), "the header has a single column: is the file separated by something other than commas?".into(), WITH_MODEL),
        ("semicolon_train.csv", join(&h, &rows[..20], ";", "\n").into_bytes(), "semicolon_train.csv:1: no label column 'ProtocolName'".into(), &["train"]),
        ("truncated.csv", truncated.into_bytes(), "truncated.csv:31: expected 87 fields like the header, found".into(), ALL),
        ("open_quote.csv", open_quote.into_bytes(), "open_quote.csv:32: column 'Flow.Duration': quoted field not closed before the end of the file (truncated file?)".into(), ALL),
        ("truncated.csv.gz", gz[..gz.len() / 2].to_vec(), "truncated.csv.gz: read error".into(), ALL),
        ("binary.csv", vec![0u8, 159, 146, 150, 10, 1, 2, 3], "binary.csv".into(), ALL),
    ];
    for (name, bytes, expect, commands) in cases {
        let p = write(name, &bytes);
        rejected_everywhere(&p, &expect, commands);
    }
    rejected_everywhere(&dir.path().join("no_such.csv"), "no_such.csv: No such file", ALL);
    rejected_everywhere(dir.path(), "is a directory", ALL);
}

#[test]
fn harmless_variations_predict_exactly_like_the_plain_file() {
    let (text, h, rows) = plain();
    let want = predict(&trained().test);
    assert!(want.status.success());
    let dir = tempfile::tempdir().unwrap();
    let reversed: Vec<usize> = (0..h.len()).rev().collect();
    let rev = |r: &Vec<String>| reversed.iter().map(|&i| r[i].clone()).collect::<Vec<_>>();
    let mut extra_h = h.clone();
    extra_h.insert(3, "Comment, with a comma".into());
    let extra_rows: Vec<Vec<String>> = rows.iter().map(|r| {
        let mut r = r.clone();
        r.insert(3, "x".into());
        r
    }).collect();
    let quote = |r: &Vec<String>| r.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>();
    let mut extra = csv::Writer::from_writer(Vec::new());
    extra.write_record(&extra_h).unwrap();
    for r in &extra_rows {
        extra.write_record(r).unwrap();
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bom.csv", [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat()),
        ("crlf.csv", join(&h, &rows, ",", "\r\n").into_bytes()),
        ("quoted.csv", join(&quote(&h), &rows.iter().map(quote).collect::<Vec<_>>(), ",", "\n").into_bytes()),
        ("reordered.csv", join(&rev(&h), &rows.iter().map(rev).collect::<Vec<_>>(), ",", "\n").into_bytes()),
        ("extra.csv", extra.into_inner().unwrap()),
        ("no_final_newline.csv", text.trim_end().as_bytes().to_vec()),
        ("plain.csv.gz", gzip(text.as_bytes())),
        ("gzip_without_suffix.csv", gzip(join(&h, &rows, ",", "\r\n").as_bytes())),
    ];
    for (name, bytes) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let got = predict(&p);
        assert!(got.status.success(), "{name}: {}", String::from_utf8_lossy(&got.stderr));
        assert_eq!(got.stdout, want.stdout, "{name}: same predictions as the plain file");
    }
    // A gzip training file trains the same model as the plain file (bar the file's name and hash on the card).
    let gz = dir.path().join("train.csv.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&trained().train).unwrap())).unwrap();
    let (a, b) = (dir.path().join("a.cbor"), dir.path().join("b.cbor"));
    for (m, f) in [(&a, gz.as_path()), (&b, trained().train.as_path())] {
        ntc().args(["train", "-q", "--no-proba", "--max-rows", "600", "-m"]).arg(m).arg(f).assert().success();
    }
    let p = |m: &Path| ntc().args(["predict", "--keep", "none", "-m"]).arg(m).arg(&trained().test).output().unwrap().stdout;
    assert_eq!(p(&a), p(&b));
}

/// A line of a broken file: its number, its text, why it is rejected, and
/// whether only a command that reads labels rejects it.
type Broken = (u64, String, &'static str, bool);

/// Builds a file of 400 test rows with some lines broken; returns it, the
/// broken lines and the indices of the rows kept (by a command reading labels when `labels`).
fn with_broken_lines(dir: &Path, crlf: bool, labels: bool) -> (PathBuf, Vec<Broken>, Vec<usize>) {
    let (_, h, rows) = plain();
    let dur = h.iter().position(|c| c == "Flow.Duration").unwrap();
    let label = h.iter().position(|c| c == "ProtocolName").unwrap();
    let end = if crlf { "\r\n" } else { "\n" };
    let mut text = h.join(",") + end;
    let mut broken = Vec::new();
    let mut kept = Vec::new();
    let n = 400;
    for (i, r) in rows[..n].iter().enumerate() {
        let line = i as u64 + 2;
        let mut r = r.clone();
        let why = match i {
            5 => { r[dur] = "abc".into(); Some("column 'Flow.Duration': 'abc' is not a number") }
            17 => { r.truncate(40); Some("expected 87 fields like the header, found 40") }
            18 => { r.push("extra".into()); Some("expected 87 fields like the header, found 88") }
            90 => { r[label] = "".into(); Some("column 'ProtocolName': empty label") }
            i if i == n - 1 => { r.truncate(60); Some("(the last line, and it has no line end: truncated file?)") }
            _ => None,
        };
        let s = r.join(",");
        text.push_str(&s);
        if i < n - 1 {
            text.push_str(end);
        }
        match why {
            Some(w) if labels || !w.contains("label") => broken.push((line, s, w, w.contains("label"))),
            _ => kept.push(i),
        }
    }
    let p = dir.join(if crlf { "broken_crlf.csv" } else { "broken.csv" });
    std::fs::write(&p, text).unwrap();
    (p, broken, kept)
}

#[test]
fn skip_mode_sets_aside_exactly_the_broken_lines_verbatim_and_predicts_the_rest_in_order() {
    let t = trained();
    let (_, h, _) = plain();
    let all = predict(&t.test);
    let (_, all_rows) = read_csv(&String::from_utf8(all.stdout).unwrap());
    for crlf in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (file, broken, kept) = with_broken_lines(dir.path(), crlf, false);
        let (out, rej) = (dir.path().join("pred.csv"), dir.path().join("rejects.csv"));
        let run = ntc()
            .args(["predict", "--keep", "none", "--on-error", "skip", "--rejects"])
            .arg(&rej)
            .arg("-m")
            .arg(&t.model)
            .arg("-o")
            .arg(&out)
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{err}");
        assert!(err.contains(&format!("400 records read: {} accepted, {} rejected", kept.len(), broken.len())), "{err}");
        // Every other row predicted, in input order: the same predictions as for the whole file, minus the broken rows.
        let (_, got) = read_csv(&std::fs::read_to_string(&out).unwrap());
        let want: Vec<Vec<String>> = kept.iter().map(|&i| all_rows[i].clone()).collect();
        assert_eq!(got, want);
        // The rejects file: its header, then each broken line verbatim after its line number and reason.
        let rejects = std::fs::read_to_string(&rej).unwrap();
        let mut lines = rejects.lines();
        assert_eq!(lines.next().unwrap(), format!("line,reason,{}", h.join(",")));
        for (line, raw, why, _) in &broken {
            let l = lines.next().unwrap();
            assert!(l.starts_with(&format!("{line},\"")), "{l}");
            assert!(l.ends_with(&format!("\",{raw}")), "line {line} verbatim: {l}");
            assert!(l.contains(why), "{l} lacks {why}");
        }
        assert_eq!(lines.next(), None);
    }
}

#[test]
fn skip_mode_in_evaluate_sets_aside_unknown_labels_too() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    // Apps as classes: an app the model never saw cannot be scored (with categories it would be 'Other').
    let apps = dir.path().join("apps.cbor");
    ntc().args(["train", "-q", "--no-proba", "--classes", "apps", "--max-rows", "500", "-m"]).arg(&apps).arg(&t.train).assert().success();
    let (file, broken, kept) = with_broken_lines(dir.path(), false, true);
    assert!(broken.iter().any(|b| b.3), "a label-only breakage is among them");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
    let l = &lines[200];
    lines[200] = format!("{},NEVER_SEEN", &l[..l.rfind(',').unwrap()]);
    std::fs::write(&file, lines.join("\n")).unwrap();
    let rej = dir.path().join("r.csv");
    let out = ntc().args(["evaluate", "--json", "--on-error", "skip", "--rejects"]).arg(&rej).arg("-m").arg(&apps).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"], kept.len() as u64 - 1);
    let rejects = std::fs::read_to_string(&rej).unwrap();
    let got: Vec<u64> = rejects.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    let mut want: Vec<u64> = broken.iter().map(|b| b.0).chain([201]).collect();
    want.sort();
    assert_eq!(got, want, "rejects in input order");
    assert!(rejects.contains("201,\"column 'ProtocolName': class 'NEVER_SEEN' was never seen in training"), "{rejects}");
}

#[test]
fn skip_mode_needs_a_rejects_file_and_rejects_needs_skip() {
    let t = trained();
    for args in [&["--on-error", "skip"][..], &["--rejects", "r.csv"][..]] {
        let out = ntc().arg("predict").args(args).arg("-m").arg(&t.model).arg(&t.test).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--rejects"));
        assert!(out.stdout.is_empty());
    }
}
