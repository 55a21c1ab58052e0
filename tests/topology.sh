#!/usr/bin/env bash
# Kernel hosts around a qdp chain, in network namespaces joined by veth pairs:
#
#   ns qdpt-client                 root namespace (qdp)                ns qdpt-server
#   cl0 10.1.0.1/24  <── veth ──>  qc0 ── net_af_packet ──┐
#   gateway 10.1.0.254                                    qdp: classifier → SFs → end of chain
#                                  qs0 ── net_af_packet ──┘
#                                                     <── veth ──>  sv0 10.2.0.1/24
#                                                                   gateway 10.2.0.254
#
# Fixed MACs: cl0 02:00:00:00:01:01, qc0 02:00:00:00:01:fe, qs0 02:00:00:00:02:fe,
# sv0 02:00:00:00:02:01 (pipelines/kernel-chain.toml names them). The gateways 10.1.0.254 and
# 10.2.0.254 are qdp's own addresses: the hosts find them by ARP, and qdp answers. Checksum and segmentation
# offloads are off on every end: with them on, veth passes TCP with partial checksums, which
# break once qdp forwards the frames.
#
#   tests/topology.sh up           build it (replacing an old one)
#   tests/topology.sh up-direct    the same, but each host's gateway entry points at the other
#                                  host's MAC, for a forwarder that does not rewrite MACs
#                                  (dpdk-testpmd --forward-mode=io)
#   tests/topology.sh up-sf        `up`, plus an NSH-unaware SF for qdp's SFC proxy: namespace
#                                  qdpt-sf, a Linux router (sf0 10.99.0.1/24, MAC 02:00:00:00:03:01)
#                                  behind veth qf0 (MAC 02:00:00:00:03:fe) that sends every frame
#                                  back to qdp (10.99.0.254 = qf0) and filters with nftables:
#                                  TCP to port 2323 is dropped (and counted).
#   tests/topology.sh up-sf2       `up`, plus namespace qdpt-sf2 for a second qdp acting as an
#                                  NSH-aware SF over VXLAN-GPE: veth s2 (inside, MAC
#                                  02:00:00:00:04:01) <-> q2 (MAC 02:00:00:00:04:fe); the hosts'
#                                  MTU drops to 1400 so that their frames still fit 1500 bytes
#                                  once encapsulated in VXLAN-GPE + NSH (74 bytes)
#   tests/topology.sh up-sf-pair   `up-sf`, plus a second instance of that SF: namespace qdpt-sfb,
#                                  the same Linux router and filter (sfb0 10.99.1.1/24, MAC
#                                  02:00:00:00:05:01) behind veth qfb0 (MAC 02:00:00:00:05:fe,
#                                  qdp's 10.99.1.254): two instances of one SF, for failover
#   tests/topology.sh up-memif     `up`, plus an empty namespace qdpt-memif for a DPDK process that
#                                  is a container SF attached by memif (its socket is a file in
#                                  qdp's run directory: pipelines/kernel-chain-memif.toml)
#   tests/topology.sh down         remove it
#
# Options before the command (or QDP_MTU / QDP_THREADED_NAPI in the environment):
#   --mtu N          MTU N on every veth end, the namespaces' and qdp's (default: the kernel's,
#                    1500); up to 65535 on veth. N above 1500 needs a qdp whose ports' frames fit
#                    (pipelines/kernel-chain-jumbo.toml).
#   --threaded-napi  the hosts' veth ends poll in their own kernel threads
#                    (/sys/class/net/DEV/threaded), pinned to CPU 0 with the hosts' work, off the
#                    forwarding core (CPU 1); GRO on for them (what they receive), every
#                    other offload stays off
set -euo pipefail

mtu=${QDP_MTU:-} threaded=${QDP_THREADED_NAPI:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --mtu) mtu=$2; shift 2 ;;
    --threaded-napi) threaded=1; shift ;;
    *) break ;;
  esac
done

C=qdpt-client S=qdpt-server F=qdpt-sf F2=qdpt-sf2 FB=qdpt-sfb M=qdpt-memif
CL_MAC=02:00:00:00:01:01 QC_MAC=02:00:00:00:01:fe QS_MAC=02:00:00:00:02:fe SV_MAC=02:00:00:00:02:01
SF_MAC=02:00:00:00:03:01 QF_MAC=02:00:00:00:03:fe
SFB_MAC=02:00:00:00:05:01 QFB_MAC=02:00:00:00:05:fe
S2_MAC=02:00:00:00:04:01 Q2_MAC=02:00:00:00:04:fe

down() {
  ip netns del "$C" 2>/dev/null || true
  ip netns del "$S" 2>/dev/null || true
  ip netns del "$F" 2>/dev/null || true
  ip netns del "$F2" 2>/dev/null || true
  ip netns del "$FB" 2>/dev/null || true
  ip netns del "$M" 2>/dev/null || true
  ip link del qf0 2>/dev/null || true
  ip link del qfb0 2>/dev/null || true
  ip link del q2 2>/dev/null || true
  ip link del qc0 2>/dev/null || true
  ip link del qs0 2>/dev/null || true
}

