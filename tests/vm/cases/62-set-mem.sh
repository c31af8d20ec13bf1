# `supervise set NAME --mem SIZE` on a kernel that enforces memory.max: the
# budget moves as one (budget.c): memory.max and memory.high (the pause point
# with --jobs, budget - max(budget/16, 64 MiB) capped at half the budget)
# change together. Issue 9 item 14: set --mem used to leave memory.high at the
# old pause point.

t=set-mem-moves-memory-high
rm -f /tmp/sm.out /tmp/sm.err /tmp/sm.go /tmp/sm.set
# The workload prints its leaf's memory.high and memory.max, waits for the
# set, and prints them again.
SV_TIMEOUT=60 sv /tmp/sm.out /tmp/sm.err --name setmem --mem 256MiB --jobs 1-2 -- \
	sh -c "$SELF_CG"'; read -r h <"$cg/memory.high"; read -r m <"$cg/memory.max"; echo "before high=$h max=$m"
		i=0; while [ ! -e /tmp/sm.go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
		read -r h <"$cg/memory.high"; read -r m <"$cg/memory.max"; echo "after high=$h max=$m"' &
svpid=$!
i=0
while ! grep -q '^before' /tmp/sm.out 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$SV" set setmem --mem 128MiB >/tmp/sm.set 2>&1
setrc=$?
touch /tmp/sm.go
wait $svpid
rc=$?
bh=$(sed -n 's/^before high=\([0-9]*\).*/\1/p' /tmp/sm.out)
bm=$(sed -n 's/^before .*max=\([0-9]*\).*/\1/p' /tmp/sm.out)
ah=$(sed -n 's/^after high=\([0-9]*\).*/\1/p' /tmp/sm.out)
am=$(sed -n 's/^after .*max=\([0-9]*\).*/\1/p' /tmp/sm.out)
figures="rc=$rc set_rc=$setrc before: memory.high=$bh memory.max=$bm after: memory.high=$ah memory.max=$am set: $(tr '\n' ' ' </tmp/sm.set)"
note "$t: $figures"
bad=
[ $rc -eq 0 ] || bad="$bad rc!=0"
[ $setrc -eq 0 ] || bad="$bad set-rc!=0"
[ "$bm" = $((256 * MIB)) ] || bad="$bad before-max!=256MiB"
[ "$bh" = $((192 * MIB)) ] || bad="$bad before-high!=192MiB"
[ "$am" = $((128 * MIB)) ] || bad="$bad after-max!=128MiB"
[ "$ah" = $((64 * MIB)) ] || bad="$bad after-high!=64MiB"
if [ -z "$bad" ]; then pass $t; else fail $t "$bad: $figures"; show /tmp/sm.err; fi
clean_leaves
