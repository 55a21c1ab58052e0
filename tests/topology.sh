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
#   tests/topology.sh up-roadmap   `up`, plus three web backends behind the server host: in
#                                  qdpt-server a Linux bridge br0 (MAC 02:00:00:00:02:01, the
#                                  address 10.2.0.1/24 and the default route via 10.2.0.254 move to
#                                  it) joins sv0 (now MAC 02:00:00:00:02:02) and w1p..w3p
#                                  (MACs 02:00:00:00:06:f1..f3), the peers of web0 in namespaces
#                                  qdpt-web1..qdpt-web3 (web0 10.2.0.11..13/24, MACs
#                                  02:00:00:00:06:01..03, gateway 10.2.0.254). Each backend also
#                                  owns 10.2.100.1/32 on lo without answering ARP for it
#                                  (arp_ignore=1, arp_announce=2) and runs lighttpd on port 80 of
#                                  its address and of 10.2.100.1, serving "webN\n" at /
#                                  (keep-alive: 60 s idle, 10000 requests); config, document root,
#                                  pid file and error log in /run/qdpt-roadmap/webN/
#   tests/topology.sh web-stop N   stop backend N's lighttpd (its namespace stays), returning once
#                                  nothing listens on port 80 there; nothing to do if it is stopped
#   tests/topology.sh web-start N  start backend N's lighttpd again, returning once it listens
#   tests/topology.sh up-openstack two appliances for the OpenStack agent test: `up` and
#                                  `up-sf-pair`, with the hosts' MTU 1400, then namespaces
#                                  qdpt-edge-a and qdpt-edge-b, one per qdp: qc0, qf0 and qfb0
#                                  move into qdpt-edge-a, qs0 into qdpt-edge-b, plus a third SF
#                                  like the others in namespace qdpt-sfc (sfc0 10.99.2.1/24, MAC
#                                  02:00:00:00:07:01) behind qfc0 (MAC 02:00:00:00:07:fe, in
#                                  qdpt-edge-b), and the underlay veth ua0 (qdpt-edge-a, MAC
#                                  02:00:00:00:08:0a) <-> ub0 (qdpt-edge-b, MAC 02:00:00:00:08:0b)
#                                  (pipelines/openstack-edge-a.toml, openstack-edge-b.toml)
#   tests/topology.sh down         remove it (backends and their lighttpds included)
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
FC=qdpt-sfc EA=qdpt-edge-a EB=qdpt-edge-b
SFC_MAC=02:00:00:00:07:01 QFC_MAC=02:00:00:00:07:fe UA_MAC=02:00:00:00:08:0a UB_MAC=02:00:00:00:08:0b
CL_MAC=02:00:00:00:01:01 QC_MAC=02:00:00:00:01:fe QS_MAC=02:00:00:00:02:fe SV_MAC=02:00:00:00:02:01
SF_MAC=02:00:00:00:03:01 QF_MAC=02:00:00:00:03:fe
SFB_MAC=02:00:00:00:05:01 QFB_MAC=02:00:00:00:05:fe
S2_MAC=02:00:00:00:04:01 Q2_MAC=02:00:00:00:04:fe
BR_MAC=02:00:00:00:02:01 SV_BR_MAC=02:00:00:00:02:02 WEB_RUN=/run/qdpt-roadmap WEBS="1 2 3"

