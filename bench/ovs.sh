# Open vSwitch (DPDK datapath) as an NSH SFF, the peer the SFC figures are compared with. Sourced by
# the bench scripts, not run. Needs Debian's openvswitch-switch-dpdk (apt-get install -y
# openvswitch-switch-dpdk); ovs_sff_rate prints "skip" without it.
#
# The daemons run with their own database and sockets in a scratch folder and are stopped by PID.
# Topology (OVS userspace tunnelling):
#   bridge qdpb-phy (netdev, MAC 02:00:00:00:00:02, VTEP 10.0.0.2 on its internal port):
#     port in  = net_pcap replay of VXLAN-GPE + NSH to 10.0.0.2, port out = net_null sink;
#     flows: UDP 4790 to the VTEP from in -> LOCAL (tunnel pop), UDP 4790 from the VTEP on LOCAL
#     -> out (encapsulated packets leave); anything else is dropped (no flow, no controller).
#   bridge qdpb-int (netdev): vxlan ports with exts=gpe, packet_type=ptap, dst_port 4790:
#     gpe-in (remote_ip=flow) and gpe-out (remote_ip=10.0.0.3, ARP entry 02:00:00:00:00:03);
#     flow packet_type=(1,0x894f),nsh_spi=SPI,nsh_si=255 actions=dec_nsh_ttl,output:gpe-out.
# Same work as qdp's SFF transit: pop, TTL - 1, look up (SPI, SI), push toward the next SFF.
#
# Tuning (OVS-DPDK's performance guides; bench/README.md gives the reasons and the rates):
#   one PMD thread on CPU 1 (pmd-cpu-mask=0x2); both daemons started under taskset -c 0 and
#   dpdk-lcore-mask=0x1, so every other thread (main, handler, revalidator, urcu, DPDK's
#   eal-intr-thread and telemetry, ovsdb-server) stays on CPU 0; one handler, one revalidator;
#   the signature match cache on (smc-enable=true); the EMC at its default insertion probability;
#   pmd-perf-metrics off (the default). The counter is read twice (after the first second and at
#   the end), not every second, so the measurement does not load the switch.

ovs_vswitchd=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk

ovs_available() { [ -x "$ovs_vswitchd" ] && command -v ovsdb-server >/dev/null && command -v ovs-vsctl >/dev/null; }

ovs_stop() { # dir
  local d=$1
  for p in vswitchd ovsdb; do
    [ -f "$d/$p.pid" ] && kill "$(cat "$d/$p.pid")" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    { [ -f "$d/vswitchd.pid" ] && kill -0 "$(cat "$d/vswitchd.pid" 2>/dev/null)" 2>/dev/null; } || break
    sleep 0.1
  done
  ip link del qdpb-phy 2>/dev/null || true
  ip link del qdpb-int 2>/dev/null || true
}

# ovs_sff_rate PCAP SECONDS [SPI]: median Mpps leaving the null port (first second skipped).
ovs_sff_rate() { ovs_sff_samples "$@" | median; }

