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
#   tests/topology.sh down         remove it
set -euo pipefail

C=qdpt-client S=qdpt-server F=qdpt-sf F2=qdpt-sf2
CL_MAC=02:00:00:00:01:01 QC_MAC=02:00:00:00:01:fe QS_MAC=02:00:00:00:02:fe SV_MAC=02:00:00:00:02:01
SF_MAC=02:00:00:00:03:01 QF_MAC=02:00:00:00:03:fe
S2_MAC=02:00:00:00:04:01 Q2_MAC=02:00:00:00:04:fe

down() {
  ip netns del "$C" 2>/dev/null || true
  ip netns del "$S" 2>/dev/null || true
  ip netns del "$F" 2>/dev/null || true
  ip netns del "$F2" 2>/dev/null || true
  ip link del qf0 2>/dev/null || true
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
  if [ "$1" = 1 ]; then
    # testpmd io answers no ARP and rewrites no MAC: point each host at the other.
    ip -n "$C" neigh replace 10.1.0.254 lladdr "$SV_MAC" dev cl0 nud permanent
    ip -n "$S" neigh replace 10.2.0.254 lladdr "$CL_MAC" dev sv0 nud permanent
  fi
}

linux_sf() {
  ip netns add "$F"
  ip link add sf0 address "$SF_MAC" netns "$F" type veth peer name qf0 address "$QF_MAC"
  quiet qf0; ip link set qf0 up; quiet sf0 "$F"
  ip -n "$F" link set lo up
  ip -n "$F" addr add 10.99.0.1/24 dev sf0; ip -n "$F" link set sf0 up
  ip netns exec "$F" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
    net.ipv4.conf.sf0.send_redirects=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.sf0.rp_filter=0
  ip -n "$F" neigh replace 10.99.0.254 lladdr "$QF_MAC" dev sf0 nud permanent
  ip -n "$F" route add 10.1.0.0/24 via 10.99.0.254
  ip -n "$F" route add 10.2.0.0/24 via 10.99.0.254
  ip netns exec "$F" nft -f - <<'NFT'
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
  up-sf) up 0; linux_sf ;;
  up-direct) up 1 ;;
  down) down ;;
  *) echo "usage: $0 up|up-direct|up-sf|up-sf2|down" >&2; exit 2 ;;
esac
