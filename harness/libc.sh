# harness/libc.sh -- sourced by the bench scripts: Debian's libc.so.6 for a
# foreign architecture, fetched once into target/bench-fuzz with
# `apt-get download libc6:ARCH` (after `dpkg --add-architecture ARCH`, as
# root); without network the cross toolchain's /usr/TRIPLET/lib/libc.so.6
# is used if present. Never used by the tests.

# fetch_libc DEBIAN-ARCH TRIPLET -> prints the path of libc.so.6
fetch_libc() {
	local arch=$1 triplet=$2 work=target/bench-fuzz
	local libc="$work/libc6_$arch/lib/$triplet/libc.so.6"
	mkdir -p "$work"
	if [[ ! -f $libc ]]; then
		(
			cd "$work"
			if [[ $(id -u) -eq 0 ]]; then
				dpkg --add-architecture "$arch" && apt-get update -q >/dev/null 2>&1 || true
			fi
			apt-get download "libc6:$arch" >/dev/null 2>&1 &&
				dpkg-deb -x libc6_*_"$arch".deb "libc6_$arch"
		) || true
	fi
	[[ -f $libc ]] || libc=/usr/$triplet/lib/libc.so.6
	echo "$libc"
}
