//! Any bytes as a flow CSV: the line-by-line reader (strict and skipping)
//! and the training reader (Polars, with the line-by-line reader locating
//! its rejections) return rows or an error, never panic, and skipping
//! accounts for every record.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use ntc::data::ingest;
use ntc::data::reader::{Batch, FlowReader, OnError};

fuzz_target!(|data: &[u8]| {
    let mut counts = Vec::new();
    for on_error in [OnError::Fail, OnError::Skip] {
        let Ok(mut r) = FlowReader::from_reader_with("f.csv".into(), Box::new(Cursor::new(data.to_vec())), on_error) else {
            return;
        };
        let headers = r.headers().to_vec();
        // The first columns as features, the last as the label.
        let features: Vec<String> = headers.iter().take(headers.len().saturating_sub(1).min(3)).cloned().collect();
        let Ok(plan) = r.plan(&features, headers.last().map(String::as_str)) else { return };
        let mut batch = Batch::default();
        let (mut accepted, mut rejected) = (0usize, 0usize);
        loop {
            match r.next_batch(&plan, 5, &mut batch) {
                Ok(0) => break,
                Ok(n) => {
                    assert_eq!(n, batch.len() + batch.rejects.len());
                    assert_eq!(batch.features.len(), batch.len() * features.len());
                    assert_eq!(batch.labels.len(), batch.len());
                    assert!(batch.lines.windows(2).all(|w| w[0] < w[1]), "lines ascend");
                    accepted += batch.len();
                    rejected += batch.rejects.len();
                }
                Err(e) => {
                    // Skipping sets bad records aside; only input that cannot be read at all (a damaged gzip stream) stops it.
                    let msg = e.to_string();
                    assert!(on_error == OnError::Fail || msg.contains("read error"), "skipping failed: {msg}");
                    assert!(msg.starts_with("f.csv"), "the error names the file: {msg}");
                    break;
                }
            }
        }
        counts.push((accepted, rejected));
    }
    // Skipping reads every record the strict read accepted before its first error, and more.
    if let [(strict, 0), (kept, _)] = counts[..] {
        assert!(kept >= strict || counts[1].1 > 0);
    }

    // The training reader on the same bytes as a file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, data).unwrap();
    let Ok(r) = FlowReader::open(&path) else { return };
    let headers = r.headers().to_vec();
    let (Some(label), true) = (headers.last(), headers.len() > 1) else { return };
    // The first column as the group, every row hashed for duplicates.
    let opts = ingest::FirstPass { label, group: headers.first().map(String::as_str), count_duplicates: true };
    let Ok((labels, _sha)) = ingest::read_labels(&path, &opts) else { return };
    assert_eq!(labels.group.as_ref().map(Vec::len), Some(labels.len()));
    assert!(labels.duplicate_rows.is_some_and(|d| d < labels.len() as u64 || labels.is_empty()));
    // Up to three columns as numbers, the next one as text.
    let features: Vec<String> = headers[..headers.len() - 1].iter().take(3).cloned().collect();
    let text: Vec<String> = headers[..headers.len() - 1].iter().skip(3).take(1).cloned().collect();
    let every_other: Vec<usize> = (0..labels.len()).step_by(2).collect();
    for rows in [None, Some(every_other.as_slice())] {
        if let Ok(got) = ingest::read_rows(&path, &features, &text, label, rows, &labels) {
            let n = rows.map_or(labels.len(), <[usize]>::len);
            assert_eq!(got.cols.rows(), n);
            assert_eq!(got.labels.len(), n);
            assert!(got.cols.text.iter().all(|t| t.codes.len() == n));
        }
    }
});
