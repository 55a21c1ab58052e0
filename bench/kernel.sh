#!/usr/bin/env bash
# Kernel hosts through qdp: iperf3 TCP Gbit/s and ping RTT through the kernel-chain pipeline
# (classifier → firewall → counter → end of chain, both directions), next to the same topology
# forwarded by dpdk-testpmd --forward-mode=io and, for RTT, a direct veth between the namespaces.
#
#   bash bench/kernel.sh [--rounds N] [--seconds S]
#
# tests/topology.sh builds the namespaces; both forwarders read and write the veth ends with
# net_af_packet, one forwarding core (CPU 1). Run as root. QDP=/path/to/qdp runs that binary instead
# of building target/release/qdp.
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
if [ -n "${QDP:-}" ]; then qdp=$QDP; else cargo build --release -q -p qdp; qdp=target/release/qdp; fi
work=$(mktemp -d)
cleanup() {
  [ -n "${fwd:-}" ] && kill "$fwd" 2>/dev/null && wait "$fwd" 2>/dev/null
  bash tests/topology.sh down
  ip netns del qdpt-a 2>/dev/null || true
  ip netns del qdpt-b 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print 0; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

tcp_gbps() { # one iperf3 TCP run client → server, Gbit/s at the receiver
  ip netns exec qdpt-server iperf3 -s -1 -B 10.2.0.1 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.5
  ip netns exec qdpt-client iperf3 -c 10.2.0.1 -t "$seconds" -J \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)'
  wait "$srv" 2>/dev/null || true
}

rtt_ms() { # ns dst: average ping RTT in ms over 50 pings
  ip netns exec "$1" ping -q -c 50 -i 0.02 "$2" | awk -F/ '/^rtt/{print $5}'
}

start_fwd() { # command...: start a forwarder, wait until it forwards a ping
  "$@" >"$work/fwd.log" 2>&1 &
  fwd=$!
  for _ in $(seq 100); do
    ip netns exec qdpt-client ping -c 1 -W 1 10.2.0.1 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "forwarder did not come up: $*" >&2; cat "$work/fwd.log" >&2; exit 1
}

stop_fwd() { kill -INT "$fwd" 2>/dev/null || true; wait "$fwd" 2>/dev/null || true; fwd=""; }

declare -A tcp
for r in $(seq "$rounds"); do
  bash tests/topology.sh up-direct
  start_fwd timeout 600 dpdk-testpmd -l 0,1 --file-prefix qdp-bench-kt --no-pci --huge-unlink \
    --vdev net_af_packet0,iface=qc0,qpairs=1 --vdev net_af_packet1,iface=qs0,qpairs=1 \
    --log-level=error -- --forward-mode=io --nb-cores=1 --stats-period 60
  tcp[testpmd]+="$(tcp_gbps) "
  [ "$r" = 1 ] && rtt_testpmd=$(rtt_ms qdpt-client 10.2.0.1)
  stop_fwd
  bash tests/topology.sh up
  start_fwd "$qdp" run pipelines/kernel-chain.toml --socket "$work/qdp.sock"
  tcp[qdp]+="$(tcp_gbps) "
  [ "$r" = 1 ] && rtt_qdp=$(rtt_ms qdpt-client 10.2.0.1)
  stop_fwd
done

# A direct veth between two namespaces, for the RTT floor.
ip netns add qdpt-a; ip netns add qdpt-b
ip link add va netns qdpt-a type veth peer name vb netns qdpt-b
ip -n qdpt-a addr add 10.9.0.1/24 dev va; ip -n qdpt-a link set va up
ip -n qdpt-b addr add 10.9.0.2/24 dev vb; ip -n qdpt-b link set vb up
rtt_direct=$(rtt_ms qdpt-a 10.9.0.2)

t=$(printf '%s\n' ${tcp[testpmd]} | median); q=$(printf '%s\n' ${tcp[qdp]} | median)
echo "iperf3 TCP client→server, $rounds round(s) of ${seconds}s (median Gbit/s; runs):"
echo "  testpmd io      $t   (${tcp[testpmd]})"
echo "  qdp chain       $q   (${tcp[qdp]})"
awk -v a="$q" -v b="$t" 'BEGIN{ printf "  qdp / testpmd  %.2fx\n", a/b }'
echo "ping RTT (average of 50, ms): direct veth $rtt_direct, testpmd io $rtt_testpmd, qdp chain $rtt_qdp"
