#!/usr/bin/python3
"""Builds test traffic with scapy, independently of qdp's own encoders.

  scapy_gen.py flows OUT.pcap --flows N --per-flow K [--flow-base B] [--size S]
      N flows x K frames, interleaved; each UDP payload starts with b'QDP' + flow id (u32) + seq (u32)
  scapy_gen.py runts OUT.pcap --count N
      N good frames of flow 1 with a 10-byte runt after every 4th
"""
import argparse
import struct

from scapy.all import Ether, IP, UDP, Raw, wrpcap  # noqa: E402


def flows(args):
    frames = []
    for seq in range(args.per_flow):
        for f in range(args.flow_base, args.flow_base + args.flows):
            payload = b"QDP" + struct.pack("!II", f, seq)
            pkt = (
                Ether(src="02:00:00:00:01:%02x" % (f % 256), dst="02:00:00:00:02:01")
                / IP(src="10.1.%d.%d" % ((f >> 8) & 255, f & 255), dst="10.2.0.1")
                / UDP(sport=1024 + f, dport=5001)
                / Raw(payload)
            )
            pad = args.size - len(pkt)
            if pad > 0:
                pkt = pkt / Raw(bytes((seq + i) & 255 for i in range(pad)))
            frames.append(pkt)
    wrpcap(args.out, frames)


def with_runts(args):
    """Good flow-tagged frames with a runt (shorter than an Ethernet header) after every 4th."""
    frames = []
    for seq in range(args.count):
        frames.append(
            Ether(src="02:00:00:00:01:01", dst="02:00:00:00:02:01")
            / IP(src="10.1.0.1", dst="10.2.0.1")
            / UDP(sport=1024, dport=5001)
            / Raw(b"QDP" + struct.pack("!II", 1, seq) + bytes(20))
        )
        if seq % 4 == 3:
            frames.append(Raw(bytes(range(10))))
    wrpcap(args.out, frames, linktype=1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flows")
    f.add_argument("out")
    f.add_argument("--flows", type=int, default=8)
    f.add_argument("--per-flow", type=int, default=16)
    f.add_argument("--flow-base", type=int, default=0)
    f.add_argument("--size", type=int, default=60)
    r = sub.add_parser("runts")
    r.add_argument("out")
    r.add_argument("--count", type=int, default=16)
    args = ap.parse_args()
    if args.cmd == "flows":
        flows(args)
    elif args.cmd == "runts":
        with_runts(args)


if __name__ == "__main__":
    main()