down() {
  local n pid
  for n in $WEBS; do
    web_stop "$n" || true
    # Whatever else still runs in a backend's namespace was started for it too.
    for pid in $(ip netns pids "qdpt-web$n" 2>/dev/null || true); do kill "$pid" 2>/dev/null || true; done
    ip netns del "qdpt-web$n" 2>/dev/null || true
  done
  rm -rf "$WEB_RUN"
  ip netns del "$C" 2>/dev/null || true
  ip netns del "$S" 2>/dev/null || true
  ip netns del "$F" 2>/dev/null || true
  ip netns del "$F2" 2>/dev/null || true
  ip netns del "$FB" 2>/dev/null || true
  ip netns del "$M" 2>/dev/null || true
  ip netns del "$FC" 2>/dev/null || true
  ip netns del "$EA" 2>/dev/null || true
  ip netns del "$EB" 2>/dev/null || true
  ip link del qfc0 2>/dev/null || true
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

listening() { # ns: something listens on TCP port 80 there
  [ -n "$(ip netns exec "$1" ss -Hltn 'sport = :80' 2>/dev/null)" ]
}

running() { # pid: that process runs (a zombie does not: where PID 1 reaps nothing, they stay)
  local comm state
  read -r _ comm state _ 2>/dev/null < "/proc/$1/stat" || return 1
  [ "$comm" = "(lighttpd)" ] && [ "$state" != Z ]
}

web_pid() { # N: the pid of backend N's lighttpd, if it runs
  local pid
  pid=$(cat "$WEB_RUN/web$1/lighttpd.pid" 2>/dev/null) || return 1
  running "$pid" && echo "$pid"
}

web_stop() { # N
  local n=$1 ns=qdpt-web$1 pid _
  pid=$(web_pid "$n" || true)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
  fi
  for _ in $(seq 50); do listening "$ns" || break; sleep 0.1; done
  if listening "$ns"; then echo "web$n: port 80 still listens" >&2; return 1; fi
  rm -f "$WEB_RUN/web$n/lighttpd.pid"
}

web_start() { # N
  local n=$1 ns=qdpt-web$1 dir=$WEB_RUN/web$1 _
  [ -e "/run/netns/$ns" ] || { echo "no namespace $ns: run up-roadmap first" >&2; return 1; }
  [ -n "$(web_pid "$n" || true)" ] && return 0
  mkdir -p "$dir/root"
  echo "web$n" > "$dir/root/index.html"
  # Running as root is fine: without server.username lighttpd keeps its uid.
  cat > "$dir/lighttpd.conf" <<EOF
server.modules = ( "mod_indexfile", "mod_staticfile" )
server.compat-module-load = "disable"
server.document-root = "$dir/root"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/plain" )
server.bind = "10.2.0.1$n"
server.port = 80
\$SERVER["socket"] == "10.2.100.1:80" { }
server.pid-file = "$dir/lighttpd.pid"
server.errorlog = "$dir/error.log"
server.max-keep-alive-idle = 60
server.max-keep-alive-requests = 10000
EOF
  # lighttpd daemonizes but keeps every descriptor it inherits: close all but 0-2 first, so
  # that it holds no caller's lock (flock) or pipe.
  ( for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    exec ip netns exec "$ns" lighttpd -f "$dir/lighttpd.conf" )
  for _ in $(seq 50); do listening "$ns" && return 0; sleep 0.1; done
  echo "web$n: lighttpd does not listen (see $dir/error.log)" >&2; return 1
}

roadmap() {
  local n ns peer _
  ip -n "$S" addr del 10.2.0.1/24 dev sv0
  ip -n "$S" link set sv0 down
  ip -n "$S" link set sv0 address "$SV_BR_MAC"
  ip -n "$S" link add br0 address "$BR_MAC" type bridge stp_state 0 mcast_snooping 0
  quiet br0 "$S"
  ip -n "$S" link set sv0 master br0
  ip -n "$S" link set sv0 up
  for n in $WEBS; do
    ns=qdpt-web$n peer=w${n}p
    ip netns add "$ns"
    ip link add web0 address "02:00:00:00:06:0$n" netns "$ns" type veth \
      peer name "$peer" address "02:00:00:00:06:f$n" netns "$S"
    quiet web0 "$ns"; quiet "$peer" "$S"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add 10.2.100.1/32 dev lo
    ip -n "$ns" addr add "10.2.0.1$n/24" dev web0
    ip -n "$S" link set "$peer" master br0
    if [ -n "$mtu" ]; then ip -n "$ns" link set web0 mtu "$mtu"; ip -n "$S" link set "$peer" mtu "$mtu"; fi
    ip -n "$S" link set "$peer" up
    ip -n "$ns" link set web0 up
    ip -n "$ns" route add default via 10.2.0.254
  done
  [ -n "$mtu" ] && ip -n "$S" link set br0 mtu "$mtu"
  ip -n "$S" addr add 10.2.0.1/24 dev br0
  ip -n "$S" link set br0 up
  ip -n "$S" route add default via 10.2.0.254
  mkdir -p "$WEB_RUN"
  for n in $WEBS; do web_start "$n"; done
  # The bridge takes its carrier a moment after its ports: return once it forwards.
  for _ in $(seq 50); do ip -n "$S" -o link show br0 | grep -q 'state UP' && return 0; sleep 0.1; done
  echo "br0 has no carrier" >&2; return 1
}

into() { # ns dev...: move veth ends into an appliance's namespace, quiet and up
  local ns=$1 d; shift
  for d in "$@"; do
    ip link set "$d" netns "$ns"
    quiet "$d" "$ns"
    ip -n "$ns" link set "$d" up
  done
}

openstack() {
  linux_sf "$FC" sfc0 "$SFC_MAC" qfc0 "$QFC_MAC" 2
  ip -n "$C" link set cl0 mtu 1400
  ip -n "$S" link set sv0 mtu 1400
  ip netns add "$EA"
  ip netns add "$EB"
  ip -n "$EA" link set lo up
  ip -n "$EB" link set lo up
  ip netns exec "$EA" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$EB" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add ua0 address "$UA_MAC" netns "$EA" type veth peer name ub0 address "$UB_MAC" netns "$EB"
  quiet ua0 "$EA"; quiet ub0 "$EB"
  ip -n "$EA" link set ua0 up; ip -n "$EB" link set ub0 up
  into "$EA" qc0 qf0 qfb0
  into "$EB" qs0 qfc0
}

web_n() { # N: checks it names a backend
  case " $WEBS " in *" ${1:-} "*) ;; *) echo "usage: $0 web-stop|web-start 1|2|3" >&2; exit 2 ;; esac
}

case "${1:-}" in
  up) up 0 ;;
  up-sf2) up 0; qdp_sf ;;
  up-sf) up 0; linux_sf "$F" sf0 "$SF_MAC" qf0 "$QF_MAC" 0 ;;
  up-sf-pair) up 0; linux_sf "$F" sf0 "$SF_MAC" qf0 "$QF_MAC" 0; linux_sf "$FB" sfb0 "$SFB_MAC" qfb0 "$QFB_MAC" 1 ;;
  up-memif) up 0; ip netns add "$M"; ip -n "$M" link set lo up ;;
  up-direct) up 1 ;;
  up-roadmap) up 0; roadmap ;;
  up-openstack) up 0; linux_sf "$F" sf0 "$SF_MAC" qf0 "$QF_MAC" 0; linux_sf "$FB" sfb0 "$SFB_MAC" qfb0 "$QFB_MAC" 1; openstack ;;
  web-stop) web_n "${2:-}"; web_stop "$2" ;;
  web-start) web_n "${2:-}"; web_start "$2" ;;
  down) down ;;
  *) echo "usage: $0 [--mtu N] [--threaded-napi] up|up-direct|up-sf|up-sf-pair|up-sf2|up-memif|up-roadmap|up-openstack|web-stop N|web-start N|down" >&2; exit 2 ;;
esac
