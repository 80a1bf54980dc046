#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, then
# formatting, every test, and lints with warnings denied.
set -euo pipefail
# Nothing here reads standard input; an inherited one must not leak into
# cargo's `rustc -` probe (its result is cached in target/.rustc_info.json).
exec </dev/null
cd "$(dirname "$0")/.."

# Seen on fresh clones of this project on the CI machine: cargo's target
# probe (`rustc -`) read another compiler's error text as its input and
# cargo cached the failure. When a cargo step fails with a failed probe in
# the cache, drop the cache and run the step again (three tries at most).
cargo_step() {
	local try
	for try in 1 2 3; do
		if "$@"; then
			return 0
		fi
		if ! grep -q '"success":false' target/.rustc_info.json 2>/dev/null; then
			return 1
		fi
		echo "test.sh: cargo's rustc probe failed (cached in target/.rustc_info.json); probing again ($try)" >&2
		rm -f target/.rustc_info.json
	done
	return 1
}

./harness/setup.sh
cargo fmt --all -- --check
cargo_step cargo test --locked
cargo_step cargo clippy --locked --all-targets -- -D warnings
