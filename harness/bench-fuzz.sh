#!/usr/bin/env bash
# Benchmark (figures, not a test): `probesafe fuzz` on whole corpus binaries
# and on Debian's arm64 libc.so.6, with 1 worker and with all cores:
# points/s, trials/s per core, the speed-up, and whether every exclusive
# load of libc was confirmed by emulation.
#   harness/bench-fuzz.sh [CASES]      (default 8 cases per point)
# libc: fetched with apt-get download libc6:arm64 (after dpkg
# --add-architecture arm64 && apt-get update, as root); without network the
# cross toolchain's /usr/aarch64-linux-gnu/lib/libc.so.6 is used if present.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
cases=${1:-8}
cargo build --release --locked >/dev/null 2>&1
bin=target/release/probesafe
work=target/bench-fuzz
mkdir -p "$work"

libc="$work/libc6_arm64/lib/aarch64-linux-gnu/libc.so.6"
if [[ ! -f $libc ]]; then
	(
		cd "$work"
		if [[ $(id -u) -eq 0 ]]; then
			dpkg --add-architecture arm64 && apt-get update -q >/dev/null 2>&1 || true
		fi
		apt-get download libc6:arm64 >/dev/null 2>&1 && dpkg-deb -x libc6_*_arm64.deb libc6_arm64
	) || true
fi
[[ -f $libc ]] || libc=/usr/aarch64-linux-gnu/lib/libc.so.6
cores=$(nproc)

run() { # binary jobs -> "seconds points trials"
	"$bin" fuzz "$1" --jobs "$2" --cases "$cases" --stats --format json -o "$work/report.json" 2>&1 >/dev/null |
		sed -n 's/.*, \([0-9]*\) points, \([0-9]*\) trials in \([0-9.]*\) s.*/\3 \1 \2/p'
}

printf '%-36s %8s %10s %12s %14s %9s\n' binary points "points/s" "trials" "trials/s/core" speed-up
for b in corpora/{x86_64,aarch64,aarch64-lse,ppc64,ppc64le}/hazards.so "$libc"; do
	[[ -f $b ]] || continue
	read -r t1 points trials < <(run "$b" 1)
	read -r tn _ _ < <(run "$b" "$cores")
	label=$b
	[[ $b == "$libc" ]] && label="arm64 libc.so.6"
	awk -v b="$label" -v p="$points" -v tr="$trials" -v t1="$t1" -v tn="$tn" -v c="$cores" 'BEGIN {
		printf "%-36s %8d %10.0f %12d %14.0f %8.2fx\n", b, p, p / tn, tr, tr / t1, t1 / tn }'
done

echo
echo "exclusive loads of $libc (all cores, $cases cases, --candidates: the static map's points):"
/usr/bin/time -f "  wall %e s" "$bin" fuzz "$libc" --candidates --cases "$cases" --format json -o "$work/libc.json"
python3 - "$work/libc.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
loads, confirmed = set(), set()
for p in r["points"]:
    for f in p["findings"]:
        if f["kind"] == "llsc-reservation-loss":
            ll = f["evidence"]["load_linked"]
            loads.add(ll)
            if f["evidence"].get("dynamic", {}).get("outcome") == "confirmed":
                confirmed.add(ll)
print(f"  {len(loads)} exclusive loads opening an LL/SC window, {len(confirmed)} with a confirmed point in their window")
print(f"  not confirmed: {sorted(loads - confirmed)}")
PY
