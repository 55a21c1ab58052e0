#!/usr/bin/env bash
# Where the forwarding core's time goes, per function, for harness scenarios: qdp runs the
# scenario's pipeline on the harness's traffic (64 B, the same pcaps) while
# `perf record -e cpu-clock -C 1` samples the forwarding core; the report lists the functions
# with the most samples, per object and per function in qdp (inlined code counts toward the
# function it was inlined into; shares are of all samples on the core).
#
#   bench/profile.sh [--seconds S] [--top N] [SCENARIO ...]
#
# Scenarios: xconnect encap encap-10k-rules chain lb ids-300 roadmap transit transit-md2
# transit-10k-flows transit-10k-paths decap proxy (default: the SFC rows of the harness).
# Needs root and linux-perf (apt-get install -y linux-perf). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=6 top=12
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    --*) echo "usage: $0 [--seconds S] [--top N] [SCENARIO ...]" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- transit transit-md2 transit-10k-paths decap proxy encap encap-10k-rules chain roadmap
command -v perf >/dev/null || { echo "perf missing: apt-get install -y linux-perf" >&2; exit 1; }
source bench/common.sh
py=/usr/bin/python3

# The harness's traffic for a scenario (bench/harness.py: gen_plain, gen_nsh), made once.
traffic() {
  local out
  case "$1" in
    xconnect|encap|chain|lb|ids-300|ids-3000|roadmap)
      out=$work/plain.pcap
      [ -f "$out" ] || $qdp gen-pcap -o "$out" --flows 256 --frame-size 60 ;;
    encap-10k-rules)
      out=$work/plain-10k.pcap
      [ -f "$out" ] || $qdp gen-pcap -o "$out" --flows 10000 --frame-size 60 ;;
    transit|decap|proxy) out=$work/nsh.pcap; nsh "$out" --flows 256 ;;
    transit-md2) out=$work/nsh-md2.pcap; nsh "$out" --flows 256 --md 2 --tlv 0x0101:2:0a0b0c0d ;;
    transit-10k-flows) out=$work/nsh-10k.pcap; nsh "$out" --flows 10000 ;;
    transit-10k-paths) out=$work/nsh-10k-spis.pcap; nsh "$out" --flows 10000 --spis 10000 ;;
    *) echo "unknown scenario: $1" >&2; exit 2 ;;
  esac
  echo "$out"
}
nsh() {
  [ -f "$1" ] || $py tests/sfc_traffic.py vxlan-nsh "$1" --per-flow 1 --size 60 --sport-entropy \
    --spi 100 "${@:2}" >/dev/null
}
# The pipeline a scenario runs (the harness runs the MD1 transit pipeline for MD2 and 10k flows).
pipeline_of() {
  case "$1" in transit-md2|transit-10k-flows) echo transit ;; transit-10k-paths) echo transit-10k-paths ;; *) echo "$1" ;; esac
}

for s in "$@"; do
  pcap=$(traffic "$s")
  pipeline "$(pipeline_of "$s")" --pcap "$pcap" > "$work/$s.toml"
  $qdp run "$work/$s.toml" --duration $((seconds + 2)) --no-control > "$work/$s.out" 2>&1 &
  q=$!
  sleep 2
  perf record -q -e cpu-clock -C 1 -o "$work/$s.data" -- sleep "$seconds" >/dev/null 2>&1
  wait "$q" || true
  rate=$(awk '/^\[/{ n++; for (i=1;i<=NF;i++) if ($i=="rx") { if (n>1) print $(i+1); break } }' "$work/$s.out" | median)
  echo "## $s ($rate Mpps while sampled)"
  echo
  echo '| share | object |'
  echo '| --- | --- |'
  perf report -i "$work/$s.data" --no-children --sort dso --stdio 2>/dev/null \
    | awk '/^ *[0-9.]+%/ && n < 6 { printf "| %s | %s |\n", $1, $2; n++ }'
  echo
  echo '| share | function in qdp |'
  echo '| --- | --- |'
  perf report -i "$work/$s.data" --no-children --dsos "$(basename "$qdp")" --sort sym --stdio 2>/dev/null \
    | awk -v top="$top" '/^ *[0-9.]+%/ && n < top {
        pct=$1; $1=""; sub(/^ *\[[.k]\] */, ""); printf "| %s | `%s` |\n", pct, $0; n++ }'
  echo
done
