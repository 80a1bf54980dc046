#!/usr/bin/env bash
# Install what probesafe needs to build and test on Debian/Ubuntu, and
# nothing that is already there. Idempotent; safe to run on every CI start.
#
#   cmake, libclang-dev   build the Unicorn emulator from source (unicorn-engine-sys)
#   qemu-user             run the differential tests' cross-arch binaries
#   gdb-multiarch         the GDB cross-check of the write checks (tests/gdb_writes.rs)
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
	echo "setup: cargo is not on PATH: install the Rust toolchain (https://rustup.rs) first" >&2
	exit 1
fi

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
# bindgen (through clang-sys) loads libclang.so, libclang-N.so or
# libclang.so.N, and needs clang's own headers beside it. libclang-cpp.so.N
# (installed with the LLVM tools) is another library and does not do: on
# Debian, ask dpkg for the development package that brings both.
have_libclang() {
	if [[ -n ${LIBCLANG_PATH:-} ]]; then
		compgen -G "$LIBCLANG_PATH/libclang.so*" >/dev/null ||
			compgen -G "$LIBCLANG_PATH/libclang-[0-9]*.so*" >/dev/null
		return
	fi
	if command -v dpkg-query >/dev/null 2>&1; then
		dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'libclang-dev' 'libclang-[0-9]*-dev' 2>/dev/null |
			grep -q '^ii '
		return
	fi
	compgen -G "/usr/lib/llvm-*/lib/libclang.so" >/dev/null ||
		compgen -G "/usr/lib*/libclang.so" >/dev/null ||
		compgen -G "/usr/lib/*/libclang.so" >/dev/null ||
		compgen -G "/usr/lib/*/libclang-[0-9]*.so" >/dev/null
}
have_libclang || missing+=(libclang-dev)
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
command -v gdb-multiarch >/dev/null 2>&1 || missing+=(gdb-multiarch)

if ((${#missing[@]} == 0)); then
	exit 0
fi

echo "setup: installing ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
else
	echo "setup: missing Debian packages: ${missing[*]}" >&2
	echo "setup: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A stale package list makes install fail; refresh it once if needed.
if ! "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
	"${sudo[@]}" apt-get update -q >/dev/null
	"${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null
fi
echo "setup: installed ${missing[*]}" >&2
