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
# The pipelines are pipelines/bench/*.toml (run_qdp names each column's); QDP=/path/to/qdp runs that
# binary instead of building target/release/qdp.
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

run_qdp() { # column: its pipeline (pipelines/bench/FILE.toml) and traffic
  local f t=transit
  case "$1" in
    transit-1p) f=transit ;;
    transit-10kp) f=transit-10k-paths ;;
    encap-1r) f=encap t=plain ;;
    encap-10kr) f=encap-10k-rules t=plain ;;
    transit-lat|decap) f=$1 ;;
    chain|chain-lat) f=$1 t=plain ;;
    *) echo "run_qdp: no pipeline for $1" >&2; return 1 ;;
  esac
  pipeline "$f" --pcap "$work/$t.pcap" > "$work/$1.toml" || return
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
