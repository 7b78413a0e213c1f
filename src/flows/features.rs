//! One flow's measurements, as CICFlowMeter V3's BasicFlow takes them, and
//! its 84 feature columns (../shared/flows/README.md, "Columns"). Every
//! statistic is over integers (bytes, microseconds), kept exactly: sums and
//! sums of squares in i128, so means and variances are rounded once.

use std::net::IpAddr;

use super::decode::PacketInfo;

/// Count, sum, sum of squares, min and max of integer values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    pub n: u64,
    sum: i128,
    sumsq: i128,
    min: i64,
    max: i64,
}

impl Stat {
    pub fn add(&mut self, v: i64) {
        if self.n == 0 || v < self.min {
            self.min = v;
        }
        if self.n == 0 || v > self.max {
            self.max = v;
        }
        self.n += 1;
        self.sum += v as i128;
        self.sumsq += (v as i128) * (v as i128);
    }
    pub fn sum(&self) -> i64 {
        self.sum as i64
    }
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum as f64 / self.n as f64
        }
    }
    /// Sample variance (n - 1); 0 for fewer than two values.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as i128;
        ((n * self.sumsq - self.sum * self.sum) as f64) / ((n * (n - 1)) as f64)
    }
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }
    pub fn min(&self) -> i64 {
        if self.n == 0 { 0 } else { self.min }
    }
    pub fn max(&self) -> i64 {
        if self.n == 0 { 0 } else { self.max }
    }
}

/// A column value: an integer, or a real number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Real(f64),
}

/// A bidirectional flow being measured.
#[derive(Clone, Debug)]
pub struct Flow {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub protocol: u8,
    /// The key as written in `Flow.ID`.
    pub id: String,
    pub start: i64,
    last_seen: i64,
    fwd_last: i64,
    bwd_last: i64,
    fwd: Stat,
    bwd: Stat,
    /// Every payload, the first packet's twice (V3's quirk).
    lengths: Stat,
    flow_iat: Stat,
    fwd_iat: Stat,
    bwd_iat: Stat,
    fwd_header: i64,
    bwd_header: i64,
    /// The first packet's flags (and PSH, URG when it went forward).
    first_flags: super::decode::TcpFlags,
    fwd_psh: bool,
    fwd_urg: bool,
    init_win_fwd: i64,
    init_win_bwd: i64,
    act_data_fwd: u64,
    min_seg_fwd: Option<i64>,
    active: Stat,
    idle: Stat,
    start_active: i64,
    end_active: i64,
}

impl Flow {
    /// A flow started by `p`, oriented as `p` (or as the flow it continues).
    /// The first packet always counts as forward, even when the orientation
    /// inherited from the flow it continues says otherwise: V3 measured it
    /// before setting the orientation.
    pub fn new(p: &PacketInfo, id: String, orientation: Option<(IpAddr, IpAddr, u16, u16)>) -> Flow {
        let (src, dst, src_port, dst_port) = orientation.unwrap_or((p.src, p.dst, p.src_port, p.dst_port));
        let mut f = Flow {
            src,
            dst,
            src_port,
            dst_port,
            protocol: p.protocol,
            id,
            start: p.micros,
            last_seen: p.micros,
            fwd_last: 0,
            bwd_last: 0,
            fwd: Stat::default(),
            bwd: Stat::default(),
            lengths: Stat::default(),
            flow_iat: Stat::default(),
            fwd_iat: Stat::default(),
            bwd_iat: Stat::default(),
            fwd_header: 0,
            bwd_header: 0,
            first_flags: p.flags,
            fwd_psh: false,
            fwd_urg: false,
            init_win_fwd: -1,
            init_win_bwd: -1,
            act_data_fwd: 0,
            min_seg_fwd: None,
            active: Stat::default(),
            idle: Stat::default(),
            start_active: p.micros,
            end_active: p.micros,
        };
        f.lengths.add(p.payload as i64);
        f.lengths.add(p.payload as i64);
        f.min_seg_fwd = Some(p.header as i64);
        f.init_win_fwd = p.window as i64;
        f.fwd.add(p.payload as i64);
        f.fwd_header = p.header as i64;
        f.fwd_last = p.micros;
        f.fwd_psh = p.flags.psh;
        f.fwd_urg = p.flags.urg;
        f
    }

    fn is_forward(&self, p: &PacketInfo) -> bool {
        p.src == self.src
    }

    /// Time of the flow's last packet, microseconds.
    pub fn last_seen(&self) -> i64 {
        self.last_seen
    }

    pub fn packets(&self) -> u64 {
        self.fwd.n + self.bwd.n
    }