# ovs_sff_samples PCAP SECONDS [SPI]: the Mpps leaving the null port, one a line, or "skip" when
# Open vSwitch with DPDK is not installed. The first second is skipped; the rate is the packets
# counted from then to the end over SECONDS - 1, printed SECONDS - 1 times (one line per second
# measured, as the callers expect, all equal: their median is that average).
ovs_sff_samples() {
  local pcap=$1 secs=$2 spi=${3:-100}
  ovs_available || { echo skip; return 0; }
  local d; d=$(mktemp -d)
  (
    export OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d
    local db=unix:$d/db.sock
    local v="ovs-vsctl --db=$db --timeout=30"
    ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    # Non-PMD threads on CPU 0: threads inherit the launch affinity (DPDK's control threads too);
    # the PMD thread pins itself to pmd-cpu-mask's CPU 1.
    taskset -c 0 ovsdb-server "$d/conf.db" --remote=punix:"$d/db.sock" --pidfile="$d/ovsdb.pid" \
      --detach --log-file="$d/ovsdb.log"
    $v --no-wait init
    # Hugepages: 1 GiB on the one socket. --no-huge (ovs_mem_extra="--no-huge -m 1024"): no
    # --socket-mem (it excludes -m), and --legacy-mem, which keeps OVS from adding --in-memory
    # (DPDK refuses --in-memory with the legacy memory model --no-huge implies).
    local mem=other_config:dpdk-socket-mem=1024 extra=""
    case " ${ovs_mem_extra:-} " in *" --no-huge "*) mem="" extra=--legacy-mem;; esac
    $v --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x1 \
      other_config:pmd-cpu-mask=0x2 $mem \
      other_config:n-handler-threads=1 other_config:n-revalidator-threads=1 \
      other_config:smc-enable=true \
      "other_config:dpdk-extra=--no-pci --file-prefix qdp-bench-ovs ${ovs_mem_extra:-} $extra"
    taskset -c 0 "$ovs_vswitchd" "$db" --pidfile="$d/vswitchd.pid" --detach --log-file="$d/vswitchd.log" >&2 \
      || { echo "ovs-vswitchd did not start (DPDK init failed?)" >&2; exit 1; }
    $v add-br qdpb-phy -- set bridge qdpb-phy datapath_type=netdev other_config:hwaddr=02:00:00:00:00:02
    $v add-port qdpb-phy in -- set Interface in type=dpdk "options:dpdk-devargs=net_pcap0,rx_pcap=$pcap,infinite_rx=1"
    $v add-port qdpb-phy out -- set Interface out type=dpdk "options:dpdk-devargs=net_null1,no-rx=1"
    ip addr add 10.0.0.2/24 dev qdpb-phy && ip link set qdpb-phy up
    $v add-br qdpb-int -- set bridge qdpb-int datapath_type=netdev
    $v add-port qdpb-int gpe-in -- set interface gpe-in type=vxlan options:remote_ip=flow \
      options:dst_port=4790 options:exts=gpe options:packet_type=ptap
    $v add-port qdpb-int gpe-out -- set interface gpe-out type=vxlan options:remote_ip=10.0.0.3 \
      options:dst_port=4790 options:exts=gpe options:packet_type=ptap
    local ctl; ctl=$(ls "$d"/ovs-vswitchd*.ctl)
    ovs-appctl -t "$ctl" tnl/arp/set qdpb-phy 10.0.0.3 02:00:00:00:00:03 >/dev/null
    ovs-ofctl del-flows qdpb-phy
    ovs-ofctl add-flow qdpb-phy "priority=100,in_port=in,udp,nw_dst=10.0.0.2,tp_dst=4790,actions=LOCAL"
    ovs-ofctl add-flow qdpb-phy "priority=100,in_port=LOCAL,udp,nw_src=10.0.0.2,tp_dst=4790,actions=output:out"
    ovs-ofctl del-flows qdpb-int
    ovs-ofctl -O OpenFlow13 add-flow qdpb-int \
      "in_port=gpe-in,packet_type=(1,0x894f),nsh_spi=$spi,nsh_si=255,actions=dec_nsh_ttl,output:gpe-out"
    local n=$((secs > 1 ? secs - 1 : 1)) c1 c2
    tx_out() { ovs-ofctl dump-ports qdpb-phy out | awk '/tx pkts=/{sub(/.*tx pkts=/,""); sub(/,.*/,""); print; exit}'; }
    sleep 1
    c1=$(tx_out)
    sleep "$n"
    c2=$(tx_out)
    for _ in $(seq "$n"); do awk -v a="$c1" -v b="$c2" -v n="$n" 'BEGIN{printf "%.3f\n", (b-a)/n/1e6}'; done
  ) 2>"$d/errors.log"
  if [ -s "$d/errors.log" ] && grep -qiv "^$" "$d/errors.log"; then cp "$d/errors.log" "${work:-/tmp}/ovs-errors.log"; fi
  ovs_stop "$d"
  rm -rf "$d"
}
