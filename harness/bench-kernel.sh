#!/usr/bin/env bash
# Benchmark (not a test): `probesafe survey` on a real kernel with DWARF,
# next to `llvm-dwarfdump --statistics` on the same file, in one run: wall
# time and peak memory of each. Fetches Debian's arm64 cloud kernel debug
# package (about 260 MB) into target/bench-kernel/ the first time.
#   harness/bench-kernel.sh [PACKAGE]
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
./harness/setup.sh
pkg=${1:-}
dir=target/bench-kernel
mkdir -p "$dir"
if ! ls "$dir"/vmlinux-* >/dev/null 2>&1; then
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		dpkg --add-architecture arm64 && apt-get update -q >/dev/null
	fi
	if [[ -z $pkg ]]; then
		pkg=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-cloud-arm64-dbg$' | awk '{print $1}' | sort -V | tail -1)
	fi
	echo "fetching $pkg" >&2
	(cd "$dir" && apt-get download "$pkg" >/dev/null 2>&1)
	dpkg-deb --fsys-tarfile "$dir"/*.deb | tar -x -C "$dir" --wildcards './usr/lib/debug/boot/vmlinux-*'
	mv "$dir"/usr/lib/debug/boot/vmlinux-* "$dir"/ && rm -rf "$dir"/usr "$dir"/*.deb
fi
vmlinux=$(ls "$dir"/vmlinux-* | head -1)
command -v llvm-dwarfdump >/dev/null || apt-get install -y -q llvm >/dev/null
cargo build --locked --release -q
echo "$vmlinux ($(du -h "$vmlinux" | cut -f1))"
for round in 1 2; do
	/usr/bin/time -f "round $round  llvm-dwarfdump --statistics  %e s  %M KB peak" llvm-dwarfdump --statistics "$vmlinux" >/dev/null
	/usr/bin/time -f "round $round  probesafe survey              %e s  %M KB peak" target/release/probesafe survey "$vmlinux" --format json -o "$dir/survey.json"
done
python3 -c "import json; s = json.load(open('$dir/survey.json')); print('totals', s['totals']); print('dwarf', s['dwarf'])"
