#!/usr/bin/env bash
# Reserve hugepages for qdp on every NUMA node (or one), mount hugetlbfs, and print the state.
#
#   hugepages/qdp-hugepages.sh [--pages N] [--size 2M|1G] [--node N] [--mount DIR] [--status]
#
# --pages N   pages to reserve on each node (default 512 of 2 MiB = 1 GiB per node)
# --size      page size: 2M (default) or 1G (1G pages are best reserved at boot:
#             default_hugepagesz=1G hugepagesz=1G hugepages=N on the kernel command line)
# --node N    only this NUMA node
# --mount DIR hugetlbfs mount point (default /dev/hugepages)
# --status    print the state and change nothing
set -euo pipefail

pages=512 size=2M node="" mnt=/dev/hugepages status_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pages) pages="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --node) node="$2"; shift 2 ;;
    --mount) mnt="$2"; shift 2 ;;
    --status) status_only=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "qdp-hugepages: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$size" in
  2M|2m) kb=2048 ;;
  1G|1g) kb=1048576 ;;
  *) echo "qdp-hugepages: --size must be 2M or 1G, not '$size'" >&2; exit 2 ;;
esac
case "$pages" in ''|*[!0-9]*) echo "qdp-hugepages: --pages must be a number" >&2; exit 2 ;; esac

status() {
  echo "hugepages (${kb} kB):"
  local found=0
  for d in /sys/devices/system/node/node*/hugepages/hugepages-${kb}kB; do
    [ -d "$d" ] || continue
    found=1
    n=$(basename "$(dirname "$(dirname "$d")")")
    printf '  %-6s total %6s  free %6s\n' "$n" "$(cat "$d/nr_hugepages")" "$(cat "$d/free_hugepages")"
  done
  if [ $found = 0 ] && [ -d /sys/kernel/mm/hugepages/hugepages-${kb}kB ]; then
    d=/sys/kernel/mm/hugepages/hugepages-${kb}kB
    printf '  %-6s total %6s  free %6s\n' all "$(cat "$d/nr_hugepages")" "$(cat "$d/free_hugepages")"
  fi
  if grep -qs ' hugetlbfs ' /proc/mounts; then
    grep ' hugetlbfs ' /proc/mounts | awk '{print "  mounted: " $2 " (" $4 ")"}'
  else
    echo "  hugetlbfs: not mounted"
  fi
}

if [ $status_only = 1 ]; then status; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "qdp-hugepages: run as root (sudo $0 $*)" >&2; exit 1; }

reserve() { # file pages
  echo "$2" > "$1" 2>/dev/null || true
  got=$(cat "$1")
  [ "$got" -ge "$2" ] || echo "warning: asked for $2 pages in $1, the kernel gave $got (memory fragmented or too small)" >&2
}

nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null || true)
if [ -n "$nodes" ] && [ -d "$(echo "$nodes" | head -1)/hugepages/hugepages-${kb}kB" ]; then
  for n in $nodes; do
    id=${n##*node}
    [ -z "$node" ] || [ "$node" = "$id" ] || continue
    reserve "$n/hugepages/hugepages-${kb}kB/nr_hugepages" "$pages"
  done
elif [ -d /sys/kernel/mm/hugepages/hugepages-${kb}kB ]; then
  reserve /sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages "$pages"
else
  echo "qdp-hugepages: this kernel offers no ${size} hugepages" >&2; exit 1
fi

if ! grep -qs " $mnt hugetlbfs " /proc/mounts; then
  mkdir -p "$mnt"
  if [ "$kb" = 2048 ]; then mount -t hugetlbfs nodev "$mnt"; else mount -t hugetlbfs -o pagesize=1G nodev "$mnt"; fi
fi
status
