#!/usr/bin/env bash
# Benchmark (figures, not a test): `probesafe fuzz` (every instruction
# boundary) on whole corpus binaries and on Debian's arm64 and ppc64el
# libc.so.6, with 1 worker and with all cores, run side by side: points/s,
# trials/s per core, the speed-up, and whether the two reports are
# byte-identical; then every exclusive load of arm64 libc.so.6, confirmed
# by emulation in an every-boundary run, with its wall time.
#   harness/bench-fuzz.sh [CASES]      (default 8 cases per point)
# libc: fetched with apt-get download libc6:arm64 / libc6:ppc64el (after
# dpkg --add-architecture, as root); without network the cross toolchains'
# /usr/<triplet>/lib/libc.so.6 is used if present.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
cases=${1:-8}
cargo build --release --locked >/dev/null 2>&1
bin=target/release/probesafe
work=target/bench-fuzz
mkdir -p "$work"

# shellcheck source=harness/libc.sh
source harness/libc.sh
libc=$(fetch_libc arm64 aarch64-linux-gnu)
libc_ppc=$(fetch_libc ppc64el powerpc64le-linux-gnu)
cores=$(nproc)

run() { # binary jobs report -> "seconds points trials"
	"$bin" fuzz "$1" --jobs "$2" --cases "$cases" --stats --format json -o "$3" 2>&1 >/dev/null |
		sed -n 's/.*, \([0-9]*\) points, \([0-9]*\) trials in \([0-9.]*\) s.*/\3 \1 \2/p'
}

printf '%-30s %8s %10s %9s %14s %9s %10s\n' binary points "points/s" trials "trials/s/core" speed-up "same report"
for b in corpora/{x86_64,aarch64,aarch64-lse,ppc64,ppc64le}/hazards.so "$libc" "$libc_ppc"; do
	[[ -f $b ]] || continue
	read -r t1 points trials < <(run "$b" 1 "$work/one.json")
	read -r tn _ _ < <(run "$b" "$cores" "$work/all.json")
	same=no
	cmp -s "$work/one.json" "$work/all.json" && same=yes
	label=$b
	[[ $b == "$libc" ]] && label="arm64 libc.so.6"
	[[ $b == "$libc_ppc" ]] && label="ppc64el libc.so.6"
	awk -v b="$label" -v p="$points" -v tr="$trials" -v t1="$t1" -v tn="$tn" -v s="$same" 'BEGIN {
		printf "%-30s %8d %10.0f %9d %14.0f %8.2fx %10s\n", b, p, p / tn, tr, tr / t1, t1 / tn, s }'
done
echo "(trials: a group trial, which stands for the one-point trials of every"
echo " boundary outside the static windows of a function for one input, counts"
echo " as one; 1 worker then $cores, times from --stats, loading excluded)"

echo
echo "exclusive loads of $libc (every boundary, all cores, $cases cases):"
/usr/bin/time -f "  wall %e s (whole command)" "$bin" fuzz "$libc" --cases "$cases" --format json -o "$work/libc.json"
python3 - "$work/libc.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
loads, confirmed, discovered = set(), set(), 0
for p in r["points"]:
    for f in p["findings"]:
        if f["kind"] != "llsc-reservation-loss":
            continue
        if f["evidence"].get("role") == "discovered":
            discovered += 1
            continue
        ll = f["evidence"]["load_linked"]
        loads.add(ll)
        if f["evidence"].get("dynamic", {}).get("outcome") == "confirmed":
            confirmed.add(ll)
print(f"  {len(loads)} exclusive loads opening an LL/SC window, {len(confirmed)} with a confirmed point in their window")
print(f"  not confirmed: {sorted(loads - confirmed)}")
print(f"  windows found by emulation only (discovered points): {discovered}")
PY
