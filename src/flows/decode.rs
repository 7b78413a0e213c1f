//! From a captured frame to what a flow needs of a packet: addresses, ports,
//! protocol, TCP flags and window, payload and header lengths. Link layers
//! are peeled here; IPv4, IPv6 (with its extension headers), TCP and UDP
//! headers are etherparse's.

use std::net::IpAddr;

use etherparse::{Ipv4HeaderSlice, Ipv6ExtensionSlice, Ipv6ExtensionsSlice, Ipv6HeaderSlice, TcpHeaderSlice, UdpHeaderSlice};

/// A packet as CICFlowMeter V3 saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PacketInfo {
    pub micros: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// 6 TCP, 17 UDP; 0 for anything else (and for non-first fragments).
    pub protocol: u8,
    /// Transport payload as captured (Ethernet trailer padding included).
    pub payload: u32,
    /// TCP data offset in bytes, 8 for UDP, 0 otherwise.
    pub header: u32,
    pub flags: TcpFlags,
    /// TCP window; -1 for other protocols.
    pub window: i32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub fin: bool,
    pub syn: bool,
    pub rst: bool,
    pub psh: bool,
    pub ack: bool,
    pub urg: bool,
    pub ece: bool,
    pub cwr: bool,
}

/// What became of a frame.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    Packet(PacketInfo),
    /// Not IPv4 (ARP, LLDP, ...; IPv6 unless asked for): not a flow's packet.
    NotIp,
    /// Shorter than its own headers: skipped and counted.
    Short,
}

/// Link types ntc reads (pcap LINKTYPE_* numbers).
pub fn linktype_name(linktype: i32) -> Option<&'static str> {
    Some(match linktype {
        0 => "NULL (BSD loopback)",
        1 => "Ethernet",
        9 => "PPP",
        12 | 14 | 101 => "raw IP",
        50 => "PPP in HDLC framing",
        51 => "PPPoE",
        104 => "Cisco HDLC",
        108 => "OpenBSD loopback",
        113 => "Linux cooked (SLL)",
        228 => "raw IPv4",
        229 => "raw IPv6",
        276 => "Linux cooked v2 (SLL2)",
        _ => return None,
    })
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;

/// The network layer of a frame, not yet decoded.
#[derive(Clone, Copy)]
enum Net<'a> {
    V4(&'a [u8]),
    V6(&'a [u8]),
}

/// Decodes one frame of link type `linktype` (one of [`linktype_name`]'s);
/// IPv6 packets are flows' packets only with `ipv6`.
pub fn decode(linktype: i32, data: &[u8], micros: i64, ipv6: bool) -> Decoded {
    match ip_of(linktype, data) {
        Some(Some(Net::V4(ip))) => ipv4_packet(ip, micros),
        Some(Some(Net::V6(ip))) if ipv6 => ipv6_packet(ip, micros),
        Some(_) => Decoded::NotIp,
        None => Decoded::Short,
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// The IP packet inside a frame: Some(None) when the frame carries something else, None when it is too short.
fn ip_of(linktype: i32, d: &[u8]) -> Option<Option<Net<'_>>> {
    match linktype {
        1 => ethernet(d),
        12 | 14 | 101 | 228 | 229 => Some(by_version(d)),
        0 => {
            // Host byte order address family: AF_INET is 2 everywhere, AF_INET6 24, 28 or 30 (the BSDs, macOS).
            let af = d.get(..4)?;
            let family = u32::from_le_bytes(af.try_into().ok()?).min(u32::from_be_bytes(af.try_into().ok()?));
            Some(by_family(family, &d[4..]))
        }
        108 => Some(by_family(u32::from_be_bytes(d.get(..4)?.try_into().ok()?), &d[4..])),
        113 => Some(by_ethertype(be16(d, 14)?, d.get(16..)?)),
        276 => Some(by_ethertype(be16(d, 0)?, d.get(20..)?)),
        9 | 50 => ppp(d),
        51 => pppoe(d),
        104 => Some(by_ethertype(be16(d, 2)?, d.get(4..)?)),
        _ => Some(None),
    }
}

fn by_family(family: u32, rest: &[u8]) -> Option<Net<'_>> {
    match family {
        2 => Some(Net::V4(rest)),
        24 | 28 | 30 => Some(Net::V6(rest)),
        _ => None,
    }
}

/// By the version nibble, where the link layer does not say (raw IP, below MPLS).
fn by_version(d: &[u8]) -> Option<Net<'_>> {
    match d.first().map(|b| b >> 4) {
        Some(4) => Some(Net::V4(d)),
        Some(6) => Some(Net::V6(d)),
        _ => None,
    }
}

