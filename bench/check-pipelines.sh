#!/usr/bin/env bash
# Render every benchmark pipeline (pipelines/bench/*.toml) with test values, both hugepage modes and
# a pcap written by `qdp gen-pcap`, and `qdp check` each; exits non-zero when one fails to render
# or to check. Builds nothing:
#
#   bash bench/check-pipelines.sh                 # target/release/qdp
#   QDP=target/debug/qdp bash bench/check-pipelines.sh
set -euo pipefail
cd "$(dirname "$0")/.."

qdp=${QDP:-target/release/qdp}
[ -x "$qdp" ] || { echo "$0: no qdp at $qdp: cargo build --release -p qdp, or set QDP=/path/to/qdp" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$qdp" gen-pcap --flows 4 -o "$work/test.pcap" >/dev/null
files=()
for f in pipelines/bench/*.toml; do
  for mode in required off; do
    out=$work/$(basename "$f" .toml)-$mode.toml
    python3 bench/render.py "$f" --pcap "$work/test.pcap" --hugepages "$mode" -o "$out"
    files+=("$out")
  done
done
[ "${#files[@]}" -gt 0 ] || { echo "$0: no pipelines/bench/*.toml" >&2; exit 1; }
"$qdp" check "${files[@]}"
echo "check-pipelines: ${#files[@]} rendered files from $(ls pipelines/bench/*.toml | wc -l) pipelines ok"
