//! From packet captures to flows measured as CICFlowMeter V3 measured the
//! Unicauca file (../shared/flows/README.md is the contract): read the
//! capture ([`capture`]), decode each packet ([`decode`]), cut flows
//! ([`table`]), measure them ([`features`]) and write them as rows of the
//! Unicauca schema ([`writer`]), labelled by nDPI when asked ([`ndpi`]).
//! Streaming: memory grows with the flows open at once, not with the
//! packets.

pub mod capture;
pub mod decode;
pub mod features;
pub mod ndpi;
pub mod ndpi_protocols;
pub mod table;
pub mod writer;

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};
use decode::Decoded;

/// `--flow-timeout` and `--activity-timeout` (microseconds), `--ipv6`.
#[derive(Clone, Copy, Debug)]
pub struct FlowOptions {
    pub flow_timeout: i64,
    pub activity_timeout: i64,
    /// IPv6 packets go into flows too (V3 read IPv4 only).
    pub ipv6: bool,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions { flow_timeout: table::FLOW_TIMEOUT, activity_timeout: table::ACTIVITY_TIMEOUT, ipv6: false }
    }
}

/// What a capture held, for the closing line on stderr.
#[derive(Debug, Default)]
pub struct Summary {
    pub packets: u64,
    /// IP packets that went into flows.
    pub decoded: u64,
    /// Frames that carry no IPv4 (ARP, ...; IPv6 without `--ipv6`).
    pub not_ip: u64,
    /// Frames shorter than their own headers: skipped.
    pub short: u64,
    pub flows: u64,
    pub single_packet_flows: u64,
    /// The capture's last packet was cut off: its number and byte offset.
    pub truncated_at: Option<(u64, u64)>,
}

/// Reads the capture `input` (named `name` in messages) and writes its
/// flows to `out`, with nDPI's labels when `labels` holds its flows.
pub fn extract<W: Write>(
    name: &str,
    input: Box<dyn Read + Send>,
    opts: FlowOptions,
    labels: Option<&ndpi::NdpiFlows>,
    out: W,
) -> Result<Summary> {
    let mut w = writer::FlowWriter::new(out)?;
    let mut table = table::FlowTable::new(opts.flow_timeout, opts.activity_timeout);
    let mut s = Summary::default();
    let mut failed: Option<Error> = None;
    let mut emit = |flow: features::Flow| {
        if failed.is_none() {
            let label = labels.map(|l| l.label(&flow));
            if let Err(e) = w.write(&flow, label.as_ref()) {
                failed = Some(e);
            }
        }
    };
    let ending = capture::for_each_frame(name, input, |frame| {
        s.packets += 1;
        if decode::linktype_name(frame.linktype).is_none() {
            return Err(Error::input(format!(
                "{name}: packet {}: link type {} is not supported (ntc reads Ethernet, raw IP, Linux cooked, loopback, PPP, PPPoE, Cisco HDLC)",
                frame.number, frame.linktype
            )));
        }
        match decode::decode(frame.linktype, frame.data, frame.micros, opts.ipv6) {
            Decoded::Packet(p) => {
                s.decoded += 1;
                table.add(&p, &mut emit);
            }
            Decoded::NotIp => s.not_ip += 1,
            Decoded::Short => s.short += 1,
        }
        Ok(())
    })?;
    table.close_all(&mut emit);
    if let Some(e) = failed {
        return Err(e);
    }
    s.single_packet_flows = table.single_packet_flows;
    s.flows = w.rows;
    s.truncated_at = ending.truncated_at;
    w.finish()?;
    Ok(s)
}

/// The capture at `path`, or stdin when None (`name` names it in messages).
pub fn open_capture(name: &str, path: Option<&Path>) -> Result<Box<dyn Read + Send>> {
    Ok(match path {
        Some(p) => Box::new(std::fs::File::open(p).map_err(|e| Error::input(format!("{name}: {e}")))?),
        None => Box::new(std::io::stdin()),
    })
}

/// [`extract`] with nDPI's labels (`--labels ndpi`): ndpiReader reads the
/// capture at `path` first. A capture from stdin (`path` None) or
/// gzip-compressed is first written out, uncompressed, to a temporary file
/// that both read.
pub fn extract_labelled<W: Write>(name: &str, path: Option<&Path>, opts: FlowOptions, out: W) -> Result<Summary> {
    let open = |p: &Path| open_capture(name, Some(p));
    let read_error = |e: std::io::Error| Error::input(format!("{name}: read error: {e}"));
    let gzipped = |p: &Path| -> Result<bool> {
        let mut head = [0u8; 2];
        let n = open(p)?.read(&mut head).map_err(read_error)?;
        Ok(head[..n] == capture::GZIP_MAGIC)
    };
    let spool;
    let path = match path {
        Some(p) if !gzipped(p)? => p,
        _ => {
            let input = open_capture(name, path)?;
            spool = tempfile::NamedTempFile::new()?;
            if let Some(mut bytes) = capture::decompressed(input).map_err(read_error)? {
                std::io::copy(&mut bytes, &mut spool.as_file()).map_err(read_error)?;
            }
            spool.path()
        }
    };
    let labels = match ndpi::NdpiFlows::read(name, path) {
        Ok(l) => l,
        // A capture ntc cannot read either: ntc's message says where.
        Err(e) => return extract(name, open(path)?, opts, None, std::io::sink()).and(Err(e)),
    };
    extract(name, open(path)?, opts, Some(&labels), out)
}
