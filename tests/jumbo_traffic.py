#!/usr/bin/python3
"""Builds jumbo test traffic with scapy, independently of qdp's own encoders.

  jumbo_traffic.py OUT.pcap SIZExCOUNT [SIZExCOUNT ...]
      for each group, COUNT Ether/IPv4/UDP frames of SIZE bytes (flow = group, sequence number in
      the payload, then a pattern that differs per frame), UDP to port 5001 from 10.1.0.0/16
"""
import struct
import sys

from scapy.all import Ether, IP, UDP, Raw, wrpcap  # noqa: E402


def main():
    out, groups = sys.argv[1], sys.argv[2:]
    frames = []
    for g, spec in enumerate(groups):
        size, count = (int(x) for x in spec.split("x"))
        for seq in range(count):
            pkt = (
                Ether(src="02:00:00:00:01:%02x" % g, dst="02:00:00:00:02:01")
                / IP(src="10.1.0.%d" % (g + 1), dst="10.2.0.1")
                / UDP(sport=1024 + g, dport=5001)
                / Raw(b"QDP" + struct.pack("!II", g, seq))
            )
            pad = size - len(pkt)
            pkt = pkt / Raw(bytes((seq * 7 + g + i) & 255 for i in range(pad)))
            frames.append(pkt)
    wrpcap(out, frames)


if __name__ == "__main__":
    main()
