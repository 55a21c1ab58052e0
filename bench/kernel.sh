#!/usr/bin/env bash
# Kernel hosts through qdp: iperf3 TCP Gbit/s (1 and 4 streams) and ping RTT through the
# kernel-chain pipelines (classifier → firewall → counter → end of chain, both directions), next
# to the same topology forwarded by dpdk-testpmd --forward-mode=io with the same net_af_packet
# arguments and, for RTT, a direct veth between the namespaces; per MTU of the veth pairs.
#
#   bash bench/kernel.sh [--rounds N] [--seconds S] [--mtu 1500,9000,61000] [--streams 1,4]
#                        [--threaded-napi]
#
# MTU 1500 runs pipelines/kernel-chain.toml (receive rings of 4096 frames); 9000 and 61000 run
# pipelines/kernel-chain-jumbo.toml, with ring slots (framesz) and mbufs (data_room) sized to the
# frames: 9000 with framesz=10240,blocksz=20480,framecnt=512, 61000 as the file is
# (framesz=blocksz=61440, framecnt=128), both qdisc_bypass=1. tests/topology.sh --mtu builds the
# namespaces; both forwarders read and write the veth ends with net_af_packet, one forwarding core
# (CPU 1); the hosts' iperf3 run on CPU 0. --threaded-napi: tests/topology.sh --threaded-napi.
# Run as root. QDP=/path/to/qdp runs that binary instead of building target/release/qdp.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 seconds=5 mtus=1500,9000,61000 streams=1,4 topo=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --mtu) mtus=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --threaded-napi) topo+=(--threaded-napi); shift ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] [--mtu 1500,9000,61000] [--streams 1,4] [--threaded-napi]" >&2; exit 2 ;;
  esac
done
for m in ${mtus//,/ }; do
  case "$m" in 1500|9000|61000) ;; *) echo "--mtu: $m is not one of 1500, 9000, 61000" >&2; exit 2 ;; esac
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

tcp_gbps() { # streams: one iperf3 TCP run client → server, Gbit/s at the receiver
  ip netns exec qdpt-server iperf3 -s -1 -B 10.2.0.1 -A 0 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.5
  ip netns exec qdpt-client iperf3 -c 10.2.0.1 -A 0 -P "$1" -t "$seconds" -J \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)'
  # A server whose client failed would wait forever (holding whatever lock the run holds).
  kill "$srv" 2>/dev/null || true
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

# Per MTU: the af_packet arguments (both forwarders), the mbuf data room, qdp's pipeline.
setup_mtu() {
  case "$1" in
    1500) args=",framecnt=4096" room=2176 pipeline=pipelines/kernel-chain.toml ;;
    9000) args=",framesz=10240,blocksz=20480,framecnt=512,qdisc_bypass=1" room=10368
          pipeline=$work/jumbo-9000.toml
          sed -e "s/,framesz=61440,blocksz=61440,framecnt=128,qdisc_bypass=1/$args/" \
              -e "s/^data_room = 61568/data_room = $room/" pipelines/kernel-chain-jumbo.toml >"$pipeline"
          grep -q "data_room = $room" "$pipeline" ;;
    61000) args=",framesz=61440,blocksz=61440,framecnt=128,qdisc_bypass=1" room=61568
           pipeline=pipelines/kernel-chain-jumbo.toml ;;
  esac
  grep -q -- "iface=qc0,qpairs=1$args\"" "$pipeline"
  testpmd_mbufs=()
  [ "$1" = 1500 ] || testpmd_mbufs=(--mbuf-size="$room" --total-num-mbufs=2047)
}

declare -A tcp rtt
for m in ${mtus//,/ }; do
  setup_mtu "$m"
  for r in $(seq "$rounds"); do
    bash tests/topology.sh --mtu "$m" "${topo[@]}" up-direct
    start_fwd timeout 600 dpdk-testpmd -l 0,1 --file-prefix qdp-bench-kt --no-pci --huge-unlink \
      --vdev "net_af_packet0,iface=qc0,qpairs=1$args" --vdev "net_af_packet1,iface=qs0,qpairs=1$args" \
      --log-level=error -- --forward-mode=io --nb-cores=1 --stats-period 60 "${testpmd_mbufs[@]}"
    for p in ${streams//,/ }; do tcp[$m,testpmd,$p]+="$(tcp_gbps "$p") "; done
    [ "$r" = 1 ] && rtt[$m,testpmd]=$(rtt_ms qdpt-client 10.2.0.1)
    stop_fwd
    bash tests/topology.sh --mtu "$m" "${topo[@]}" up
    start_fwd "$qdp" run "$pipeline" --socket "$work/qdp.sock"
    for p in ${streams//,/ }; do tcp[$m,qdp,$p]+="$(tcp_gbps "$p") "; done
    [ "$r" = 1 ] && rtt[$m,qdp]=$(rtt_ms qdpt-client 10.2.0.1)
    stop_fwd
  done
done

# A direct veth between two namespaces, for the RTT floor.
ip netns add qdpt-a; ip netns add qdpt-b
ip link add va netns qdpt-a type veth peer name vb netns qdpt-b
ip -n qdpt-a addr add 10.9.0.1/24 dev va; ip -n qdpt-a link set va up
ip -n qdpt-b addr add 10.9.0.2/24 dev vb; ip -n qdpt-b link set vb up
rtt_direct=$(rtt_ms qdpt-a 10.9.0.2)

echo "iperf3 TCP client→server, $rounds round(s) of ${seconds}s${topo:+, threaded NAPI} (median Gbit/s; runs):"
printf '| MTU | streams | testpmd io | qdp chain | qdp / testpmd |\n| --- | --- | --- | --- | --- |\n'
for m in ${mtus//,/ }; do
  for p in ${streams//,/ }; do
    t=$(printf '%s\n' ${tcp[$m,testpmd,$p]} | median); q=$(printf '%s\n' ${tcp[$m,qdp,$p]} | median)
    awk -v m="$m" -v p="$p" -v a="$q" -v b="$t" 'BEGIN{ printf "| %s | %s | %.2f | %.2f | %.2fx |\n", m, p, b, a, (b > 0 ? a/b : 0) }'
  done
done
for m in ${mtus//,/ }; do
  for p in ${streams//,/ }; do
    echo "  runs, MTU $m, $p stream(s): testpmd (${tcp[$m,testpmd,$p]}) qdp (${tcp[$m,qdp,$p]})"
  done
done
for m in ${mtus//,/ }; do
  echo "ping RTT at MTU $m (average of 50, ms): testpmd io ${rtt[$m,testpmd]}, qdp chain ${rtt[$m,qdp]}"
done
echo "ping RTT over a direct veth: $rtt_direct ms"
