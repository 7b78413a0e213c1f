//! Synthetic flows in the exact 87-column Unicauca schema, with the real
//! class distribution and, per app, plausible and mutually consistent values
//! (packet counts, sizes, totals = count x mean, durations, rates, ports,
//! protocol, window sizes). Apps of one category share a baseline and differ
//! by an app-specific offset, so classes overlap the way real traffic does.
//!
//! Rows are generated in fixed-size chunks, each with its own RNG seeded
//! from `(seed, chunk)`: the output depends only on the seed and the row
//! count, never on the number of threads.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

use crate::data::classes::ClassMap;
use crate::data::schema::{UNICAUCA_APPS as APPS, UNICAUCA_COLUMNS};
use crate::error::Result;

/// Rows in the full Unicauca file.
pub const FULL_ROWS: u64 = 3_577_296;
const CHUNK: usize = 4096;

/// Log-normal parameters `(mu, sigma)` of the natural log of a quantity.
#[derive(Clone, Copy)]
struct LogN(f64, f64);

#[derive(Clone)]
struct Profile {
    name: &'static str,
    l7: u16,
    /// Probability of UDP (17); the rest TCP (6). ICMP/OSPF use protocol 0.
    udp: f64,
    icmp: bool,
    ports: Vec<u16>,
    fwd_pkts: LogN,
    bwd_ratio: LogN,
    fwd_size: LogN,
    bwd_size: LogN,
    iat: LogN,
    /// First-packet flag probabilities: PSH, ACK, SYN, FIN, URG, RST.
    flags: [f64; 6],
    win_fwd: Vec<i64>,
    win_bwd: Vec<i64>,
}

/// A deterministic value in [-1, 1] from an app name and a slot.
fn hash_unit(name: &str, slot: u64) -> f64 {
    // FNV-1a: stable across platforms and versions.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ slot.wrapping_mul(0x100_0000_01b3);
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h ^= h >> 29;
    (h % 2_000_001) as f64 / 1_000_000.0 - 1.0
}

fn known_ports(name: &str) -> Option<(Vec<u16>, f64)> {
    let (p, udp): (&[u16], f64) = match name {
        "HTTP" | "HTTP_DOWNLOAD" | "CNN" => (&[80, 8080], 0.0),
        "HTTP_PROXY" => (&[3128, 8080, 80], 0.0),
        "HTTP_CONNECT" => (&[443, 3128], 0.0),
        "GOOGLE" => (&[443, 443, 80], 0.12),
        "YOUTUBE" => (&[443], 0.25),
        "DNS" => (&[53], 0.97),
        "NTP" => (&[123], 1.0),
        "SSH" => (&[22], 0.0),
        "FTP_DATA" => (&[20], 0.0),
        "FTP_CONTROL" => (&[21], 0.0),
        "BGP" => (&[179], 0.0),
        "MSSQL" => (&[1433], 0.0),
        "ORACLE" => (&[1521], 0.0),
        "SNMP" => (&[161], 1.0),
        "RADIUS" => (&[1812], 1.0),
        "UPNP" => (&[1900], 1.0),
        "MQTT" => (&[1883, 8883], 0.0),
        "TOR" => (&[9001, 443], 0.0),
        "TEAMVIEWER" => (&[5938], 0.1),
        "SKYPE" => (&[443, 3478], 0.4),
        "WHATSAPP" => (&[443, 5222], 0.05),
        "OPENVPN" => (&[1194], 0.8),
        "BITTORRENT" => (&[6881], 0.5),
        "EDONKEY" => (&[4662], 0.3),
        "H323" => (&[1720], 0.0),
        "RTMP" => (&[1935], 0.0),
        "NFS" => (&[2049], 0.5),
        "MAIL_IMAPS" | "GMAIL" => (&[993, 443], 0.0),
        "UNENCRYPED_JABBER" => (&[5222], 0.0),
        "TEAMSPEAK" => (&[9987], 1.0),
        "SKINNY" => (&[2000], 0.0),
        "LOTUS_NOTES" => (&[1352], 0.0),
        "CITRIX" => (&[1494, 2598], 0.0),
        "SOCKS" => (&[1080], 0.0),
        "WHOIS_DAS" => (&[43], 0.0),
        "STARCRAFT" => (&[1119], 0.3),
        "QQ" => (&[8000], 1.0),
        "SSL" | "SSL_NO_CERT" => (&[443, 443, 443, 8443, 993, 995], 0.0),
        "SPOTIFY" => (&[443, 4070], 0.0),
        "WINDOWS_UPDATE" => (&[80, 443], 0.0),
        _ => return None,
    };
    Some((p.to_vec(), udp))
}

