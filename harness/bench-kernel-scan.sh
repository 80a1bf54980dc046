#!/usr/bin/env bash
# The static map of a whole kernel, side by side with `objdump -d` of the
# same file, in one run (not run in CI):
#
#   harness/bench-kernel-scan.sh VMLINUX [PROBESAFE]
#
# VMLINUX: a vmlinux with DWARF, e.g. Debian's linux-image-6.1.0-50-arm64-dbg
# (usr/lib/debug/boot/vmlinux-6.1.0-50-arm64). PROBESAFE defaults to
# target/release/probesafe (built first when missing). Prints, for each
# command, the wall time and the peak memory (maximum resident set size, from
# /usr/bin/time -v) and the output's size; then the number of hazardous ranges
# and the ratio of each scan's time to objdump's (wall clock, and CPU time:
# objdump runs on one core, probesafe on all of them).
set -euo pipefail
cd "$(dirname "$0")/.."
vmlinux=${1:?usage: $0 VMLINUX [PROBESAFE]}
probesafe=${2:-target/release/probesafe}
if [ ! -x "$probesafe" ]; then
    cargo build --release --locked
fi
[ -x /usr/bin/time ] || { echo "$0: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
arch=$(LC_ALL=C readelf -h "$vmlinux" | sed -n 's/^ *Machine: *//p')
case "$arch" in
    AArch64) objdump=aarch64-linux-gnu-objdump ;;
    PowerPC64) objdump=powerpc64-linux-gnu-objdump ;;
    *X86-64*) objdump=objdump ;;
    *) objdump=objdump ;;
esac
command -v "$objdump" >/dev/null || objdump=objdump
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# run NAME OUTPUT COMMAND...: time COMMAND with its output in OUTPUT.
declare -A wall cpu peak size
run() {
    local name=$1 output=$2
    shift 2
    /usr/bin/time -v -o "$out/$name.time" "$@" >"$output" 2>"$out/$name.err" || {
        echo "$0: $name failed:" >&2
        cat "$out/$name.err" "$out/$name.time" >&2
        exit 1
    }
    wall[$name]=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f", s }' \
        "$out/$name.time")
    cpu[$name]=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$out/$name.time")
    peak[$name]=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$out/$name.time")
    size[$name]=$(stat -c %s "$output")
}

echo "$vmlinux ($arch, $(stat -c %s "$vmlinux") bytes), $(nproc) cores"
run objdump "$out/objdump.txt" "$objdump" -d "$vmlinux"
run blacklist "$out/blacklist.txt" "$probesafe" scan --static-only --format blacklist "$vmlinux"
run json "$out/scan.json" "$probesafe" scan --static-only --format json "$vmlinux"

ranges=$(wc -l <"$out/blacklist.txt")
points=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(sum(s.values()), "points:", ", ".join(f"{v} {k}" for k, v in s.items()))' "$out/scan.json" 2>/dev/null || echo "?")
entries=$(grep -c '^    {' "$out/scan.json" || true)
printf '%-46s %9s %8s %11s %13s\n' "command" "wall s" "cpu s" "peak MiB" "output MiB"
for name in objdump blacklist json; do
    case $name in
        objdump) label="$objdump -d" ;;
        blacklist) label="probesafe scan --static-only --format blacklist" ;;
        json) label="probesafe scan --static-only --format json" ;;
    esac
    printf '%-46s %9s %8s %11s %13.1f\n' "$label" "${wall[$name]}" "${cpu[$name]}" "${peak[$name]}" \
        "$(echo "${size[$name]} / 1048576" | bc -l)"
done
echo "hazardous ranges: $ranges"
echo "json: $points; $entries entries (points and ranges)"
for name in blacklist json; do
    echo "$name / objdump time: wall $(echo "scale=2; ${wall[$name]} / ${wall[objdump]}" | bc -l), cpu $(echo "scale=2; ${cpu[$name]} / ${cpu[objdump]}" | bc -l)"
done
