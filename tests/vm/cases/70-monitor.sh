# The monitor's accuracy tests (tests/integration/test_monitor.c, criterion) on
# Debian's 6.1 kernel: both backends against /proc (map_count exact, RSS
# within the stated tolerance), fork/exec/threads/nested cgroups, 20
# concurrent monitors sharing one probe set, a dead owner reaped. Each
# criterion test becomes one VMTEST line named monitor/<test>; a failure
# carries criterion's assertion messages.

T=/test/unit/test_monitor
t=monitor-tests
if [ ! -x "$T" ]; then
	fail $t "$T is missing from the initramfs"
	exit 0
fi

# One test at a time: they take one lock anyway, and the 20-workload test
# needs the guest's memory to itself. Nothing else loads BPF programs here,
# so the host-wide program count is checked too (SV_TEST_QUIET_HOST). The TAP
# report goes to a file; the verbose log (figures of passing tests too) to the
# console as context.
rm -f /tmp/monitor.tap
SV_TEST_QUIET_HOST=1 SUPERVISE_BIN=$SV SUPERVISE_HELPERS_DIR=/test/bin \
	timeout 600 "$T" -j1 --verbose --tap=/tmp/monitor.tap >/tmp/monitor.log 2>&1
st=$?
grep -E 'map_count step|RSS step|Assertion|loaded programs|sees|exec' /tmp/monitor.log | head -n 60 | sed 's/^/#   /'

if [ ! -s /tmp/monitor.tap ]; then
	fail $t "test_monitor exited $st without a TAP report"
	show /tmp/monitor.log 40
	exit 0
fi
criterion_tap monitor /tmp/monitor.tap
if [ $st -ne 0 ] && ! grep -q '^not ok' /tmp/monitor.tap; then
	fail $t "test_monitor exited $st though no test failed"
	show /tmp/monitor.log 40
fi
