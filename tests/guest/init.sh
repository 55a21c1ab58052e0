#!/bin/sh
# /init of the test guest (tests/guest/build.sh): loads the virtio-net modules, configures eth0
# from the kernel command line, routes, optionally runs an iperf3 server, and prints eth0's
# counters to the console once a second, for the host to read:
#
#   qdp.addr=10.99.0.1/24       eth0's address
#   qdp.gw=10.99.0.254          the next hop of qdp.routes (qdp's address on the vhost port)
#   qdp.gwmac=MAC               a static neighbour entry for qdp.gw (else ARP finds it)
#   qdp.routes=NET,NET          routed via qdp.gw; with any route the guest forwards (ip_forward)
#   qdp.iperf=1                 run an iperf3 server (port 5201)
#
# Console lines: "qdp-guest: up ..." once eth0 is configured, then every second
# "qdp-guest: eth0 rx_packets=N rx_bytes=N tx_packets=N tx_bytes=N rx_dropped=N tx_dropped=N".
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko || echo "qdp-guest: insmod $m failed"; done
addr= gw= gwmac= routes= iperf=
for kv in $(cat /proc/cmdline); do
  case "$kv" in
    qdp.addr=*) addr=${kv#qdp.addr=} ;;
    qdp.gw=*) gw=${kv#qdp.gw=} ;;
    qdp.gwmac=*) gwmac=${kv#qdp.gwmac=} ;;
    qdp.routes=*) routes=${kv#qdp.routes=} ;;
    qdp.iperf=*) iperf=${kv#qdp.iperf=} ;;
  esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# No IPv6 chatter (neighbour discovery, MLD) from the SF: what it sends back is what it was given.
for c in all default eth0; do echo 1 >/proc/sys/net/ipv6/conf/$c/disable_ipv6 2>/dev/null; done
ip link set lo up
ip link set eth0 up
[ -n "$addr" ] && ip addr add "$addr" dev eth0
[ -n "$gwmac" ] && ip neigh replace "$gw" lladdr "$gwmac" dev eth0 nud permanent
if [ -n "$routes" ]; then
  echo 1 >/proc/sys/net/ipv4/ip_forward
  echo 0 >/proc/sys/net/ipv4/conf/all/send_redirects
  echo 0 >/proc/sys/net/ipv4/conf/eth0/send_redirects
  echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter
  echo 0 >/proc/sys/net/ipv4/conf/eth0/rp_filter
  for r in $(echo "$routes" | tr , ' '); do ip route add "$r" via "$gw" dev eth0; done
fi
[ "$iperf" = 1 ] && iperf3 -s -D >/dev/null 2>&1
echo "qdp-guest: up $(cat /sys/class/net/eth0/address) addr=$addr routes=$routes iperf=$iperf"
s=/sys/class/net/eth0/statistics
while true; do
  echo "qdp-guest: eth0 rx_packets=$(cat $s/rx_packets) rx_bytes=$(cat $s/rx_bytes) tx_packets=$(cat $s/tx_packets) tx_bytes=$(cat $s/tx_bytes) rx_dropped=$(cat $s/rx_dropped) tx_dropped=$(cat $s/tx_dropped)"
  sleep 1
done
