#!/usr/bin/env bash
# Create SR-IOV VFs on a PF, set their MACs, VLAN and trust, and bind them to vfio-pci for qdp.
#
#   hugepages/qdp-vfs.sh --pf NAME --vfs N [--mac-base MAC] [--vlan ID] [--trust on|off]
#                        [--root DIR] [--dry-run]
#
# --pf NAME       the PF: its network interface (enp3s0f0) or its PCI address (0000:03:00.0)
# --vfs N         VFs the PF should have (1..sriov_totalvfs); a different number already there is
#                 replaced (the kernel removes them all first: stop whatever uses them)
# --mac-base MAC  MAC of VF 0; VF i gets MAC + i (ip link set PF vf i mac ...)
# --vlan ID       port VLAN of every VF (1..4094, 0 for none)
# --trust on|off  trust mode of every VF (on lets it change its MAC and go promiscuous)
# --root DIR      the sysfs tree is under DIR (a copy, for tests): its files are written, and the
#                 ip and modprobe commands, which act on the live kernel, are printed, not run
# --dry-run       print what would be done and change nothing
#
# Idempotent: when the PF has N VFs, each bound to vfio-pci with its settings in place, it does
# nothing. Each action is printed as it is done (or, with --dry-run, as it would be).
set -euo pipefail

pf="" vfs="" mac_base="" vlan="" trust="" root="" dry=0
die() { echo "qdp-vfs: $*" >&2; exit 2; }
need() { # OPTION ARGS...: the option's value, which must be there and not be another option
  [ $# -ge 2 ] && [ "${2#--}" = "$2" ] || die "$1 needs a value"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --pf) need "$@"; pf="$2"; shift 2 ;;
    --vfs) need "$@"; vfs="$2"; shift 2 ;;
    --mac-base) need "$@"; mac_base="$2"; shift 2 ;;
    --vlan) need "$@"; vlan="$2"; shift 2 ;;
    --trust) need "$@"; trust="$2"; shift 2 ;;
    --root) need "$@"; root="$2"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