fn profile(name: &'static str, l7: u16) -> Profile {
    let category = ClassMap::categories().class_of(name).unwrap_or_else(|| "Other".into());
    // Baselines per category: fwd packets, bwd/fwd ratio, fwd size, bwd size, inter-arrival (us).
    let (fwd, ratio, fsz, bsz, iat, spread) = match category.as_str() {
        "Web" => (LogN(1.8, 1.1), LogN(0.0, 0.5), LogN(4.9, 0.9), LogN(6.2, 1.0), LogN(10.5, 2.0), 0.35),
        "Secure" => (LogN(2.0, 1.1), LogN(0.1, 0.5), LogN(5.2, 0.8), LogN(6.5, 0.9), LogN(10.8, 2.0), 0.0),
        "Streaming" => (LogN(3.0, 1.3), LogN(0.6, 0.5), LogN(4.5, 0.7), LogN(7.0, 0.35), LogN(9.3, 1.6), 0.3),
        "DNS" => (LogN(0.1, 0.3), LogN(0.0, 0.2), LogN(3.9, 0.3), LogN(4.9, 0.5), LogN(9.5, 1.2), 0.1),
        _ => (LogN(2.0, 1.2), LogN(-0.1, 0.7), LogN(5.0, 1.0), LogN(5.8, 1.1), LogN(11.0, 2.2), 0.8),
    };
    let shift = |l: LogN, slot: u64| LogN(l.0 + spread * hash_unit(name, slot), l.1 * (1.0 + 0.15 * hash_unit(name, slot + 100)));
    let (ports, udp) = known_ports(name).unwrap_or_else(|| {
        let p = if hash_unit(name, 7) > 0.4 { vec![443, 80] } else { vec![443] };
        (p, if hash_unit(name, 8) > 0.7 { 0.3 } else { 0.0 })
    });
    let u = |slot: u64| (hash_unit(name, slot) + 1.0) / 2.0;
    let windows: [i64; 10] = [65535, 29200, 8192, 14600, 5840, 262, 1024, 251, 256, 64240];
    let pick = |slot: u64, n: usize| -> Vec<i64> {
        (0..n).map(|i| windows[(u(slot + i as u64) * 9.99) as usize]).collect()
    };
    Profile {
        name,
        l7,
        udp,
        icmp: matches!(name, "IP_ICMP" | "IP_OSPF"),
        ports,
        fwd_pkts: shift(fwd, 1),
        bwd_ratio: shift(ratio, 2),
        fwd_size: shift(fsz, 3),
        bwd_size: shift(bsz, 4),
        iat: shift(iat, 5),
        flags: [0.3 + 0.4 * u(10), 0.3 + 0.4 * u(11), 0.02 + 0.08 * u(12), 0.01 + 0.04 * u(13), 0.05 * u(14), 0.02 * u(15)],
        win_fwd: pick(20, 3),
        win_bwd: pick(30, 3),
    }
}

/// Options of `ntc synth`.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    pub rows: u64,
    pub seed: u64,
    /// Add what real files hold: Infinity/NaN rates of zero-duration flows, empty cells, duplicate rows.
    pub dirty: bool,
}

/// Writes the header and `rows` flows.
pub fn write_csv<W: Write>(out: &mut W, opts: &SynthOptions, mut on_rows: impl FnMut(u64)) -> Result<()> {
    let profiles: Vec<Profile> = APPS.iter().map(|&(n, l7, _)| profile(n, l7)).collect();
    let total: u64 = APPS.iter().map(|a| a.2).sum();
    let mut cumulative = Vec::with_capacity(APPS.len());
    let mut acc = 0u64;
    for a in APPS.iter() {
        acc += a.2;
        cumulative.push(acc);
    }
    out.write_all(UNICAUCA_COLUMNS.join(",").as_bytes())?;
    out.write_all(b"\n")?;
    let chunks = opts.rows.div_ceil(CHUNK as u64);
    // Chunks are formatted in parallel, a bounded group at a time, written in order.
    let group = (rayon::current_num_threads() * 4) as u64;
    let mut c0 = 0u64;
    while c0 < chunks {
        let c1 = (c0 + group).min(chunks);
        let bufs: Vec<Vec<u8>> = (c0..c1)
            .into_par_iter()
            .map(|c| {
                let start = c * CHUNK as u64;
                let n = (opts.rows - start).min(CHUNK as u64) as usize;
                gen_chunk(&profiles, &cumulative, total, opts, c, start, n)
            })
            .collect();
        for b in &bufs {
            out.write_all(b)?;
        }
        on_rows(((c1 * CHUNK as u64).min(opts.rows)) - (c0 * CHUNK as u64));
        c0 = c1;
    }
    Ok(())
}

