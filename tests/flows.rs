//! `ntc flows`: packet captures to flows as CICFlowMeter V3 measured them.
//! Checked against the golden files of ../shared/flows (548 real captures),
//! and on hand-made captures for the edge cases: a capture cut off, bytes
//! that are no capture, an unsupported link type, a packet shorter than its
//! headers, an empty capture, gzip and stdin, and the pipeline into predict.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn shared_flows() -> Option<PathBuf> {
    shared("flows")
}

/// Equal as the contract compares: text exactly, numbers within a relative 1e-9.
fn same(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) || (x - y).abs() < 1e-12,
        _ => false,
    }
}

#[test]
fn the_golden_flows_of_548_real_captures() {
    let Some(root) = shared_flows() else { return };
    let pcaps = pcaps_of(&root);
    assert!(pcaps.len() >= 548, "{} captures", pcaps.len());
    let (mut total, mut matched) = (0usize, 0usize);
    let mut first_differences = Vec::new();
    for pcap in &pcaps {
        let golden = root.join("golden").join(format!("{}.csv", pcap.file_name().unwrap().to_string_lossy()));
        let want = std::fs::read_to_string(&golden).unwrap();
        let out = ntc().args(["flows", "-q"]).arg(pcap).output().unwrap();
        assert!(out.status.success(), "{}: {}", pcap.display(), String::from_utf8_lossy(&out.stderr));
        let (gh, got) = read_csv(&String::from_utf8_lossy(&out.stdout));
        let (wh, want) = read_csv(&want);
        assert_eq!(gh[..84], wh[..84], "the header is the Unicauca schema's");
        assert_eq!(got.len(), want.len(), "{}: flows written", pcap.display());
        total += want.len();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            match (0..84).find(|&j| !same(&g[j], &w[j])) {
                None => matched += 1,
                Some(j) if first_differences.len() < 5 => {
                    first_differences.push(format!("{} flow {}: {} {} vs {}", pcap.display(), i + 1, wh[j], g[j], w[j]))
                }
                Some(_) => {}
            }
        }
    }
    assert!(total > 4000, "{total} flows");
    // The bar is 99.5%; every flow matched when this test was written.
    assert!(matched as f64 >= 0.995 * total as f64, "{matched} of {total} flows match: {first_differences:#?}");
    assert_eq!(matched, total, "{first_differences:#?}");
}

/// A classic pcap (little-endian, microseconds) of `linktype` with these frames.
fn pcap(linktype: u32, frames: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&linktype.to_le_bytes());
    for (sec, usec, data) in frames {
        b.extend_from_slice(&sec.to_le_bytes());
        b.extend_from_slice(&usec.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
    }
    b
}

/// An Ethernet frame with an IPv4/UDP packet of `payload` bytes.
fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + 8 + payload) as u16;
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend(std::iter::repeat_n(0xab, payload));
    f
}

fn dns_exchange() -> Vec<(u32, u32, Vec<u8>)> {
    let (a, b) = ([10, 0, 0, 1], [8, 8, 8, 8]);
    vec![(1_600_000_000, 0, udp_frame(a, b, 40000, 53, 30)), (1_600_000_000, 2500, udp_frame(b, a, 53, 40000, 120))]
}

