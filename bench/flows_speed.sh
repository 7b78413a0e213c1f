#!/usr/bin/env bash
# `ntc flows` against NFStream and the Python cicflowmeter, same captures, same
# run: one round of the 393 Ethernet pcaps of ../shared/flows/pcaps (78,283
# packets) and a 5-million-packet capture built from them (bench/big_capture.py).
#     bash bench/flows_speed.sh [--runs 3]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
shared=../shared/flows
[ -x bench/.venv-flows/bin/python ] || python3 -m venv bench/.venv-flows
# cicflowmeter 0.2.0 writes no flows with scapy 2.6 and later; it reads files through tcpdump.
bench/.venv-flows/bin/pip install -q nfstream==6.6.0 cicflowmeter==0.2.0 scapy==2.5.0
command -v tcpdump >/dev/null || { echo "flows_speed: cicflowmeter needs tcpdump (apt install tcpdump)" >&2; exit 1; }
mkdir -p bench/data
[ -f bench/data/round-1.pcap ] || python3 bench/big_capture.py bench/data/round-1.pcap --packets 1 --shared "$shared"
[ -f bench/data/big-5m.pcap ] || python3 bench/big_capture.py bench/data/big-5m.pcap --packets 5000000 --shared "$shared"
packets() { target/release/ntc flows "$1" -o /dev/null 2>&1 | grep -o '^[^:]*: [0-9]* packets' | grep -o '[0-9]* packets$' | cut -d' ' -f1; }
python3 bench/flows_speed.py target/release/ntc bench/.venv-flows/bin/python bench/.venv-flows/bin/cicflowmeter \
  "bench/data/round-1.pcap:$(packets bench/data/round-1.pcap)" "bench/data/big-5m.pcap:$(packets bench/data/big-5m.pcap)" "$@"
