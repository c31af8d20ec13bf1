# Advice where the cpu controller exists: cpu.max makes code that reads the
# quota size itself (Rust's available_parallelism), the advice variables are
# set, and `supervise set --cpus` rewrites cpu.max of a running workload.

# available_parallelism under --cpus 1: the Rust helper is compiled on the
# host at build time when rustc is there (tests/helpers/parallelism.rs).
t=available-parallelism
if [ ! -x /test/bin/parallelism ]; then
	skip $t "no /test/bin/parallelism: rustc was not available on the host when the initramfs was built"
else
	sv /tmp/par1.out /tmp/par1.err --cpus 1 -- /test/bin/parallelism
	q=$(sed -n 's/^available_parallelism=//p' /tmp/par1.out)
	sv /tmp/par0.out /tmp/par0.err -- /test/bin/parallelism
	all=$(sed -n 's/^available_parallelism=//p' /tmp/par0.out)
	ncpu=$(grep -c '^processor' /proc/cpuinfo)
	note "$t: --cpus 1: $q, no quota: $all, CPUs: $ncpu"
	if [ "$q" = 1 ] && [ "$all" = "$ncpu" ]; then
		pass $t
	else
		fail $t "want 1 under --cpus 1 and $ncpu without, got '$q' and '$all'"
		show /tmp/par1.err
	fi
fi

# The variables are set, and no "without cpu.max" note where cpu.max exists.
t=advice-env-v2
sv /tmp/env.out /tmp/env.err -v --cpus 1 --mem 256MiB -- env
g=$(sed -n 's/^GOMAXPROCS=//p' /tmp/env.out)
m=$(sed -n 's/^GOMEMLIMIT=//p' /tmp/env.out)
if [ "$rc" = 0 ] && [ "$g" = 1 ] && [ "$m" = 230MiB ] && ! grep -q "without cpu.max" /tmp/env.err; then
	pass $t
else
	fail $t "rc=$rc GOMAXPROCS=$g GOMEMLIMIT=$m (want 1, 230MiB, and no 'without cpu.max' note)"
	show /tmp/env.err
fi

# supervise set --cpus on a run started without --cpus: the cpu controller is
# enabled then, and cpu.max written; the workload reads it afterwards.
t=set-cpu-max
sv /tmp/set.out /tmp/set.err --name setcpu -- sh -c "$SELF_CG"'; sleep 4; cat $cg/cpu.max' &
bg=$!
i=0
while [ ! -S /run/supervise/setcpu/control ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
"$SV" set setcpu --cpus 0.5 >/tmp/setc.out 2>/tmp/setc.err
src=$?
wait $bg
got=$(tail -n 1 /tmp/set.out)
note "$t: set exit $src: $(cat /tmp/setc.out /tmp/setc.err | tr '\n' ' '); cpu.max then: $got"
if [ $src -eq 0 ] && [ "$got" = "50000 100000" ] && grep -q "cpu.max written" /tmp/setc.out; then
	pass $t
else
	fail $t "want set exit 0 and cpu.max '50000 100000', got exit $src and '$got' (rc=$rc)"
	show /tmp/set.err
fi

t=advice-cleanup
left=$(leftover)
if [ -z "$left" ]; then pass $t; else fail $t "leaves left after the advice runs: $left"; fi
