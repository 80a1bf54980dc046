#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, then
# formatting, lints with warnings denied, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

./harness/setup.sh
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
