#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test (unit tests, and integration
# tests that drive the real qdp binary over DPDK virtual devices with scapy and tshark as oracles).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
# Integration tests start DPDK processes; one at a time on a small box.
cargo test --workspace -- --test-threads=1
# The benchmark pipelines (pipelines/bench/), rendered, pass `qdp check`.
QDP=target/debug/qdp bash bench/check-pipelines.sh
