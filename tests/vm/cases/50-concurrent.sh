# Two runs at once: each gets its own leaf and its own limits, and both leaves
# go when the runs end. (Distinct names: a run dir is per name.)

READ_MAX="$SELF_CG"'
read -r v <"$cg/memory.max"; echo "path=${_l#0::} memory.max=$v"; sleep 1'

t=concurrent-runs
sv /tmp/c1.out /tmp/c1.err --name conc1 --mem 48MiB -- sh -c "$READ_MAX" &
p1=$!
sv /tmp/c2.out /tmp/c2.err --name conc2 --mem 96MiB -- sh -c "$READ_MAX" &
p2=$!
wait $p1
rc1=$?
wait $p2
rc2=$?
o1=$(cat /tmp/c1.out) o2=$(cat /tmp/c2.out)
path1=$(echo "$o1" | sed -n 's/^path=\([^ ]*\).*/\1/p')
path2=$(echo "$o2" | sed -n 's/^path=\([^ ]*\).*/\1/p')
left=$(leftover)
figures="run1 rc=$rc1 '$o1'; run2 rc=$rc2 '$o2'; leaves left: '$left'"
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
	fail $t "a run failed: $figures"
	show /tmp/c1.err
	show /tmp/c2.err
elif [ -z "$path1" ] || [ "$path1" = "$path2" ]; then
	fail $t "want two distinct leaves: $figures"
elif [ "${o1##*memory.max=}" != $((48 * MIB)) ] || [ "${o2##*memory.max=}" != $((96 * MIB)) ]; then
	fail $t "want memory.max $((48 * MIB)) and $((96 * MIB)): $figures"
elif [ -n "$left" ]; then
	fail $t "leaves left after both runs ended: $figures"
else
	pass $t
fi
