//! The flow table: which flow a packet belongs to, and when a flow ends
//! (CICFlowMeter V3's FlowGenerator). Finished flows are handed out in the
//! order they finish; memory grows with the flows open at once.

use std::collections::HashMap;
use std::net::IpAddr;

use super::decode::PacketInfo;
use super::features::Flow;

/// V3's defaults, microseconds.
pub const FLOW_TIMEOUT: i64 = 120_000_000;
pub const ACTIVITY_TIMEOUT: i64 = 5_000_000;

/// V3's key: the two endpoints ordered by a signed-byte comparison of the addresses.
type Key = (IpAddr, IpAddr, u16, u16, u8);

/// Java's comparison of two addresses' bytes (signed) decides which endpoint comes first in the key.
fn signed_less_or_equal(a: &IpAddr, b: &IpAddr) -> bool {
    let first_difference = |x: &[u8], y: &[u8]| x.iter().zip(y).find(|(a, b)| a != b).map(|(&a, &b)| (a as i8) < (b as i8));
    let less = match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => first_difference(&a.octets(), &b.octets()),
        (IpAddr::V6(a), IpAddr::V6(b)) => first_difference(&a.octets(), &b.octets()),
        // Never one packet's two ends: a packet is IPv4 or IPv6.
        _ => Some(a.is_ipv4()),
    };
    less.unwrap_or(true)
}

fn key_of(p: &PacketInfo) -> Key {
    if signed_less_or_equal(&p.src, &p.dst) {
        (p.src, p.dst, p.src_port, p.dst_port, p.protocol)
    } else {
        (p.dst, p.src, p.dst_port, p.src_port, p.protocol)
    }
}

fn id_of(k: &Key) -> String {
    format!("{}-{}-{}-{}-{}", k.0, k.1, k.2, k.3, k.4)
}

struct Open {
    flow: Flow,
    /// Order of the flow's first packet, for the flows still open at the end.
    seq: u64,
}

pub struct FlowTable {
    open: HashMap<Key, Open>,
    flow_timeout: i64,
    activity_timeout: i64,
    next_seq: u64,
    /// Flows that ended with a single packet (never written).
    pub single_packet_flows: u64,
}

impl FlowTable {
    pub fn new(flow_timeout: i64, activity_timeout: i64) -> Self {
        FlowTable { open: HashMap::new(), flow_timeout, activity_timeout, next_seq: 0, single_packet_flows: 0 }
    }

    /// Adds a packet; a flow it ends is passed to `done`.
    pub fn add(&mut self, p: &PacketInfo, done: &mut impl FnMut(Flow)) {
        let key = key_of(p);
        let seq = self.next_seq;
        match self.open.get_mut(&key) {
            Some(o) if p.micros - o.flow.start > self.flow_timeout => {
                // The packet starts a new flow, which keeps the old one's orientation.
                let orientation = (o.flow.src, o.flow.dst, o.flow.src_port, o.flow.dst_port);
                // It keeps the old flow's place in the table too: among the flows still open at
                // the end, it is written where the flow it continues would have been (as the golden files).
                let old = std::mem::replace(&mut o.flow, Flow::new(p, id_of(&key), Some(orientation)));
                self.finish(old, done);
            }
            Some(o) if p.flags.fin => {
                o.flow.add(p);
                let o = self.open.remove(&key).expect("present");
                self.finish(o.flow, done);
            }
            Some(o) => {
                o.flow.update_active_idle(p.micros, self.activity_timeout);
                o.flow.add(p);
            }
            None => {
                self.open.insert(key, Open { flow: Flow::new(p, id_of(&key), None), seq });
                self.next_seq += 1;
            }
        }
    }

    fn finish(&mut self, flow: Flow, done: &mut impl FnMut(Flow)) {
        if flow.packets() > 1 {
            done(flow);
        } else {
            self.single_packet_flows += 1;
        }
    }

    /// Ends every open flow, in order of its first packet.
    pub fn close_all(&mut self, done: &mut impl FnMut(Flow)) {
        let mut rest: Vec<Open> = self.open.drain().map(|(_, o)| o).collect();
        rest.sort_by_key(|o| o.seq);
        for o in rest {
            self.finish(o.flow, done);
        }
    }

    pub fn open_flows(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::decode::TcpFlags;
    use proptest::prelude::*;

    fn packet(micros: i64, host: u8, to: u8, port: u16, fin: bool) -> PacketInfo {
        PacketInfo {
            micros,
            src: IpAddr::from([10, 0, 0, host]),
            dst: IpAddr::from([10, 0, 0, to]),
            src_port: port,
            dst_port: 80,
            protocol: 6,
            payload: (micros % 1400) as u32,
            header: 20,
            flags: TcpFlags { fin, ..TcpFlags::default() },
            window: 1024,
        }
    }

    proptest! {
        /// Every packet ends in exactly one written flow or one single-packet flow left out.
        #[test]
        fn every_packet_is_in_exactly_one_flow(
            steps in proptest::collection::vec((0i64..200_000_000, 0u8..3, 0u8..3, 0u16..3, proptest::bool::weighted(0.1)), 1..300)
        ) {
            let mut table = FlowTable::new(FLOW_TIMEOUT, ACTIVITY_TIMEOUT);
            let mut t = 0;
            let mut written = 0u64;
            let mut flows = 0u64;
            let mut done = |f: Flow| {
                assert!(f.packets() > 1, "single-packet flows are never written");
                written += f.packets();
                flows += 1;
            };
            for &(gap, a, b, port, fin) in &steps {
                t += gap / 50;
                table.add(&packet(t, a, b, port, fin), &mut done);
            }
            table.close_all(&mut done);
            prop_assert_eq!(written + table.single_packet_flows, steps.len() as u64);
        }
    }

    #[test]
    fn a_flow_past_the_timeout_continues_with_its_orientation() {
        let mut table = FlowTable::new(FLOW_TIMEOUT, ACTIVITY_TIMEOUT);
        let mut out = Vec::new();
        let mut done = |f: Flow| out.push(f);
        let reply = |t: i64| PacketInfo { src_port: 80, dst_port: 5000, ..packet(t, 2, 1, 0, false) };
        table.add(&packet(0, 1, 2, 5000, false), &mut done);
        table.add(&reply(1_000), &mut done);
        // The reply direction, 121 s later: a new flow, oriented as the old one.
        table.add(&reply(121_000_000), &mut done);
        table.add(&packet(121_000_500, 1, 2, 5000, false), &mut done);
        table.close_all(&mut done);
        assert_eq!(out.len(), 2);
        assert_eq!((out[1].src, out[1].src_port), (IpAddr::from([10, 0, 0, 1]), 5000));
        assert_eq!(out[0].id, out[1].id);
    }
}
