#!/usr/bin/env bash
# Benchmarks (figures, not tests): trials per second per core on corpus
# regions and the harness's cost relative to an unhooked Unicorn run.
#   harness/bench.sh [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
./harness/setup.sh
cargo bench --locked --bench trials -- "$@"
