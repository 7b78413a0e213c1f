//! `ntc report`: the HTML page, its JSON twin, the drift flag, and the page
//! rendered by a real browser.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use common::*;

fn report(args: &[&str], model: &Path, csv: &Path) -> std::process::Output {
    ntc().args(["report", "-q", "-m"]).arg(model).args(args).arg(csv).output().unwrap()
}

fn html_report(dir: &Path, name: &str) -> (PathBuf, String) {
    let t = trained();
    let out = dir.join(name);
    let o = report(&["-o", out.to_str().unwrap()], &t.model, &t.test);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&out).unwrap();
    (out, html)
}

/// Rewrites a CSV: `f(header, row)` edits each data row in place; rows for which it returns false are dropped.
fn rewrite(src: &Path, dst: &Path, mut f: impl FnMut(&[String], &mut Vec<String>) -> bool) {
    let (h, rows) = read_csv(&std::fs::read_to_string(src).unwrap());
    let mut w = csv::Writer::from_path(dst).unwrap();
    w.write_record(&h).unwrap();
    for mut r in rows {
        if f(&h, &mut r) {
            w.write_record(&r).unwrap();
        }
    }
    w.flush().unwrap();
}

#[test]
fn html_report_is_one_self_contained_page_with_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = html_report(dir.path(), "r.html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for id in ["id=\"data\"", "id=\"model\"", "id=\"evaluation\"", "id=\"drift\""] {
        assert!(html.contains(id), "no section {id}");
    }
    for title in [
        "Rows per class",
        "by class",
        "Feature correlation",
        "Confusion matrix (rows)",
        "Confusion matrix (share of each true class)",
        "Precision, recall and F1 per class",
        "Population stability index",
        "Class mix: training file against predictions",
        "Support vectors per class pair",
    ] {
        assert!(html.contains(title), "no {title}");
    }
    // Charts are inline SVG; nothing runs, nothing is fetched.
    assert!(html.matches("<svg").count() >= 10, "{} charts", html.matches("<svg").count());
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "a script");
    for attr in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!lower.contains(attr), "fetches something: {attr}");
    }
    // No address or flow ID of the input appears.
    let t = trained();
    let (h, rows) = read_csv(&std::fs::read_to_string(&t.test).unwrap());
    let cols: Vec<usize> =
        ["Source.IP", "Destination.IP", "Flow.ID"].iter().map(|c| h.iter().position(|x| x == c).unwrap()).collect();
    for r in &rows {
        for &c in &cols {
            assert!(!html.contains(&r[c]), "report leaks {}", r[c]);
        }
    }
}

#[test]
fn json_report_holds_the_same_facts() {
    let t = trained();
    let o = report(&["--json"], &t.model, &t.test);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["data"]["rows"], 1500);
    assert!(j["data"]["class_counts"].as_array().unwrap().len() >= 3);
    assert_eq!(j["data"]["box_plots"].as_array().unwrap().len(), 6);
    let corr = &j["data"]["correlation"]["matrix"];
    assert!(corr.as_array().unwrap().len() > 1 && corr[0][0].as_f64().unwrap() > 0.999);
    let e = &j["evaluation"];
    assert_eq!(e["rows_scored"], 1500, "small files are scored whole");
    assert!(e["metrics"]["accuracy"].as_f64().unwrap() > 0.5);
    let d = &j["drift"];
    assert!(d["features"].as_array().unwrap().len() > 40);
    assert_eq!(d["psi_threshold"], 0.2);
    // Evaluate agrees with the report on a file scored whole.
    let ev = ntc().args(["evaluate", "-q", "--json", "-m"]).arg(&t.model).arg(&t.test).output().unwrap();
    let ev: serde_json::Value = serde_json::from_slice(&ev.stdout).unwrap();
    assert_eq!(ev["accuracy"], e["metrics"]["accuracy"]);
    assert_eq!(ev["macro_f1"], e["metrics"]["macro_f1"]);
    // Same inputs, same bytes.
    let again = report(&["--json"], &t.model, &t.test);
    assert_eq!(o.stdout, again.stdout);
}

#[test]
fn drift_stays_quiet_on_a_fresh_sample_of_the_training_distribution() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let fresh = synth(dir.path(), "fresh.csv", 3000, 77, false);
    let out = dir.path().join("r.html");
    let o = report(&["--fail-on-drift", "-o", out.to_str().unwrap()], &t.model, &fresh);
    assert!(o.status.success(), "drift on fresh data: {}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("No drift."));
    let j: serde_json::Value = serde_json::from_slice(&report(&["--json"], &t.model, &fresh).stdout).unwrap();
    assert_eq!(j["drift"]["drifted"], false);
    assert_eq!(j["drift"]["shifted_features"], 0);
}

