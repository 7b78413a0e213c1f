//! Outputs can never destroy anything: what is not a regular file is written
//! into, not replaced; symlinks are written through; an output that is also
//! an input (or another output) is refused; a run puts its outputs in place
//! only when it succeeds as a whole.

mod common;

use std::path::Path;
use std::process::Command as Process;

use common::*;

#[cfg(unix)]
fn is_char_device(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).unwrap().file_type().is_char_device()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// `mknod` of a character device, here in a temporary directory (never the machine's own):
/// None when this user may not make device nodes.
#[cfg(unix)]
fn device(dir: &Path, name: &str, major: u32, minor: u32) -> Option<std::path::PathBuf> {
    let p = dir.join(name);
    let ok = Process::new("mknod").arg(&p).args(["c", &major.to_string(), &minor.to_string()]).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot mknod here (not root)");
    }
    ok.then_some(p)
}

#[cfg(unix)]
#[test]
fn a_device_is_written_into_not_replaced() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let Some(null) = device(dir.path(), "null", 1, 3) else { return };
    ntc().args(["predict", "-q", "-m"]).arg(&t.model).arg("-o").arg(&null).arg(&t.test).assert().success();
    assert!(is_char_device(&null), "the device node is still a device");
    ntc().args(["report", "-m"]).arg(&t.model).arg("-o").arg(&null).arg(&t.test).assert().success();
    assert!(is_char_device(&null));
    let Some(full) = device(dir.path(), "full", 1, 7) else { return };
    ntc()
        .args(["predict", "-q", "-m"])
        .arg(&t.model)
        .arg("-o")
        .arg(&full)
        .arg(&t.test)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("No space left on device"));
    assert!(is_char_device(&full), "a failed write leaves the device a device");
}

#[cfg(unix)]
#[test]
fn a_fifo_with_a_reader_gets_the_output() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Process::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    ntc().args(["predict", "-q", "--keep", "none", "-m"]).arg(&t.model).arg("-o").arg(&fifo).arg(&t.test).assert().success();
    let got = reader.join().unwrap();
    assert_eq!(got.lines().next(), Some("predicted"));
    assert_eq!(got.lines().count(), 1501, "every row reached the reader");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
}

#[cfg(unix)]
#[test]
fn a_symlink_is_written_through_and_the_target_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.csv");
    std::fs::write(&real, "previous\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink("real.csv", &link).unwrap();
    ntc().args(["predict", "-q", "--keep", "none", "-m"]).arg(&t.model).arg("-o").arg(&link).arg(&t.test).assert().success();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
    assert!(std::fs::read_to_string(&real).unwrap().starts_with("predicted\n"), "its target holds the output");
    assert_eq!(mode(&real), 0o640, "and keeps its permission bits");
    // A dangling link is written through too: its target is created.
    let dangling = dir.path().join("dangling.csv");
    std::os::unix::fs::symlink("made.csv", &dangling).unwrap();
    ntc().args(["predict", "-q", "-m"]).arg(&t.model).arg("-o").arg(&dangling).arg(&t.test).assert().success();
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
    assert!(dir.path().join("made.csv").is_file());
}

#[cfg(unix)]
#[test]
fn a_read_only_target_is_refused_unless_the_user_may_write_it() {
    use std::os::unix::fs::PermissionsExt;
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ro.csv");
    std::fs::write(&out, "previous\n").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o444)).unwrap();
    let may_write = std::fs::OpenOptions::new().write(true).open(&out).is_ok();
    let run = ntc().args(["predict", "-q", "-m"]).arg(&t.model).arg("-o").arg(&out).arg(&t.test).assert();
    if may_write {
        // Root may write a 0444 file, as `>` in its shell would; the mode is kept.
        run.success();
        assert_eq!(mode(&out), 0o444);
    } else {
        run.code(2).stderr(predicates::str::contains("ro.csv: cannot write"));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous\n");
    }
}

