#!/usr/bin/env bash
# A VM on vhost-user: iperf3 TCP Gbit/s (client → VM and back, -R) from the client namespace to
# the test guest (tests/guest/build.sh) behind a vhost-user port, forwarded by qdp's cross-connect
# and, in the same run, by dpdk-testpmd --forward-mode=io with the same two ports (net_af_packet
# on qc0, net_vhost to the guest); then the full chain of pipelines/kernel-chain-vm.toml (client →
# fw → VM as an NSH-unaware SF → count → server, and back), which only qdp can run.
#
#   bash bench/vhost.sh [--rounds N] [--seconds S] [--accel tcg|kvm]
#
# The guest runs under QEMU pinned to CPU 0 with the hosts; the forwarders' one forwarding core
# is CPU 1. --accel kvm where KVM boots Debian's kernel (default tcg: software emulation, which
# bounds what the guest itself carries, for both forwarders alike). Run as root. QDP=/path/to/qdp
# runs that binary instead of building target/release/qdp.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=2 seconds=5 accel=tcg
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] [--accel tcg|kvm]" >&2; exit 2 ;;
  esac
done
case "$accel" in tcg) cpu=max ;; kvm) cpu=host ;; *) echo "--accel: tcg or kvm" >&2; exit 2 ;; esac
if [ -n "${QDP:-}" ]; then qdp=$QDP; else cargo build --release -q -p qdp; qdp=target/release/qdp; fi
guest=$(bash tests/guest/build.sh)
work=$(mktemp -d)
cleanup() {
  [ -n "${vm:-}" ] && kill "$vm" 2>/dev/null && wait "$vm" 2>/dev/null
  [ -n "${fwd:-}" ] && kill "$fwd" 2>/dev/null && wait "$fwd" 2>/dev/null
  bash tests/topology.sh down
  rm -rf "$work"
}
trap cleanup EXIT
median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print 0; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

boot() { # socket kernel-arguments: boot the guest on a vhost-user socket, wait for its init
  taskset -c 0 qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 256 -smp 1 -nographic -no-reboot \
    -nodefaults -serial stdio -kernel "$guest/vmlinuz" -initrd "$guest/initramfs.cpio.gz" \
    -append "console=ttyS0 panic=-1 quiet $2" \
    -object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
    -chardev "socket,id=c0,path=$1" -netdev vhost-user,id=n0,chardev=c0 \
    -device virtio-net-pci,netdev=n0,mac=02:00:00:00:03:01,vectors=0,csum=off,gso=off,guest_csum=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off \
    >"$work/console.log" 2>&1 &
  vm=$!
  for _ in $(seq 1200); do
    grep -q "qdp-guest: up" "$work/console.log" && return 0
    kill -0 "$vm" 2>/dev/null || break
    sleep 0.1
  done
  echo "guest did not boot under $accel:" >&2; tail -20 "$work/console.log" >&2; exit 1
}
stop_vm() { kill "$vm" 2>/dev/null || true; wait "$vm" 2>/dev/null || true; vm=""; }
stop_fwd() { kill -INT "$fwd" 2>/dev/null || true; wait "$fwd" 2>/dev/null || true; fwd=""; }

wait_ping() { # dst
  for _ in $(seq 60); do ip netns exec qdpt-client ping -c 1 -W 1 "$1" >/dev/null 2>&1 && return 0; done
  echo "no ping to $1" >&2; tail -20 "$work/fwd.log" >&2; exit 1
}

tcp_gbps() { # dst [-R]: one iperf3 TCP run, Gbit/s at the receiver
  ip netns exec qdpt-client iperf3 -c "$1" -A 0 -t "$seconds" -J ${2:-} \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)'
}

# Server in the chain's server namespace (the VM is then a router in the middle).
chain_gbps() { # [-R]
  ip netns exec qdpt-server iperf3 -s -1 -B 10.2.0.1 -A 0 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.5
  tcp_gbps 10.2.0.1 "${1:-}"
  kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true
}

