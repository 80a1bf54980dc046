#!/bin/sh
# /init of the initramfs that harness/qemu-kprobes.sh boots (busybox sh).
# For each line of /points from the index given as probesafe.start=N on the
# kernel command line: place the probe through tracefs, enable it, run the
# trigger, and print one PS-RESULT line. The host watches for these lines: a
# point that prints PS-BEGIN and nothing more before the host's timeout is a
# livelock or hang, and the host boots again from the next index.
#   /points: ID KIND SPEC [WITH]   (KIND k = kprobe, u = uprobe; SPEC as tracefs
#   takes it; WITH: a second kprobe enabled at the same time, whose handler is
#   what reaches SPEC, for points in the probe handler's own callees)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing
T=/sys/kernel/tracing
start=0
for a in $(cat /proc/cmdline); do
	case $a in probesafe.start=*) start=${a#probesafe.start=} ;; esac
done
echo "PS-KERNEL $(uname -r) $(uname -m) $(cat /proc/cpuinfo | grep -m1 Features)"

# What the kprobe points run through: open, read, write, close, pipes,
# uname, path lookups (fput, fd_install, alloc_fd, dput, vfs_read, ...).
ktrigger() {
	cat /proc/version >/dev/null
	ls -l / >/dev/null
	uname -a >/dev/null
	echo probesafe | cat | cat >/dev/null
	head -c 4096 /bin/busybox >/dev/null
}

i=0
while read -r id kind spec with <&3; do
	case $id in '' | '#'*) continue ;; esac
	i=$((i + 1)) wline=
	[ "$i" -le "$start" ] && continue
	echo "PS-BEGIN $i $id"
	if [ "$kind" = k ]; then
		ev=kprobe_events prof=kprobe_profile
	else
		ev=uprobe_events prof=uprobe_profile
	fi
	echo >$T/error_log 2>/dev/null
	dmesg -c >/dev/null
	if ! echo "p:probesafe/$id $spec" >>$T/$ev 2>/tmp/err; then
		err=$(sed -n 's/.*write error: //p' /tmp/err | head -1)
		log=$(grep -m1 'error:' $T/error_log 2>/dev/null | sed 's/^\[[^]]*\] *//')
		kmsg=$(dmesg | grep . | tail -n 1 | sed 's/^\[[^]]*\] *//')
		echo "PS-RESULT $i $id refused errno=\"$err\" error_log=\"$log\" dmesg=\"$kmsg\""
		continue
	fi
	if ! echo 1 >$T/events/probesafe/$id/enable 2>/tmp/err; then
		err=$(sed -n 's/.*write error: //p' /tmp/err | head -1)
		echo "-:probesafe/$id" >>$T/$ev
		echo "PS-RESULT $i $id refused-on-enable errno=\"$err\""
		continue
	fi
	if [ -n "$with" ]; then
		echo "p:probesafe/${id}w $with" >>$T/kprobe_events && echo 1 >$T/events/probesafe/${id}w/enable
	fi
	t0=$(cut -d' ' -f1 /proc/uptime)
	if [ "$kind" = k ]; then
		ktrigger </dev/null
		rc=$?
		out=""
	else
		# The user program; a livelocked one is killed after 60 s.
		out=$(timeout 60 /bin/llsc-loop 20000 </dev/null 2>&1)
		rc=$?
	fi
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo 0 >$T/events/probesafe/$id/enable
	if [ -n "$with" ]; then
		echo 0 >$T/events/probesafe/${id}w/enable
		wline=$(grep -w "${id}w" $T/kprobe_profile | awk '{ print "with_hits=" $2 }')
		echo "-:probesafe/${id}w" >>$T/kprobe_events
	fi
	line=$(grep -w "$id" $T/$prof | head -1)
	if [ "$kind" = k ]; then
		hits=$(echo "$line" | awk '{ print $2 }') misses=$(echo "$line" | awk '{ print $3 }')
	else
		hits=$(echo "$line" | awk '{ print $3 }') misses=-
	fi
	echo "-:probesafe/$id" >>$T/$ev
	echo "PS-RESULT $i $id fired hits=$hits misses=$misses rc=$rc t=$t0..$t1 out=\"$out\" $wline"
done 3</points
echo "PS-DONE"
sync
poweroff -f
