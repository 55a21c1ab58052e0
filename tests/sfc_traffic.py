#!/usr/bin/python3
"""Independent SFC/NSH (RFC 8300) traffic builder: the integration tests' oracle.

Builds frames with scapy (Debian python3-scapy 2.5.0, run with /usr/bin/python3),
never with qdp's own encoder. Every subcommand writes a pcap.

  sfc_traffic.py plain OUT --flows N --per-flow K [--size S] [--flow-base B]
        [--src-net 10.1] [--dst 10.2.0.1] [--dport 5001] [--proto udp|tcp] [--ipv6]
      N flows x K frames of Ether/IPv4 (or IPv6)/UDP (or TCP), interleaved by seq
      (seq 0 of every flow, then seq 1, ...). Flow f uses source address
      SRC_NET.(f>>8).(f&255) (IPv6: fd00:1::f) and source port 1024+f. The payload
      starts with b'QDP' + struct.pack('!II', f, seq); frames are padded to S bytes.

  sfc_traffic.py vxlan-nsh OUT [plain options for the inner frame]
        [--outer-src 10.0.0.1] [--outer-dst 10.0.0.2]
        [--outer-smac 02:00:00:00:00:01] [--outer-dmac 02:00:00:00:00:02]
        [--spi 100] [--spis 1] [--si 255] [--ttl 63] [--md 1|2] [--context HEX32]
        [--tlv CLASS:TYPE:HEXVALUE ...] [--vni 0] [--sport-entropy]
      Ether/IPv4/UDP(dport 4790, checksum 0)/VXLAN-GPE(flags I+P, next protocol 4 = NSH)
      /NSH(MD1 with a 16-byte context, or MD2 with the given TLVs; next protocol
      3 = Ethernet)/inner frame exactly as `plain` builds it. The outer UDP source
      port is 4790, or with --sport-entropy 49152 + crc32(inner 5-tuple) % 16384
      (see sport_entropy()).

  sfc_traffic.py eth-nsh OUT [same options; --outer-src/--outer-dst are ignored]
      The same NSH + inner frame directly over Ethernet (EtherType 0x894F).

  sfc_traffic.py malformed OUT [--good N] [--size S]
      N good VXLAN-GPE+NSH MD1 frames (SPI 100, SI 255, TTL 63, flows tagged as in
      `plain`, flow = i % 4, seq = i // 4) with one frame of every malformed kind
      spread among them. A malformed frame's inner payload (where it survives the
      malformation) starts with b'BAD' + kind name. Also writes OUT.kinds (the
      malformed kind names, one a line, in frame order) and OUT.json (a list of
      {"index", "kind" ("good" or the kind), "flow", "seq", "len"}; flow and seq
      are null for malformed frames). With --interleave the frames go good, bad,
      good, bad ... (every malformed frame right after a good one; good frames left
      over follow at the end).

  sfc_traffic.py malformed-plain OUT [--good N] [--size S] [--interleave]
        [--outer-dst 10.0.0.2]
      The same for plain (unencapsulated) traffic: N good Ether/IPv4/UDP frames as
      `plain` builds them (flow = i % 4, seq = i // 4) and one frame of every
      malformed plain kind (runts, truncated IPv4, bad IHL and lengths, a VLAN stack,
      ports cut, an unmatched source, and traffic to the VTEP --outer-dst that is not
      VXLAN-GPE or whose headers lie), each tagged b'BAD' + kind and keyed like good
      flow 0 where the malformation leaves the 5-tuple. Writes OUT.kinds and OUT.json
      as `malformed` does.

NSH MD2 TLV length is encoded per RFC 8300 section 2.5.1: the Length field is the
metadata length in bytes, the value is zero-padded to a 4-byte multiple, and the
NSH Length field (in 4-byte words) covers base + service path + all TLVs.
"""
import argparse
import ipaddress
import json
import struct
import zlib

from scapy.all import Ether, Dot1Q, IP, IPv6, UDP, TCP, Raw, bind_layers, wrpcap  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402
from scapy.contrib.nsh import NSH  # noqa: E402

# scapy 2.5.0 binds VXLAN -> NSH on a field named 'nextproto' that VXLAN does not
# have (VXLAN's field is 'NextProtocol'), so bind it explicitly.
bind_layers(VXLAN, NSH, NextProtocol=4)
bind_layers(UDP, VXLAN, dport=4790)

