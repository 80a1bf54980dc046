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
#   machinery            ET_EXEC like vmlinux: src/machinery.c, the probe machinery's call graph
#   machinery-pie        aarch64 only: the same linked as arm64 links vmlinux (ET_DYN, .rela.dyn)
#   handlers.so          ET_DYN, src/handlers.c (kprobe handlers, recursion)
#   diffdriver           ET_EXEC, static, no libc: diffdriver.c plain.c atomics.c (+ llsc asm)
#   diffdriver.out       its stdout (run natively / under qemu-user), see DIFFERENTIAL
#   dwarf-O0.so dwarf-O2.so dwarf-O3.so
#                        ET_DYN, src/dwarf.c at -O0/-O2/-O3 with -g (DWARF 5)
#   writes-O0.so writes-O2.so
#                        ET_DYN, src/writes.c at -O0/-O2 with -g: the write-check cases
#   hidden.so            ET_DYN, src/hidden_<arch>.S: a window behind an indirect branch
#   state.so             ET_DYN, src/state_<arch>.S (aarch64, ppc64, ppc64le): effects to undo
#   vmlinux-alt          ET_EXEC via src/vmlinux.lds, src/alt_<arch>.S (x86_64, aarch64,
#                        ppc64, ppc64le): code past a function's ELF size (kallsyms)
#   kimage               ET_EXEC, static, src/vmlinux.lds at the kernel's base address
#                        (arm64 0xffff800008010000 as Debian's 6.1): start.c blacklist.c
#                        atomics.c kcontext.c + the arch's llsc/tm assembly
#   kmod-windows.ko      ET_REL, ld -r of kmodule.c kcontext.c atomics.c blacklist.c handlers.c
#                        + the arch's llsc/tm assembly: a module with the window cases
#   vmlinux-null         ppc64, ppc64le: ET_EXEC via src/null.lds at 0xc000000000000000,
#                        src/null_ppc64.S: LL/SC windows left through a null pointer
#   kcas                 aarch64 only: ET_EXEC like kimage, src/kcas_aarch64.S: the arm64
#                        kernel's compare-and-swap shapes, reached from the load-linked
#   txnest.so            ET_DYN, src/tm_nested_<arch>.S: nested transactions, POWER tendall,
#                        the status test after a begin
#   gdbwrites            ET_EXEC, static, no libc: gdbwrites.c + gdbdriver.c (x86_64, aarch64,
#                        ppc64, ppc64le): the GDB cross-check of the write checks
#   glibc.so             ET_DYN, src/glibc_ppc64.S (ppc64, ppc64le): Debian libc's shapes, POWER10
#   glibc-stripped.so    the same, strip --strip-all
#   dwarf-O*.counts      raw DWARF counts of each (commands inside), see DWARF.md
#   x86_64 and aarch64 only:
#   dwarf-O2-dwarf4.so   src/dwarf.c at -O2 with -gdwarf-4
#   dwarf-O2-zlib.so     dwarf-O2.so, objcopy --compress-debug-sections=zlib
#   dwarf-O2-zstd.so     dwarf-O2.so, objcopy --compress-debug-sections=zstd
#   dwarf-O2-zdebug.so   dwarf-O2.so, objcopy --compress-debug-sections=zlib-gnu (.zdebug_*)
#   dwarf-O2.debug       dwarf-O2.so, objcopy --only-keep-debug
#   dwarf-O2-stripped.so dwarf-O2.so, strip --strip-debug --strip-unneeded,
#                        objcopy --add-gnu-debuglink=dwarf-O2.debug
# and DWARF.md (expected DWARF facts, by dwarf_facts.py; needs llvm-dwarfdump
# from Debian's `llvm` and python3, else counts and DWARF.md are left as they are).
#
#   bash corpora/build.sh dwarf      # only the dwarf-* files, counts, DWARF.md
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
need objcopy                     binutils
need zstd                        zstd
need xz                          xz-utils
need aarch64-linux-gnu-objcopy   binutils-aarch64-linux-gnu
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

	# machinery: the probe machinery's call graph, linked like vmlinux
	$cc $CFLAGS $acflags $kcflags -c src/machinery.c -o "$o/machinery.k.o"
	$cc $acflags $LDFLAGS -static -no-pie -T src/vmlinux.lds \
		-Wl,--defsym=KERNEL_BASE="$kbase" -Wl,--no-warn-rwx-segments \
		-o "$t/machinery" "$o/machinery.k.o"
	# machinery-pie: the same, linked as arm64 links vmlinux (a PIE whose
	# pointers are RELATIVE entries of .rela.dyn, no dynamic symbol table)
	if [[ $t == aarch64 ]]; then
		$cc $acflags $LDFLAGS -shared -Wl,-Bsymbolic -Wl,-z,notext \
			-Wl,--no-apply-dynamic-relocs -L src -T src/vmlinux-pie.lds \
			-Wl,--defsym=KERNEL_BASE="$kbase" -Wl,--no-warn-rwx-segments \
			-o "$t/machinery-pie" "$o/machinery.k.o"
	fi
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

