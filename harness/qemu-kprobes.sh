#!/usr/bin/env bash
# Not a test, not run in CI: probesafe's verdicts checked against a real
# kernel. Boots Debian's 6.1.0-50 kernel for arm64 (the bootable image from
# linux-image-6.1.0-50-arm64, not the -dbg package) under
# `qemu-system-aarch64 -M virt -cpu cortex-a57` (TCG; the A57 has no LSE
# atomics, so the kernel runs its LL/SC code paths), or for ppc64el
# (linux-image-6.1.0-50-powerpc64le) under `qemu-system-ppc64 -M pseries
# -cpu power9`, with a busybox initramfs whose /init
# (harness/qemu-kprobes/init.sh) places each point of the list below through
# /sys/kernel/tracing/kprobe_events or uprobe_events, enables it, runs code
# that reaches it, and prints what happened: the kernel refused the probe
# (with the errno), or the probe fired N times and everything completed, or
# (seen from this side) nothing progressed within a timeout: the script kills
# qemu, records `livelock/hang` and boots again from the next point. Then it
# prints probesafe's verdict for every point next to what the kernel did, and
# counts agreements.
#
#   harness/qemu-kprobes.sh [arm64|ppc64el]   # everything is fetched into target/qemu-kprobes/ARCH/
#   PROBESAFE=/path/to/probesafe VMLINUX=/path/to/vmlinux-6.1.0-50-arm64 harness/qemu-kprobes.sh arm64
#
# VMLINUX is the image with DWARF that probesafe reads (the -dbg package's
# /usr/lib/debug/boot/vmlinux-6.1.0-50-FLAVOUR; fetched with apt-get
# download, 0.6 to 0.7 GB, when not given). PROBESAFE defaults to
# target/release/probesafe (built when missing). Needs root for apt-get
# (qemu-system-arm or qemu-system-ppc, cpio, busybox-static:ARCH through
# `dpkg --add-architecture ARCH`) and the cross gcc for the user program
# (harness/qemu-kprobes/llsc-loop.c). POINT_TIMEOUT (seconds without a new
# console line once a point began; 240 on arm64, 90 on ppc64el) and
# BOOT_TIMEOUT (600) can be set. Results: target/qemu-kprobes/ARCH/results.tsv,
# the consoles in target/qemu-kprobes/ARCH/console-*.log.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
root=$PWD
KVER=6.1.0-50
ARCH=${1:-arm64}
dir=$root/target/qemu-kprobes/$ARCH
mkdir -p "$dir"
case $ARCH in
arm64)
	flavour=arm64 image_member=./boot/vmlinuz-$KVER-arm64 qemu=qemu-system-aarch64 qemu_pkg=qemu-system-arm
	cross=aarch64-linux-gnu console=ttyAMA0
	qemu_flags=(-M virt -cpu cortex-a57 -smp 1 -m 1024 -nographic -no-reboot -nic none)
	POINT_TIMEOUT=${POINT_TIMEOUT:-240}
	;;
ppc64el)
	flavour=powerpc64le image_member=./boot/vmlinux-$KVER-powerpc64le qemu=qemu-system-ppc64 qemu_pkg=qemu-system-ppc
	cross=powerpc64le-linux-gnu console=hvc0
	qemu_flags=(-M pseries -cpu power9 -smp 1 -m 1024 -nographic -no-reboot -nic none -vga none)
	# POWER has no kprobe window check: kernel window points are expected to
	# hang, and the soft-lockup watchdog reports after about 22 s
	POINT_TIMEOUT=${POINT_TIMEOUT:-90}
	;;
*)
	echo "usage: harness/qemu-kprobes.sh [arm64|ppc64el]" >&2
	exit 2
	;;
esac
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
t_start=$(date +%s)
qpid=
trap 'if [[ -n $qpid ]]; then kill "$qpid" 2>/dev/null || true; fi' EXIT