VXLAN_GPE_PORT = 4790
ETH_P_NSH = 0x894F
VXLAN_FLAG_I = 0x08
VXLAN_FLAG_P = 0x04
NSH_NP_IPV4, NSH_NP_IPV6, NSH_NP_ETH, NSH_NP_NSH = 1, 2, 3, 4
GPE_NP_NSH = 4


# ---------------------------------------------------------------- inner frames

def _src_addr(args, f):
    if args.ipv6:
        net = ipaddress.IPv6Address(args.src_net6)
        return str(net + f)
    return "%s.%d.%d" % (args.src_net, (f >> 8) & 255, f & 255)


def _dst_addr(args):
    if args.dst:
        return args.dst
    return "fd00:2::1" if args.ipv6 else "10.2.0.1"


def tag(flow, seq):
    return b"QDP" + struct.pack("!II", flow, seq)


def inner_frame(args, f, seq, payload=None, size=None):
    """Ether/IP(v6)/UDP|TCP frame of flow f, tagged with `payload` (default QDP tag)."""
    if payload is None:
        payload = tag(f, seq)
    if size is None:
        size = args.size
    l3 = (IPv6(src=_src_addr(args, f), dst=_dst_addr(args)) if args.ipv6
          else IP(src=_src_addr(args, f), dst=_dst_addr(args)))
    if args.proto == "tcp":
        l4 = TCP(sport=1024 + f, dport=args.dport, flags="PA", seq=seq)
    else:
        l4 = UDP(sport=1024 + f, dport=args.dport)
    pkt = (Ether(src="02:00:00:00:01:%02x" % (f % 256), dst="02:00:00:00:02:01")
           / l3 / l4 / Raw(payload))
    pad = size - len(pkt)
    if pad > 0:
        pkt = pkt / Raw(bytes((seq + i) & 255 for i in range(pad)))
    return pkt


def five_tuple(args, f):
    return (_src_addr(args, f), _dst_addr(args), 6 if args.proto == "tcp" else 17,
            1024 + f, args.dport)


def sport_entropy(args, f):
    """Outer UDP source port for --sport-entropy: 49152 + crc32(5-tuple text) % 16384."""
    key = "%s|%s|%d|%d|%d" % five_tuple(args, f)
    return 49152 + (zlib.crc32(key.encode()) % 16384)


def flow_order(args):
    for seq in range(args.per_flow):
        for f in range(args.flow_base, args.flow_base + args.flows):
            yield f, seq


# ---------------------------------------------------------------- NSH

def parse_tlv(text):
    cls, typ, val = text.split(":", 2)
    return int(cls, 0), int(typ, 0), bytes.fromhex(val)


def tlv_bytes(cls, typ, value, length=None):
    """One MD2 context header: class(16) type(8) U(1)+length(7, bytes), value padded to 4."""
    if length is None:
        length = len(value)
    padded = value + b"\x00" * (-len(value) % 4)
    return struct.pack("!HBB", cls, typ, length & 0x7F) + padded