if [[ ${1:-} != dwarf ]]; then # (`build.sh dwarf` skips to the DWARF corpora)
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

# ---- hidden.so, state.so: small assembly fixtures (new files only) --------
# build_asm TARGET CC "ARCH-CFLAGS" ASM OUT
#   OUT  ET_DYN, src/ASM.S alone:
#   hidden.so  an LL/SC loop or a transaction whose closing instruction is
#              reached only through an indirect branch; `fuzz` (every
#              boundary) must discover it
#   state.so   effects the emulator must undo between trials (arm64, POWER)
#   txnest.so  nested transactions (flat nesting: every abort goes back to
#              the outermost begin), POWER `tend. 1`, the status test
build_asm() {
	local t=$1 cc=$2 acflags=$3 asm=$4 out=$5
	local o=$tmp/$t
	mkdir -p "$o" "$t"
	$cc $ASFLAGS $acflags -fPIC -c "src/$asm.S" -o "$o/$asm.o"
	$cc $acflags $LDFLAGS -shared -o "$t/$out" "$o/$asm.o"
	echo "built $t $out"
}
A64="-march=armv8-a -mno-outline-atomics -mbranch-protection=none"
A64LSE="-march=armv8.1-a+lse -mbranch-protection=none"
build_asm x86_64 gcc "-fcf-protection=none" hidden_x86_64 hidden.so
build_asm aarch64 aarch64-linux-gnu-gcc "$A64" hidden_aarch64 hidden.so
build_asm aarch64-lse aarch64-linux-gnu-gcc "$A64LSE" hidden_aarch64 hidden.so
build_asm ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power8" hidden_ppc64 hidden.so
build_asm ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power8" hidden_ppc64 hidden.so
build_asm aarch64 aarch64-linux-gnu-gcc "$A64" state_aarch64 state.so
build_asm ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power8" state_ppc64 state.so
build_asm ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power8" state_ppc64 state.so

