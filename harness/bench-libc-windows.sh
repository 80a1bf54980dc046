#!/usr/bin/env bash
# Benchmark (figures, not a test): the LL/SC and transaction windows of
# Debian's ppc64el and arm64 libc.so.6, found statically and confirmed by
# emulation. For each library, `probesafe scan` (every point of every static
# window emulated, the default 8 cases) and then:
#   - the window points (addresses with an llsc-reservation-loss or tm-abort
#     finding) and the load-linked / begin instructions that open them;
#   - the share of window points confirmed dynamically, and the count of each
#     outcome (confirmed, refuted, inconclusive, unreached);
#   - for the rest, why: how their trials ended, counted (a fault names its
#     instruction and the interrupt or the access);
#   - how many points the scan reports, and how many of them are
#     `undecodable-instruction` (data in code, or instructions the
#     disassembler does not know).
#   harness/bench-libc-windows.sh [PROBESAFE]
# PROBESAFE: the binary to measure (default: a release build of this tree).
# libc: fetched like harness/bench-fuzz.sh does (harness/libc.sh).
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
bin=${1:-}
if [[ -z $bin ]]; then
	cargo build --release --locked >/dev/null 2>&1
	bin=target/release/probesafe
fi
work=target/bench-fuzz
mkdir -p "$work"
# shellcheck source=harness/libc.sh
source harness/libc.sh

for arch in ppc64el:powerpc64le-linux-gnu arm64:aarch64-linux-gnu; do
	deb=${arch%%:*} triplet=${arch#*:}
	libc=$(fetch_libc "$deb" "$triplet")
	if [[ ! -f $libc ]]; then
		echo "$deb libc.so.6: not available (no network and no cross toolchain)"
		continue
	fi
	report="$work/windows-$deb-$(basename "$bin").json"
	start=$(date +%s)
	"$bin" scan "$libc" --format json -o "$report"
	secs=$(($(date +%s) - start))
	echo "== $deb libc.so.6 ($libc, scan ${secs} s)"
	python3 - "$report" <<'PY'
import collections, json, re, sys

r = json.load(open(sys.argv[1]))
kinds = ("llsc-reservation-loss", "tm-abort")
for kind in kinds:
    points, outcomes, openers, rest = 0, collections.Counter(), set(), collections.Counter()
    for p in r["points"]:
        found = [f for f in p["findings"] if f["kind"] == kind and f["evidence"].get("role") != "discovered"]
        if not found:
            continue
        points += 1
        # A point in two windows counts once: confirmed if one window is.
        order = ["confirmed", "refuted", "inconclusive", "unreached", None]
        best = min((f["evidence"].get("dynamic", {}).get("outcome") for f in found), key=order.index)
        outcomes[best or "not emulated"] += 1
        for f in found:
            openers.add(f["evidence"].get("load_linked") or f["evidence"].get("begin"))
        if best in ("confirmed", None):
            continue
        d = next(f["evidence"].get("dynamic", {}) for f in found)
        if best == "unreached":
            rest["unreached: no generated input reached it (from the entry or the opener)"] += 1
            continue
        ends = set()
        for e in d.get("exits", []):
            # Addresses vary; the instruction and the reason do not.
            e = re.sub(r"fault at 0x[0-9a-f]+ ", "fault at ", e)
            e = re.sub(r"0x[0-9a-f]+", "ADDR", e)
            ends.add(e)
        rest[f"{best}: " + " | ".join(sorted(ends))] += 1
    if points == 0:
        print(f"  {kind}: no window points")
        continue
    name = "load-linked" if kind == kinds[0] else "transaction begin"
    print(f"  {kind}: {points} window points ({len(openers)} {name} instructions open them)")
    print(f"    confirmed dynamically: {outcomes['confirmed']} ({100 * outcomes['confirmed'] / points:.1f}%)")
    print("    outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])))
    for why, n in sorted(rest.items(), key=lambda kv: -kv[1]):
        print(f"    {n:6d}  {why}")
undecodable = sum(1 for p in r["points"] if any(f["kind"] == "undecodable-instruction" for f in p["findings"]))
print(f"  points: {len(r['points'])}, of which undecodable-instruction: {undecodable}")
PY
done