fn gen_chunk(
    profiles: &[Profile],
    cumulative: &[u64],
    total: u64,
    opts: &SynthOptions,
    chunk: u64,
    start: u64,
    n: usize,
) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ chunk);
    let mut buf = Vec::with_capacity(n * 700);
    let mut prev: Option<(usize, usize)> = None; // byte range of the previous row
    for i in 0..n {
        if opts.dirty && i > 0 && rng.random::<f64>() < 0.003 {
            if let Some((a, b)) = prev {
                let copy = buf[a..b].to_vec();
                buf.extend_from_slice(&copy);
                continue;
            }
        }
        let r = rng.random_range(0..total);
        let app = cumulative.partition_point(|&c| c <= r);
        let begin = buf.len();
        write_flow(&mut buf, &profiles[app], &mut rng, start + i as u64, opts.dirty);
        prev = Some((begin, buf.len()));
    }
    buf
}

fn lognormal(rng: &mut ChaCha8Rng, l: LogN) -> f64 {
    Normal::new(l.0, l.1.max(1e-9)).unwrap().sample(rng).exp()
}

fn flag(rng: &mut ChaCha8Rng, p: f64) -> u8 {
    (rng.random::<f64>() < p) as u8
}

/// Sizes of one direction: (total bytes, max, min, mean, std).
fn direction_sizes(rng: &mut ChaCha8Rng, count: u64, size: LogN, mtu: f64) -> (u64, f64, f64, f64, f64) {
    if count == 0 {
        return (0, 0.0, 0.0, 0.0, 0.0);
    }
    let mean_target = lognormal(rng, size).clamp(0.0, mtu);
    let total = (mean_target * count as f64).round() as u64;
    let mean = total as f64 / count as f64;
    if count == 1 {
        return (total, mean, mean, mean, 0.0);
    }
    let cv = rng.random_range(0.2..1.6);
    let std = mean * cv;
    let max = (mean + std * rng.random_range(1.0..2.5)).min(mtu.max(mean)).round().max(mean.ceil());
    let min = (mean - std * rng.random_range(0.5..1.5)).max(0.0).round().min(mean.floor());
    (total, max, min, mean, std)
}

