#!/usr/bin/env bash
# Runs the built-in demo pipeline (pipelines/demo.toml): installs what is missing, builds qdp and runs
# it until Ctrl-C. Arguments go to `qdp run`, e.g. `pipelines/demo.sh --duration 10`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh --runtime
cargo build --release -q -p qdp
exec target/release/qdp run "$@"
