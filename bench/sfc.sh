#!/usr/bin/env bash
# SFC forwarding rates: qdp's SFF transit, classifier + encapsulation and end-of-chain decapsulation
# (with 1 and 10k classifier rules, 1 and 10k service paths) and the demo chain, next to
# dpdk-testpmd --forward-mode=io on the same devices and the same traffic, in the same run.
#
#   bench/sfc.sh [--rounds N] [--seconds S]
#
# Input: net_pcap0,rx_pcap=F,infinite_rx=1 (frames built by tests/sfc_traffic.py); output:
# net_null1,no-rx=1; one forwarding core. Medians of the per-second rates, first second skipped.
# transit-lat and chain-lat are transit-1p and chain with latency measurement on, to show its cost.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--seconds S]" >&2; exit 2 ;;
  esac
done
source bench/common.sh
py=/usr/bin/python3
$py tests/sfc_traffic.py vxlan-nsh "$work/transit.pcap" --spi 100 --si 255 --flows 256 --per-flow 1 --sport-entropy --size 64
$py tests/sfc_traffic.py plain "$work/plain.pcap" --flows 256 --per-flow 1 --size 64

testpmd() { testpmd_rate "$1" io; }

# The common part of every qdp scenario: pcap replay in, null out, VTEPs on both.
head_toml() { # pcap
  cat <<TOML
name = "bench-sfc"
[eal]
cores = [0, 1]
file_prefix = "qdp-bench"
$mem_qdp
memory_mb = 512
log_level = "error"
[[ports]]
name = "in"
vdev = "net_pcap0,rx_pcap=$1,infinite_rx=1"
[[ports]]
name = "out"
vdev = "net_null1,no-rx=1"
rx_queues = 0
[[workers]]
name = "w0"
core = 1
rx = ["in"]
[[vteps]]
name = "v-in"
port = "in"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[vteps]]
name = "v-out"
port = "out"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[neighbors]]
name = "sff3"
port = "out"
address = "10.0.0.3"
mac = "02:00:00:00:00:03"
[[exits]]
name = "server"
port = "out"
dst_mac = "02:00:00:00:00:0b"
TOML
}

extra_paths() { # n: SPIs 1000.. each to the remote SFF
  for i in $(seq 1000 $((1000 + $1 - 1))); do printf '[[paths]]\nname = "x%d"\nspi = %d\nhops = [{ si = 255, sff = "sff3" }]\n' "$i" "$i"; done
}
extra_rules() { # n: /32 sources that never match the traffic
  for i in $(seq 0 $(($1 - 1))); do printf '[[classifier]]\npriority = 10\nsrc = "10.200.%d.%d/32"\naction = "drop"\n' $((i / 256)) $((i % 256)); done
}

scenario() { # name -> toml on stdout
  case "$1" in
    transit-1p) head_toml "$work/transit.pcap"; printf '[[paths]]\nname = "p"\nspi = 100\nhops = [{ si = 255, sff = "sff3" }]\n' ;;
    transit-10kp) scenario transit-1p; extra_paths 9999 ;;
    encap-1r) head_toml "$work/plain.pcap"; printf '[[paths]]\nname = "p"\nspi = 100\nhops = [{ si = 255, sff = "sff3" }]\n[[classifier]]\npriority = 100\nsrc = "10.1.0.0/16"\npath = "p"\n' ;;
    encap-10kr) scenario encap-1r; extra_rules 9999 ;;
    decap) head_toml "$work/transit.pcap"; printf '[[paths]]\nname = "p"\nspi = 100\nhops = [{ si = 255, end = "server" }]\n' ;;
    chain) head_toml "$work/plain.pcap"; printf '[[sfs]]\nname = "fw"\nkind = "firewall"\nrules = [{ protocol = "tcp", dst_ports = 23, action = "deny" }]\n[[sfs]]\nname = "count"\nkind = "counter"\n[[paths]]\nname = "p"\nspi = 1\nhops = [{ si = 255, sf = "fw" }, { si = 254, sf = "count" }, { si = 253, end = "server" }]\n[[classifier]]\nsrc = "10.1.0.0/16"\npath = "p"\n' ;;
    transit-lat) scenario transit-1p; printf '[control]\nlatency = true\n' ;;
    chain-lat) scenario chain; printf '[control]\nlatency = true\n' ;;
  esac
}

run_qdp() { # scenario
  scenario "$1" > "$work/$1.toml"
  qdp_rate "$work/$1.toml"
}

cols=(tp-transit transit-1p transit-10kp transit-lat decap tp-plain encap-1r encap-10kr chain chain-lat)
echo "SFC bench: 64 B inner frames, 256 flows, $rounds rounds of ${seconds}s, $mem_note, $(nproc) CPUs"
printf '%-6s' round; printf ' %13s' "${cols[@]}"; echo
declare -A all
for r in $(seq 1 "$rounds"); do
  printf '%-6s' "$r"
  for c in "${cols[@]}"; do
    case "$c" in
      tp-transit) v=$(testpmd "$work/transit.pcap") ;;
      tp-plain) v=$(testpmd "$work/plain.pcap") ;;
      *) v=$(run_qdp "$c") ;;
    esac
    all[$c]+="$v "
    printf ' %13s' "$v"
  done
  echo "  Mpps"
done
printf '%-6s' median
declare -A med
for c in "${cols[@]}"; do med[$c]=$(printf '%s\n' ${all[$c]} | median); printf ' %13s' "${med[$c]}"; done
echo "  Mpps"
awk -v t="${med[tp-transit]}" -v p="${med[tp-plain]}" -v a="${med[transit-1p]}" -v b="${med[transit-10kp]}" \
    -v d="${med[decap]}" -v e="${med[encap-1r]}" -v f="${med[encap-10kr]}" -v g="${med[chain]}" \
    -v tl="${med[transit-lat]}" -v gl="${med[chain-lat]}" 'BEGIN{
  printf "ratios to testpmd io on the same traffic: SFF transit %.2fx (10k paths %.2fx), end-of-chain %.2fx; classifier+encap %.2fx (10k rules %.2fx), demo chain %.2fx\n", a/t, b/t, d/t, e/p, f/p, g/p
  printf "latency measurement on (control.latency = true): SFF transit %.2fx, demo chain %.2fx of the rate with it off\n", tl/a, gl/g }'