#[test]
fn a_hand_made_udp_exchange_is_one_flow_measured_as_v3() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("dns.pcap");
    std::fs::write(&f, pcap(1, &dns_exchange())).unwrap();
    let out = ntc().args(["flows"]).arg(&f).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (h, rows) = read_csv(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows.len(), 1);
    let col = |name: &str| rows[0][h.iter().position(|c| c == name).unwrap()].clone();
    // The key orders the endpoints by signed bytes (8 < 10), whatever the direction.
    assert_eq!(col("Flow.ID"), "8.8.8.8-10.0.0.1-53-40000-17");
    assert_eq!(col("Source.IP"), "10.0.0.1", "the first packet's sender is the source");
    assert_eq!(col("Timestamp"), "13/09/202012:26:40");
    assert_eq!(col("Flow.Duration"), "2500");
    assert_eq!((col("Total.Fwd.Packets"), col("Total.Backward.Packets")), ("1".into(), "1".into()));
    // (30 + 120 + 30) / 3: the first packet counts twice in the flow-wide mean.
    assert_eq!(col("Packet.Length.Mean").parse::<f64>().unwrap(), 60.0);
    assert_eq!((col("Init_Win_bytes_forward"), col("Init_Win_bytes_backward")), ("-1".into(), "-1".into()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 packets, 2 IPv4 packets in flows") && err.contains("1 flows written"), "{err}");
    // The same capture gzipped, and on stdin.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(&f).unwrap()).unwrap();
    let gz = gz.finish().unwrap();
    let via_stdin = ntc().args(["flows", "-q", "-"]).write_stdin(gz).output().unwrap();
    assert!(via_stdin.status.success());
    assert_eq!(via_stdin.stdout, out.stdout);
}

/// An Ethernet frame with an IPv6/UDP packet of `payload` bytes, after a
/// fragment header when `fragment_offset` is given.
fn udp6_frame(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, payload: usize, fragment_offset: Option<u16>) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x86, 0xdd]);
    let ext = if fragment_offset.is_some() { 8 } else { 0 };
    let length = (ext + 8 + payload) as u16;
    let next = if fragment_offset.is_some() { 44 } else { 17 };
    f.extend_from_slice(&[0x60, 0, 0, 0, (length >> 8) as u8, length as u8, next, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    if let Some(offset) = fragment_offset {
        f.extend_from_slice(&[17, 0]);
        f.extend_from_slice(&(offset << 3).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 7]);
    }
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend(std::iter::repeat_n(0xcd, payload));
    f
}

#[test]
fn ipv6_flows_only_with_the_flag() {
    let a: [u8; 16] = "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let b: [u8; 16] = "fe80::2".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let frames = vec![
        (1_600_000_000, 0, udp6_frame(a, b, 5353, 53, 40, None)),
        (1_600_000_000, 100, udp6_frame(b, a, 53, 5353, 100, None)),
        // Later fragments: no ports, protocol 0, a flow of their own (as IPv4's).
        (1_600_000_000, 200, udp6_frame(a, b, 0, 0, 16, Some(100))),
        (1_600_000_000, 300, udp6_frame(a, b, 0, 0, 16, Some(200))),
        (1_600_000_000, 400, udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000, 10)),
        (1_600_000_000, 500, udp_frame([10, 0, 0, 2], [10, 0, 0, 1], 2000, 1000, 10)),
    ];
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("v6.pcap");
    std::fs::write(&f, pcap(1, &frames)).unwrap();

    let v4 = ntc().args(["flows"]).arg(&f).output().unwrap();
    assert!(v4.status.success());
    let (_, rows) = read_csv(&String::from_utf8_lossy(&v4.stdout));
    assert_eq!(rows.len(), 1, "IPv4 only by default, as V3");
    let err = String::from_utf8_lossy(&v4.stderr);
    assert!(err.contains("2 IPv4 packets in flows, 4 not IPv4"), "{err}");

    let v6 = ntc().args(["flows", "--ipv6"]).arg(&f).output().unwrap();
    assert!(v6.status.success(), "{}", String::from_utf8_lossy(&v6.stderr));
    let (h, rows) = read_csv(&String::from_utf8_lossy(&v6.stdout));
    assert_eq!(rows.len(), 3);
    let col = |r: usize, name: &str| rows[r][h.iter().position(|c| c == name).unwrap()].clone();
    // Signed bytes: 0xfe is negative, so fe80::2 comes first in the key.
    assert_eq!(col(0, "Flow.ID"), "fe80::2-2001:db8::1-53-5353-17");
    assert_eq!((col(0, "Source.IP"), col(0, "Destination.Port")), ("2001:db8::1".into(), "53".into()));
    assert_eq!((col(0, "Total.Length.of.Fwd.Packets"), col(0, "Total.Length.of.Bwd.Packets")), ("40".into(), "100".into()));
    assert_eq!(col(1, "Flow.ID"), "fe80::2-2001:db8::1-0-0-0");
    assert_eq!(col(1, "Total.Fwd.Packets"), "2");
    assert_eq!(col(2, "Flow.ID"), "10.0.0.1-10.0.0.2-1000-2000-17");
    let err = String::from_utf8_lossy(&v6.stderr);
    assert!(err.contains("6 IP packets in flows, 0 not IP"), "{err}");
}