root="${root%/}"
[ -n "$pf" ] || die "--pf is required (a network interface or a PCI address)"
case "$vfs" in ''|*[!0-9]*) die "--vfs must be a number of VFs, not '$vfs'" ;; esac
vfs=$((10#$vfs))
[ "$vfs" -ge 1 ] || die "--vfs must be at least 1"
if [ -n "$vlan" ]; then
  case "$vlan" in *[!0-9]*) die "--vlan must be 0..4094, not '$vlan'" ;; esac
  [ "$((10#$vlan))" -le 4094 ] || die "--vlan must be 0..4094, not '$vlan'"
  vlan=$((10#$vlan))
fi
case "$trust" in ''|on|off) ;; *) die "--trust must be on or off, not '$trust'" ;; esac
mac_num=""
if [ -n "$mac_base" ]; then
  [[ "$mac_base" =~ ^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$ ]] ||
    die "--mac-base must be six hex bytes such as 02:00:00:00:10:00, not '$mac_base'"
  mac_num=$((16#${mac_base//:/}))
  (( (mac_num >> 40) & 1 )) && die "--mac-base $mac_base is a multicast address (first byte odd)"
  (( mac_num + vfs - 1 <= 0xffffffffffff )) || die "--mac-base $mac_base + $vfs VFs overflows"
fi
live=1; [ -z "$root" ] || live=0
if [ $live = 1 ] && [ $dry = 0 ] && [ "$(id -u)" != 0 ]; then
  die "run as root (sudo $0 ...), or look first with --dry-run"
fi

sys="$root/sys"
# The PF's PCI directory and its interface.
if [[ "$pf" =~ ^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]]; then
  [[ "$pf" == ????:* ]] || pf="0000:$pf"
  pf="${pf,,}"
  pfdir="$sys/bus/pci/devices/$pf"
  [ -e "$pfdir" ] || die "--pf: no PCI device $pf"
  ifname=$(ls "$pfdir/net" 2>/dev/null | head -1 || true)
else
  [ -e "$sys/class/net/$pf/device" ] || die "--pf: no network interface '$pf' with a PCI device"
  pfdir="$sys/class/net/$pf/device"
  ifname="$pf"
fi
pfdir=$(readlink -f "$pfdir")
pfaddr=$(basename "$pfdir")
[ -r "$pfdir/sriov_totalvfs" ] || die "--pf: $pfaddr offers no SR-IOV (no sriov_totalvfs)"
total=$(cat "$pfdir/sriov_totalvfs")
[ "$vfs" -le "$total" ] || die "--vfs: $vfs is more than the $total VFs $pfaddr offers (sriov_totalvfs)"
if [ -n "$mac_base$vlan$trust" ] && [ -z "$ifname" ]; then
  die "--pf: $pfaddr has no network interface, which --mac-base/--vlan/--trust need (bind the PF to its kernel driver)"
fi

changed=0
say() { # the action, as done or as it would be
  changed=1
  if [ $dry = 1 ]; then echo "would: $*"; else echo "$*"; fi
}
write() { # VALUE PATH-UNDER-ROOT
  local shown="${2#"$root"}"
  say "write '$1' to $shown"
  [ $dry = 1 ] || printf '%s' "$1" > "$2"
}
run_live() { # a command acting on the live kernel: run it only on the live tree
  if [ $live = 0 ]; then
    changed=1
    echo "not run (--root): $*"
  else
    say "$*"
    [ $dry = 1 ] || "$@"
  fi
}

# 1. The number of VFs (the kernel changes it only from 0).
cur=$(cat "$pfdir/sriov_numvfs" 2>/dev/null || echo 0)
if [ "$cur" != "$vfs" ]; then
  if [ "$cur" != 0 ]; then
    echo "warning: $pfaddr has $cur VFs; they are removed and $vfs created (stop what uses them)" >&2
    write 0 "$pfdir/sriov_numvfs"
  fi
  write "$vfs" "$pfdir/sriov_numvfs"
fi

# The address of VF i: its virtfn link once it exists, else from the PF's offset and stride.
vf_addr() {
  local i=$1
  if [ -e "$pfdir/virtfn$i" ]; then basename "$(readlink -f "$pfdir/virtfn$i")"; return; fi
  local off stride dom bus dev fn rid
  off=$(cat "$pfdir/sriov_offset" 2>/dev/null) || { echo "virtfn$i"; return; }
  stride=$(cat "$pfdir/sriov_stride" 2>/dev/null) || { echo "virtfn$i"; return; }
  IFS=':.' read -r dom bus dev fn <<< "$pfaddr"
  rid=$(( (16#$bus << 8 | 16#$dev << 3 | fn) + off + i * stride ))
  printf '%s:%02x:%02x.%x\n' "$dom" $((rid >> 8 & 0xff)) $((rid >> 3 & 0x1f)) $((rid & 7))
}

# 2. MAC, VLAN and trust through the PF, before the VFs leave their kernel driver.
if [ -n "$mac_base$vlan$trust" ]; then
  state=""
  if [ $live = 1 ]; then state=$(ip link show dev "$ifname" 2>/dev/null || true); fi
  for ((i = 0; i < vfs; i++)); do
    line=$(grep -E "^ +vf $i " <<< "$state" || true)
    if [ -n "$mac_num" ]; then
      m=$(printf '%012x' $((mac_num + i)) | sed 's/../&:/g; s/:$//')
      grep -qi "link/ether $m" <<< "$line" || run_live ip link set dev "$ifname" vf "$i" mac "$m"
    fi
    if [ -n "$vlan" ]; then
      if [ "$vlan" = 0 ]; then
        { [ -n "$line" ] && ! grep -q ", vlan " <<< "$line"; } || run_live ip link set dev "$ifname" vf "$i" vlan 0
      else
        grep -q ", vlan $vlan\b" <<< "$line" || run_live ip link set dev "$ifname" vf "$i" vlan "$vlan"
      fi
    fi
    if [ -n "$trust" ]; then
      grep -q "trust $trust" <<< "$line" || run_live ip link set dev "$ifname" vf "$i" trust "$trust"
    fi
  done
fi

# 3. vfio-pci, and every VF bound to it.
[ -e "$sys/bus/pci/drivers/vfio-pci" ] || run_live modprobe vfio-pci
addrs=()
for ((i = 0; i < vfs; i++)); do
  a=$(vf_addr "$i")
  addrs+=("$a")
  d="$sys/bus/pci/devices/$a"
  if [ ! -e "$d" ]; then
    # Only a dry run (or a tree whose VFs are not made yet) gets here.
    [ $dry = 1 ] || { echo "qdp-vfs: VF $i ($a) of $pfaddr did not appear" >&2; exit 1; }
    say "bind $a to vfio-pci once it exists"
    continue
  fi
  drv=""
  [ -e "$d/driver" ] && drv=$(basename "$(readlink -f "$d/driver")")
  [ "$drv" = vfio-pci ] && continue
  write vfio-pci "$d/driver_override"
  [ -z "$drv" ] || write "$a" "$d/driver/unbind"
  write "$a" "$sys/bus/pci/drivers_probe"
  if [ $live = 1 ] && [ $dry = 0 ]; then
    now=$(basename "$(readlink -f "$d/driver" 2>/dev/null)" 2>/dev/null || true)
    [ "$now" = vfio-pci ] || { echo "qdp-vfs: binding $a to vfio-pci failed (see dmesg)" >&2; exit 1; }
  fi
done

if [ $changed = 0 ]; then
  echo "nothing to do: $pfaddr has $vfs VFs bound to vfio-pci"
fi
echo "VFs of $pfaddr for the pipeline file (ports[].pci):"
for ((i = 0; i < vfs; i++)); do
  echo "  vf$i: pci = \"${addrs[$i]}\""
done