# The points. The offsets are those of Debian's 6.1.0-50 builds (6.1.176-1);
# `why` says what each one tests. Kernel points (k) are reached
# by a few shell commands (open, read, write, close, pipes, uname: see
# ktrigger in init.sh); uprobe points (u) are offsets into llsc_inc of
# harness/qemu-kprobes/llsc-loop.c, run 20,000 times with a 60 s timeout.
# SPEC@WITH: WITH is a second kprobe enabled at the same time (commas stand
# for spaces), whose handler (the kprobe trace event's) is what runs SPEC.
points_arm64=$(
	cat <<'EOF'
# id  kind spec                    why
k01   k    fput+0x0                function entry (runs on every close)
k02   k    vfs_read+0x0            function entry
k03   k    ksys_write+0x0          function entry
k04   k    do_sys_openat2+0x0      function entry
k05   k    __arm64_sys_newuname+0x0 function entry (uname)
k06   k    fput+0xac               just after the LL/SC window of atomic_long_dec_and_test (the cbnz after stlxr)
k07   k    fput+0xa4               inside the LL/SC window of atomic_long_dec_and_test (the sub)
k08   k    fput+0xa0               the ldxr that opens that window
k09   k    fd_install+0xcc         inside an LL/SC window (rcu/refcount of the fd table)
k10   k    alloc_fd+0x128          inside an LL/SC window
k11   k    dput+0x100              inside the lockref cmpxchg LL/SC window
k12   k    fput+0x8c               autiasp (a hint the kernel does not single-step)
k13   k    do_debug_exception+0x0  NOKPROBE_SYMBOL (blacklisted)
k14   k    pipe_read+0x8c          after an ldar (smp_load_acquire), no exclusive: the pre-BIT(23) load_ex mask takes ldar for ldxr
k15   k    pipe_read+0x108         32 instructions after that ldar: still in the kernel's scan
k16   k    pipe_read+0x10c         33 instructions after it: out of the scan
k17   k    pipe_read+0x0           function entry (pipe_read is traceable and not blacklisted)
k18   k    dput+0x98               after a casa (LSE path, not run on the A57): the same mask takes casa for ldxr
k19   k    tick_nohz_tick_stopped+0x0 in the trap phase's call graph (el1_dbg -> ... __irq_work_queue_local), not blacklisted
k20   k    irq_work_queue+0x0      in the trap phase's call graph (el1_dbg -> ... tick_nohz_full_kick), not blacklisted, notrace
k21   k    copy_from_kernel_nofault+0x0@fput+0x0,+0(%x0):u64 run by the trace event handler of a probe on fput that reads memory
u01   u    llsc_inc+0x10           user program: after its LDXR/STXR window (ret)
u02   u    llsc_inc+0x4            user program: inside its LDXR/STXR window (add)
u03   u    llsc_inc+0x0            user program: the ldxr itself
EOF
)
points_ppc64el=$(
	cat <<'EOF'
# id  kind spec                    why
k01   k    fput+0x0                function entry (the global entry)
k02   k    vfs_read+0x0            function entry
k03   k    ksys_write+0x0          function entry
k04   k    do_sys_openat2+0x0      function entry
k05   k    sys_newuname+0x0        function entry (uname)
k06   k    fput+0x24               just after the ldarx/stdcx. window of atomic_long_dec_and_test (the bne-)
k07   k    fput+0x28               after it (the hwsync)
k08   k    vfs_read+0x2b0          an instruction the kernel does not single-step
k09   k    get_kprobe+0x0          NOKPROBE_SYMBOL (blacklisted), traceable
k10   k    program_check_exception+0x0 NOKPROBE_SYMBOL (blacklisted), notrace
k11   k    fput+0x1c               inside the window of atomic_long_dec_and_test (the addic)
k12   k    task_work_add+0x40      inside an ldarx/stdcx. window (cmpxchg of the task's work list)
k13   k    do_dentry_open+0x1a8    inside an lwarx/stwcx. window (an atomic_inc on the inode, every open)
k14   k    lockref_get+0x2c        inside the lockref cmpxchg window (lib/lockref.c is notrace)
u01   u    llsc_inc+0x10           user program: after its ldarx/stdcx. window (blr)
u02   u    llsc_inc+0x4            user program: inside the window (addi)
u03   u    llsc_inc+0x0            user program: the ldarx itself
EOF
)
points_var=points_$ARCH
points=${!points_var}

# --- tools and packages -------------------------------------------------------
need=()
command -v $qemu >/dev/null || need+=($qemu_pkg)
command -v cpio >/dev/null || need+=(cpio)
if ((${#need[@]})); then
	echo "installing ${need[*]}" >&2
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
command -v $cross-gcc >/dev/null || {
	echo "$cross-gcc is needed for the user program (apt-get install gcc-$cross)" >&2
	exit 2
}
if [[ $ARCH != "$(dpkg --print-architecture)" && " $(dpkg --print-foreign-architectures | tr '\n' ' ') " != *" $ARCH "* ]]; then
	dpkg --add-architecture "$ARCH"
	apt-get update -q >/dev/null || echo "apt-get update failed; going on with the lists there are" >&2
fi
fetch() { # fetch PACKAGE: the .deb into $dir once
	local pkg=$1
	if ! ls "$dir/${pkg%%:*}"_*.deb >/dev/null 2>&1; then
		echo "fetching $pkg" >&2
		(cd "$dir" && apt-get download "$pkg" >/dev/null 2>&1)
	fi
	ls "$dir/${pkg%%:*}"_*.deb | head -1
}
image=$dir/${image_member##*/}
if [[ ! -f $image ]]; then
	deb=$(fetch "linux-image-$KVER-$flavour:$ARCH")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O "$image_member" >"$image.tmp"
	mv "$image.tmp" "$image"
fi
busybox=$dir/busybox
if [[ ! -f $busybox ]]; then
	deb=$(fetch "busybox-static:$ARCH")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O ./bin/busybox >"$busybox.tmp"
	chmod +x "$busybox.tmp" && mv "$busybox.tmp" "$busybox"
fi
VMLINUX=${VMLINUX:-$dir/vmlinux-$KVER-$flavour-dbg}
if [[ ! -f $VMLINUX ]]; then
	deb=$(fetch "linux-image-$KVER-$flavour-dbg:$ARCH")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/lib/debug/boot/vmlinux-$KVER-$flavour" >"$VMLINUX.tmp"
	mv "$VMLINUX.tmp" "$VMLINUX"
	rm -f "$deb"
fi
PROBESAFE=${PROBESAFE:-$root/target/release/probesafe}
if [[ ! -x $PROBESAFE ]]; then
	nice cargo build --locked --release -q
fi

# --- the user program and the initramfs ---------------------------------------
prog=$dir/llsc-loop
$cross-gcc -static -O2 -o "$prog" harness/qemu-kprobes/llsc-loop.c
# file offset of a symbol (what uprobe_events takes): vaddr - p_vaddr + p_offset of its PT_LOAD
fileoff() {
	local sym=$1 add=$2 va type off vaddr _p _f memsz
	va=$((16#$($cross-nm "$prog" | awk -v s="$sym" '$3 == s { print $1 }') + add))
	while read -r type off vaddr _p _f memsz _; do
		[[ $type == LOAD ]] || continue
		if ((va >= vaddr && va < vaddr + memsz)); then
			printf '0x%x\n' $((va - vaddr + off))
			return
		fi
	done < <($cross-readelf -lW "$prog")
	echo "no PT_LOAD holds $sym+$add" >&2
	return 1
}
rd=$dir/initramfs
rm -rf "$rd" && mkdir -p "$rd"/{bin,proc,sys,dev,tmp}
cp "$busybox" "$rd/bin/busybox" && ln -s busybox "$rd/bin/sh"
cp "$prog" "$rd/bin/llsc-loop"
cp harness/qemu-kprobes/init.sh "$rd/init" && chmod +x "$rd/init"
: >"$rd/points"
while read -r id kind spec _; do
	[[ -z $id || $id == \#* ]] && continue
	if [[ $kind == u ]]; then
		sym=${spec%+*} off=${spec#*+}
		echo "$id u /bin/llsc-loop:$(fileoff "$sym" $((off)))" >>"$rd/points"
	else
		with=
		[[ $spec == *@* ]] && with=${spec#*@} && with=${with//,/ }
		echo "$id k ${spec%%@*} $with" >>"$rd/points"
	fi
done <<<"$points"
(cd "$rd" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initramfs.cpio.gz"

# --- boot, watch, reboot after a hang -----------------------------------------
qemu_flags+=(-kernel "$image" -initrd "$dir/initramfs.cpio.gz")
append="console=$console rdinit=/init nokaslr panic=-1 loglevel=5"
npoints=$(grep -c . "$rd/points")
results=$dir/results.tsv
: >"$results"
rm -f "$dir"/console-*.log
start=0
while ((start < npoints)); do
	log=$dir/console-$start.log
	nice $qemu "${qemu_flags[@]}" -append "$append probesafe.start=$start" >"$log" 2>&1 &
	qpid=$!
	last=$(date +%s) seen=0 limit=$BOOT_TIMEOUT outcome=
	while :; do
		sleep 2
		n=$(grep -c '^PS-' "$log" || true)
		if ((n != seen)); then seen=$n last=$(date +%s) limit=$POINT_TIMEOUT; fi
		if grep -q '^PS-DONE' "$log"; then outcome=done; break; fi
		if ! kill -0 "$qpid" 2>/dev/null; then outcome=exited; break; fi
		if (($(date +%s) - last > limit)); then outcome=timeout; break; fi
	done
	if [[ $outcome == done ]]; then
		# after poweroff -f, give qemu a little time to exit on its own
		for _ in $(seq 30); do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
	fi
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
	{ tr -d '\r' <"$log" | grep '^PS-RESULT' || true; } | cut -d' ' -f2- |
		awk '{ idx = $1; id = $2; $1 = ""; $2 = ""; sub(/^  /, ""); print idx "\t" id "\t" $0 }' >>"$results"
	# (on POWER the kernel's own console output can share the line)
	kline=$(tr -d '\r' <"$log" | grep -m1 -o 'PS-KERNEL.*' || true)
	if [[ -n $kline ]]; then echo "${kline#PS-KERNEL }" >"$dir/kernel.txt"; fi
	# the point that began and did not finish, if any
	last_begin=$({ tr -d '\r' <"$log" | grep '^PS-BEGIN' || true; } | tail -1 | cut -d' ' -f2,3)
	last_idx=${last_begin%% *}
	done_idx=$(cut -f1 "$results" | sort -n | tail -1)
	done_idx=${done_idx:-$start}
	if [[ $outcome == done ]]; then break; fi
	if [[ -n $last_idx ]] && ((last_idx > done_idx)); then
		if [[ $outcome == timeout ]]; then
			what="livelock/hang (no progress in ${POINT_TIMEOUT} s; qemu killed)"
			lockup=$(tr -d '\r' <"$log" | grep -m1 -o 'soft lockup - CPU#[0-9]* stuck for [0-9]*s! \[[^]]*\]' || true)
			if [[ -n $lockup ]]; then what="$what; console: $lockup"; fi
			# where the CPU was: the interrupted context in the watchdog's dump
			# (POWER: "--- interrupt: 700 at fput+0x20/0x100", 0x700 being the
			# program check of the probe's trap), else the first NIP or pc
			at=$(tr -d '\r' <"$log" | grep -m1 -o -E 'interrupt: 700 at [^ ]+' ||
				tr -d '\r' <"$log" | grep -m1 -o -E 'NIP \[[0-9a-f]+\] [^ ]+|pc : [^ ]+' || true)
			if [[ -n $at ]]; then what="$what, $at"; fi
		else
			what="crashed (qemu exited: $(tr -d '\r' <"$log" | grep -m1 -E 'Kernel panic|BUG|Unrecoverable|Oops' || echo 'no panic line'))"
		fi
		printf '%s\t%s\t%s\n' "$last_idx" "${last_begin#* }" "$what" >>"$results"
		start=$last_idx
	else
		echo "no progress before any point (outcome $outcome); see $log" >&2
		exit 1
	fi
done
t_boot=$(date +%s)

# --- probesafe's verdicts and the table ------------------------------------------
kspecs=() uspecs=()
while read -r id kind spec _; do
	[[ -z $id || $id == \#* ]] && continue
	if [[ $kind == k ]]; then kspecs+=("${spec%%@*}"); else uspecs+=("$spec"); fi
done <<<"$points"
nice "$PROBESAFE" check --format json -o "$dir/verdicts-kernel.json" "$VMLINUX" "${kspecs[@]}" || true
nice "$PROBESAFE" check --format json -o "$dir/verdicts-user.json" "$prog" "${uspecs[@]}" || true
t_end=$(date +%s)

POINTS=$points python3 - "$dir" <<'EOF'
import json, os, re, sys
d = sys.argv[1]
verdict = {}
for f in ("verdicts-kernel.json", "verdicts-user.json"):
    for p in json.load(open(os.path.join(d, f)))["points"]:
        kinds = sorted({"%s(%s)" % (x["kind"], x["confirmed"]) for x in p["findings"]
                        if x["kind"] not in ("inlined-site", "multiple-views")})
        extra = "+inline" if any(x["kind"] == "inlined-site" for x in p["findings"]) else ""
        verdict[(p["symbol"], p["offset"])] = (p["verdict"], ",".join(kinds) + extra)
res = {}
for line in open(os.path.join(d, "results.tsv")):
    idx, pid, what = line.rstrip("\n").split("\t", 2)
    res[pid] = what
rows, agree, judged = [], 0, 0
for line in os.environ["POINTS"].splitlines():
    f = line.split(None, 3)
    if not f or f[0].startswith("#"):
        continue
    pid, kind, spec = f[0], f[1], f[2]
    sym, off = spec.split("@")[0].split("+")
    off = int(off, 16)
    if (sym, off) not in verdict and off == 0:
        # SYMBOL+0 on ppc64 ELFv2: probesafe, like the kernel, puts the
        # probe on the local entry point (the global entry + 8)
        local = sorted(o for (s_, o) in verdict if s_ == sym and 0 < o <= 16)
        if local:
            off = local[0]
            spec += " (local entry +0x%x)" % off
    v, kinds = verdict.get((sym, off), ("?", ""))
    what = res.get(pid, "not run")
    other = False
    m = re.match(r'fired hits=(\S*) misses=(\S*) rc=(\S*) t=(\S*) out="(.*)"(?: with_hits=(\S*))?', what)
    if what.startswith("refused"):
        e = re.search(r'errno="([^"]*)"', what)
        k = re.search(r'dmesg="([^"]*)"', what)
        kmsg = k.group(1) if k else ""
        # a warning of this attempt (not a boot message left in the log)
        kmsg = "; dmesg: " + kmsg if ("probe" in kmsg.lower() or "notrace" in kmsg) else ""
        kernel, bad = "refused (%s%s)" % (e.group(1) if e else "?", kmsg), True
        other = "notrace" in kmsg
    elif what.startswith("livelock") or what.startswith("crashed"):
        kernel, bad = what, True
    elif m:
        hits, misses, rc, t, out, with_hits = m.groups()
        t0, t1 = (float(x) for x in t.split(".."))
        extra = ", the probe on %s fired %s" % (spec.split("@")[1].split(",")[0], with_hits) if with_hits else ""
        if kind == "u" and rc != "0":
            kernel, bad = "fired %s, program did not complete (rc %s after %.0f s: livelock)" % (hits, rc, t1 - t0), True
        elif kind == "u" and hits in ("", "0"):
            # llsc_inc is straight-line: every instruction of it ran 20,000 times
            kernel, bad = "accepted, 0 hits, program completed: not installed (silently refused)", True
        elif hits in ("", "0"):
            kernel, bad = "accepted, 0 hits (not reached)%s" % extra, None
        else:
            miss = "" if misses == "-" else ", %s missed" % misses
            kernel, bad = "fired %s%s, completed in %.1f s%s" % (hits, miss, t1 - t0, extra), False
    else:
        kernel, bad = what, None
    if bad is None or v == "?":
        ok = "n/a"
    else:
        judged += 1
        same = (v == "hazardous") == bad
        agree += same
        ok = ("yes" if not other else "yes, other reason") if same else "NO"
    rows.append((pid, ("kprobe " if kind == "k" else "uprobe ") + spec, "%s %s" % (v, kinds or "-"), kernel, ok))
w = [max(len(r[i]) for r in rows + [("id", "point", "probesafe", "kernel", "agree")]) for i in range(5)]
fmt = "| " + " | ".join("%%-%ds" % x for x in w) + " |"
print(fmt % ("id", "point", "probesafe", "kernel", "agree"))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows:
    print(fmt % r)
print("\nagree: %d of %d judged points (%d not judged: not reached or unclear)" % (agree, judged, len(rows) - judged))
EOF
echo "kernel: $(cat "$dir/kernel.txt" 2>/dev/null)"
echo "qemu: $($qemu --version | head -1); flags: ${qemu_flags[*]} -append \"$append\""
echo "time: $((t_end - t_start)) s in all ($((t_boot - t_start)) s setup and boots, $((t_end - t_boot)) s probesafe check)"
