# The limit files supervise writes, read back from inside the workload: what
# the kernel holds must be what was asked (the kernel rounds memory to pages;
# every size below is a page multiple, so the figures are exact).

# Workload: print its cgroup path, the four limit files and the parent's
# subtree_control, one "key=value" a line, using shell builtins only.
READ_LIMITS="$SELF_CG"'
echo "path=${_l#0::}"
for f in memory.max memory.high cpu.max pids.max; do
	if [ -e "$cg/$f" ]; then read -r v <"$cg/$f"; else v=absent; fi
	echo "$f=$v"
done
read -r v <"${cg%/*}/cgroup.subtree_control"; echo "parent.subtree_control=$v"'

# get KEY: the value the workload printed for KEY.
get() { sed -n "s|^$1=||p" /tmp/lim.out | head -n 1; }

# check_limits TEST EXPECT... : each EXPECT is key=value; compares them all.
check_limits() {
	_t=$1
	shift
	_bad=
	for _kv in "$@"; do
		_k=${_kv%%=*}
		_v=$(get "$_k")
		[ "$_v" = "${_kv#*=}" ] || _bad="$_bad $_k='$_v' (want '${_kv#*=}')"
	done
	if [ $rc -ne 0 ]; then
		fail "$_t" "supervise exited $rc; want 0"
		show /tmp/lim.err
	elif [ -n "$_bad" ]; then
		fail "$_t" "$_bad"
		show /tmp/lim.out
	else
		pass "$_t"
	fi
}

t=limits-written
sv /tmp/lim.out /tmp/lim.err --name lim --mem 64MiB --mem-high 48MiB --cpus 1.5 --pids 50 -- sh -c "$READ_LIMITS"
check_limits $t memory.max=67108864 memory.high=50331648 "cpu.max=150000 100000" pids.max=50

# The leaf is <base>/supervise/<name>-<id>, base being the root here.
t=leaf-path
p=$(get path)
case "$p" in
/supervise/lim-?*) pass $t ;;
*) fail $t "workload's cgroup is '$p'; want /supervise/lim-<id>" ;;
esac

# The parent enabled the controllers the limits need (else the files would not exist).
t=controllers-enabled
sc=$(get parent.subtree_control)
missing=
for c in cpu memory pids; do
	case " $sc " in *" $c "*) ;; *) missing="$missing $c" ;; esac
done
if [ -z "$missing" ]; then pass $t; else fail $t "parent's cgroup.subtree_control '$sc' lacks$missing"; fi

t=limits-other-units
sv /tmp/lim.out /tmp/lim.err --mem 1G --mem-high 768MiB --cpus 2 --pids 7 -- sh -c "$READ_LIMITS"
check_limits $t memory.max=1073741824 memory.high=805306368 "cpu.max=200000 100000" pids.max=7

# No option, no limit: each file holds the kernel's default, or is absent when
# supervise did not enable that controller for the leaf (no limit either way).
t=limits-unset
sv /tmp/lim.out /tmp/lim.err -- sh -c "$READ_LIMITS"
bad=
for kv in memory.max=max memory.high=max "cpu.max=max 100000" pids.max=max; do
	v=$(get "${kv%%=*}")
	[ "$v" = "${kv#*=}" ] || [ "$v" = absent ] || bad="$bad ${kv%%=*}='$v' (want '${kv#*=}' or absent)"
done
if [ $rc -ne 0 ]; then
	fail $t "supervise exited $rc; want 0"
	show /tmp/lim.err
elif [ -n "$bad" ]; then
	fail $t "$bad"
	show /tmp/lim.out
else
	pass $t
fi

# N% of the machine's memory (the root has no limit, so MemTotal is the base).
# Tolerance: 1% of MemTotal, for rounding to pages or to whole MiB.
t=mem-percent
sv /tmp/lim.out /tmp/lim.err --mem 50% -- sh -c "$READ_LIMITS"
total=$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) * 1024))
got=$(get memory.max)
want=$((total / 2))
case "$got" in
'' | *[!0-9]*) fail $t "memory.max is '$got' for --mem 50%; want about $want (rc=$rc)" ;;
*)
	diff=$((got - want))
	[ $diff -lt 0 ] && diff=$((-diff))
	if [ $rc -eq 0 ] && [ $diff -le $((total / 100)) ]; then
		pass $t
	else
		fail $t "memory.max=$got for --mem 50% of MemTotal $total; want $want +- $((total / 100)) (rc=$rc)"
		show /tmp/lim.err
	fi
	;;
esac

# --cgroup-base: the leaf goes under the given subtree, whose subtree_control
# supervise must fill in itself.
t=cgroup-base
base=$CG/vmbase
rmdir "$base/supervise" "$base" 2>/dev/null
mkdir -p "$base"
sv /tmp/lim.out /tmp/lim.err --cgroup-base "$base" --name based --mem 32MiB --pids 10 -- sh -c "$READ_LIMITS"
p=$(get path)
case "$p" in
/vmbase/supervise/based-?*) check_limits $t memory.max=33554432 pids.max=10 ;;
*)
	fail $t "workload's cgroup is '$p'; want /vmbase/supervise/based-<id> (rc=$rc)"
	show /tmp/lim.err
	;;
esac
t=cgroup-base-cleanup
left=$(leftover "$base")
if [ -z "$left" ]; then pass $t; else fail $t "leaves left under $base: $left"; fi
clean_leaves "$base"
rmdir "$base/supervise" "$base" 2>/dev/null

t=limits-cleanup
left=$(leftover)
if [ -z "$left" ]; then pass $t; else fail $t "leaves left after runs that ended: $left"; fi