    /// A gap of more than `threshold` before this packet closes an active period.
    pub fn update_active_idle(&mut self, now: i64, threshold: i64) {
        if now - self.end_active > threshold {
            if self.end_active - self.start_active > 0 {
                self.active.add(self.end_active - self.start_active);
            }
            self.idle.add(now - self.end_active);
            self.start_active = now;
        }
        self.end_active = now;
    }

    pub fn add(&mut self, p: &PacketInfo) {
        let now = p.micros;
        self.lengths.add(p.payload as i64);
        if self.is_forward(p) {
            if p.payload >= 1 {
                self.act_data_fwd += 1;
            }
            self.fwd.add(p.payload as i64);
            self.fwd_header += p.header as i64;
            if self.fwd.n > 1 {
                self.fwd_iat.add(now - self.fwd_last);
            }
            self.fwd_last = now;
            self.min_seg_fwd = Some(self.min_seg_fwd.map_or(p.header as i64, |m| m.min(p.header as i64)));
        } else {
            self.bwd.add(p.payload as i64);
            self.init_win_bwd = p.window as i64;
            self.bwd_header += p.header as i64;
            if self.bwd.n > 1 {
                self.bwd_iat.add(now - self.bwd_last);
            }
            self.bwd_last = now;
        }
        self.flow_iat.add(now - self.last_seen);
        self.last_seen = now;
    }

    /// Columns 8 to 84 of the Unicauca schema (`Flow.Duration` .. `Idle.Min`), in order.
    pub fn features(&self) -> Vec<Value> {
        use Value::{Int, Real};
        let duration = self.last_seen - self.start;
        let seconds = duration as f64 / 1e6;
        // V3 divided the flow's bytes and packets by any non-zero duration (a capture out of
        // time order gives negative rates; zero gave Infinity, 0 here), the per-direction
        // packets only by a positive one.
        let rate = |x: f64| if duration != 0 { Real(x / seconds) } else { Real(0.0) };
        let direction_rate = |x: f64| if duration > 0 { Real(x / seconds) } else { Real(0.0) };
        let bytes = self.fwd.sum() + self.bwd.sum();
        let n = self.packets();
        let f = &self.first_flags;
        // V3's flag counts in header order (FIN, SYN, RST, PSH, ACK, URG, CWE, ECE) hold these bits.
        let flag_bits = [f.rst, f.psh, f.ece, f.syn, f.ack, f.fin, f.urg, f.cwr];
        let stat4 = |s: &Stat| [Real(s.mean()), Real(s.std()), Int(s.max()), Int(s.min())];
        let lengths4 = |s: &Stat| [Int(s.max()), Int(s.min()), Real(s.mean()), Real(s.std())];
        let mut v = vec![
            Int(duration),
            Int(self.fwd.n as i64),
            Int(self.bwd.n as i64),
            Int(self.fwd.sum()),
            Int(self.bwd.sum()),
        ];
        v.extend(lengths4(&self.fwd));
        v.extend(lengths4(&self.bwd));
        v.extend([rate(bytes as f64), rate(n as f64)]);
        v.extend(stat4(&self.flow_iat));
        v.push(Int(self.fwd_iat.sum()));
        v.extend(stat4(&self.fwd_iat));
        v.push(Int(self.bwd_iat.sum()));
        v.extend(stat4(&self.bwd_iat));
        v.extend([
            Int(self.fwd_psh as i64),
            Int(0),
            Int(self.fwd_urg as i64),
            Int(0),
            Int(self.fwd_header),
            Int(self.bwd_header),
            direction_rate(self.fwd.n as f64),
            direction_rate(self.bwd.n as f64),
            Int(self.lengths.min()),
            Int(self.lengths.max()),
            Real(self.lengths.mean()),
            Real(self.lengths.std()),
            Real(self.lengths.variance()),
        ]);
        v.extend(flag_bits.iter().map(|&b| Int(b as i64)));
        v.extend([
            Int(if self.fwd.n == 0 { 0 } else { (self.bwd.n / self.fwd.n) as i64 }),
            Real(if n == 0 { 0.0 } else { self.lengths.sum() as f64 / n as f64 }),
            Real(self.fwd.mean()),
            Real(self.bwd.mean()),
            Int(self.fwd_header),
            Int(0),
            Int(0),
            Int(0),
            Int(0),
            Int(0),
            Int(0),
            Int(self.fwd.n as i64),
            Int(self.fwd.sum()),
            Int(self.bwd.n as i64),
            Int(self.bwd.sum()),
            Int(self.init_win_fwd),
            Int(self.init_win_bwd),
            Int(self.act_data_fwd as i64),
            Int(self.min_seg_fwd.unwrap_or(0)),
        ]);
        v.extend(stat4(&self.active));
        v.extend(stat4(&self.idle));
        v
    }
}
