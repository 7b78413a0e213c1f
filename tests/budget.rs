//! Training is bounded by default: the rows are capped (`--max-rows auto`)
//! and the memory budget (`--memory`) holds the rows and the kernel cache;
//! what cannot be held is refused with its estimate before any work.

mod common;

use common::*;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

#[test]
fn all_rows_beyond_the_memory_budget_are_refused_at_once_with_the_estimate() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.cbor");
    let started = std::time::Instant::now();
    ntc()
        .args(["train", "--max-rows", "all", "--memory", "100", "-m"])
        .arg(&m)
        .arg(&t.train)
        .assert()
        .code(2)
        .stderr(contains("--max-rows all: a fit of about").and(contains("budget --memory 100")).and(contains("--max-rows N")));
    assert!(started.elapsed().as_secs() < 20, "refused before reading the file");
    assert!(!m.exists());
    // A number of rows is checked the same way, once they are counted.
    ntc()
        .args(["train", "--max-rows", "3000", "--memory", "100", "-m"])
        .arg(&m)
        .arg(&t.train)
        .assert()
        .code(2)
        .stderr(contains("--max-rows 3000: a fit of 3,000 rows needs about"));
}

#[test]
fn the_automatic_cap_says_what_it_capped_and_how_to_change_it() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.cbor");
    // A small budget makes the cap bite on a small file.
    let out = ntc().args(["train", "--no-proba", "--memory", "270", "-m"]).arg(&m).arg(&t.train).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("note: --max-rows auto: training on ") && err.contains(" of 4,000 rows (a fit estimated at about"), "{err}");
    assert!(err.contains("--max-rows N or all to change it"), "{err}");
    assert!(err.contains("note: kernel cache "), "the cache gave way to the rows: {err}");
    let card = ntc::model::Model::load(&m).unwrap();
    assert!(card.training.rows_used < 4000 && card.training.max_rows == Some(card.training.rows_used));
    // With room enough, a small file is used whole and nothing is said about a cap.
    let out = ntc().args(["train", "--no-proba", "-m"]).arg(&m).arg(&t.train).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("--max-rows auto"), "{err}");
}

#[test]
fn a_cap_below_the_class_floor_says_how_many_rows_it_took() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    ntc()
        .args(["train", "--no-proba", "--max-rows", "1", "-m"])
        .arg(dir.path().join("m.cbor"))
        .arg(&t.train)
        .assert()
        .success()
        .stderr(contains("note: --max-rows 1: training on ").and(contains("since every class keeps at least 10")));
}

#[test]
fn tuning_matrices_stay_inside_the_memory_budget() {
    let t = trained();
    let dir = tempfile::tempdir().unwrap();
    // Two transforms: three 295 x 295 f32 matrices fill 1 MiB.
    let out = ntc()
        .args(["train", "--no-proba", "--tune", "--tune-rows", "400", "--grid", "c=1:3:2,gamma=-5:-3:2", "--memory", "1", "-m"])
        .arg(dir.path().join("m.cbor"))
        .arg(&t.train)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("note: --tune-rows 400 capped at 295: larger kernel matrices would not fit in --memory 1"), "{err}");
    let table = String::from_utf8_lossy(&out.stdout);
    // The final pass fits the training rows as the final fit does (its kernel cache, no matrix).
    let matrices = table.lines().filter(|l| l.split_whitespace().nth(2) != Some("final"));
    assert!(!matrices.clone().any(|l| l.split_whitespace().nth(13).is_some_and(|rows| rows.parse::<usize>().is_ok_and(|r| r > 295))), "{table}");
    assert!(matrices.count() < table.lines().count(), "a final pass ran: {table}");
}
