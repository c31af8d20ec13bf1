# Who killed the workload (issue 15, item 4): the exit status 137 alone cannot
# tell, so the summary's exit.killed_by and the message do. Here the kernel
# enforces memory.max: an OOM kill is "kernel-oom"; a SIGKILL from outside the
# same run is "signal", with a message that says it came from outside.

t=killed-by-kernel-oom
rm -f /tmp/kb.json
sv /tmp/kb.out /tmp/kb.err --mem 64MiB --summary-json /tmp/kb.json -- memhog 200
by=$(json_str killed_by /tmp/kb.json)
msg=$(tr '\n' ' ' </tmp/kb.err)
figures="rc=$rc killed_by=$by stderr: $msg"
note "$t: $figures"
if [ $rc -ne 137 ]; then
	fail $t "want exit 137 from the OOM kill: $figures"
elif [ "$by" != kernel-oom ]; then
	fail $t "want exit.killed_by kernel-oom: $figures"
elif grep -q 'from outside supervise' /tmp/kb.err; then
	fail $t "an OOM kill was blamed on someone outside: $figures"
elif ! grep -q 'OOM-killed' /tmp/kb.err; then
	fail $t "the message should say the kernel OOM-killed it: $figures"
else
	pass $t
fi

# The same budget, no OOM: a SIGKILL sent by someone else to the workload.
t=killed-by-outside-signal
rm -f /tmp/ks.json
sv /tmp/ks.out /tmp/ks.err --mem 64MiB --summary-json /tmp/ks.json -- sleep 30 &
svpid=$!
leaf=$(wait_leaf "$CG")
wpid=
_i=0
while [ -n "$leaf" ] && [ -z "$wpid" ] && [ $_i -lt 50 ]; do
	read -r wpid <"$leaf/cgroup.procs" 2>/dev/null
	[ -n "$wpid" ] || sleep 0.1
	_i=$((_i + 1))
done
[ -n "$wpid" ] && kill -KILL "$wpid"
wait $svpid
rc=$?
by=$(json_str killed_by /tmp/ks.json)
msg=$(tr '\n' ' ' </tmp/ks.err)
figures="rc=$rc workload pid=$wpid killed_by=$by stderr: $msg"
note "$t: $figures"
if [ -z "$wpid" ]; then
	fail $t "the workload never appeared in a leaf: $figures"
elif [ $rc -ne 137 ]; then
	fail $t "want exit 137: $figures"
elif [ "$by" != signal ]; then
	fail $t "want exit.killed_by signal: $figures"
elif ! grep -q 'killed by SIGKILL from outside supervise' /tmp/ks.err; then
	fail $t "the message should say the SIGKILL came from outside supervise: $figures"
else
	pass $t
fi