#[test]
fn broken_captures_are_clear_errors_or_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // Cut inside the second packet: the first flow's packet is written... as a single-packet flow, left out;
    // so add a complete exchange before it.
    let mut frames = dns_exchange();
    frames.push((1_600_000_001, 0, udp_frame([10, 0, 0, 2], [1, 1, 1, 1], 5000, 53, 40)));
    let whole = pcap(1, &frames);
    let cut = write("cut.pcap", &whole[..whole.len() - 10]);
    let out = ntc().args(["flows"]).arg(&cut).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning: ") && err.contains("packet 3 (at byte ") && err.contains("is cut off"), "{err}");
    assert_eq!(read_csv(&String::from_utf8_lossy(&out.stdout)).1.len(), 1, "the flows before the cut are written");
    // Not a capture at all.
    let not = write("notes.txt", b"this is not a capture\n");
    ntc().args(["flows"]).arg(&not).assert().code(2).stderr(predicates::str::contains("notes.txt: not a pcap or pcapng capture"));
    // An unsupported link type (147, a user DLT): named.
    let odd = write("dlt147.pcap", &pcap(147, &dns_exchange()));
    ntc().args(["flows"]).arg(&odd).assert().code(2).stderr(predicates::str::contains("packet 1: link type 147 is not supported"));
    // A packet shorter than its own headers: skipped, counted, the rest goes on.
    let mut frames = dns_exchange();
    frames.insert(1, (1_600_000_000, 1000, udp_frame([10, 0, 0, 1], [8, 8, 8, 8], 40000, 53, 0)[..30].to_vec()));
    let short = write("short.pcap", &pcap(1, &frames));
    let out = ntc().args(["flows"]).arg(&short).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("1 skipped as shorter than their headers"), "{err}");
    assert_eq!(read_csv(&String::from_utf8_lossy(&out.stdout)).1.len(), 1);
    // A capture with no packets: the header alone, exit 0. An empty file: not a capture.
    let empty = write("empty.pcap", &pcap(1, &[]));
    let out = ntc().args(["flows", "-q"]).arg(&empty).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let nothing = write("nothing.pcap", b"");
    ntc().args(["flows"]).arg(&nothing).assert().code(2);
    // Nothing partial at -o: an error leaves the previous file.
    let o = write("out.csv", b"previous\n");
    ntc().args(["flows", "-o"]).arg(&o).arg(&odd).assert().code(2);
    assert_eq!(std::fs::read(&o).unwrap(), b"previous\n");
}