#[test]
fn drift_fires_when_feature_scale_shifts() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let shifted = dir.path().join("scaled.csv");
    // Byte and duration features ten times larger: a new link speed, a unit change upstream.
    let scaled = ["Flow.Duration", "Total.Length.of.Fwd.Packets", "Flow.Bytes.s", "Fwd.Packet.Length.Max"];
    rewrite(&t.test, &shifted, |h, r| {
        for c in scaled {
            let i = h.iter().position(|x| x == c).unwrap();
            if let Ok(v) = r[i].parse::<f64>() {
                r[i] = (v * 10.0).to_string();
            }
        }
        true
    });
    let out = dir.path().join("r.html");
    let o = report(&["--fail-on-drift", "-o", out.to_str().unwrap()], &t.model, &shifted);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("ntc: drift:") && err.lines().count() == 1, "{err}");
    assert!(out.exists(), "the report is written even when drift fails the run");
    let j: serde_json::Value = serde_json::from_slice(&report(&["--json"], &t.model, &shifted).stdout).unwrap();
    let flagged: Vec<&str> = j["drift"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["shifted"] == true)
        .map(|f| f["feature"].as_str().unwrap())
        .collect();
    for c in scaled {
        assert!(flagged.contains(&c), "{c} not flagged: {flagged:?}");
    }
    assert!(flagged.len() <= scaled.len() + 2, "unshifted features flagged: {flagged:?}");
}

#[test]
fn drift_fires_when_the_traffic_mix_shifts() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let shifted = dir.path().join("mix.csv");
    // Only streaming, secure and DNS traffic left: the web share collapses. From
    // the larger file, so that enough rows remain to judge drift (MIN_DRIFT_ROWS).
    rewrite(&t.train, &shifted, |h, r| {
        let l = h.iter().position(|x| x == "ProtocolName").unwrap();
        ["YOUTUBE", "NETFLIX", "SPOTIFY", "DNS", "SSL"].contains(&r[l].as_str())
    });
    let o = report(&["--fail-on-drift", "-o", "-"], &t.model, &shifted);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&report(&["--json"], &t.model, &shifted).stdout).unwrap();
    assert_eq!(j["drift"]["class_mix"]["shifted"], true, "{}", j["drift"]["class_mix"]);
}

#[test]
fn report_flags_need_a_model_where_they_use_one() {
    let t = trained();
    let o = ntc().args(["report", "--fail-on-drift"]).arg(&t.test).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    // Without a model: the data section only, still a complete page.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data.html");
    ntc().args(["report", "-q", "-o"]).arg(&out).arg(&t.test).assert().success();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("id=\"data\"") && !html.contains("id=\"drift\"") && html.contains("Rows per class"));
}

/// The browser: `NTC_CHROMIUM`, else chromium on the PATH. `.ci/run`
/// installs it and sets `NTC_REQUIRE_BROWSER=1`, so that in CI a missing
/// browser fails the test instead of skipping it.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NTC_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|b| {
        std::env::var_os("PATH")
            .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(b)).find(|p| p.is_file()))
    });
    if found.is_none() {
        assert!(std::env::var_os("NTC_REQUIRE_BROWSER").is_none(), "NTC_REQUIRE_BROWSER is set but no chromium was found");
        eprintln!("skipped: no chromium on the PATH (bash .ci/run installs it)");
    }
    found
}

#[test]
fn a_real_browser_renders_the_report_without_errors() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (page, _) = html_report(dir.path(), "r.html");
    let png = dir.path().join("r.png");
    let profile = dir.path().join("profile");
    let out = Process::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(png.exists(), "no screenshot; chromium said:\n{log}");
    // The page has no scripts: any console message is an error (a failed load, a bad SVG).
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = bytes.chunks(channels).collect();
    let background = pixels.iter().filter(|p| p[..3] == [250, 250, 250] || p[..3] == [255, 255, 255]).count();
    let distinct: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    let drawn = 1.0 - background as f64 / pixels.len() as f64;
    assert!(drawn > 0.05, "page looks blank: {:.1}% of pixels drawn", 100.0 * drawn);
    assert!(distinct.len() > 50, "page looks blank: {} distinct colours", distinct.len());
}
