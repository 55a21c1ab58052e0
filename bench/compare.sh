#!/usr/bin/env bash
# Two builds of qdp in paired rounds: each round runs build A, then build B, on the same scenario
# and traffic, and the ratio B/A of that round is kept; the report is the median of the ratios
# (with min and max), which holds on a machine whose rates drift over minutes, where a rate from
# one run says little.
#
#   bench/compare.sh OLD_QDP NEW_QDP [--rounds N] [--seconds S] [--scenarios a,b,...]
#
# Scenarios (pipelines/bench/*.toml, as bench/sfc.sh and bench/xconnect.sh run them): transit
# (SFF transit, MD1, 256 flows), xconnect (VF cross-connect), chain (the demo chain: classifier →
# firewall → counter → end of chain), encap (classifier + NSH/VXLAN-GPE), decap (end of chain),
# proxy (SFC proxy). Default: transit,xconnect,chain. 64 B frames, 256 flows, one forwarding core.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
old=$(realpath "$1") new=$(realpath "$2"); shift 2
rounds=9 seconds=4 scenarios=transit,xconnect,chain
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    *) echo "usage: $0 OLD_QDP NEW_QDP [--rounds N] [--seconds S] [--scenarios a,b]" >&2; exit 2 ;;
  esac
done
QDP=$new source bench/common.sh
py=/usr/bin/python3
$py tests/sfc_traffic.py vxlan-nsh "$work/transit.pcap" --spi 100 --si 255 --flows 256 --per-flow 1 --sport-entropy --size 64
$py tests/sfc_traffic.py plain "$work/plain.pcap" --flows 256 --per-flow 1 --size 64

traffic() { case "$1" in transit|decap|proxy) echo transit ;; *) echo plain ;; esac; }

echo "paired rounds: A=$old B=$new, $rounds rounds of ${seconds}s, $mem_note, $(nproc) CPUs"
IFS=, read -ra list <<< "$scenarios"
for s in "${list[@]}"; do
  pipeline "$s" --pcap "$work/$(traffic "$s").pcap" > "$work/$s.toml"
  ratios=()
  printf '%-9s' "$s"
  for r in $(seq 1 "$rounds"); do
    a=$(qdp=$old qdp_rate "$work/$s.toml")
    b=$(qdp=$new qdp_rate "$work/$s.toml")
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN{ if (a > 0) printf "%.3f", b/a; else print "nan" }')
    ratios+=("$ratio")
    printf ' %s/%s=%s' "$a" "$b" "$ratio"
  done
  echo
  printf '%s\n' "${ratios[@]}" | grep -v nan | sort -g | awk -v s="$s" '{a[NR]=$1}
    END{ m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%-9s B/A median %.3f (min %.3f, max %.3f, %d rounds)\n", s, m, a[1], a[NR], NR }'
done
