#!/usr/bin/env python3
"""Builds a large capture for bench/flows_speed.sh from the real captures of
../shared/flows/pcaps: every classic little-endian Ethernet pcap, one after
the other in time, repeated until the capture holds at least --packets
packets. Each repetition moves the timestamps on (a capture starts a second
after the one before ends; a gap of more than 10 minutes inside a capture,
some of which span years, becomes 10 minutes: still beyond every flow
timeout) and shifts the second byte of both IPv4
addresses (checksum mended), so that every repetition's flows are new flows
and the flow table works as on a long capture of a busy link. Deterministic:
the same captures give the same bytes. Standard library only.

    python3 bench/big_capture.py OUT.pcap [--packets 5000000] [--shared ../shared/flows]
"""
import os
import struct
import sys


MAX_GAP = 600 * 1_000_000


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def packets_of(path):
    """(seconds, microseconds, frame) of a classic little-endian microsecond Ethernet pcap, else None."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", data, 0)
    if magic != 0xA1B2C3D4 or linktype != 1:
        return None
    out, at = [], 24
    while at + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", data, at)
        frame = data[at + 16 : at + 16 + incl]
        if len(frame) < incl:
            break
        out.append((sec * 1_000_000 + usec, frame))
        at += 16 + incl
    return out


def checksum(header):
    s = 0
    for i in range(0, len(header), 2):
        s += (header[i] << 8) + header[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def shifted(frame, rep):
    """The frame with the second byte of both IPv4 addresses moved by `rep` (untagged IPv4 only)."""
    if rep == 0 or len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame
    ihl = (frame[14] & 0x0F) * 4
    if ihl < 20 or len(frame) < 14 + ihl:
        return frame
    f = bytearray(frame)
    f[27] = (f[27] + rep) % 256
    f[31] = (f[31] + rep) % 256
    f[24:26] = b"\x00\x00"
    f[24:26] = struct.pack(">H", checksum(f[14 : 14 + ihl]))
    return bytes(f)


def main():
    out_path = sys.argv[1]
    want = int(arg("--packets", "5000000"))
    shared = arg("--shared", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "flows"))
    pcaps = sorted(os.path.join(shared, "pcaps", f) for f in os.listdir(os.path.join(shared, "pcaps")))
    captures = [p for p in (packets_of(f) for f in pcaps if not f.endswith(".md")) if p]
    per_round = sum(len(c) for c in captures)
    written, rep, clock = 0, 0, 1_600_000_000 * 1_000_000
    with open(out_path + ".tmp", "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        while written < want:
            for c in captures:
                previous = c[0][0]
                for ts, frame in c:
                    clock += min(ts - previous, MAX_GAP)
                    previous = ts
                    f = shifted(frame, rep)
                    out.write(struct.pack("<IIII", clock // 1_000_000, clock % 1_000_000, len(f), len(f)))
                    out.write(f)
                clock += 1_000_000
                written += len(c)
            rep += 1
    os.replace(out_path + ".tmp", out_path)
    print(f"{out_path}: {written} packets, {rep} rounds of {len(captures)} captures ({per_round} packets each), "
          f"{os.path.getsize(out_path) / 1e9:.2f} GB", file=sys.stderr)


if __name__ == "__main__":
    main()
