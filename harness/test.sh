#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, then
# formatting, lints with warnings denied, and every test.
set -euo pipefail
# Nothing here reads standard input; an inherited one must not leak into
# cargo's `rustc -` probe (its result is cached in target/.rustc_info.json).
exec </dev/null
cd "$(dirname "$0")/.."

./harness/setup.sh
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
