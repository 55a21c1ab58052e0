#!/usr/bin/env bash
# Builds the guest that tests/vhost.rs and bench/vhost.sh boot under QEMU: Debian's own kernel
# (the linux-image-6.1.*-amd64 package that linux-image-amd64 depends on) and an initramfs made
# of Debian packages only: busybox-static, iperf3 with its shared libraries (from the installed
# iperf3, found with ldd), the virtio-net modules, and init.sh as /init. No image is downloaded.
#
#   tests/guest/build.sh [DIR]     default DIR: target/guest; prints DIR
#
# DIR gets vmlinuz and initramfs.cpio.gz; a DIR that holds both, built from the same init.sh
# and kernel package, is reused as it is. Needs apt-get (the package mirror), gzip, cpio (or busybox's),
# busybox-static and iperf3 (tests/install-deps.sh installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../target/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The kernel package linux-image-amd64 stands for (e.g. linux-image-6.1.0-57-amd64).
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$pkg" ] || { echo "build.sh: apt-cache knows no linux-image-amd64 (apt-get update?)" >&2; exit 1; }
stamp="$pkg $(sha256sum "$here/init.sh" "$0" | sha256sum | cut -c1-16)"
if [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs.cpio.gz" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$out"; exit 0
fi
for tool in busybox iperf3 gzip; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool missing (tests/install-deps.sh installs it)" >&2; exit 1; }
done
busybox=/bin/busybox
file -b "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/busybox$' || true)
[ -x "$busybox" ] || { echo "build.sh: no static busybox (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) \
  || { echo "build.sh: apt-get download $pkg failed" >&2; exit 1; }
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/pkg"
kver=${pkg#linux-image-}
root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,etc,lib/modules}

# Modules in load order; none of them is built into Debian's kernel. Plain .ko, or .ko.xz.
mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"
for m in $mods; do
  f=$(find "$work/pkg/lib/modules/$kver" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
  [ -n "$f" ] || { echo "build.sh: $m not in $pkg" >&2; exit 1; }
  case "$f" in
    *.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done
echo "$mods" >"$root/lib/modules/order"

cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done

# iperf3 and every library it loads, at the same paths, with the dynamic loader.
ipf=$(command -v iperf3)
cp "$ipf" "$root/bin/iperf3.bin"
rm -f "$root/bin/iperf3"
mv "$root/bin/iperf3.bin" "$root/bin/iperf3"
ldd "$ipf" | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"

install -m 755 "$here/init.sh" "$root/init"
cp "$work/pkg/boot/vmlinuz-$kver" "$out/vmlinuz"
cpio=(cpio --quiet); command -v cpio >/dev/null || cpio=("$busybox" cpio)
(cd "$root" && find . | "${cpio[@]}" -o -H newc | gzip -1) >"$out/initramfs.cpio.gz"
echo "$stamp" >"$out/stamp"
echo "$out"