# ---- vmlinux-alt: code past a function's ELF size (new files only) --------
# build_alt TARGET CC "ARCH-CFLAGS" "KERNEL-CFLAGS" KERNEL_BASE ASM
#   vmlinux-alt  ET_EXEC through src/vmlinux.lds (a kernel image), src/ASM.S
#                alone: alt_user's replacement sequence and out-of-line code
#                in `.subsection 1`, after its ELF size and before the next
#                symbol (after_alt): kallsyms gives alt_user those bytes
build_alt() {
	local t=$1 cc=$2 acflags=$3 kcflags=$4 kbase=$5 asm=$6
	local o=$tmp/$t
	mkdir -p "$o" "$t"
	$cc $ASFLAGS $acflags $kcflags -c "src/$asm.S" -o "$o/$asm.k.o"
	$cc $acflags $LDFLAGS -static -no-pie -T src/vmlinux.lds \
		-Wl,--defsym=KERNEL_BASE="$kbase" -Wl,--no-warn-rwx-segments \
		-o "$t/vmlinux-alt" "$o/$asm.k.o"
	echo "built $t vmlinux-alt"
}
build_alt x86_64 gcc "-fcf-protection=none" "$KX86" 0xffffffff81000000 alt_x86_64
build_alt aarch64 aarch64-linux-gnu-gcc "$A64" "$KA64" 0xffff800080000000 alt_aarch64
build_alt ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power8" "$KPPC" 0xc000000000000000 alt_ppc64
build_alt ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power8" "$KPPC" 0xc000000000000000 alt_ppc64
# ---- kimage: a kernel image with the hazard cases (new files only) --------
# build_kimage TARGET CC "ARCH-CFLAGS" "KERNEL-CFLAGS" KERNEL_BASE "ASM:EXTRA-ASFLAGS..."
#   kimage  ET_EXEC, static, src/vmlinux.lds at the kernel base: start.c,
#           blacklist.c, atomics.c, kcontext.c and the arch's LL/SC and
#           transaction assembly, so that emulation runs them at kernel
#           addresses, on the image's own data and the kernel's context
build_kimage() {
	local t=$1 cc=$2 acflags=$3 kcflags=$4 kbase=$5
	shift 5
	local o=$tmp/$t/kimage
	mkdir -p "$o" "$t"
	local objs=() c a s extra
	for c in start blacklist atomics kcontext; do
		$cc $CFLAGS $acflags $kcflags -c "src/$c.c" -o "$o/$c.o"
		objs+=("$o/$c.o")
	done
	for a in "$@"; do
		s=${a%%:*}; extra=${a#*:}
		$cc $ASFLAGS $acflags $extra -fno-pic -fno-pie -c "src/$s.S" -o "$o/$s.o"
		objs+=("$o/$s.o")
	done
	$cc $acflags $LDFLAGS -static -no-pie -T src/vmlinux.lds \
		-Wl,--defsym=KERNEL_BASE="$kbase" -Wl,--no-warn-rwx-segments \
		-o "$t/kimage" "${objs[@]}"
	echo "built $t kimage"
}
build_kimage x86_64 gcc "-fcf-protection=none" "$KX86" 0xffffffff81000000 \
	tm_x86_64: sysreg_x86_64:
build_kimage aarch64 aarch64-linux-gnu-gcc "$A64" "$KA64" 0xffff800008010000 \
	llsc_aarch64: tm_aarch64:-march=armv8-a+tme sysreg_aarch64:
build_kimage aarch64-lse aarch64-linux-gnu-gcc "$A64LSE" "$KA64" 0xffff800008010000 \
	llsc_aarch64: tm_aarch64:-march=armv8.1-a+lse+tme
build_kimage ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power8" "$KPPC" 0xc000000000010000 \
	llsc_ppc64: tm_ppc64:-mhtm sysreg_ppc64:
build_kimage ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power8" "$KPPC" 0xc000000000010000 \
	llsc_ppc64: tm_ppc64:-mhtm sysreg_ppc64:
# ---- kmod-windows.ko: a module with the hazard cases (new files only) ----
# build_kmodwin TARGET CC "ARCH-CFLAGS" "KERNEL-CFLAGS" "ASM:EXTRA-ASFLAGS..."
#   kmod-windows.ko  ET_REL, `ld -r` of kernel-style objects as Kbuild links
#                    a module: kmodule.c (the module's .bss lock word and
#                    .data operand reached through relocations, a call to
#                    another object's function), kcontext.c, atomics.c,
#                    blacklist.c, handlers.c and the arch's LL/SC and
#                    transaction assembly; every reference between them is
#                    a relocation the loader applies
build_kmodwin() {
	local t=$1 cc=$2 acflags=$3 kcflags=$4
	shift 4
	local o=$tmp/$t/kmodwin
	mkdir -p "$o" "$t"
	local objs=() c a s extra
	for c in kmodule kcontext atomics blacklist handlers; do
		$cc $CFLAGS $acflags $kcflags -c "src/$c.c" -o "$o/$c.o"
		objs+=("$o/$c.o")
	done
	for a in "$@"; do
		s=${a%%:*}; extra=${a#*:}
		$cc $ASFLAGS $acflags $extra -fno-pic -fno-pie -c "src/$s.S" -o "$o/$s.o"
		objs+=("$o/$s.o")
	done
	$cc $acflags -nostdlib -r -o "$t/kmod-windows.ko" "${objs[@]}"
	echo "built $t kmod-windows.ko"
}
build_kmodwin x86_64 gcc "-fcf-protection=none" "$KX86" \
	tm_x86_64:
build_kmodwin aarch64 aarch64-linux-gnu-gcc "$A64" "$KA64" \
	llsc_aarch64: tm_aarch64:-march=armv8-a+tme
build_kmodwin aarch64-lse aarch64-linux-gnu-gcc "$A64LSE" "$KA64" \
	llsc_aarch64: tm_aarch64:-march=armv8.1-a+lse+tme
build_kmodwin ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power8" "$KPPC" \
	llsc_ppc64: tm_ppc64:-mhtm
build_kmodwin ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power8" "$KPPC" \
	llsc_ppc64: tm_ppc64:-mhtm
# ---- kmod-windows.ko.zst / .ko.xz: the module compressed as distributions ship
#   modules (Fedora and Ubuntu zstd, others xz), with the options Kbuild's
#   scripts/Makefile.modinst passes (zstd -T0 --rm -f -q; xz --check=crc32
#   --lzma2=dict=1MiB); probesafe reads them directly. aarch64 and ppc64le.
for t in aarch64 ppc64le; do
	zstd -q -f -19 "$t/kmod-windows.ko" -o "$t/kmod-windows.ko.zst"
	xz --check=crc32 --lzma2=dict=1MiB -c "$t/kmod-windows.ko" >"$t/kmod-windows.ko.xz"
	echo "built $t kmod-windows.ko.zst kmod-windows.ko.xz"
done
# ---- vmlinux-null (ppc64, ppc64le; new files only) ------------------------
#   vmlinux-null  ET_EXEC through src/null.lds at 0xc000000000000000, whose
#                 first byte is code (the kernel's endian fixup): src/null_ppc64.S,
#                 LL/SC windows left through a null pointer (bctr, blr to 0)
build_null() {
	local t=$1 cc=$2 acflags=$3 kcflags=$4
	local o=$tmp/$t
	mkdir -p "$o" "$t"
	$cc $ASFLAGS $acflags $kcflags -c src/null_ppc64.S -o "$o/null_ppc64.k.o"
	$cc $acflags $LDFLAGS -static -no-pie -T src/null.lds \
		-Wl,--defsym=KERNEL_BASE=0xc000000000000000 -Wl,--no-warn-rwx-segments \
		-o "$t/vmlinux-null" "$o/null_ppc64.k.o"
	echo "built $t vmlinux-null"
}
build_null ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power8" "$KPPC"
build_null ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power8" "$KPPC"
# ---- kcas: the arm64 kernel's compare-and-swap shapes (aarch64 only) -------
#   kcas    ET_EXEC, static, src/vmlinux.lds at the kernel base: src/kcas_aarch64.S,
#           windows that trials reach only from their load-linked (issue 14)
o=$tmp/aarch64/kcas
mkdir -p "$o"
aarch64-linux-gnu-gcc $ASFLAGS $A64 -fno-pic -fno-pie -c src/kcas_aarch64.S -o "$o/kcas.o"
aarch64-linux-gnu-gcc $A64 $LDFLAGS -static -no-pie -T src/vmlinux.lds \
	-Wl,--defsym=KERNEL_BASE=0xffff800008010000 -Wl,--no-warn-rwx-segments \
	-o aarch64/kcas "$o/kcas.o"
echo "built aarch64 kcas"
build_asm x86_64 gcc "-fcf-protection=none" tm_nested_x86_64 txnest.so
build_asm aarch64 aarch64-linux-gnu-gcc "${A64/armv8-a/armv8-a+tme}" tm_nested_aarch64 txnest.so
build_asm aarch64-lse aarch64-linux-gnu-gcc "${A64LSE/+lse/+lse+tme}" tm_nested_aarch64 txnest.so
build_asm ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power8 -mhtm" tm_nested_ppc64 txnest.so
build_asm ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power8 -mhtm" tm_nested_ppc64 txnest.so
# ---- gdbwrites: the GDB cross-check of the write checks (new files only) --
# build_gdbwrites TARGET CC "ARCH-CFLAGS"
#   gdbwrites  ET_EXEC, static, no libc: src/gdbwrites.c (the functions, -O2
#              -g) + src/gdbdriver.c (_start, fixed small inputs, prints
#              every result); tests/gdb_writes.rs writes its variables
#              through gdb-multiarch and qemu-user's gdbstub
build_gdbwrites() {
	local t=$1 cc=$2 acflags=$3
	local o=$tmp/$t c
	mkdir -p "$o" "$t"
	for c in gdbwrites gdbdriver; do
		$cc $CFLAGS $acflags -fno-pic -fno-pie -c "src/$c.c" -o "$o/$c.gdb.o"
	done
	$cc $acflags $LDFLAGS -static -nostartfiles -no-pie -o "$t/gdbwrites" \
		"$o/gdbwrites.gdb.o" "$o/gdbdriver.gdb.o"
	echo "built $t gdbwrites"
}
build_gdbwrites x86_64 gcc "-fcf-protection=none"
build_gdbwrites aarch64 aarch64-linux-gnu-gcc "$A64"
build_gdbwrites ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power8"
build_gdbwrites ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power8"
# glibc.so / glibc-stripped.so: the shapes of Debian's ppc64el libc.so.6
# (src/glibc_ppc64.S, with POWER10 instructions), and the same stripped
build_asm ppc64 powerpc64-linux-gnu-gcc "-mabi=elfv1 -mcpu=power10" glibc_ppc64 glibc.so
powerpc64-linux-gnu-strip --strip-all -o ppc64/glibc-stripped.so ppc64/glibc.so
build_asm ppc64le powerpc64le-linux-gnu-gcc "-mabi=elfv2 -mcpu=power10" glibc_ppc64 glibc.so
powerpc64le-linux-gnu-strip --strip-all -o ppc64le/glibc-stripped.so ppc64le/glibc.so
fi # ${1:-} != dwarf

# ---- DWARF corpora (new files only; nothing above depends on them) --------
# src/dwarf.c at -O0/-O2/-O3 with plain -g (gcc 12: DWARF 5), linked like
# handlers.so.  Its CASE comments say what each function demonstrates;
# DWARF.md lists what gcc made of them, per target and level.
DCFLAGS="-g -std=gnu11 -Wall -fno-stack-protector $REPRO"

# build_dwarf TARGET CC BINUTILS-PREFIX "ARCH-CFLAGS" EXTRAS(yes|no)
#   EXTRAS=yes adds dwarf-O2-dwarf4.so, dwarf-O2-zlib.so, dwarf-O2.debug and
#   dwarf-O2-stripped.so (whose .gnu_debuglink names dwarf-O2.debug)
build_dwarf() {
	local t=$1 cc=$2 bp=$3 acflags=$4 extras=$5
	local o=$tmp/$t lvl
	mkdir -p "$o" "$t"
	for lvl in O0 O2 O3; do
		$cc -$lvl $DCFLAGS $acflags -fPIC -c src/dwarf.c -o "$o/dwarf-$lvl.pic.o"
		$cc $acflags $LDFLAGS -shared -o "$t/dwarf-$lvl.so" "$o/dwarf-$lvl.pic.o"
	done
	if [[ $extras == yes ]]; then
		$cc -O2 $DCFLAGS -gdwarf-4 $acflags -fPIC -c src/dwarf.c -o "$o/dwarf-O2-dwarf4.pic.o"
		$cc $acflags $LDFLAGS -shared -o "$t/dwarf-O2-dwarf4.so" "$o/dwarf-O2-dwarf4.pic.o"
		${bp}objcopy --compress-debug-sections=zlib "$t/dwarf-O2.so" "$t/dwarf-O2-zlib.so"
		${bp}objcopy --compress-debug-sections=zstd "$t/dwarf-O2.so" "$t/dwarf-O2-zstd.so"
		${bp}objcopy --compress-debug-sections=zlib-gnu "$t/dwarf-O2.so" "$t/dwarf-O2-zdebug.so"
		${bp}objcopy --only-keep-debug "$t/dwarf-O2.so" "$t/dwarf-O2.debug"
		${bp}strip --strip-debug --strip-unneeded -o "$o/dwarf-O2-stripped.so" "$t/dwarf-O2.so"
		# the link holds the basename and the CRC32 of dwarf-O2.debug
		${bp}objcopy --add-gnu-debuglink="$t/dwarf-O2.debug" \
			"$o/dwarf-O2-stripped.so" "$t/dwarf-O2-stripped.so"
	fi
	for lvl in O0 O2; do
		$cc -$lvl $DCFLAGS $acflags -fPIC -c src/writes.c -o "$o/writes-$lvl.pic.o"
		$cc $acflags $LDFLAGS -shared -o "$t/writes-$lvl.so" "$o/writes-$lvl.pic.o"
	done
	echo "built $t dwarf-*.so writes-*.so"
}

build_dwarf x86_64 gcc "" \
	"-fcf-protection=none" yes
build_dwarf aarch64 aarch64-linux-gnu-gcc aarch64-linux-gnu- \
	"-march=armv8-a -mno-outline-atomics -mbranch-protection=none" yes
build_dwarf aarch64-lse aarch64-linux-gnu-gcc aarch64-linux-gnu- \
	"-march=armv8.1-a+lse -mbranch-protection=none" no
build_dwarf ppc64 powerpc64-linux-gnu-gcc powerpc64-linux-gnu- \
	"-mabi=elfv1 -mcpu=power8" no
build_dwarf ppc64le powerpc64le-linux-gnu-gcc powerpc64le-linux-gnu- \
	"-mabi=elfv2 -mcpu=power8" no

# ---- raw DWARF counts: <target>/dwarf-*.counts ----------------------------
# One `key value` line per count; the comment lines above them are the exact
# commands that produced them (run in corpora/, F = the file counted).
DD=$(command -v llvm-dwarfdump-14 || command -v llvm-dwarfdump || true)
DD=${DD##*/}
declare -A COUNT_CMD=(
	[subprograms_with_code]="$DD --debug-info \"\$F\" | awk '/^0x[0-9a-f]+: +DW_TAG_/ {t = \$2} t == \"DW_TAG_subprogram\" && /^ +DW_AT_(low_pc|ranges)\t/ {n++; t = \"\"} END {print n + 0}'"
	[inlined_subroutines]="$DD --debug-info \"\$F\" | awk '/^0x[0-9a-f]+: +DW_TAG_inlined_subroutine\$/ {n++} END {print n + 0}'"
	[is_stmt_rows]="$DD --debug-line \"\$F\" | awk '\$1 ~ /^0x[0-9a-f]+\$/ && / is_stmt/ && !/ end_sequence/ {n++} END {print n + 0}'"
	[call_sites]="$DD --debug-info \"\$F\" | awk '/^0x[0-9a-f]+: +DW_TAG_(GNU_)?call_site\$/ {n++} END {print n + 0}'"
	[tail_call_sites]="$DD --debug-info \"\$F\" | awk '/^ +DW_AT_(call_tail_call|GNU_tail_call)\t/ {n++} END {print n + 0}'"
)
COUNT_KEYS="subprograms_with_code inlined_subroutines is_stmt_rows call_sites tail_call_sites"

# dwarf_counts OUT F NOTE
dwarf_counts() {
	local out=$1 F=$2 note=$3 k
	{
		echo "# $out -- raw DWARF counts of $F ($note), written by build.sh."
		echo "# subprograms_with_code: DW_TAG_subprogram DIEs with DW_AT_low_pc or DW_AT_ranges (out-of-line code);"
		echo "# inlined_subroutines: DW_TAG_inlined_subroutine DIEs; is_stmt_rows: line-table rows with is_stmt, end_sequence rows not counted;"
		echo "# call_sites: DW_TAG_call_site (DWARF 5) or DW_TAG_GNU_call_site (DWARF 4) DIEs; tail_call_sites: those with DW_AT_call_tail_call / DW_AT_GNU_tail_call."
		echo "# Commands (run in corpora/ with F=$F; $($DD --version | grep -m1 -o 'LLVM version [0-9.]*'), mawk/gawk):"
		for k in $COUNT_KEYS; do
			echo "# $k: ${COUNT_CMD[$k]}"
		done
		for k in $COUNT_KEYS; do
			echo "$k $(eval "${COUNT_CMD[$k]}")"
		done
	} >"$out"
}

if [[ -n $DD ]] && command -v python3 >/dev/null 2>&1; then
	for t in x86_64 aarch64 aarch64-lse ppc64 ppc64le; do
		for f in "$t"/dwarf-O0.so "$t"/dwarf-O2.so "$t"/dwarf-O3.so "$t"/dwarf-O2-dwarf4.so; do
			[[ -e $f ]] || continue
			lvl=${f##*/dwarf-}; lvl=${lvl%.so}; dwarf_counts "${f%.so}.counts" "$f" "-${lvl/-dwarf4/ -gdwarf-4}"
		done
		if [[ -e $t/dwarf-O2-zlib.so ]]; then
			dwarf_counts "$t/dwarf-O2-zlib.counts" "$t/dwarf-O2-zlib.so" \
				"the debug sections are SHF_COMPRESSED zlib; the numbers equal dwarf-O2's"
			# llvm-dwarfdump 14 cannot read zstd sections: the zstd variant is
			# checked against dwarf-O2.so's counts by tests/dwarf.rs instead.
			dwarf_counts "$t/dwarf-O2-zdebug.counts" "$t/dwarf-O2-zdebug.so" \
				"GNU .zdebug_* sections (zlib-gnu); the numbers equal dwarf-O2's"
			dwarf_counts "$t/dwarf-O2-stripped.counts" "$t/dwarf-O2.debug" \
				"dwarf-O2-stripped.so has no .debug_* sections; its .gnu_debuglink names dwarf-O2.debug, counted here"
		fi
	done
	python3 dwarf_facts.py "$DD" >"$tmp/DWARF.md"
	cp "$tmp/DWARF.md" DWARF.md
	echo "wrote */dwarf-*.counts and DWARF.md ($DD)"
else
	echo "build.sh: llvm-dwarfdump (Debian package: llvm) or python3 missing:" \
		"*/dwarf-*.counts and DWARF.md left as they were" >&2
fi
