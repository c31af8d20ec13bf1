# cpu.max effective: two busy loops under --cpus 0.5 get about half a CPU
# between them, and the kernel counts throttled periods.

# Workload: start two busy loops in its own cgroup, sample cpu.stat and the
# clock before and after 3 s, stop the loops, print the figures.
CPU_WORK='. /vm/lib.sh; '"$SELF_CG"'
stat() { while read -r k v; do echo "$1.$k=$v"; done <"$cg/cpu.stat"; }
while :; do :; done & b1=$!
while :; do :; done & b2=$!
sleep 0.5
echo "t0=$(now_cs)"; stat s0
sleep 3
echo "t1=$(now_cs)"; stat s1
kill $b1 $b2'
get() { sed -n "s|^$1=||p" /tmp/cpu.out | head -n 1; }

# usage/wall in percent, with a wide tolerance for TCG: 35..65 (want 50).
t=cpu-max
sv /tmp/cpu.out /tmp/cpu.err --cpus 0.5 -- sh -c "$CPU_WORK"
t0=$(get t0) t1=$(get t1)
u0=$(get s0.usage_usec) u1=$(get s1.usage_usec)
n0=$(get s0.nr_throttled) n1=$(get s1.nr_throttled)
p0=$(get s0.nr_periods) p1=$(get s1.nr_periods)
if [ -z "$t0" ] || [ -z "$t1" ] || [ -z "$u0" ] || [ -z "$u1" ] || [ -z "$n1" ]; then
	fail $t "the workload did not report cpu.stat (rc=$rc)"
	show /tmp/cpu.out
	show /tmp/cpu.err
else
	wall_us=$(((t1 - t0) * 10000))
	pct=$(((u1 - u0) * 100 / wall_us))
	thr=$((n1 - n0))
	per=$((p1 - p0))
	figures="usage $((u1 - u0))us in ${wall_us}us wall = ${pct}% of one CPU, nr_throttled +$thr of nr_periods +$per (rc=$rc)"
	note "$t: $figures"
	if [ $rc -ne 0 ]; then
		fail $t "supervise exited $rc; want 0: $figures"
		show /tmp/cpu.err
	elif [ $thr -lt 1 ]; then
		fail $t "no throttled period under cpu.max 50000 100000: $figures"
	elif [ $pct -lt 35 ] || [ $pct -gt 65 ]; then
		fail $t "want 50% +- 15 of one CPU: $figures"
	else
		pass $t
	fi
fi

t=cpu-cleanup
left=$(leftover)
if [ -z "$left" ]; then pass $t; else fail $t "leaves left after the cpu run (its busy loops were killed): $left"; fi
