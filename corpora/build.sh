#!/usr/bin/env bash
# build.sh -- rebuild every probesafe test binary from src/ with Debian's
# (cross) gcc.  Reproducible: no paths or timestamps end up in the output,
# so two runs give byte-identical files (check with sha256sum).
#
#   bash corpora/build.sh            # from anywhere
#
# Outputs, per target dir (x86_64 aarch64 aarch64-lse ppc64 ppc64le):
#   hazards.so           ET_DYN, all common C + that arch's assembly
#   hazards-stripped.so  the same, strip --strip-all (.dynsym/.eh_frame kept)
#   kmod.o               ET_REL, src/blacklist.c only (kernel-module-like)
#   vmlinux              ET_EXEC, static, src/vmlinux.lds, blacklist.c + start.c
#   handlers.so          ET_DYN, src/handlers.c (kprobe handlers, recursion)
#   diffdriver           ET_EXEC, static, no libc: diffdriver.c plain.c atomics.c (+ llsc asm)
#   diffdriver.out       its stdout (run natively / under qemu-user), see DIFFERENTIAL
set -euo pipefail

cd "$(dirname "$0")"
export LC_ALL=C
unset GCC_EXEC_PREFIX COMPILER_PATH LIBRARY_PATH CPATH C_INCLUDE_PATH || true

