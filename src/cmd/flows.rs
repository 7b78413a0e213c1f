use std::path::PathBuf;

use ntc::flows::{extract, extract_labelled, open_capture, FlowOptions};
use ntc::io::{Named, Output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Packet capture (pcap or pcapng, gzip or not), or `-` for stdin.
    pub capture: PathBuf,
    /// Output CSV (the Unicauca schema), or `-` for stdout.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// A flow ends when a packet arrives this many seconds after its first packet (V3: 120).
    #[arg(long, default_value_t = 120.0, value_name = "SECONDS")]
    pub flow_timeout: f64,
    /// A gap of more than this many seconds ends an active period (V3: 5).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub activity_timeout: f64,
    /// IPv6 packets go into flows too (V3 read IPv4 only, as the Unicauca file).
    #[arg(long)]
    pub ipv6: bool,
    /// Fill the label columns: `ndpi` runs nDPI's ndpiReader (Debian: libndpi-bin) on the capture
    /// and names each flow as the Unicauca file's were (ProtocolName, L7Protocol).
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub labels: Option<LabelSource>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelSource {
    /// nDPI's ndpiReader, as the dataset was labelled.
    Ndpi,
}

pub fn run(a: Args, quiet: bool) -> ntc::Result<()> {
    ntc::io::refuse_same_file(&[Named::input("the capture", &a.capture), Named::output("--output", &a.output)])?;
    let micros = |flag: &str, s: f64| -> ntc::Result<i64> {
        if s.is_finite() && s > 0.0 && s < 1e9 {
            Ok((s * 1e6).round() as i64)
        } else {
            Err(ntc::Error::input(format!("--{flag}: '{s}' is not a positive number of seconds")))
        }
    };
    let opts = FlowOptions {
        flow_timeout: micros("flow-timeout", a.flow_timeout)?,
        activity_timeout: micros("activity-timeout", a.activity_timeout)?,
        ipv6: a.ipv6,
    };
    let name = ntc::error::display_path(&a.capture);
    let path = (a.capture.as_os_str() != "-").then_some(a.capture.as_path());
    let mut out = Output::create(&a.output)?;
    let s = match a.labels {
        Some(LabelSource::Ndpi) => extract_labelled(&name, path, opts, &mut out)?,
        None => extract(&name, open_capture(&name, path)?, opts, None, &mut out)?,
    };
    out.commit()?;
    if let Some((packet, offset)) = s.truncated_at {
        eprintln!("ntc: warning: {name}: packet {packet} (at byte {offset}) is cut off: the capture ends inside it; flows up to it were written");
    }
    if !quiet {
        eprintln!(
            "{name}: {} packets, {} {ip} packets in flows, {} not {ip}, {} skipped as shorter than their headers; {} flows written ({} single-packet flows left out)",
            s.packets,
            s.decoded,
            s.not_ip,
            s.short,
            s.flows,
            s.single_packet_flows,
            ip = if a.ipv6 { "IP" } else { "IPv4" }
        );
    }
    Ok(())
}
