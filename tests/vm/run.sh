#!/usr/bin/env bash
# The pure cgroup v2 lane: boot Debian's stable cloud kernel under qemu with an
# initramfs that holds supervise, the test helpers and the guest test scripts,
# and check there what a hybrid host cannot show (memory.max, memory.high,
# cpu.max, pids.max written and effective; the kernel's OOM kill reported).
#
#   tests/vm/run.sh            OUTPUT=build by default
#
# Environment:
#   OUTPUT              build directory holding supervise and tests/helpers/* (build)
#   VM_KERNEL           a vmlinuz to boot instead of Debian's cloud kernel
#   VM_TIMEOUT          hard limit in seconds for the whole qemu run (900: about
#                       4 min when the host is idle; a loaded 2-CPU host takes several times that)
#   VM_SMP, VM_MEM      guest CPUs (2) and memory in MiB (2048: the monitor's
#                       tests run 20 workloads of 8..84 MiB at once)
#   VM_CASES            only run the guest cases whose file name contains this
#
# Prints each VMTEST line the guest reports, then "vm: N passed, M failed"
# (", K skipped" when some skipped). Exit 0 only when nothing failed, at least
# one test passed and the guest reached VMTEST DONE; 77 (and "vm: skipped:
# REASON") when the lane cannot run here at all; 1 otherwise.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
OUTPUT=${OUTPUT:-build}
VM_TIMEOUT=${VM_TIMEOUT:-900}
VM_SMP=${VM_SMP:-2}
VM_MEM=${VM_MEM:-2048}
vmdir=$OUTPUT/vm
log=$vmdir/console.log

skip() {
	echo "vm: skipped: $*"
	exit 77
}

# A failure before the guest could report anything still ends with the count line.
die() {
	echo "vm: error: $*" >&2
	echo "vm: 0 passed, 1 failed"
	exit 1
}

# --- tools -------------------------------------------------------------------
for tool in qemu-system-x86_64 cpio gzip timeout; do
	command -v "$tool" >/dev/null || skip "$tool not installed (scripts/setup.sh --vm installs it)"
done
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	# The guest has no libc of its own for busybox: it must be the static build.
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		busybox=$b
		break
	fi
done
[ -n "$busybox" ] || skip "no static busybox (install busybox-static)"

[ -x "$OUTPUT/supervise" ] || die "$OUTPUT/supervise is not built (make OUTPUT=$OUTPUT test-bins)"
[ -x "$OUTPUT/tests/helpers/memhog" ] || die "$OUTPUT/tests/helpers/memhog is not built (make OUTPUT=$OUTPUT test-bins)"

mkdir -p "$vmdir" || die "cannot create $vmdir"
# Absolute: the download runs in $vmdir, and qemu's paths must not depend on it.
vmdir=$(cd "$vmdir" && pwd)
log=$vmdir/console.log

# --- kernel: Debian's cloud kernel, downloaded once and cached in $vmdir -----
# The cloud flavour has every cgroup v2 controller, BPF and BTF built in (no
# modules needed: CONFIG_MEMCG, CGROUP_PIDS, CFS_BANDWIDTH, CGROUP_BPF, PSI,
# DEVTMPFS, SERIAL_8250_CONSOLE, BLK_DEV_INITRD, RD_GZIP, DEBUG_INFO_BTF all =y).
find_cached_kernel() {
	ls -1 "$vmdir"/kernel/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1
}

kernel_package() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

fetch_kernel() {
	local pkg deb
	command -v apt-get >/dev/null || return 1
	pkg=$(kernel_package)
	if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
		# apt-cache knows nothing before the first apt-get update on a fresh machine.
		apt-get update -qq >/dev/null 2>&1
		pkg=$(kernel_package)
	fi
	[ -n "$pkg" ] || { echo "vm: apt-cache does not know linux-image-cloud-amd64" >&2; return 1; }
	echo "vm: downloading $pkg" >&2
	rm -f "$vmdir"/linux-image-*.deb
	(cd "$vmdir" && apt-get download -q "$pkg" >/dev/null 2>"$vmdir/apt.err") ||
		{ cat "$vmdir/apt.err" >&2; return 1; }
	deb=$(ls -1 "$vmdir"/"$pkg"_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || return 1
	rm -rf "$vmdir/kernel.tmp"
	dpkg -x "$deb" "$vmdir/kernel.tmp" || return 1
	# Only the kernel image is needed: drop the modules (~100 MB unpacked).
	rm -rf "$vmdir/kernel.tmp/lib" "$vmdir/kernel.tmp/usr"
	rm -rf "$vmdir/kernel" && mv "$vmdir/kernel.tmp" "$vmdir/kernel"
}

if [ -n "${VM_KERNEL:-}" ]; then
	kernel=$VM_KERNEL
	[ -r "$kernel" ] || skip "VM_KERNEL=$kernel is not readable"
else
	kernel=$(find_cached_kernel)
	if [ -z "$kernel" ]; then
		fetch_kernel || skip "could not download Debian's cloud kernel (apt-get download linux-image-*-cloud-amd64)"
		kernel=$(find_cached_kernel)
		[ -n "$kernel" ] || skip "the kernel package held no /boot/vmlinuz-*"
	fi
fi
echo "vm: kernel $(basename "$kernel")"

# --- initramfs -----------------------------------------------------------------
root=$vmdir/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,etc,vm,test/bin,test/unit} || die "cannot create $root"
cp "$busybox" "$root/bin/busybox" || die "cannot copy busybox"
ln -s busybox "$root/bin/sh"