fn ethernet(d: &[u8]) -> Option<Option<Net<'_>>> {
    let mut ethertype = be16(d, 12)?;
    let mut rest = d.get(14..)?;
    // 802.1Q and 802.1ad tags, stacked or not.
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        ethertype = be16(rest, 2)?;
        rest = rest.get(4..)?;
    }
    match ethertype {
        0x8864 => pppoe(rest),
        _ => Some(by_ethertype(ethertype, rest)),
    }
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Option<Net<'_>> {
    match ethertype {
        ETH_IPV4 => Some(Net::V4(rest)),
        ETH_IPV6 => Some(Net::V6(rest)),
        0x8847 | 0x8848 => mpls(rest),
        _ => None,
    }
}

/// MPLS labels down to the bottom of the stack, then IP by its version nibble.
fn mpls(mut d: &[u8]) -> Option<Net<'_>> {
    loop {
        let bottom = d.get(2)? & 1 == 1;
        d = d.get(4..)?;
        if bottom {
            return by_version(d);
        }
    }
}

fn pppoe(d: &[u8]) -> Option<Option<Net<'_>>> {
    // Version/type, code, session id, length, then the PPP protocol.
    let proto = be16(d, 6)?;
    Some(match proto {
        0x0021 => Some(Net::V4(&d[8..])),
        0x0057 => Some(Net::V6(&d[8..])),
        _ => None,
    })
}

fn ppp(d: &[u8]) -> Option<Option<Net<'_>>> {
    let d = if d.starts_with(&[0xff, 0x03]) { &d[2..] } else { d };
    let proto = be16(d, 0)?;
    Some(match proto {
        0x0021 => Some(Net::V4(&d[2..])),
        0x0057 => Some(Net::V6(&d[2..])),
        0x0281 | 0x0283 => mpls(&d[2..]),
        _ => None,
    })
}

fn ipv4_packet(d: &[u8], micros: i64) -> Decoded {
    let Ok(ip) = Ipv4HeaderSlice::from_slice(d) else { return Decoded::Short };
    let p = PacketInfo::other(micros, IpAddr::from(ip.source()), IpAddr::from(ip.destination()));
    if ip.fragments_offset().value() != 0 {
        return Decoded::Packet(p);
    }
    transport(p, ip.protocol().0, &d[ip.slice().len()..])
}

fn ipv6_packet(d: &[u8], micros: i64) -> Decoded {
    let Ok(ip) = Ipv6HeaderSlice::from_slice(d) else { return Decoded::Short };
    let p = PacketInfo::other(micros, IpAddr::from(ip.source()), IpAddr::from(ip.destination()));
    let Ok((exts, next, after)) = Ipv6ExtensionsSlice::from_slice(ip.next_header(), &d[ip.slice().len()..]) else {
        return Decoded::Short;
    };
    // As IPv4: a fragment other than the first carries no transport header.
    let later_fragment = exts.into_iter().any(|e| matches!(e, Ipv6ExtensionSlice::Fragment(f) if f.fragment_offset().value() != 0));
    if later_fragment {
        return Decoded::Packet(p);
    }
    transport(p, next.0, after)
}

impl PacketInfo {
    /// A packet between two addresses that is neither TCP nor UDP (yet).
    fn other(micros: i64, src: IpAddr, dst: IpAddr) -> PacketInfo {
        PacketInfo {
            micros,
            src,
            dst,
            src_port: 0,
            dst_port: 0,
            protocol: 0,
            payload: 0,
            header: 0,
            flags: TcpFlags::default(),
            window: -1,
        }
    }
}

/// The TCP or UDP header after the IP headers (`protocol` is the IP protocol number).
fn transport(mut p: PacketInfo, protocol: u8, after_ip: &[u8]) -> Decoded {
    match protocol {
        6 => {
            let Ok(tcp) = TcpHeaderSlice::from_slice(after_ip) else { return Decoded::Short };
            let h = tcp.slice().len();
            p.protocol = 6;
            p.src_port = tcp.source_port();
            p.dst_port = tcp.destination_port();
            p.header = h as u32;
            p.payload = (after_ip.len() - h) as u32;
            p.window = tcp.window_size() as i32;
            p.flags = TcpFlags {
                fin: tcp.fin(),
                syn: tcp.syn(),
                rst: tcp.rst(),
                psh: tcp.psh(),
                ack: tcp.ack(),
                urg: tcp.urg(),
                ece: tcp.ece(),
                cwr: tcp.cwr(),
            };
        }
        17 => {
            let Ok(udp) = UdpHeaderSlice::from_slice(after_ip) else { return Decoded::Short };
            p.protocol = 17;
            p.src_port = udp.source_port();
            p.dst_port = udp.destination_port();
            p.header = 8;
            p.payload = (after_ip.len() - 8) as u32;
        }
        _ => {}
    }
    Decoded::Packet(p)
}
