#!/usr/bin/env bash
# `probesafe diff` of two kernels, one probesafe against another, side by
# side in one run (not run in CI):
#
#   harness/bench-diff.sh A B [PROBESAFE [OLD_PROBESAFE]]
#
# A, B: two builds with DWARF, e.g. Debian's 6.1.0-50 arm64 and cloud-arm64
# vmlinux (linux-image-6.1.0-50-arm64-dbg and -cloud-arm64-dbg,
# usr/lib/debug/boot/vmlinux-*). PROBESAFE defaults to
# target/release/probesafe (built first when missing); OLD_PROBESAFE, when
# given, is run the same way, in turn with it (ROUNDS rounds, default 2).
# Prints per run the wall time and peak memory (maximum resident set size,
# from /usr/bin/time -v); per binary the text report's lines, longest line and
# size, the size of the JSON report (new binary only), and the headline.
set -euo pipefail
cd "$(dirname "$0")/.."
a=${1:?usage: $0 A B [PROBESAFE [OLD_PROBESAFE]]}
b=${2:?usage: $0 A B [PROBESAFE [OLD_PROBESAFE]]}
new=${3:-target/release/probesafe}
old=${4:-}
rounds=${ROUNDS:-2}
if [ ! -x "$new" ]; then
    cargo build --release --locked
fi
[ -x /usr/bin/time ] || { echo "$0: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# run NAME OUTPUT COMMAND...: time COMMAND with its output in OUTPUT.
run() {
    local name=$1 output=$2
    shift 2
    /usr/bin/time -v -o "$out/$name.time" "$@" >"$output" 2>"$out/$name.err" || {
        echo "$0: $name failed:" >&2
        cat "$out/$name.err" "$out/$name.time" >&2
        exit 1
    }
    awk -F': ' -v name="$name" '
        /Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
        /Maximum resident set size/ { m = $2 / 1024 }
        END { printf "%-12s %8.1f s %8.0f MiB\n", name, s, m }' "$out/$name.time"
}

echo "a: $a ($(stat -c %s "$a") bytes)"
echo "b: $b ($(stat -c %s "$b") bytes)"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
    if [ -n "$old" ]; then
        run "old-$round" "$out/old.txt" "$old" diff "$a" "$b"
    fi
    run "new-$round" "$out/new.txt" "$new" diff "$a" "$b"
done
run "new-json" "$out/new.json" "$new" diff "$a" "$b" --format json
run "new-all" "$out/new-all.txt" "$new" diff "$a" "$b" --all

# shape FILE: lines, longest line, bytes.
shape() {
    awk '{ if (length($0) > m) m = length($0) } END { printf "%d lines, longest %d characters", NR, m }' "$1"
    printf ', %s bytes\n' "$(stat -c %s "$1")"
}
for name in old new new-all; do
    [ -f "$out/$name.txt" ] || continue
    echo "$name text: $(shape "$out/$name.txt")"
done
echo "new json: $(stat -c %s "$out/new.json") bytes"
echo "headline:"
sed -n '3p' "$out/new.txt"
sed -n '4p' "$out/new.txt"