quiet() { # dev [ns]: no IPv6 chatter, no offloads
  local dev=$1 ns=${2:-}
  local run=(); [ -n "$ns" ] && run=(ip netns exec "$ns")
  "${run[@]}" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
  "${run[@]}" ethtool -K "$dev" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
}

threaded_napi() { # ns dev: the device's NAPI in a kernel thread of its own, on CPU 0
  local ns=$1 dev=$2 pid
  # veth polls with NAPI only while GRO is on; GRO merges what the host receives, which its own
  # stack then takes whole (checksums checked): nothing of it reaches qdp.
  ip netns exec "$ns" ethtool -K "$dev" gro on >/dev/null
  ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded"
  for pid in $(pgrep -x "napi/$dev-.*" 2>/dev/null || true); do taskset -pc 0 "$pid" >/dev/null; done
}

up() { # direct: 0 or 1
  down
  ip netns add "$C"
  ip netns add "$S"
  ip link add cl0 address "$CL_MAC" netns "$C" type veth peer name qc0 address "$QC_MAC"
  ip link add sv0 address "$SV_MAC" netns "$S" type veth peer name qs0 address "$QS_MAC"
  for d in qc0 qs0; do quiet "$d"; ip link set "$d" up; done
  quiet cl0 "$C"; quiet sv0 "$S"
  ip -n "$C" link set lo up; ip -n "$S" link set lo up
  ip -n "$C" addr add 10.1.0.1/24 dev cl0; ip -n "$C" link set cl0 up
  ip -n "$S" addr add 10.2.0.1/24 dev sv0; ip -n "$S" link set sv0 up
  ip -n "$C" route add default via 10.1.0.254
  ip -n "$S" route add default via 10.2.0.254
  if [ -n "$mtu" ]; then
    for d in qc0 qs0; do ip link set "$d" mtu "$mtu"; done
    ip -n "$C" link set cl0 mtu "$mtu"; ip -n "$S" link set sv0 mtu "$mtu"
  fi
  if [ "$threaded" = 1 ]; then
    threaded_napi "$C" cl0; threaded_napi "$S" sv0
  fi
  if [ "$1" = 1 ]; then
    # testpmd io answers no ARP and rewrites no MAC: point each host at the other.
    ip -n "$C" neigh replace 10.1.0.254 lladdr "$SV_MAC" dev cl0 nud permanent
    ip -n "$S" neigh replace 10.2.0.254 lladdr "$CL_MAC" dev sv0 nud permanent
  fi
}

linux_sf() { # namespace, inside dev and MAC, outside dev and MAC, subnet (10.99.N.0/24)
  local ns=$1 dev=$2 mac=$3 qdev=$4 qmac=$5 n=$6
  ip netns add "$ns"
  ip link add "$dev" address "$mac" netns "$ns" type veth peer name "$qdev" address "$qmac"
  quiet "$qdev"; ip link set "$qdev" up; quiet "$dev" "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "10.99.$n.1/24" dev "$dev"; ip -n "$ns" link set "$dev" up
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
    "net.ipv4.conf.$dev.send_redirects=0" net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$dev.rp_filter=0"
  ip -n "$ns" neigh replace "10.99.$n.254" lladdr "$qmac" dev "$dev" nud permanent
  ip -n "$ns" route add 10.1.0.0/24 via "10.99.$n.254"
  ip -n "$ns" route add 10.2.0.0/24 via "10.99.$n.254"
  ip netns exec "$ns" nft -f - <<'NFT'
table inet qdpsf {
  chain forward {
    type filter hook forward priority 0; policy accept;
    tcp dport 2323 counter drop
  }
}
NFT
}

qdp_sf() {
  ip netns add "$F2"
  ip link add s2 address "$S2_MAC" netns "$F2" type veth peer name q2 address "$Q2_MAC"
  quiet q2; ip link set q2 up; quiet s2 "$F2"
  ip -n "$F2" link set lo up
  ip -n "$F2" link set s2 up
  ip -n "$C" link set cl0 mtu 1400
  ip -n "$S" link set sv0 mtu 1400
}

case "${1:-}" in
  up) up 0 ;;
  up-sf2) up 0; qdp_sf ;;
  up-sf) up 0; linux_sf "$F" sf0 "$SF_MAC" qf0 "$QF_MAC" 0 ;;
  up-sf-pair) up 0; linux_sf "$F" sf0 "$SF_MAC" qf0 "$QF_MAC" 0; linux_sf "$FB" sfb0 "$SFB_MAC" qfb0 "$QFB_MAC" 1 ;;
  up-memif) up 0; ip netns add "$M"; ip -n "$M" link set lo up ;;
  up-direct) up 1 ;;
  down) down ;;
  *) echo "usage: $0 [--mtu N] [--threaded-napi] up|up-direct|up-sf|up-sf-pair|up-sf2|up-memif|down" >&2; exit 2 ;;
esac
