//! The capture reader and packet decoder on arbitrary bytes: `ntc flows`
//! must end in flows or a clean error, never a panic, a hang or a runaway
//! allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let _ = ntc::flows::extract("fuzz.pcap", input, ntc::flows::FlowOptions::default(), None, std::io::sink());
});
