//! Reading packet captures: pcap (both byte orders, micro- and nanosecond
//! timestamps) and pcapng (any sections and interfaces), gzip-compressed or
//! not, from any reader, streaming. The byte formats are pcap-parser's; this
//! file turns its blocks into packets with a link type and a time in
//! microseconds, and says where a capture is cut off.

use std::io::{BufRead, BufReader, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError};

use crate::error::{Error, Result};

/// One captured frame.
pub struct Frame<'a> {
    /// 1-based number of the packet in the capture (as Wireshark counts).
    pub number: u64,
    pub linktype: i32,
    /// Microseconds since the Unix epoch.
    pub micros: i64,
    pub data: &'a [u8],
}

/// How a capture ended.
#[derive(Debug, Default)]
pub struct Ending {
    /// The last packet was cut off: its number and the byte offset where it starts.
    pub truncated_at: Option<(u64, u64)>,
}

struct Interface {
    linktype: i32,
    /// Timestamp units per second, and the offset in seconds.
    units: u64,
    offset: i64,
}

const BUFFER: usize = 1 << 20;

/// The first two bytes of a gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The capture's bytes, gunzipped when they are gzip's; None when there are none.
pub fn decompressed(input: Box<dyn Read + Send>) -> std::io::Result<Option<Box<dyn Read + Send>>> {
    let mut input = BufReader::with_capacity(1 << 16, input);
    let head = input.fill_buf()?;
    if head.is_empty() {
        return Ok(None);
    }
    let gzip = head.starts_with(&GZIP_MAGIC);
    Ok(Some(if gzip { Box::new(flate2::read::MultiGzDecoder::new(input)) } else { Box::new(input) }))
}

/// Calls `f` on every frame of the capture in `input`, in file order.
pub fn for_each_frame(name: &str, input: Box<dyn Read + Send>, mut f: impl FnMut(&Frame) -> Result<()>) -> Result<Ending> {
    let input = decompressed(input).map_err(|e| Error::input(format!("{name}: read error: {e}")))?;
    let Some(input) = input else {
        return Err(Error::input(format!("{name}: empty input: not a capture")));
    };
    let mut reader = match pcap_parser::create_reader(BUFFER, input) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Err(Error::input(format!("{name}: empty input: not a capture"))),
        Err(PcapError::HeaderNotRecognized) | Err(PcapError::Incomplete(_)) | Err(PcapError::UnexpectedEof) => {
            return Err(Error::input(format!("{name}: not a pcap or pcapng capture (no capture header)")))
        }
        Err(e) => return Err(Error::input(format!("{name}: cannot read the capture: {e:?}"))),
    };
    let mut legacy: Option<(i32, bool)> = None; // link type, nanosecond timestamps
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut number = 0u64;
    let mut offset = 0u64; // bytes consumed so far
    let mut ending = Ending::default();
    loop {
        match reader.next() {
            Ok((size, block)) => {
                let frame = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy = Some((h.network.0, h.is_nanosecond_precision()));
                        None
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let (linktype, nanos) = legacy.unwrap_or((1, false));
                        let fraction = if nanos { b.ts_usec as i64 / 1000 } else { b.ts_usec as i64 };
                        number += 1;
                        Some(Frame { number, linktype, micros: b.ts_sec as i64 * 1_000_000 + fraction, data: b.data })
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        interfaces.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            linktype: idb.linktype.0,
                            units: idb.ts_resolution().unwrap_or(1_000_000),
                            offset: idb.ts_offset(),
                        });
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        number += 1;
                        let Some(itf) = interfaces.get(epb.if_id as usize) else {
                            return Err(Error::input(format!(
                                "{name}: packet {number}: interface {} was never described (corrupt pcapng)",
                                epb.if_id
                            )));
                        };
                        let ts = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                        let micros = (ts as u128 * 1_000_000 / itf.units as u128) as i64 + itf.offset * 1_000_000;
                        let data = &epb.data[..(epb.caplen as usize).min(epb.data.len())];
                        Some(Frame { number, linktype: itf.linktype, micros, data })
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(_)) => {
                        // No timestamp: nothing a flow can be measured with; counted, not used.
                        number += 1;
                        None
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                if let Some(frame) = frame {
                    f(&frame)?;
                }
                offset += size as u64;
                reader.consume(size);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.reader_exhausted() {
                    if !reader.data().is_empty() {
                        ending.truncated_at = Some((number + 1, offset));
                    }
                    break;
                }
                reader.refill().map_err(|e| Error::input(format!("{name}: read error after packet {number}: {e:?}")))?;
            }
            Err(PcapError::UnexpectedEof) => {
                ending.truncated_at = Some((number + 1, offset));
                break;
            }
            Err(e) => {
                return Err(Error::input(format!(
                    "{name}: packet {}: byte {offset}: not a valid capture block ({e:?})",
                    number + 1
                )))
            }
        }
    }
    Ok(ending)
}
