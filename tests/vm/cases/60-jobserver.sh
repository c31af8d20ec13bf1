# The memory-following jobserver on a kernel that enforces memory.max: supervise
# sets memory.high at its pause point (budget - max(budget/16, 64 MiB)) so the
# kernel throttles before it would kill, and a synthetic build whose jobs
# together need more than the budget finishes with 0 OOM kills. The guest has
# no GNU make: `jstoken make` is a tiny make (one command per stdin line, one
# on the implicit token and one more per jobserver token, as make -j does).

t=jobserver-memory-high-and-no-oom
rm -f /tmp/js.json /tmp/js.log /tmp/js.cmds
# 12 light jobs (24 MiB) and two of 100 MiB, each held 1 s: 488 MiB in all,
# under a 256 MiB budget; --jobs 1-6 would let 6 heavy-enough ones overlap.
i=0
while [ $i -lt 12 ]; do
	echo "memhog 24 1" >>/tmp/js.cmds
	i=$((i + 1))
	[ $i -eq 4 ] || [ $i -eq 8 ] && echo "memhog 100 1" >>/tmp/js.cmds
done
# The workload prints its leaf's memory.high and memory.max before the build.
SV_TIMEOUT=120 sv /tmp/js.out /tmp/js.err --mem 256MiB --jobs 1-6 --summary-json /tmp/js.json -- \
	sh -c "$SELF_CG"'; read -r h <"$cg/memory.high"; read -r m <"$cg/memory.max"; echo "high=$h max=$m"; jstoken make /tmp/js.log </tmp/js.cmds'
high=$(sed -n 's/^high=\([0-9]*\).*/\1/p' /tmp/js.out)
max=$(sed -n 's/.*max=\([0-9]*\).*/\1/p' /tmp/js.out)
ok=$(json_num oom_kills /tmp/js.json)
es=$(json_num exit_status /tmp/js.json)
style=$(json_str style /tmp/js.json)
tmax=$(json_num tokens_max /tmp/js.json)
pk=$(json_num peak_cgroup_bytes /tmp/js.json)
starts=$(grep -c '^start' /tmp/js.log 2>/dev/null)
want_high=$((256 * MIB - 64 * MIB))
figures="rc=$rc exit_status=$es memory.high=$high memory.max=$max oom_kills=$ok style=$style tokens_max=$tmax peak_cgroup_bytes=$pk jobs_started=$starts"
note "$t: $figures"
bad=
[ $rc -eq 0 ] || bad="$bad rc!=0"
[ "$high" = $want_high ] || bad="$bad memory.high!=$want_high"
[ "$max" = $((256 * MIB)) ] || bad="$bad memory.max!=$((256 * MIB))"
[ "$ok" = 0 ] || bad="$bad oom_kills!=0"
[ "$style" = pipe ] || bad="$bad jobs.style!=pipe"
[ "$starts" = 14 ] || bad="$bad jobs-started!=14"
case "$pk" in
'' | *[!0-9]*) bad="$bad peak_cgroup_bytes-not-a-number" ;;
*) [ "$pk" -le $((256 * MIB)) ] || bad="$bad peak_cgroup_bytes>256MiB" ;;
esac
if [ -z "$bad" ]; then pass $t; else fail $t "$bad: $figures"; show /tmp/js.err; fi
clean_leaves
