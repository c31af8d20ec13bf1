# The sandbox on another kernel (Debian's 6.1): the filter, its listener and
# the capability sets work there too, on every ABI.
H=/test/bin/sandbox-calls

# Each privileged call fails with EPERM and is listed in sandbox.denied.
t=sandbox-denied
sv /tmp/sb.out /tmp/sb.err --sandbox --summary-json /tmp/sb.json -- $H kexec_load init_module clock_settime unshare mount bpf
bad=
for c in kexec_load init_module clock_settime unshare mount bpf; do
	grep -qx "$c errno=EPERM" /tmp/sb.out || bad="$bad $c:not-EPERM"
	grep -q "\"syscall\" *: *\"$c\"" /tmp/sb.json || bad="$bad $c:not-listed"
done
if [ "$rc" = 0 ] && [ -z "$bad" ]; then pass $t; else fail $t "exit $rc;$bad"; show /tmp/sb.out; show /tmp/sb.err; fi

# int 0x80: the i386 table is filtered too (when the kernel has i386 emulation).
t=sandbox-i386
$H i386-getpid >/tmp/sb32.out 2>&1
if ! grep -qx "i386-getpid ok" /tmp/sb32.out; then
	skip $t "no i386 emulation in this kernel ($(cat /tmp/sb32.out))"
else
	sv /tmp/sb.out /tmp/sb.err --sandbox --summary-json /tmp/sb.json -- $H i386-unshare
	if grep -qx "i386-unshare errno=EPERM" /tmp/sb.out && grep -q '"arch" *: *"i386"' /tmp/sb.json; then
		pass $t
	else
		fail $t "exit $rc, i386 unshare not denied or not listed as i386"; show /tmp/sb.out; show /tmp/sb.json 40
	fi
fi

# --cap-drop all: every set empty, no_new_privs on, as the workload reads them.
t=sandbox-caps
sv /tmp/sb.out /tmp/sb.err --cap-drop all -- cat /proc/self/status
got=$(grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /tmp/sb.out | tr -s '\t ' ' ' | tr '\n' ' ')
want="CapInh: 0000000000000000 CapPrm: 0000000000000000 CapEff: 0000000000000000 CapBnd: 0000000000000000 CapAmb: 0000000000000000 NoNewPrivs: 1 "
if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then pass $t; else fail $t "exit $rc, got: $got"; fi
clean_leaves