# ---- tool check ----------------------------------------------------------
missing=()
need() { # need TOOL DEBIAN-PACKAGE
	command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package: $2)")
}
need gcc                         gcc
need strip                       binutils
need aarch64-linux-gnu-gcc       gcc-aarch64-linux-gnu
need aarch64-linux-gnu-strip     binutils-aarch64-linux-gnu
need powerpc64le-linux-gnu-gcc   gcc-powerpc64le-linux-gnu
need powerpc64le-linux-gnu-strip binutils-powerpc64le-linux-gnu
need powerpc64-linux-gnu-gcc     gcc-powerpc64-linux-gnu
need powerpc64-linux-gnu-strip   binutils-powerpc64-linux-gnu
if ((${#missing[@]})); then
	echo "build.sh: missing tools:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	echo "install with: apt-get install gcc-aarch64-linux-gnu gcc-powerpc64le-linux-gnu gcc-powerpc64-linux-gnu" >&2
	exit 1
fi

echo "toolchain:"
for t in gcc aarch64-linux-gnu-gcc powerpc64-linux-gnu-gcc powerpc64le-linux-gnu-gcc ld; do
	printf '  %s\n' "$($t --version | head -n1)"
done

# ---- common flags --------------------------------------------------------
# Prefix maps make DW_AT_comp_dir / DW_AT_name relative ("." and src/...).
# Hardening that some distributions switch on by default is switched off
# explicitly so that instruction offsets do not depend on the distribution.
REPRO="-fdebug-prefix-map=$PWD=. -ffile-prefix-map=$PWD=."
CFLAGS="-O2 -g -std=gnu11 -Wall -fno-stack-protector $REPRO"
ASFLAGS="-g $REPRO"
LDFLAGS="-nostdlib -Wl,--build-id=sha1 -Wl,--hash-style=gnu -Wl,-z,noexecstack"
# 4 KiB pages and no separate code segment keep the files a few KB.
LDFLAGS+=" -Wl,-z,max-page-size=0x1000 -Wl,-z,common-page-size=0x1000 -Wl,-z,noseparate-code"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# build TARGET CC STRIP "ARCH-CFLAGS" "KERNEL-CFLAGS" KERNEL_BASE "ASM:EXTRA-ASFLAGS..."
build() {
	local t=$1 cc=$2 strip=$3 acflags=$4 kcflags=$5 kbase=$6
	shift 6
	local o=$tmp/$t
	mkdir -p "$o" "$t"

	# hazards.so: common C (PIC) + arch assembly
	local objs=()
	for c in plain atomics blacklist; do
		$cc $CFLAGS $acflags -fPIC -c "src/$c.c" -o "$o/$c.pic.o"
		objs+=("$o/$c.pic.o")
	done
	local a s extra
	for a in "$@"; do
		s=${a%%:*}; extra=${a#*:}
		$cc $ASFLAGS $acflags $extra -fPIC -c "src/$s.S" -o "$o/$s.o"
		objs+=("$o/$s.o")
	done
	$cc $acflags $LDFLAGS -shared -o "$t/hazards.so" "${objs[@]}"
	$strip --strip-all -o "$t/hazards-stripped.so" "$t/hazards.so"

	# kmod.o: kernel-style object, non-PIC, relocations kept
	$cc $CFLAGS $acflags $kcflags -c src/blacklist.c -o "$t/kmod.o"

	# vmlinux: static ET_EXEC through the kernel-like linker script
	$cc $CFLAGS $acflags $kcflags -c src/blacklist.c -o "$o/blacklist.k.o"
	$cc $CFLAGS $acflags $kcflags -c src/start.c -o "$o/start.k.o"
	$cc $acflags $LDFLAGS -static -no-pie -T src/vmlinux.lds \
		-Wl,--defsym=KERNEL_BASE="$kbase" -Wl,--no-warn-rwx-segments \
		-o "$t/vmlinux" "$o/start.k.o" "$o/blacklist.k.o"
	echo "built $t"
}

# build_more TARGET CC "ARCH-CFLAGS" LLSC-ASM RUNNER
#   handlers.so  ET_DYN, src/handlers.c alone (kprobe handlers, recursion)
#   diffdriver   ET_EXEC, static, no libc: src/diffdriver.c + plain.c +
#                atomics.c (+ LLSC-ASM); its stdout is saved as diffdriver.out
#                when RUNNER ("" = native, or qemu-*) is available
build_more() {
	local t=$1 cc=$2 acflags=$3 llsc=$4 runner=$5
	local o=$tmp/$t
	mkdir -p "$o" "$t"

	$cc $CFLAGS $acflags -fPIC -c src/handlers.c -o "$o/handlers.pic.o"
	$cc $acflags $LDFLAGS -shared -o "$t/handlers.so" "$o/handlers.pic.o"

	local objs=() c
	for c in diffdriver plain atomics; do
		$cc $CFLAGS $acflags -fno-pic -fno-pie -c "src/$c.c" -o "$o/$c.drv.o"
		objs+=("$o/$c.drv.o")
	done
	if [[ -n $llsc ]]; then
		$cc $ASFLAGS $acflags -fno-pic -fno-pie -c "src/$llsc.S" -o "$o/$llsc.drv.o"
		objs+=("$o/$llsc.drv.o")
	fi
	$cc $acflags $LDFLAGS -static -nostartfiles -no-pie -o "$t/diffdriver" "${objs[@]}"

	# x86_64 runs natively on an x86_64 host, elsewhere under qemu-x86_64
	if [[ $t == x86_64 && $(uname -m) != x86_64 ]]; then
		runner=qemu-x86_64
	fi
	if [[ -z $runner ]] || command -v "$runner" >/dev/null 2>&1; then
		# two runs must agree; then the output is the reference
		$runner "./$t/diffdriver" >"$o/diff1.out"
		$runner "./$t/diffdriver" >"$o/diff2.out"
		if ! cmp -s "$o/diff1.out" "$o/diff2.out"; then
			echo "build.sh: $t/diffdriver: two runs differ" >&2
			exit 1
		fi
		cp "$o/diff1.out" "$t/diffdriver.out"
		echo "built $t handlers.so diffdriver (+ diffdriver.out via ${runner:-native run})"
	else
		echo "built $t handlers.so diffdriver ($runner missing: $t/diffdriver.out left as it was)"
	fi
}

KX86="-fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -ffreestanding"
KA64="-fno-pic -fno-pie -mgeneral-regs-only -ffreestanding"
KPPC="-fno-pic -fno-pie -mcmodel=medium -ffreestanding"

build x86_64 gcc strip \
	"-fcf-protection=none" "$KX86" 0xffffffff81000000 \
	tm_x86_64: misc_x86_64:

build aarch64 aarch64-linux-gnu-gcc aarch64-linux-gnu-strip \
	"-march=armv8-a -mno-outline-atomics -mbranch-protection=none" "$KA64" 0xffff800080000000 \
	llsc_aarch64: tm_aarch64:-march=armv8-a+tme misc_aarch64:

build aarch64-lse aarch64-linux-gnu-gcc aarch64-linux-gnu-strip \
	"-march=armv8.1-a+lse -mbranch-protection=none" "$KA64" 0xffff800080000000 \
	llsc_aarch64: tm_aarch64:-march=armv8.1-a+lse+tme misc_aarch64:

build ppc64 powerpc64-linux-gnu-gcc powerpc64-linux-gnu-strip \
	"-mabi=elfv1 -mcpu=power8" "$KPPC" 0xc000000000000000 \
	llsc_ppc64: tm_ppc64:-mhtm misc_ppc64:

build ppc64le powerpc64le-linux-gnu-gcc powerpc64le-linux-gnu-strip \
	"-mabi=elfv2 -mcpu=power8" "$KPPC" 0xc000000000000000 \
	llsc_ppc64: tm_ppc64:-mhtm misc_ppc64:

# ---- handlers.so and the differential driver (new files only: the build
# above is untouched, so its outputs stay byte-identical) ----------------
build_more x86_64 gcc \
	"-fcf-protection=none" "" ""
build_more aarch64 aarch64-linux-gnu-gcc \
	"-march=armv8-a -mno-outline-atomics -mbranch-protection=none" llsc_aarch64 qemu-aarch64
build_more aarch64-lse aarch64-linux-gnu-gcc \
	"-march=armv8.1-a+lse -mbranch-protection=none" llsc_aarch64 qemu-aarch64
build_more ppc64 powerpc64-linux-gnu-gcc \
	"-mabi=elfv1 -mcpu=power8" llsc_ppc64 qemu-ppc64
build_more ppc64le powerpc64le-linux-gnu-gcc \
	"-mabi=elfv2 -mcpu=power8" llsc_ppc64 qemu-ppc64le