#[test]
fn flows_pipe_into_predict() {
    let Some(root) = shared_flows() else { return };
    let pcap = root.join("pcaps/chrissanders_packets__arppoison.pcapng");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo-synth.cbor");
    let flows = ntc().args(["flows", "-q"]).arg(&pcap).output().unwrap();
    assert!(flows.status.success());
    let n = String::from_utf8_lossy(&flows.stdout).lines().count() - 1;
    let out = ntc().args(["predict", "-q", "-", "--keep", "id", "-m"]).arg(&model).write_stdin(flows.stdout).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (h, rows) = read_csv(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(h, vec!["Flow.ID", "predicted"]);
    assert_eq!(rows.len(), n, "one prediction per flow");
}

/// Whether nDPI's ndpiReader is here for the label tests: they are skipped
/// without it, unless NTC_REQUIRE_NDPI is set (CI installs it).
fn ndpi_reader() -> bool {
    let found = std::process::Command::new("ndpiReader").arg("-h").output().is_ok();
    if !found {
        assert!(std::env::var_os("NTC_REQUIRE_NDPI").is_none(), "NTC_REQUIRE_NDPI is set but ndpiReader is not on the PATH (Debian: apt install libndpi-bin)");
        eprintln!("skipped: ndpiReader is not on the PATH");
    }
    found
}

fn pcaps_of(root: &Path) -> Vec<PathBuf> {
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(root.join("pcaps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    pcaps.sort();
    pcaps
}

#[test]
fn ndpi_labels_of_548_real_captures_are_the_golden_files() {
    let Some(root) = shared_flows() else { return };
    if !ndpi_reader() {
        return;
    }
    let (mut total, mut matched) = (0usize, 0usize);
    let mut names = std::collections::HashSet::new();
    let mut first_differences = Vec::new();
    for pcap in pcaps_of(&root) {
        let golden = root.join("golden").join(format!("{}.csv", pcap.file_name().unwrap().to_string_lossy()));
        let (_, want) = read_csv(&std::fs::read_to_string(&golden).unwrap());
        let out = ntc().args(["flows", "-q", "--labels", "ndpi"]).arg(&pcap).output().unwrap();
        assert!(out.status.success(), "{}: {}", pcap.display(), String::from_utf8_lossy(&out.stderr));
        let (_, got) = read_csv(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(got.len(), want.len(), "{}: flows written", pcap.display());
        for (g, w) in got.iter().zip(&want) {
            total += 1;
            names.insert(w[86].clone());
            if g[84..87] == w[84..87] {
                matched += 1;
            } else if first_differences.len() < 5 {
                first_differences.push(format!("{} {}: {:?} vs {:?}", pcap.display(), g[0], &g[84..87], &w[84..87]));
            }
        }
    }
    assert!(names.len() > 100, "{} distinct names", names.len());
    // Every flow's label matched the golden files' when this test was written.
    assert_eq!(matched, total, "{first_differences:#?}");
}

#[test]
fn labelled_flows_train_a_model_that_labels_flows() {
    let Some(root) = shared_flows() else { return };
    if !ndpi_reader() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let mut csv = String::new();
    for pcap in pcaps_of(&root).iter().step_by(2) {
        let out = ntc().args(["flows", "-q", "--labels", "ndpi"]).arg(pcap).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let rows = text.split_once('\n').unwrap();
        if csv.is_empty() {
            csv.push_str(rows.0);
            csv.push('\n');
        }
        csv.push_str(rows.1);
    }
    std::fs::write(&train, &csv).unwrap();
    let model = dir.path().join("m.cbor");
    let fit = ntc().args(["train", "-q", "--no-proba"]).arg(&train).arg("-m").arg(&model).output().unwrap();
    assert!(fit.status.success(), "{}", String::from_utf8_lossy(&fit.stderr));
    let held_out = &pcaps_of(&root)[1];
    let flows = ntc().args(["flows", "-q"]).arg(held_out).output().unwrap();
    let n = String::from_utf8_lossy(&flows.stdout).lines().count() - 1;
    let out = ntc().args(["predict", "-q", "-", "-m"]).arg(&model).write_stdin(flows.stdout).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read_csv(&String::from_utf8_lossy(&out.stdout)).1.len(), n);
}

#[test]
fn labels_from_stdin_or_gzip_are_the_files() {
    let Some(root) = shared_flows() else { return };
    if !ndpi_reader() {
        return;
    }
    let pcap = root.join("pcaps/ntop_nDPI__android.pcap");
    let from_file = ntc().args(["flows", "-q", "--labels", "ndpi"]).arg(&pcap).output().unwrap();
    assert!(from_file.status.success(), "{}", String::from_utf8_lossy(&from_file.stderr));
    let text = String::from_utf8_lossy(&from_file.stdout);
    assert!(text.lines().skip(1).any(|l| !l.ends_with(",0,UNKNOWN")), "some flow is named");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(&pcap).unwrap()).unwrap();
    let gz = gz.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz_file = dir.path().join("android.pcap.gz");
    std::fs::write(&gz_file, &gz).unwrap();
    let from_gz = ntc().args(["flows", "-q", "--labels", "ndpi"]).arg(&gz_file).output().unwrap();
    assert_eq!(from_gz.stdout, from_file.stdout);
    let from_stdin = ntc().args(["flows", "-q", "--labels", "ndpi", "-"]).write_stdin(gz).output().unwrap();
    assert_eq!(from_stdin.stdout, from_file.stdout);
}

#[test]
fn labels_need_ndpi_reader_and_a_capture() {
    use predicates::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("dns.pcap");
    std::fs::write(&f, pcap(1, &dns_exchange())).unwrap();
    let out = dir.path().join("out.csv");
    let empty_path = dir.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    ntc()
        .env("PATH", &empty_path)
        .args(["flows", "--labels", "ndpi"])
        .arg(&f)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("ndpiReader, which is not on the PATH").and(predicates::str::contains("apt install libndpi-bin")));
    assert!(!out.exists(), "nothing at -o");
    if !ndpi_reader() {
        return;
    }
    // Bytes that are no capture: ntc's own message, not ndpiReader's.
    let not = dir.path().join("notes.txt");
    std::fs::write(&not, "these are not packets\n").unwrap();
    ntc()
        .args(["flows", "--labels", "ndpi"])
        .arg(&not)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("notes.txt: not a pcap or pcapng capture"));
    assert!(!out.exists(), "nothing at -o");
}
