//! Faults around a run: signals, a reader that leaves, a full device, two
//! jobs writing the same file. Whatever happens, an output file is either
//! the complete new one or the untouched previous one, never a fragment.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("ntc")
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Runs `cmd` as `cmd | head -c 100` would: reads 100 bytes of its stdout, then closes the pipe.
fn read_100_bytes_and_leave(mut cmd: Command) -> std::process::Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = [0u8; 100];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn a_signal_mid_run_leaves_the_previous_output_and_no_temporary_file() {
    let t = trained();
    let text = std::fs::read_to_string(&t.test).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    for (signal, code) in [("-INT", 130), ("-TERM", 143), ("-HUP", 129)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pred.csv");
        std::fs::write(&out, "previous run\n").unwrap();
        // Rows arrive on stdin and then stop, as from a slow exporter: the run is mid-way when the signal comes.
        let mut child = Command::new(bin())
            .args(["predict", "-q", "-m"])
            .arg(&t.model)
            .arg("-o")
            .arg(&out)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{header}").unwrap();
        for r in rows.iter().cycle().take(40_000) {
            writeln!(stdin, "{r}").unwrap();
        }
        stdin.flush().unwrap();
        // Wait for the temporary output to exist: the run has started writing.
        let start = Instant::now();
        while listing(dir.path()).len() < 2 {
            assert!(start.elapsed() < Duration::from_secs(30), "no temporary file appeared");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(Command::new("kill").arg(signal).arg(child.id().to_string()).status().unwrap().success());
        let status = child.wait().unwrap();
        drop(stdin);
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert_eq!(status.code(), Some(code), "{signal}: {err}");
        assert!(err.contains("interrupted by SIG"), "{err}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous run\n", "{signal}: previous output untouched");
        assert_eq!(listing(dir.path()), vec!["pred.csv"], "{signal}: no temporary file left");
    }
}

#[test]
fn a_reader_that_leaves_early_is_not_an_error() {
    let t = trained();
    let mut cmd = Command::new(bin());
    cmd.args(["predict", "-m"]).arg(&t.model).arg(&t.test);
    let out = read_100_bytes_and_leave(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_reader_that_leaves_early_still_gets_the_rejects_of_what_was_read() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&t.test).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, format!("{header}\n1,2,3\n{rest}")).unwrap();
    let rejects = dir.path().join("r.csv");
    std::fs::write(&rejects, "the last run's rejects\n").unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(["predict", "-q", "--on-error", "skip", "--rejects"]).arg(&rejects).arg("-m").arg(&t.model).arg(&input);
    let out = read_100_bytes_and_leave(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let got = std::fs::read_to_string(&rejects).unwrap();
    // The rejects of the batches delivered before the reader left (none here: it left in the first).
    assert!(got.starts_with("line,reason,Flow.ID,"), "this run's rejects file, not the last one: {got}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_device_is_a_clear_error() {
    let t = trained();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(bin()).args(["predict", "-m"]).arg(&t.model).arg(&t.test).stdout(full).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("stdout") && err.contains("No space left on device"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn two_jobs_writing_one_model_leave_one_complete_model() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let train = |seed: &str, m: &Path| {
        Command::new(bin())
            .args(["train", "-q", "--no-proba", "--max-rows", "1500", "--seed", seed, "-m"])
            .arg(m)
            .arg(&t.train)
            .spawn()
            .unwrap()
    };
    // What each job writes on its own.
    let (a, b) = (dir.path().join("a.cbor"), dir.path().join("b.cbor"));
    for (seed, m) in [("1", &a), ("2", &b)] {
        assert!(train(seed, m).wait().unwrap().success());
    }
    let (a, b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(a, b);
    let shared = dir.path().join("shared.cbor");
    for _ in 0..3 {
        let (mut x, mut y) = (train("1", &shared), train("2", &shared));
        assert!(x.wait().unwrap().success() && y.wait().unwrap().success());
        let got = std::fs::read(&shared).unwrap();
        assert!(got == a || got == b, "the model is one job's complete file");
    }
    assert_eq!(listing(dir.path()), vec!["a.cbor", "b.cbor", "shared.cbor"], "no temporary file left");
}

#[test]
fn a_failed_run_keeps_the_previous_outputs() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(&t.test).unwrap();
    // Fails on its last line, after most rows were predicted.
    std::fs::write(&bad, format!("{}1,2,3\n", text)).unwrap();
    for (cmd, target) in [("predict", "pred.csv"), ("report", "report.html")] {
        let out = dir.path().join(target);
        std::fs::write(&out, "previous").unwrap();
        ntc().args([cmd, "-m"]).arg(&t.model).arg("-o").arg(&out).arg(&bad).assert().code(2);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    }
    let m = dir.path().join("m.cbor");
    std::fs::write(&m, "previous").unwrap();
    ntc().args(["train", "-q", "-m"]).arg(&m).arg(&bad).assert().code(2);
    assert_eq!(std::fs::read_to_string(&m).unwrap(), "previous");
    assert_eq!(listing(dir.path()), vec!["bad.csv", "m.cbor", "pred.csv", "report.html"]);
}
