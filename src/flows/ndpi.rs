//! `--labels ndpi`: nDPI's application names joined onto the flows, as the
//! Unicauca file was labelled. nDPI's own reader (`ndpiReader`, Debian's
//! libndpi-bin) reads the same capture and writes its flows; a flow takes
//! the name of the nDPI flow with the same unordered 5-tuple whose time
//! span overlaps its own, named the dataset's way ([`ndpi_protocols`]).
//!
//! [`ndpi_protocols`]: super::ndpi_protocols

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use super::features::Flow;
use super::ndpi_protocols::PROTOCOLS;
use crate::data::schema::UNICAUCA_APPS;
use crate::error::{Error, Result};

/// The program `--labels ndpi` runs.
pub const READER: &str = "ndpiReader";

/// A flow's label columns: `Label`, `L7Protocol`, `ProtocolName`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub id: u32,
    pub name: String,
}

impl Label {
    pub fn unknown() -> Label {
        Label { id: 0, name: "UNKNOWN".into() }
    }
}

/// Both ends in a fixed order, and the protocol as the flow table keys it
/// (0 for everything but TCP and UDP, ports 0 then).
type Key = (u8, (IpAddr, u16), (IpAddr, u16));

fn key(protocol: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Key {
    if a <= b {
        (protocol, a, b)
    } else {
        (protocol, b, a)
    }
}

/// One flow as nDPI saw it: milliseconds since the epoch, and its name.
struct Seen {
    first_ms: i64,
    last_ms: i64,
    label: Label,
}

/// nDPI's flows of one capture, by 5-tuple.
#[derive(Default)]
pub struct NdpiFlows {
    by_key: HashMap<Key, Vec<Seen>>,
}

impl NdpiFlows {
    /// Runs ndpiReader on the capture at `path` (a file it can open: pcap or
    /// pcapng, not compressed) and reads its flows. `name` names the capture
    /// in messages.
    pub fn read(name: &str, path: &Path) -> Result<NdpiFlows> {
        let csv = tempfile::NamedTempFile::new()?;
        // -d: names from the payload only, no guesses by port (the golden files' labels).
        let run = Command::new(READER)
            .arg("-q")
            .arg("-d")
            .arg("-i")
            .arg(path)
            .arg("-C")
            .arg(csv.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        let out = match run {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::input(format!(
                    "--labels ndpi runs nDPI's {READER}, which is not on the PATH: install it (Debian, Ubuntu: apt install libndpi-bin; others: build nDPI from https://github.com/ntop/nDPI) or leave out --labels"
                )))
            }
            Err(e) => return Err(Error::input(format!("--labels ndpi: cannot run {READER}: {e}"))),
        };
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            let last = said.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("no message");
            return Err(Error::input(format!("{name}: {READER} failed ({}): {}", out.status, crate::error::printable(last, 200))));
        }
        Self::parse(name, std::fs::File::open(csv.path())?)
    }

    /// Reads ndpiReader's CSV (`-C`): one row per flow.
    pub fn parse(name: &str, csv: impl std::io::Read) -> Result<NdpiFlows> {
        let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(csv);
        let bad = |what: String| Error::input(format!("{name}: {READER}'s flow file: {what}"));
        let header = r.byte_headers().map_err(|e| bad(e.to_string()))?.clone();
        let col = |want: &str| {
            header
                .iter()
                .position(|h| h.strip_prefix(b"#").unwrap_or(h) == want.as_bytes())
                .ok_or_else(|| bad(format!("no column '{want}' (is this nDPI 4's ndpiReader?)")))
        };
        let [protocol, first, last, src_ip, src_port, dst_ip, dst_port, num, proto] =
            ["protocol", "first_seen", "last_seen", "src_ip", "src_port", "dst_ip", "dst_port", "ndpi_proto_num", "ndpi_proto"]
                .map(col);
        let (protocol, first, last, src_ip, src_port, dst_ip, dst_port, num, proto) =
            (protocol?, first?, last?, src_ip?, src_port?, dst_ip?, dst_port?, num?, proto?);
        let mut flows = NdpiFlows::default();
        let mut record = csv::ByteRecord::new();
        let mut line = 1u64;
        while r.read_byte_record(&mut record).map_err(|e| bad(e.to_string()))? {
            line += 1;
            let field = |i: usize| std::str::from_utf8(record.get(i).unwrap_or_default()).unwrap_or("");
            // ndpiReader 4.2 writes some IPv6 addresses wrongly (`2600:1900:4160:5999::19::`):
            // such a flow can match none of ntc's, so it is left out.
            let (Ok(a), Ok(b)) = (field(src_ip).parse::<IpAddr>(), field(dst_ip).parse::<IpAddr>()) else {
                continue;
            };
            let parsed = (|| {
                let ip_protocol: u8 = field(protocol).parse().ok()?;
                let (pa, pb): (u16, u16) = (field(src_port).parse().ok()?, field(dst_port).parse().ok()?);
                let first_ms = millis(field(first))?;
                let last_ms = millis(field(last))?;
                Some((ip_protocol, a, pa, b, pb, first_ms, last_ms))
            })();
            let Some((ip_protocol, a, pa, b, pb, first_ms, last_ms)) = parsed else {
                return Err(bad(format!("line {line}: not a flow row")));
            };
            let k = match ip_protocol {
                6 | 17 => key(ip_protocol, (a, pa), (b, pb)),
                _ => key(0, (a, 0), (b, 0)),
            };
            let label = dataset_label(field(num), field(proto));
            flows.by_key.entry(k).or_default().push(Seen { first_ms, last_ms, label });
        }
        for seen in flows.by_key.values_mut() {
            seen.sort_by_key(|s| (s.first_ms, s.last_ms));
        }
        Ok(flows)
    }

    /// The label of `flow`: the first nDPI flow of the same 5-tuple that
    /// overlaps it in time and that nDPI named, else UNKNOWN.
    pub fn label(&self, flow: &Flow) -> Label {
        let k = key(flow.protocol, (flow.src, flow.src_port), (flow.dst, flow.dst_port));
        let (first, last) = (flow.start.div_euclid(1000), flow.last_seen().div_euclid(1000));
        self.by_key
            .get(&k)
            .and_then(|seen| seen.iter().find(|s| s.first_ms <= last && s.last_ms >= first && s.label.id != 0))
            .map_or_else(Label::unknown, |s| s.label.clone())
    }
}