direct="qdp.addr=10.1.0.2/24 qdp.iperf=1"
routed="qdp.addr=10.99.0.1/24 qdp.gw=10.99.0.254 qdp.routes=10.1.0.0/24,10.2.0.0/24"
cat >"$work/xc.toml" <<TOML
name = "bench-vhost-xc"
[eal]
cores = [0, 1]
file_prefix = "qdp-bench-vh"
hugepages = "off"
memory_mb = 512
log_level = "warning"
[[ports]]
name = "client"
vdev = "net_af_packet0,iface=qc0,qpairs=1,framecnt=4096"
[[ports]]
name = "vm"
vdev = "net_vhost0,iface=vh.sock,queues=1"
[[workers]]
name = "w0"
core = 1
rx = ["client", "vm"]
[[cross_connect]]
a = "client"
b = "vm"
TOML

declare -A tcp
for r in $(seq "$rounds"); do
  bash tests/topology.sh up
  # testpmd io: qc0 <-> the guest.
  timeout 900 dpdk-testpmd -l 0,1 --file-prefix qdp-bench-vh --no-pci --no-huge -m 1024 \
    --vdev net_af_packet0,iface=qc0,qpairs=1,framecnt=4096 --vdev "net_vhost0,iface=$work/vh.sock,queues=1" \
    --log-level=error -- --forward-mode=io --nb-cores=1 --total-num-mbufs 32768 --stats-period 60 >"$work/fwd.log" 2>&1 &
  fwd=$!
  for _ in $(seq 100); do [ -S "$work/vh.sock" ] && break; sleep 0.1; done
  boot "$work/vh.sock" "$direct"; wait_ping 10.1.0.2
  tcp[testpmd,to]+="$(tcp_gbps 10.1.0.2) "; tcp[testpmd,from]+="$(tcp_gbps 10.1.0.2 -R) "
  stop_vm; stop_fwd; rm -f "$work/vh.sock"
  # qdp's cross-connect: the same two ports.
  "$qdp" run "$work/xc.toml" --socket "$work/qdp.sock" >"$work/fwd.log" 2>&1 &
  fwd=$!
  for _ in $(seq 100); do [ -S "$work/vh.sock" ] && break; sleep 0.1; done
  boot "$work/vh.sock" "$direct"; wait_ping 10.1.0.2
  tcp[qdp,to]+="$(tcp_gbps 10.1.0.2) "; tcp[qdp,from]+="$(tcp_gbps 10.1.0.2 -R) "
  stop_vm; stop_fwd
  # qdp's chain through the VM.
  "$qdp" run pipelines/kernel-chain-vm.toml --socket "$work/qdp.sock" >"$work/fwd.log" 2>&1 &
  fwd=$!
  for _ in $(seq 100); do [ -S "$work/vm-sf.sock" ] && break; sleep 0.1; done
  boot "$work/vm-sf.sock" "$routed"; wait_ping 10.2.0.1
  tcp[chain,to]+="$(chain_gbps) "; tcp[chain,from]+="$(chain_gbps -R) "
  stop_vm; stop_fwd
done

echo "iperf3 TCP through a VM on vhost-user (guest under $accel), Gbit/s, median of $rounds:"
printf '%-44s %10s %10s\n' "" "to the VM" "from it"
for k in testpmd qdp; do
  printf "%-44s %10s %10s\n" "$k, net_af_packet <-> net_vhost" \
    "$(tr ' ' '\n' <<<"${tcp[$k,to]}" | median)" "$(tr ' ' '\n' <<<"${tcp[$k,from]}" | median)"
done
printf '%-44s %10s %10s\n' "qdp chain: client -> fw -> VM -> count -> server" \
  "$(tr ' ' '\n' <<<"${tcp[chain,to]}" | median)" "$(tr ' ' '\n' <<<"${tcp[chain,from]}" | median)"
