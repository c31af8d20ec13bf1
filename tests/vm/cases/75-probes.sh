# The probes as a user sees them (tests/integration/test_probes.c, criterion)
# on Debian's 6.1 kernel: summary maps figures of maps-test 50000, stat --json
# against /proc, 2 and 20 concurrent supervise runs each with its own figures
# on one probe set, a SIGKILLed supervisor reaped by gc and by the next run,
# --backend. One VMTEST line per test, named probes/<test>. (The 20 runs at
# once are what showed 6.1's freed-mm reuse: a process counted twice.)

T=/test/unit/test_probes
t=probes-tests
if [ ! -x "$T" ]; then
	fail $t "$T is missing from the initramfs"
	exit 0
fi
rm -f /tmp/probes.tap
SUPERVISE_BIN=$SV SUPERVISE_HELPERS_DIR=/test/bin \
	timeout 600 "$T" -j1 --verbose --tap=/tmp/probes.tap >/tmp/probes.log 2>&1
st=$?
grep -E 'peak_map_count|stat:|run [0-9]+:|Assertion' /tmp/probes.log | head -n 40 | sed 's/^/#   /'
if [ ! -s /tmp/probes.tap ]; then
	fail $t "test_probes exited $st without a TAP report"
	show /tmp/probes.log 40
	exit 0
fi
criterion_tap probes /tmp/probes.tap
if [ $st -ne 0 ] && ! grep -q '^not ok' /tmp/probes.tap; then
	fail $t "test_probes exited $st though no test failed"
	show /tmp/probes.log 40
fi