/// `1451924795.521` (seconds with milliseconds, as ndpiReader writes them) as milliseconds.
fn millis(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    let frac = format!("{frac:0<3}");
    let ms: i64 = frac.get(..3)?.parse().ok()?;
    Some(secs * 1000 + ms)
}

/// The dataset's label for nDPI's `ndpi_proto_num` (`91.126`: master and
/// application) and `ndpi_proto` (`TLS.Google`): the application when nDPI
/// names one, else the master protocol. Known names (nDPI 4.2's) take the
/// dataset's name and id; a name this table does not know (a later nDPI)
/// is upper-cased, with nDPI's id.
fn dataset_label(num: &str, proto: &str) -> Label {
    let app_num = num.rsplit('.').next().unwrap_or(num);
    let app_name = if num.contains('.') { proto.split_once('.').map_or(proto, |(_, app)| app) } else { proto };
    let (id, name) = match PROTOCOLS.iter().find(|p| p.1 == app_name) {
        Some(&(id, _, name)) => (id as u32, name.to_string()),
        None => {
            let id = app_num.parse::<u32>().unwrap_or(0);
            let name: String = app_name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
            (id, name)
        }
    };
    if id == 0 {
        return Label::unknown();
    }
    Label { id: dataset_id(id, &name), name }
}

/// The dataset's id for a name it holds; otherwise nDPI's, moved by 1000
/// when the dataset uses that number for another name (nDPI 4.2's 200 is
/// SINA, the dataset's 200 SIMET): an id names one application.
fn dataset_id(ndpi_id: u32, name: &str) -> u32 {
    if let Some(&(_, id, _)) = UNICAUCA_APPS.iter().find(|a| a.0 == name) {
        return id as u32;
    }
    if UNICAUCA_APPS.iter().any(|a| a.1 as u32 == ndpi_id) {
        ndpi_id + 1000
    } else {
        ndpi_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_the_datasets() {
        let l = |num: &str, proto: &str| {
            let l = dataset_label(num, proto);
            (l.id, l.name)
        };
        assert_eq!(l("91", "TLS"), (91, "SSL".into()));
        assert_eq!(l("91.126", "TLS.Google"), (126, "GOOGLE".into()));
        assert_eq!(l("7.200", "HTTP.Sina(Weibo)"), (1200, "SINA".into()));
        assert_eq!(l("5.219", "DNS.Microsoft365"), (219, "OFFICE_365".into()));
        assert_eq!(l("67", "Jabber"), (67, "UNENCRYPED_JABBER".into()));
        assert_eq!(l("263", "AVASTSecureDNS"), (263, "AVAST_SECUREDNS".into()));
        assert_eq!(l("81", "ICMP"), (81, "IP_ICMP".into()));
        assert_eq!(l("0", "Unknown"), (0, "UNKNOWN".into()));
        // A protocol of a later nDPI: its own name and id.
        assert_eq!(l("7.390", "HTTP.New-App"), (390, "NEW_APP".into()));
    }

    #[test]
    fn milliseconds_as_written() {
        assert_eq!(millis("1451924795.521"), Some(1_451_924_795_521));
        assert_eq!(millis("12.5"), Some(12_500));
        assert_eq!(millis("12"), Some(12_000));
        assert_eq!(millis("x"), None);
    }
}
