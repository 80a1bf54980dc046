#!/usr/bin/env bash
# Instructions per trial of the benchmark regions (benches/cases.rs),
# counted by callgrind: a count does not depend on how busy the machine is,
# so two builds (two commits, or a change and main) compare exactly where
# timings on a shared 2-core machine move by 10% from run to run.
#   harness/bench-instructions.sh [TRIALS] [TARGET/FUNCTION ...]
# Prints, per region, the host instructions of one trial (the run with
# TRIALS trials minus the set-up alone, divided by TRIALS).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
n=${1:-2000}
shift || true
regions=("$@")
[ ${#regions[@]} -gt 0 ] || regions=(x86_64/add3 x86_64/atomic_cas_long aarch64/add3
    aarch64/atomic_cas_long aarch64/llsc_loop ppc64/atomic_cas_long ppc64/llsc_loop
    ppc64le/atomic_cas_long ppc64le/llsc_loop)
cargo build --release --locked --example trial_loop >/dev/null 2>&1
bin=target/release/examples/trial_loop
count() {
    # Unicorn writes code it then runs: callgrind must check for it.
    valgrind --tool=callgrind --smc-check=all --callgrind-out-file=/dev/null \
        "$bin" "$1" "$2" 2>&1 | sed -n 's/.*Collected : //p'
}
printf '%-26s %14s\n' region 'instr/trial'
for r in "${regions[@]}"; do
    base=$(count 0 "$r")
    full=$(count "$n" "$r")
    printf '%-26s %14s\n' "$r" "$(( (full - base) / n ))"
done