fn write_flow(buf: &mut Vec<u8>, p: &Profile, rng: &mut ChaCha8Rng, row: u64, dirty: bool) {
    let proto: u8 = if p.icmp { 0 } else if rng.random::<f64>() < p.udp { 17 } else { 6 };
    let tcp = proto == 6;
    let mut fwd = lognormal(rng, p.fwd_pkts).round().clamp(1.0, 20000.0) as u64;
    let mut bwd = if rng.random::<f64>() < 0.12 {
        0
    } else {
        (fwd as f64 * lognormal(rng, p.bwd_ratio)).round().min(40000.0) as u64
    };
    // A one-packet flow has zero duration; only dirty files keep those (with Infinity rates).
    let single = dirty && rng.random::<f64>() < 0.02;
    if single {
        fwd = 1;
        bwd = 0;
    } else if fwd + bwd < 2 {
        fwd = 2;
    }
    let n = fwd + bwd;
    let mtu = if tcp { 1460.0 } else { 1472.0 };
    let (fwd_bytes, fmax, fmin, fmean, fstd) = direction_sizes(rng, fwd, p.fwd_size, mtu);
    let (bwd_bytes, bmax, bmin, bmean, bstd) = direction_sizes(rng, bwd, p.bwd_size, if tcp { 2920.0 } else { 1472.0 });
    let duration: u64 = if single { 0 } else { (lognormal(rng, p.iat) * (n - 1) as f64).round().clamp(1.0, 120e6) as u64 };
    let dur = duration as f64;

    // Inter-arrival times.
    let iat_mean = if n > 1 { dur / (n - 1) as f64 } else { 0.0 };
    let iat_std = if n > 2 { iat_mean * rng.random_range(0.3..3.0) } else { 0.0 };
    let iat_max = if n > 1 { (iat_mean + iat_std * rng.random_range(1.0..3.0)).min(dur).max(iat_mean).round() } else { 0.0 };
    let iat_min = if n > 1 { (iat_mean * rng.random_range(0.0..0.3)).floor() } else { 0.0 };
    let dir_iat = |rng: &mut ChaCha8Rng, k: u64| -> [f64; 5] {
        if k < 2 {
            return [0.0; 5];
        }
        let total = (dur * rng.random_range(0.6..1.0)).round();
        let mean = total / (k - 1) as f64;
        let std = if k > 2 { mean * rng.random_range(0.2..2.5) } else { 0.0 };
        let max = (mean + std * rng.random_range(0.5..2.0)).min(total).max(mean).round();
        let min = (mean * rng.random_range(0.0..0.5)).floor();
        [total, mean, std, max, min]
    };
    let fiat = dir_iat(rng, fwd);
    let biat = dir_iat(rng, bwd);

    let seg: u64 = if tcp { if rng.random::<f64>() < 0.8 { 32 } else { 20 } } else { 8 };
    let (sport, dport) = {
        let service = p.ports[rng.random_range(0..p.ports.len())];
        let ephemeral = rng.random_range(32768..61000u16);
        if p.icmp {
            (0, 0)
        } else if rng.random::<f64>() < 0.25 {
            (service, ephemeral) // the flow was cut server-to-client
        } else {
            (ephemeral, service)
        }
    };
    let bytes = (fwd_bytes + bwd_bytes) as f64;
    let all_max = fmax.max(bmax);
    let all_min = if bwd > 0 { fmin.min(bmin) } else { fmin };
    let pooled = if n > 1 {
        let m = bytes / n as f64;
        let ss = fwd as f64 * (fstd * fstd + (fmean - m).powi(2)) + bwd as f64 * (bstd * bstd + (bmean - m).powi(2));
        (ss / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let [psh, ack, syn, fin, urg, rst] = p.flags.map(|q| if tcp { flag(rng, q) } else { 0 });
    let win_f = if tcp { p.win_fwd[rng.random_range(0..p.win_fwd.len())] } else { -1 };
    let win_b = if tcp && bwd > 0 { p.win_bwd[rng.random_range(0..p.win_bwd.len())] } else { -1 };
    let act_data = if fwd_bytes > 0 { (fwd as f64 * rng.random_range(0.2..1.0)).round().max(1.0) as u64 } else { 0 };
    let (active, idle) = if dur > 5e6 && rng.random::<f64>() < 0.5 {
        let a = (dur * rng.random_range(0.01..0.2)).round();
        (a, (dur - a).round())
    } else {
        (0.0, 0.0)
    };

    // Identifiers: never features, present because real files have them.
    let client = format!("192.168.{}.{}", rng.random_range(1..6u8), rng.random_range(2..255u8));
    let h = ((hash_unit(p.name, 40) + 1.0) * 1e6) as u64;
    let server = format!("{}.{}.{}.{}", 23 + h % 180, (h / 7) % 256, rng.random_range(0..256u16), rng.random_range(1..255u16));
    let (src_ip, dst_ip) = if sport < dport && !p.icmp { (&server, &client) } else { (&client, &server) };
    let secs = 11 * 3600 + row / 40;
    let day = 26 + (secs / 86400) % 20;
    let (dd, mm) = if day > 30 { (day - 30, 5) } else { (day, 4) };
    let ts = format!("{dd:02}/{mm:02}/2017{:02}:{:02}:{:02}", (secs / 3600) % 24, (secs / 60) % 60, secs % 60);

    let rate = |num: f64| -> Cell {
        if duration == 0 {
            if num == 0.0 { Cell::Text("NaN") } else { Cell::Text("Infinity") }
        } else {
            Cell::F(num / dur * 1e6)
        }
    };
    use Cell::{F, I};
    let cells: [Cell; 80] = [
        I(sport as i64), I(dport as i64), I(proto as i64), I(duration as i64), I(fwd as i64), I(bwd as i64),
        I(fwd_bytes as i64), I(bwd_bytes as i64), F(fmax), F(fmin), F(fmean), F(fstd), F(bmax), F(bmin), F(bmean), F(bstd),
        rate(bytes), rate(n as f64), F(iat_mean), F(iat_std), F(iat_max), F(iat_min),
        F(fiat[0]), F(fiat[1]), F(fiat[2]), F(fiat[3]), F(fiat[4]), F(biat[0]), F(biat[1]), F(biat[2]), F(biat[3]), F(biat[4]),
        I(flag(rng, 0.03) as i64 * tcp as i64), I(0), I(0), I(0), I((fwd * seg) as i64), I((bwd * seg) as i64),
        if duration == 0 { Cell::Text("Infinity") } else { F(fwd as f64 / dur * 1e6) },
        if duration == 0 { F(0.0) } else { F(bwd as f64 / dur * 1e6) },
        F(all_min), F(all_max), F(bytes / (n + 1) as f64), F(pooled), F(pooled * pooled),
        I(fin as i64), I(syn as i64), I(rst as i64), I(psh as i64), I(ack as i64), I(urg as i64), I(0), I(flag(rng, 0.004) as i64),
        I((bwd / fwd) as i64), F(bytes / n as f64), F(fmean), F(bmean), I((fwd * seg) as i64),
        I(0), I(0), I(0), I(0), I(0), I(0),
        I(fwd as i64), I(fwd_bytes as i64), I(bwd as i64), I(bwd_bytes as i64), I(win_f), I(win_b), I(act_data as i64), I(seg as i64),
        F(active), F(0.0), F(active), F(active), F(idle), F(0.0), F(idle), F(idle),
    ];
    use std::io::Write as _;
    write!(buf, "{src_ip}-{dst_ip}-{sport}-{dport}-{proto},{src_ip},{sport},{dst_ip},{dport},{proto},{ts}").unwrap();
    // cells[0..3] are ports and protocol, already written with the identifiers.
    for (k, c) in cells.iter().enumerate().skip(3) {
        buf.push(b',');
        // Dirty files lose a few cells (never the identifying ones).
        if dirty && rng.random::<f64>() < 0.0005 {
            continue;
        }
        let _ = k;
        c.write(buf);
    }
    write!(buf, ",BENIGN,{},{}\n", p.l7, p.name).unwrap();
}

enum Cell {
    I(i64),
    F(f64),
    Text(&'static str),
}

impl Cell {
    fn write(&self, buf: &mut Vec<u8>) {
        use std::io::Write as _;
        match self {
            Cell::I(v) => write!(buf, "{v}").unwrap(),
            Cell::F(v) if v.fract() == 0.0 && v.abs() < 1e15 => write!(buf, "{v:.1}").unwrap(),
            Cell::F(v) => write!(buf, "{v}").unwrap(),
            Cell::Text(s) => buf.extend_from_slice(s.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_table_matches_the_contract() {
        assert_eq!(APPS.iter().map(|a| a.2).sum::<u64>(), FULL_ROWS);
        let m = ClassMap::categories();
        let mut per = std::collections::BTreeMap::new();
        for (name, _, n) in APPS {
            *per.entry(m.class_of(name).unwrap()).or_insert(0u64) += n;
        }
        assert_eq!(per["Web"], 2_799_896);
        assert_eq!(per["Secure"], 404_883);
        assert_eq!(per["Other"], 197_212);
        assert_eq!(per["Streaming"], 173_610);
        assert_eq!(per["DNS"], 1_695);
    }

    #[test]
    fn same_seed_same_bytes_and_consistent_rows() {
        let gen = |seed, dirty| {
            let mut v = Vec::new();
            write_csv(&mut v, &SynthOptions { rows: 5000, seed, dirty }, |_| {}).unwrap();
            v
        };
        let a = gen(3, false);
        assert_eq!(a, gen(3, false));
        assert_ne!(a, gen(4, false));
        let text = String::from_utf8(a).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header, UNICAUCA_COLUMNS.to_vec());
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let mut rows = 0;
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 87, "{line}");
            let num = |name: &str| f[col(name)].parse::<f64>().unwrap();
            let (cnt, mean, total) =
                (num("Total.Fwd.Packets"), num("Fwd.Packet.Length.Mean"), num("Total.Length.of.Fwd.Packets"));
            assert!((cnt * mean - total).abs() < 1e-6 * total.max(1.0), "totals = count x mean: {line}");
            assert!(num("Fwd.Packet.Length.Min") <= mean + 1e-9 && mean <= num("Fwd.Packet.Length.Max") + 1e-9);
            assert!(num("Flow.Duration") >= 1.0, "clean data has no zero-duration flow");
            assert_eq!(num("Subflow.Fwd.Bytes"), total);
            assert_eq!(f[col("Fwd.Header.Length")], f[col("Fwd.Header.Length.1")]);
            let proto = num("Protocol");
            if f[col("ProtocolName")] == "DNS" {
                assert!(proto == 17.0 || proto == 6.0);
            }
            rows += 1;
        }
        assert_eq!(rows, 5000);
    }

    #[test]
    fn dirty_data_has_the_real_quirks() {
        let mut v = Vec::new();
        write_csv(&mut v, &SynthOptions { rows: 20000, seed: 1, dirty: true }, |_| {}).unwrap();
        let text = String::from_utf8(v).unwrap();
        assert!(text.contains(",Infinity,"));
        assert!(text.contains(",,"));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.windows(2).any(|w| w[0] == w[1]), "duplicate rows");
    }
}
