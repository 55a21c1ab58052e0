# Shared by the bench scripts (sourced, not run): build qdp, a scratch folder, the memory both qdp and
# testpmd use, the median of per-second rates, the pipelines of pipelines/bench/, and testpmd and
# qdp runners. Expects $seconds. QDP=/path/to/qdp runs that binary instead of building
# target/release/qdp.

command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd missing: apt-get install -y dpdk" >&2; exit 1; }
if [ -n "${QDP:-}" ]; then qdp=$QDP; else cargo build --release -q -p qdp; qdp=target/release/qdp; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Same memory for both: hugepages when 1 GiB is free, else ordinary pages.
free_kb=$(awk '/HugePages_Free/{f=$2} /Hugepagesize/{s=$2} END{print f*s}' /proc/meminfo)
if [ "${free_kb:-0}" -ge 1048576 ] && grep -qs ' hugetlbfs ' /proc/mounts; then
  mem_eal=(--huge-unlink) qdp_huge=required mem_note="hugepages"
else
  mem_eal=(--no-huge -m 1024) qdp_huge=off mem_note="no hugepages (--no-huge)"
fi

median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print 0; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

# pipeline NAME [--pcap FILE]: pipelines/bench/NAME.toml with this run's values filled in, on stdout.
pipeline() { python3 bench/render.py "$1" --hugepages "$qdp_huge" "${@:2}"; }

# testpmd PCAP MODE: median Mpps received on the pcap replay port (first second skipped).
testpmd_rate() {
  { timeout -s INT $((seconds + 1)) dpdk-testpmd -l 0,1 --file-prefix qdp-bench-tp --no-pci "${mem_eal[@]}" \
    --vdev "net_pcap0,rx_pcap=$1,infinite_rx=1" --vdev net_null1,no-rx=1 --log-level=error -- \
    --forward-mode="$2" --nb-cores=1 --total-num-mbufs=16384 --stats-period 1 2>&1 || true; } \
  | awk '/NIC statistics for port/{p=$(NF-1)} /Rx-pps:/{ if (p=="0") { n++; if (n>1) print $2/1e6 } }' | median
}

# qdp_rate FILE: median Mpps qdp receives running the pipeline file (first second skipped).
qdp_rate() {
  { $qdp run "$1" --duration "$seconds" --no-control 2>/dev/null || true; } \
  | awk '/^\[/{ n++; for (i=1;i<=NF;i++) if ($i=="rx") { if (n>1) print $(i+1); break } }' | median
}
