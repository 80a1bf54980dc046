#!/usr/bin/env bash
# Benchmark (figures, not a test; the packages are 0.6-0.9 GB each): dynamic
# confirmation on Debian's 6.1.0-50 kernels for arm64, amd64 and ppc64el.
# For each kernel's vmlinux, and for its ext4.ko module:
#   - `probesafe scan` of the whole file (static map of every instruction
#     boundary, every point of every LL/SC and transaction window emulated),
#     its wall time and peak memory;
#   - the window points found and the instructions that open them;
#   - how many are confirmed / refuted / undecided (inconclusive, unreached)
#     by emulation, and for the undecided ones why, counted (how their trials
#     ended: a fault names its instruction and the interrupt or the access).
#
#   harness/bench-kernels.sh [PROBESAFE]
#
# PROBESAFE: the binary to measure (default: a release build of this tree).
# The packages are fetched once with `apt-get download` (after
# `dpkg --add-architecture`, as root) into target/kernels/, and only vmlinux
# and ext4.ko are kept. KERNELS=DIR uses DIR/<flavour>/usr/lib/debug/...
# instead when it holds them (an earlier extraction). FLAVOURS="arm64 amd64"
# limits the kernels.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
bin=${1:-}
if [[ -z $bin ]]; then
	cargo build --release --locked >/dev/null 2>&1
	bin=target/release/probesafe
fi
[[ -x /usr/bin/time ]] || apt-get install -y -q time >/dev/null
version=6.1.0-50
work=target/kernels
mkdir -p "$work"

# fetch FLAVOUR DEBIAN-ARCH -> prints the directory holding vmlinux and ext4.ko
fetch() {
	local flavour=$1 arch=$2 dir="$work/$1"
	local dbg=usr/lib/debug
	if [[ -n ${KERNELS:-} && -f $KERNELS/$flavour/$dbg/boot/vmlinux-$version-$flavour ]]; then
		dir=$KERNELS/$flavour
	elif [[ ! -f $dir/$dbg/boot/vmlinux-$version-$flavour ]]; then
		mkdir -p "$dir"
		if [[ $(id -u) -eq 0 ]] && ! dpkg --print-foreign-architectures | grep -qx "$arch" &&
			[[ $arch != "$(dpkg --print-architecture)" ]]; then
			dpkg --add-architecture "$arch" && apt-get update -q >/dev/null 2>&1 || true
		fi
		local pkg="linux-image-$version-$flavour-dbg"
		echo "fetching $pkg:$arch" >&2
		(cd "$dir" && apt-get download "$pkg:$arch" >/dev/null 2>&1)
		dpkg-deb --fsys-tarfile "$dir"/"$pkg"_*.deb | tar -x -C "$dir" --wildcards \
			"./$dbg/boot/vmlinux-*" "./$dbg/lib/modules/*/kernel/fs/ext4/ext4.ko"
		rm -f "$dir"/"$pkg"_*.deb
	fi
	echo "$dir/$dbg"
}

summarise() {
	python3 - "$@" <<'PY'
import collections, json, re, sys

path, secs, peak_kb = sys.argv[1], sys.argv[2], int(sys.argv[3])
kinds = ("llsc-reservation-loss", "tm-abort")
stats = {k: [0, collections.Counter(), set(), collections.Counter()] for k in kinds}
points = 0
with open(path) as f:
    for line in f:
        p = json.loads(line)
        if "findings" not in p:
            continue
        points += 1
        for kind in kinds:
            found = [x for x in p["findings"] if x["kind"] == kind and x["evidence"].get("role") != "discovered"]
            if not found:
                continue
            s = stats[kind]
            s[0] += 1
            # A point in two windows counts once: confirmed if one window is.
            order = ["confirmed", "refuted", "inconclusive", "unreached", None]
            best = min((x["evidence"].get("dynamic", {}).get("outcome") for x in found), key=order.index)
            s[1][best or "not emulated"] += 1
            for x in found:
                s[2].add(x["evidence"].get("load_linked") or x["evidence"].get("begin"))
            if best in ("confirmed", None):
                continue
            d = next(x["evidence"].get("dynamic", {}) for x in found)
            if best == "unreached":
                s[3]["unreached: no generated input reached it (from the entry or the opener)"] += 1
                continue
            ends = set()
            for e in d.get("exits", []):
                e = re.sub(r"fault at 0x[0-9a-f]+ ", "fault at ", e)
                e = re.sub(r"0x[0-9a-f]+", "ADDR", e)
                ends.add(e)
            s[3][f"{best}: " + " | ".join(sorted(ends))] += 1
print(f"  scan: {secs} s, {peak_kb / 1024:.0f} MiB peak; {points} hazardous points reported")
for kind in kinds:
    n, outcomes, openers, rest = stats[kind]
    if n == 0:
        print(f"  {kind}: no window points")
        continue
    name = "load-linked" if kind == kinds[0] else "transaction begin"
    print(f"  {kind}: {n} window points ({len(openers)} {name} instructions open them)")
    print(f"    confirmed: {outcomes['confirmed']} ({100 * outcomes['confirmed'] / n:.1f}%), "
          f"refuted: {outcomes['refuted']}, undecided: {outcomes['inconclusive'] + outcomes['unreached']} "
          f"(inconclusive {outcomes['inconclusive']}, unreached {outcomes['unreached']})"
          + (f", not emulated: {outcomes['not emulated']}" if outcomes['not emulated'] else ""))
    for why, k in sorted(rest.items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {k:6d}  {why[:200]}")
    if len(rest) > 12:
        print(f"    {sum(v for _, v in sorted(rest.items(), key=lambda kv: -kv[1])[12:]):6d}  ({len(rest) - 12} other reasons)")
PY
}

for row in ${FLAVOURS:-arm64 amd64 powerpc64le}; do
	case $row in
	arm64) arch=arm64 ;;
	amd64) arch=amd64 ;;
	powerpc64le) arch=ppc64el ;;
	*) echo "unknown flavour $row" >&2; exit 2 ;;
	esac
	dir=$(fetch "$row" "$arch")
	vmlinux=$dir/boot/vmlinux-$version-$row
	ko=$(ls "$dir"/lib/modules/*/kernel/fs/ext4/ext4.ko 2>/dev/null | head -1 || true)
	for file in "$vmlinux" $ko; do
		out="$work/$row-$(basename "$file").jsonl"
		/usr/bin/time -f '%e %M' -o "$work/time" \
			"$bin" scan "$file" --per-point --min-verdict hazardous --format jsonl -o "$out" || true
		read -r secs peak < <(tail -1 "$work/time")
		echo "== $row $(basename "$file") ($(du -h "$file" | cut -f1))"
		summarise "$out" "$secs" "$peak"
	done
done