def nsh(spi, si, ttl=63, md=1, context=None, tlvs=(), nextproto=NSH_NP_ETH,
        ver=0, length=None, oam=0):
    """NSH header as scapy layers. MD2 TLVs are emitted as raw bytes because scapy
    2.5.0's NSH counts MD2 length in TLVs (not words) and NSHTLV counts its length in
    words (not bytes); `length` is always set explicitly for the same reason."""
    tlv = b"".join(tlv_bytes(*t) for t in tlvs)
    if md == 1:
        ctx = context if context is not None else b"\x00" * 16
        hdr = NSH(ver=ver, oam=oam, ttl=ttl, mdtype=1, nextproto=nextproto, spi=spi,
                  si=si, context_header=ctx,
                  length=6 if length is None else length)
        return hdr
    # MD2 (or a malformed MD type: base + SP header, then the given TLV bytes)
    hdr = NSH(ver=ver, oam=oam, ttl=ttl, mdtype=md, nextproto=nextproto, spi=spi, si=si,
              length=(2 + len(tlv) // 4) if length is None else length)
    return hdr / Raw(tlv) if tlv else hdr


def vxlan_gpe(nextproto=GPE_NP_NSH, flags=VXLAN_FLAG_I | VXLAN_FLAG_P, vni=0):
    if flags & VXLAN_FLAG_P:
        return VXLAN(flags=flags, NextProtocol=nextproto, vni=vni)
    # No P bit: the next-protocol byte position is a plain reserved field.
    return VXLAN(flags=flags, reserved1=nextproto, vni=vni)


def outer_udp(args, sport, vlans=0, ip_kw=None):
    eth = Ether(src=args.outer_smac, dst=args.outer_dmac)
    for i in range(vlans):
        eth = eth / Dot1Q(vlan=100 + i)
    return (eth / IP(src=args.outer_src, dst=args.outer_dst, ttl=64, **(ip_kw or {}))
            / UDP(sport=sport, dport=VXLAN_GPE_PORT, chksum=0))


def nsh_from_args(args, nextproto=NSH_NP_ETH, flow=0):
    ctx = bytes.fromhex(args.context) if args.context else None
    if ctx is not None and len(ctx) != 16:
        raise SystemExit("--context must be 32 hex digits (16 bytes)")
    tlvs = [parse_tlv(t) for t in (args.tlv or [])]
    spi = args.spi + (flow % args.spis if getattr(args, "spis", 1) > 1 else 0)
    return nsh(spi, args.si, ttl=args.ttl, md=args.md, context=ctx, tlvs=tlvs,
               nextproto=nextproto)


# ---------------------------------------------------------------- subcommands

def cmd_plain(args):
    wrpcap(args.out, [inner_frame(args, f, s) for f, s in flow_order(args)])


def cmd_vxlan_nsh(args):
    frames = []
    for f, s in flow_order(args):
        sport = sport_entropy(args, f) if args.sport_entropy else VXLAN_GPE_PORT
        frames.append(outer_udp(args, sport) / vxlan_gpe(vni=args.vni)
                      / nsh_from_args(args, flow=f) / inner_frame(args, f, s))
    wrpcap(args.out, frames)


def cmd_eth_nsh(args):
    frames = []
    for f, s in flow_order(args):
        frames.append(Ether(src=args.outer_smac, dst=args.outer_dmac, type=ETH_P_NSH)
                      / nsh_from_args(args, flow=f) / inner_frame(args, f, s))
    wrpcap(args.out, frames)


def _good(args, f, s):
    return (outer_udp(args, VXLAN_GPE_PORT) / vxlan_gpe()
            / nsh(100, 255, ttl=63) / inner_frame(args, f, s))


def _bad_inner(args, kind):
    return inner_frame(args, 0, 0, payload=b"BAD" + kind.encode())


def malformed_frames(args):
    """[(kind, bytes)] of every malformed kind, in order."""
    out = []

    def add(kind, pkt):
        out.append((kind, bytes(pkt)))

    def vx(kind, nsh_hdr=None, gpe=None, vlans=0, ip_kw=None):
        return (outer_udp(args, VXLAN_GPE_PORT, vlans=vlans, ip_kw=ip_kw)
                / (gpe if gpe is not None else vxlan_gpe())
                / (nsh_hdr if nsh_hdr is not None else nsh(100, 255))
                / _bad_inner(args, kind))

    # Truncation at every header boundary (VXLAN-GPE path). Offsets: outer Ether 14,
    # IPv4 20 -> 34, UDP 8 -> 42, VXLAN-GPE 8 -> 50, NSH base 4 -> 54, SP 4 -> 58,
    # MD1 context 16 -> 74.
    cuts = [("trunc_outer_eth_only", 14), ("trunc_mid_outer_ipv4", 24),
            ("trunc_outer_ipv4_only", 34), ("trunc_mid_udp", 38),
            ("trunc_udp_only", 42), ("trunc_mid_vxlan_gpe", 46),
            ("trunc_vxlan_gpe_only", 50), ("trunc_mid_nsh_base", 52),
            ("trunc_nsh_base_only", 54), ("trunc_nsh_md1_context_cut", 66)]
    for kind, cut in cuts:
        out.append((kind, bytes(vx(kind))[:cut]))
    # NSH length lies.
    add("nsh_len_8_md1", vx("nsh_len_8_md1", nsh(100, 255, length=8)))
    add("nsh_len_2_md1", vx("nsh_len_2_md1", nsh(100, 255, length=2)))
    add("nsh_len_past_frame", vx("nsh_len_past_frame", nsh(100, 255, length=63)))
    # MD2 TLV whose length runs past the NSH length (NSH says 3 words: base, SP and
    # the TLV header only; the TLV claims 8 bytes of value that follow anyway).
    bad_md2 = NSH(ttl=63, mdtype=2, nextproto=NSH_NP_ETH, spi=100, si=255, length=3) \
        / Raw(tlv_bytes(0x0102, 0x03, b"\xaa" * 8))
    add("md2_tlv_past_nsh_len", vx("md2_tlv_past_nsh_len", bad_md2))
    add("md_type_0", vx("md_type_0", nsh(100, 255, md=0, length=6)
                        / Raw(b"\x00" * 16)))
    add("md_type_f", vx("md_type_f", nsh(100, 255, md=0xF, length=6)
                        / Raw(b"\x00" * 16)))
    add("ttl_0", vx("ttl_0", nsh(100, 255, ttl=0)))
    add("ttl_1", vx("ttl_1", nsh(100, 255, ttl=1)))
    add("si_0", vx("si_0", nsh(100, 0)))
    add("unknown_spi", vx("unknown_spi", nsh(9999, 255)))
    add("nsh_unknown_next_proto", vx("nsh_unknown_next_proto",
                                     nsh(100, 255, nextproto=0x99)))
    add("gpe_no_p_bit", vx("gpe_no_p_bit", gpe=vxlan_gpe(flags=VXLAN_FLAG_I)))
    add("gpe_next_proto_not_nsh", vx("gpe_next_proto_not_nsh",
                                     gpe=vxlan_gpe(nextproto=0x99)))
    add("nsh_version_1", vx("nsh_version_1", nsh(100, 255, ver=1)))
    add("stacked_vlans_3", vx("stacked_vlans_3", vlans=3))
    # Outer IPv4 checksum wrong: build it right, then flip it.
    p = vx("outer_ipv4_bad_checksum")
    good_ck = IP(bytes(p[IP])).chksum
    p[IP].chksum = good_ck ^ 0x5A5A
    add("outer_ipv4_bad_checksum", p)
    p = vx("outer_ipv4_len_past_frame")
    p[IP].len = len(p[IP]) + 100
    add("outer_ipv4_len_past_frame", p)

    # NSH directly over Ethernet.
    def en(kind, nsh_hdr=None, vlans=0):
        eth = Ether(src=args.outer_smac, dst=args.outer_dmac)
        for i in range(vlans):
            eth = eth / Dot1Q(vlan=100 + i)
        if vlans:
            eth.lastlayer().type = ETH_P_NSH
        else:
            eth.type = ETH_P_NSH
        return eth / (nsh_hdr if nsh_hdr is not None else nsh(100, 255)) \
            / _bad_inner(args, kind)

    for kind, cut in [("eth_trunc_eth_only", 14), ("eth_trunc_mid_nsh_base", 16),
                      ("eth_trunc_nsh_base_only", 18),
                      ("eth_trunc_nsh_md1_context_cut", 30)]:
        out.append((kind, bytes(en(kind))[:cut]))
    add("eth_nsh_len_8_md1", en("eth_nsh_len_8_md1", nsh(100, 255, length=8)))
    add("eth_nsh_len_past_frame", en("eth_nsh_len_past_frame",
                                     nsh(100, 255, length=63)))
    add("eth_md2_tlv_past_nsh_len", en("eth_md2_tlv_past_nsh_len", bad_md2.copy()))
    add("eth_md_type_0", en("eth_md_type_0", nsh(100, 255, md=0, length=6)
                            / Raw(b"\x00" * 16)))
    add("eth_ttl_0", en("eth_ttl_0", nsh(100, 255, ttl=0)))
    add("eth_ttl_1", en("eth_ttl_1", nsh(100, 255, ttl=1)))
    add("eth_si_0", en("eth_si_0", nsh(100, 0)))
    add("eth_unknown_spi", en("eth_unknown_spi", nsh(9999, 255)))
    add("eth_nsh_unknown_next_proto", en("eth_nsh_unknown_next_proto",
                                         nsh(100, 255, nextproto=0x99)))
    add("eth_nsh_version_1", en("eth_nsh_version_1", nsh(100, 255, ver=1)))
    add("eth_stacked_vlans_3", en("eth_stacked_vlans_3", vlans=3))
    return out


def malformed_plain_frames(args):
    """[(kind, bytes)] of every malformed plain kind, in order."""
    out = []

    def add(kind, pkt):
        out.append((kind, bytes(pkt)))

    def bad(kind, **ip_kw):
        pkt = _bad_inner(args, kind)
        for k, v in ip_kw.items():
            setattr(pkt[IP], k, v)
        return pkt

    def raw_ip(kind, mutate):
        """Flow 0's frame with its IPv4 header bytes (offset 14..34) edited by `mutate`."""
        b = bytearray(bytes(_bad_inner(args, kind)))
        mutate(b)
        return bytes(b)

    out.append(("plain_runt_10", bytes(bad("plain_runt_10"))[:10]))
    out.append(("plain_eth_only", bytes(bad("plain_eth_only"))[:14]))
    out.append(("plain_trunc_mid_ipv4", bytes(bad("plain_trunc_mid_ipv4"))[:26]))
    out.append(("plain_trunc_ipv4_only", bytes(bad("plain_trunc_ipv4_only"))[:34]))

    def ihl(n):
        def m(b):
            b[14] = 0x40 | n
        return m

    add("plain_ihl_4", raw_ip("plain_ihl_4", ihl(4)))
    add("plain_ihl_15", raw_ip("plain_ihl_15", ihl(15)))
    p = bad("plain_total_len_past_frame")
    p[IP].len = len(p[IP]) + 100
    add("plain_total_len_past_frame", p)
    add("plain_total_len_under_header", bad("plain_total_len_under_header", len=16))
    add("plain_version_6", raw_ip("plain_version_6", lambda b: b.__setitem__(14, 0x65)))
    # IPv4 total length 22: the header and half the source port; the frame is padded.
    add("plain_ports_cut", bad("plain_ports_cut", len=22))
    eth = Ether(src="02:00:00:00:01:00", dst="02:00:00:00:02:01")
    p = bad("plain_stacked_vlans_3")
    add("plain_stacked_vlans_3", eth / Dot1Q(vlan=100) / Dot1Q(vlan=101) / Dot1Q(vlan=102)
        / p[IP])
    add("plain_unmatched_src", bad("plain_unmatched_src", src="10.9.0.1"))
    # Traffic to the VTEP address that is not well-formed VXLAN-GPE.
    vtep = args.outer_dst
    add("plain_udp_to_vtep_other_port", bad("plain_udp_to_vtep_other_port", dst=vtep))
    add("plain_tcp_to_vtep", Ether(src="02:00:00:00:01:00", dst="02:00:00:00:02:01")
        / IP(src=_src_addr(args, 0), dst=vtep) / TCP(sport=1024, dport=80, flags="PA")
        / Raw(b"BADplain_tcp_to_vtep"))
    p = bad("plain_to_vtep_bad_checksum", dst=vtep)
    good_ck = IP(bytes(p[IP])).chksum
    p[IP].chksum = good_ck ^ 0x5A5A
    add("plain_to_vtep_bad_checksum", p)
    p = (Ether(src="02:00:00:00:01:00", dst="02:00:00:00:02:01")
         / IP(src=_src_addr(args, 0), dst=vtep)
         / UDP(sport=4790, dport=VXLAN_GPE_PORT, len=200)
         / Raw(b"BADplain_to_vtep_udp_len_lie"))
    add("plain_to_vtep_udp_len_lie", p)
    add("plain_fragment_to_vtep", bad("plain_fragment_to_vtep", dst=vtep, flags="MF"))
    return out


def _write_corpus(args, good, bad, good_frame):
    """Writes OUT, OUT.kinds and OUT.json: the good frames with the malformed ones among them."""
    frames, meta = [], []

    def emit(kind, data, flow=None, seq=None):
        meta.append({"index": len(frames), "kind": kind, "flow": flow, "seq": seq,
                     "len": len(data)})
        # A runt has no Ethernet header to dissect: its bytes as they are.
        frames.append(Ether(data) if len(data) >= 14 else Raw(data))

    if args.interleave:
        # good, bad, good, bad ...: each malformed frame right after a good one.
        for i in range(max(len(good), len(bad))):
            if i < len(good):
                f, s = good[i]
                emit("good", bytes(good_frame(args, f, s)), f, s)
            if i < len(bad):
                emit(*bad[i])
    else:
        # Spread the malformed frames evenly among the good ones.
        slots = {}
        for j in range(len(bad)):
            slots.setdefault((j + 1) * len(good) // (len(bad) + 1), []).append(bad[j])
        for i in range(len(good) + 1):
            for kind, data in slots.get(i, []):
                emit(kind, data)
            if i < len(good):
                f, s = good[i]
                emit("good", bytes(good_frame(args, f, s)), f, s)
    wrpcap(args.out, frames, linktype=1)
    with open(args.out + ".kinds", "w") as fh:
        fh.write("".join(k + "\n" for k, _ in bad))
    with open(args.out + ".json", "w") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")


def cmd_malformed(args):
    good = [(f % 4, f // 4) for f in range(args.good)]
    _write_corpus(args, good, malformed_frames(args), _good)


def cmd_malformed_plain(args):
    good = [(f % 4, f // 4) for f in range(args.good)]
    _write_corpus(args, good, malformed_plain_frames(args), inner_frame)


# ---------------------------------------------------------------- CLI

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    inner = argparse.ArgumentParser(add_help=False)
    inner.add_argument("--flows", type=int, default=1)
    inner.add_argument("--per-flow", type=int, default=1)
    inner.add_argument("--flow-base", type=int, default=0)
    inner.add_argument("--size", type=int, default=64,
                       help="pad each (inner) frame to this many bytes")
    inner.add_argument("--src-net", default="10.1",
                       help="first two octets of the IPv4 source")
    inner.add_argument("--src-net6", default="fd00:1::",
                       help="IPv6 source base; flow f uses base + f")
    inner.add_argument("--dst", default=None,
                       help="destination (default 10.2.0.1, or fd00:2::1 with --ipv6)")
    inner.add_argument("--dport", type=int, default=5001)
    inner.add_argument("--proto", choices=["udp", "tcp"], default="udp")
    inner.add_argument("--ipv6", action="store_true")

    outer = argparse.ArgumentParser(add_help=False)
    outer.add_argument("--outer-src", default="10.0.0.1")
    outer.add_argument("--outer-dst", default="10.0.0.2")
    outer.add_argument("--outer-smac", default="02:00:00:00:00:01")
    outer.add_argument("--outer-dmac", default="02:00:00:00:00:02")

    nsh_opts = argparse.ArgumentParser(add_help=False)
    nsh_opts.add_argument("--spi", type=int, default=100)
    nsh_opts.add_argument("--spis", type=int, default=1,
                          help="spread flows over SPIs SPI..SPI+N-1 (flow f uses SPI + f %% N)")
    nsh_opts.add_argument("--si", type=int, default=255)
    nsh_opts.add_argument("--ttl", type=int, default=63)
    nsh_opts.add_argument("--md", type=int, choices=[1, 2], default=1)
    nsh_opts.add_argument("--context", default=None,
                          help="MD1 context, 32 hex digits (default all zero)")
    nsh_opts.add_argument("--tlv", action="append", default=[],
                          metavar="CLASS:TYPE:HEXVALUE",
                          help="MD2 TLV (repeatable); CLASS and TYPE accept 0x")
    nsh_opts.add_argument("--vni", type=lambda x: int(x, 0), default=0)
    nsh_opts.add_argument("--sport-entropy", action="store_true")

    p = sub.add_parser("plain", parents=[inner], help="plain Ether/IP/UDP|TCP flows")
    p.add_argument("out")
    p.set_defaults(fn=cmd_plain)
    p = sub.add_parser("vxlan-nsh", parents=[inner, outer, nsh_opts],
                       help="Ether/IPv4/UDP/VXLAN-GPE/NSH/inner frame")
    p.add_argument("out")
    p.set_defaults(fn=cmd_vxlan_nsh)
    p = sub.add_parser("eth-nsh", parents=[inner, outer, nsh_opts],
                       help="Ether(0x894F)/NSH/inner frame")
    p.add_argument("out")
    p.set_defaults(fn=cmd_eth_nsh)
    p = sub.add_parser("malformed", parents=[inner, outer],
                       help="good VXLAN-GPE+NSH frames mixed with one of each malformed kind")
    p.add_argument("out")
    p.add_argument("--good", type=int, default=16)
    p.add_argument("--interleave", action="store_true",
                   help="good, bad, good, bad ... instead of spreading the bad frames")
    p.set_defaults(fn=cmd_malformed)
    p = sub.add_parser("malformed-plain", parents=[inner, outer],
                       help="good plain frames mixed with one of each malformed plain kind")
    p.add_argument("out")
    p.add_argument("--good", type=int, default=16)
    p.add_argument("--interleave", action="store_true",
                   help="good, bad, good, bad ... instead of spreading the bad frames")
    p.set_defaults(fn=cmd_malformed_plain)

    args = ap.parse_args()
    if getattr(args, "md", 1) == 1 and getattr(args, "tlv", None):
        raise SystemExit("--tlv needs --md 2")
    args.fn(args)


if __name__ == "__main__":
    main()
