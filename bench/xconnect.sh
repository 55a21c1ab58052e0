#!/usr/bin/env bash
# Cross-connect forwarding rate: qdp next to dpdk-testpmd --forward-mode=io on the same devices, in
# the same run, one forwarding core each.
#
#   bench/xconnect.sh [--rounds N] [--seconds S] [--frame-size B] [--flows F]
#
# Input: net_pcap0,rx_pcap=F,infinite_rx=1 (frames made by `qdp gen-pcap`); output: net_null1,no-rx=1.
# Each round runs testpmd io, qdp cross-connect, testpmd macswap and qdp cross-connect with a MAC
# rewrite, one after the other; the medians of the per-second rates (first second skipped) are
# compared: cross-connect against io, cross-connect + rewrite against macswap (both touch every frame).
# The pipelines are pipelines/bench/xconnect.toml and xconnect-rewrite.toml; QDP=/path/to/qdp runs
# that binary instead of building target/release/qdp.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 seconds=6 frame=60 flows=256
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --frame-size) frame=$2; shift 2 ;;
    --flows) flows=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] [--frame-size B] [--flows F]" >&2; exit 2 ;;
  esac
done
source bench/common.sh
pcap=$work/in.pcap
$qdp gen-pcap --flows "$flows" --frame-size "$frame" -o "$pcap"

run_testpmd() { testpmd_rate "$pcap" "$1"; }

run_qdp() { # pipelines/bench/FILE.toml: xconnect, or xconnect-rewrite (MAC rewrite in -> out)
  pipeline "$1" --pcap "$pcap" > "$work/p.toml" || return
  qdp_rate "$work/p.toml"
}

echo "cross-connect bench: ${frame} B frames (without FCS), $flows flows, $rounds rounds of ${seconds}s, $mem_note, $(nproc) CPUs"
printf '%-6s %12s %12s %12s %12s\n' round testpmd-io qdp-xc testpmd-swap qdp-xc-rw
tp=() xc=() sw=() rw=()
for r in $(seq 1 "$rounds"); do
  a=$(run_testpmd io); b=$(run_qdp xconnect)
  d=$(run_testpmd macswap); c=$(run_qdp xconnect-rewrite)
  tp+=("$a") xc+=("$b") sw+=("$d") rw+=("$c")
  printf '%-6s %12s %12s %12s %12s  Mpps\n' "$r" "$a" "$b" "$d" "$c"
done
mt=$(printf '%s\n' "${tp[@]}" | median)
mx=$(printf '%s\n' "${xc[@]}" | median)
mr=$(printf '%s\n' "${rw[@]}" | median)
ms=$(printf '%s\n' "${sw[@]}" | median)
printf '%-6s %12s %12s %12s %12s  Mpps\n' median "$mt" "$mx" "$ms" "$mr"
awk -v t="$mt" -v x="$mx" -v s="$ms" -v r="$mr" 'BEGIN{ if (t>0 && s>0) printf "cross-connect / testpmd io: %.2fx (goal >= 0.90x); cross-connect + MAC rewrite / testpmd macswap: %.2fx\n", x/t, r/s }'
