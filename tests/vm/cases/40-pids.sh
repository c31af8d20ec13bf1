# pids.max stops a fork bomb: the cgroup never holds more than --pids tasks,
# the kernel counts refused forks, and supervise still returns and removes the
# leaf once its command ends, the bomb's survivors included.

t=pids-fork-bomb
# The bomb runs in the background, every copy forking again forever (a copy
# whose fork is refused dies, freeing a slot for another). The command itself
# sleeps 3 s, then ends with status 0: supervise must clean up the rest.
# Safety: the bomb starts only if the workload sees pids.max 16 in its own
# cgroup; an unbounded bomb would fill the guest and time the whole lane out.
BOMB="$SELF_CG"'
read -r pm <"$cg/pids.max"
[ "$pm" = 16 ] || { echo "pids.max is $pm; not starting the fork bomb" >&2; exit 3; }
bomb() { while :; do bomb & done; }
bomb 2>/dev/null &
exec sleep 3'
start=$(now_cs)
SV_TIMEOUT=60 sv /tmp/pids.out /tmp/pids.err --pids 16 -- sh -c "$BOMB" &
svpid=$!
# Watch the leaf from outside while the bomb runs.
leaf=$(wait_leaf "$CG" 50)
maxcur=0 pmax= events=
# pids.max is written before the launch, not when the leaf appears.
if [ -n "$leaf" ] && wait_populated "$leaf" 300; then
	read -r pmax <"$leaf/pids.max" 2>/dev/null
	i=0
	while [ $i -lt 20 ] && [ -d "$leaf" ]; do
		read -r cur <"$leaf/pids.current" 2>/dev/null && [ "${cur:-0}" -gt $maxcur ] && maxcur=$cur
		read -r _ ev <"$leaf/pids.events" 2>/dev/null && events=$ev
		sleep 0.1
		i=$((i + 1))
	done
fi
wait $svpid
rc=$?
took=$(($(now_cs) - start))
left=$(leftover)
figures="rc=$rc pids.max=$pmax highest pids.current=$maxcur pids.events max=$events took=${took}0ms leaves left: '${left}'"
note "$t: $figures"
if [ -z "$leaf" ]; then
	fail $t "no leaf seen under $CG/supervise within 5 s (rc=$rc, stderr: $(tr '\n' ' ' </tmp/pids.err))"
elif [ "$pmax" != 16 ]; then
	fail $t "pids.max is '$pmax'; want 16: $figures"
elif [ $maxcur -gt 16 ] || [ $maxcur -lt 2 ]; then
	fail $t "want 2 <= pids.current <= 16 while the bomb runs: $figures"
elif [ -z "$events" ] || [ "$events" -lt 1 ]; then
	fail $t "the kernel refused no fork (pids.events max): $figures"
elif [ $rc -ne 0 ]; then
	fail $t "supervise did not return the command's status 0 (124/143: it hung and timeout killed it): $figures"
	show /tmp/pids.err
elif [ -n "$left" ]; then
	fail $t "the leaf was not removed after the command ended: $figures"
else
	pass $t
fi