bins=("$OUTPUT/supervise")
# bpftool (a build dependency, so always here): the probes' "bpftool map dump
# prints named fields" test runs in the guest too, against 6.1's BTF.
bpftool_bin=$(command -v bpftool 2>/dev/null)
[ -n "$bpftool_bin" ] && bins+=("$bpftool_bin")
for f in "$OUTPUT"/tests/helpers/*; do
	# Every helper program, not the compiler's .d files.
	[ -f "$f" ] && [ -x "$f" ] && bins+=("$f")
done
for f in "${bins[@]}"; do
	cp "$f" "$root/test/bin/" || die "cannot copy $f"
done
# The probes' criterion tests run in the guest too (both on harness.h): they
# are told where supervise and the helpers are (70/75 cases).
unit_bins=()
for t in integration/test_monitor integration/test_probes; do
	[ -x "$OUTPUT/tests/$t" ] || die "$OUTPUT/tests/$t is not built (make OUTPUT=$OUTPUT test-bins)"
	cp "$OUTPUT/tests/$t" "$root/test/unit/" || die "cannot copy $t"
	unit_bins+=("$OUTPUT/tests/$t")
done
ln -s bin "$root/test/helpers"

# The shared libraries each binary needs, the dynamic loader included, at the
# paths ldd resolves them to (the loader looks there first).
copy_libs() {
	local lib
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib" || die "cannot copy $lib (needed by $1)"
	done
}
for f in "${bins[@]}" "${unit_bins[@]}"; do
	copy_libs "$f"
done
# A loader cache naming those directories, so the guest finds libraries even
# where the loader's built-in search path would not look.
find "$root" -name '*.so*' -type f | sed "s|^$root||" | xargs -r -n1 dirname | sort -u >"$root/etc/ld.so.conf"
if command -v ldconfig >/dev/null; then
	ldconfig -r "$root" 2>/dev/null || echo "vm: warning: ldconfig -r $root failed; relying on ldd's paths" >&2
fi

install -m 0755 "$here/init" "$root/init" || die "cannot copy init"
install -m 0755 "$here/guest-tests.sh" "$root/vm/guest-tests.sh" || die "cannot copy guest-tests.sh"
install -m 0644 "$here/lib.sh" "$root/vm/lib.sh" || die "cannot copy lib.sh"
mkdir -p "$root/vm/cases"
for c in "$here"/cases/*.sh; do
	[ -n "${VM_CASES:-}" ] && [[ "$(basename "$c")" != *"$VM_CASES"* ]] && continue
	install -m 0644 "$c" "$root/vm/cases/" || die "cannot copy $c"
done

initrd=$vmdir/initrd.gz
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$initrd" ||
	die "cannot build $initrd"

# --- boot ----------------------------------------------------------------------
# No KVM on these machines: TCG, multi-threaded by default for x86 on x86.
# panic=-1 and -no-reboot: if init dies, the kernel panics and qemu exits at once.
echo "vm: booting under qemu (tcg, ${VM_SMP} CPUs, ${VM_MEM} MiB, timeout ${VM_TIMEOUT}s)"
start=$(date +%s)
: >"$log"
timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
	-accel tcg -cpu max -smp "$VM_SMP" -m "$VM_MEM" \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1 |
	tr -d '\r' | tee "$log" | grep --line-buffered '^VMTEST \(PASS\|FAIL\|SKIP\)'
qemu_rc=${PIPESTATUS[0]}
elapsed=$(($(date +%s) - start))

passed=$(grep -c '^VMTEST PASS ' "$log")
failed=$(grep -c '^VMTEST FAIL ' "$log")
skipped=$(grep -c '^VMTEST SKIP ' "$log")
done_seen=0
grep -q '^VMTEST DONE' "$log" && done_seen=1

problem=
if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
	problem="qemu did not finish within ${VM_TIMEOUT}s (VM_TIMEOUT)"
elif [ "$done_seen" -eq 0 ]; then
	problem="the guest never printed VMTEST DONE (qemu exit status $qemu_rc)"
elif [ "$passed" -eq 0 ]; then
	problem="no guest test passed"
fi
if [ -n "$problem" ]; then
	echo "vm: $problem"
	failed=$((failed + 1))
fi

if [ "$failed" -gt 0 ]; then
	echo "vm: console tail ($log):"
	tail -n 80 "$log" | sed 's/^/  | /'
fi
echo "vm: guest run took ${elapsed}s; console log in $log"
summary="vm: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
