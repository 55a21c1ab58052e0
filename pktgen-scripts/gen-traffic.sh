#!/usr/bin/env bash
# Writes the recipes' traffic for every RFC 2544 size into pktgen-scripts/out/:
#   udp-SIZE.pcap / udp-SIZE.trafgen   plain IPv4/UDP, 256 flows (as udp64.trafgen)
#   nsh-SIZE.pcap / nsh-SIZE.trafgen   VXLAN-GPE + NSH MD1, SPI 100 SI 255, to 10.0.0.2, inner
#                                      frames of SIZE bytes (as nsh64.trafgen)
# Pcaps for pktgen's pcap mode and tcpreplay; .trafgen files for trafgen --conf.
#
#   bash pktgen-scripts/gen-traffic.sh [SIZE...]      (default 64 128 256 512 1024 1280 1518)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(64 128 256 512 1024 1280 1518)
out=pktgen-scripts/out
mkdir -p "$out"
cargo build --release -q -p qdp
for s in "${sizes[@]}"; do
  target/release/qdp gen-pcap --flows 256 --frame-size $((s - 4)) -o "$out/udp-$s.pcap"
  /usr/bin/python3 tests/sfc_traffic.py vxlan-nsh "$out/nsh-$s.pcap" --flows 256 --size $((s - 4)) \
    --spi 100 --si 255 --sport-entropy >/dev/null
  for kind in udp nsh; do
    /usr/bin/python3 - "$out/$kind-$s.pcap" "$out/$kind-$s.trafgen" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, blocks = 24, []
while off + 16 <= len(data):
    n = struct.unpack_from("<I", data, off + 8)[0]
    blocks.append("{ " + ", ".join(f"0x{b:02x}" for b in data[off + 16:off + 16 + n]) + " }")
    off += 16 + n
open(sys.argv[2], "w").write("\n".join(blocks) + "\n")
PY
  done
done
ls "$out"
