#!/usr/bin/env bash
# Installs what qdp needs to build, run and test on Debian 12 (bookworm), and reserves hugepages
# when it can. Safe to run again: it installs only what is missing.
#
#   tests/install-deps.sh [--runtime]     --runtime: only what building and running qdp needs
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(dpdk dpdk-dev libdpdk-dev pkg-config clang libclang-dev libpcap-dev)
[ "${1:-}" = "--runtime" ] || pkgs+=(tshark python3-scapy netsniff-ng iproute2 iperf3 ethtool iputils-ping nftables e2fsprogs util-linux passwd systemd qemu-system-x86 busybox-static cpio xz-utils lighttpd curl mariadb-server)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The roadmap topology runs its own lighttpds in namespaces: the system's service would only hold
# port 80 and /run/lighttpd.pid (where there is no systemd, this does nothing and fails nothing).
if [ "${1:-}" != "--runtime" ] && command -v systemctl >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo systemctl disable --now lighttpd >/dev/null 2>&1 || true
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }

# Hugepages make qdp faster; without them qdp runs with --no-huge and says so.
if [ "$(id -u)" = 0 ]; then
  hugepages/qdp-hugepages.sh --pages 1024 >/dev/null 2>&1 \
    || echo "note: could not reserve hugepages here; qdp will run with --no-huge"
fi
hugepages/qdp-hugepages.sh --status
