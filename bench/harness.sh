#!/usr/bin/env bash
# The side-by-side benchmark: qdp, dpdk-testpmd (io, macswap) and Open vSwitch's DPDK datapath
# as an NSH SFF on identical DPDK virtual devices in one run, a frame-size sweep with a plot, and
# latency at 10/50/90 % load. Results go to results/DATE/ (results.md, results.json, sweep.svg).
#
#   bash bench/harness.sh [--rounds N] [--seconds S] [--quick] [--out DIR] [--skip ovs,sweep,latency]
#
# Needs root (hugepages, veth), DPDK (tests/install-deps.sh installs it), gnuplot for the plot and
# openvswitch-switch-dpdk for the Open vSwitch peer: apt-get install -y gnuplot-nox
# openvswitch-switch-dpdk (each is skipped with a message when missing). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd missing: bash tests/install-deps.sh" >&2; exit 1; }
[ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] || \
  echo "harness: Open vSwitch with DPDK not installed; its column is skipped (apt-get install -y openvswitch-switch-dpdk)" >&2
[ -n "${QDP:-}" ] || cargo build --release -q -p qdp  # QDP=/path/to/qdp: run that binary instead
exec /usr/bin/python3 bench/harness.py "$@"