/// Runs `args` (with `{}` replaced by paths in `dir`) and expects exit 2 naming the same file.
fn refused(dir: &Path, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|a| a.replace("{}", &dir.display().to_string())).collect();
    let out = ntc().args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains("are the same file"), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn an_output_that_is_an_input_or_another_output_is_refused() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = std::fs::read(&t.test).unwrap();
    let model = std::fs::read(&t.model).unwrap();
    for f in ["same.csv", "x.csv", "in.csv", "r.csv", "s.csv"] {
        std::fs::write(d.join(f), &text).unwrap();
    }
    std::fs::write(d.join("m.cbor"), &model).unwrap();
    let m = t.model.display().to_string();
    refused(d, &["predict", "{}/same.csv", "-m", &m, "-o", "{}/same.csv"]);
    // Another spelling of the same file.
    refused(d, &["predict", "{}/same.csv", "-m", &m, "-o", "{}/./same.csv"]);
    refused(d, &["train", "{}/x.csv", "-m", "{}/x.csv"]);
    refused(d, &["predict", "{}/in.csv", "-m", "{}/m.cbor", "-o", "{}/m.cbor"]);
    refused(d, &["report", "{}/r.csv", "-o", "{}/r.csv"]);
    refused(d, &["train", "{}/s.csv", "-m", "{}/new.cbor", "--sample-out", "{}/s.csv"]);
    refused(d, &["predict", "{}/in.csv", "-m", &m, "--on-error", "skip", "--rejects", "{}/out.csv", "-o", "{}/out.csv"]);
    refused(d, &["predict", "{}/in.csv", "-m", &m, "--on-error", "skip", "--rejects", "-", "-o", "-"]);
    refused(d, &["evaluate", "{}/in.csv", "-m", &m, "--on-error", "skip", "--rejects", "{}/in.csv"]);
    for f in ["same.csv", "x.csv", "in.csv", "r.csv", "s.csv"] {
        assert_eq!(std::fs::read(d.join(f)).unwrap(), text, "{f} untouched");
    }
    assert_eq!(std::fs::read(d.join("m.cbor")).unwrap(), model);
    assert!(!d.join("out.csv").exists() && !d.join("new.cbor").exists(), "nothing written");
}

#[cfg(unix)]
#[test]
fn stdout_redirected_to_the_input_is_refused() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.csv");
    std::fs::copy(&t.test, &f).unwrap();
    let before = std::fs::read(&f).unwrap();
    let append = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
    let out = Process::new(assert_cmd::cargo::cargo_bin("ntc"))
        .args(["predict", "-m"])
        .arg(&t.model)
        .arg(&f)
        .stdout(append)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&f).unwrap(), before);
}

#[test]
fn a_failed_train_replaces_neither_the_sample_nor_the_model() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("s.csv");
    std::fs::write(&sample, "previous\n").unwrap();
    // `-m` is a directory: refused before any work, the sample untouched.
    ntc()
        .args(["train", "-q", "--max-rows", "300", "--sample-out"])
        .arg(&sample)
        .arg("-m")
        .arg(dir.path())
        .arg(&t.train)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is a directory"));
    assert_eq!(std::fs::read_to_string(&sample).unwrap(), "previous\n");
    // Interrupted after the sample was written, during the fit: neither is replaced.
    let model = dir.path().join("m.cbor");
    std::fs::write(&model, "previous model\n").unwrap();
    let big = synth(dir.path(), "big.csv", 30_000, 3, false);
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("ntc"))
        .args(["train", "-q", "--sample-out"])
        .arg(&sample)
        .arg("-m")
        .arg(&model)
        .arg(&big)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let temporaries = || {
        std::fs::read_dir(dir.path()).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".ntc-")).count()
    };
    let start = std::time::Instant::now();
    // The model's temporary is made first, the sample's once the rows are read; then the fit runs for seconds.
    while temporaries() < 2 {
        assert!(start.elapsed().as_secs() < 60, "the sample was never written");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(Process::new("kill").arg("-INT").arg(child.id().to_string()).status().unwrap().success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "interrupted mid-fit");
    assert_eq!(std::fs::read_to_string(&sample).unwrap(), "previous\n");
    assert_eq!(std::fs::read_to_string(&model).unwrap(), "previous model\n");
    assert_eq!(temporaries(), 0, "no temporary left");
}

#[test]
fn a_model_directory_the_user_names_must_exist() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    ntc()
        .args(["train", "-q", "--max-rows", "300", "-m"])
        .arg(dir.path().join("nodir/m.cbor"))
        .arg(&t.train)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("does not exist"));
    assert!(!dir.path().join("nodir").exists());
}
