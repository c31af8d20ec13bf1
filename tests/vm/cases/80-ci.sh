# CI runners (issue 10) on a kernel with every controller on cgroup v2:
#   --mem auto under a parent with memory.max 600 MiB and cpu.max 0.5 CPU takes
#   its budget from the cgroup (600 MiB less the stated reserve), --jobs auto
#   and GOMAXPROCS from the quota;
#   a non-root user owning a delegated subtree gets real leaves and kernel
#   enforcement (enforced_by kernel, exit 137 at memory.max).

echo "+memory +cpu +pids" >"$CG/cgroup.subtree_control" 2>/dev/null

# --- --mem auto and --jobs auto from the enclosing limits.
t=mem-auto-cgroup
P=$CG/ci-auto
rmdir "$P/work/supervise" "$P/work" "$P/self" "$P" 2>/dev/null
mkdir -p "$P"
echo $((600 * MIB)) >"$P/memory.max"
echo "50000 100000" >"$P/cpu.max"
echo "+memory +cpu" >"$P/cgroup.subtree_control"
mkdir -p "$P/self" "$P/work"
rm -f /tmp/auto.json
# supervise starts in ci-auto/self (so ci-auto's limits enclose it) and makes
# its leaf under ci-auto/work: the no-internal-processes rule holds.
sh -c "echo \$\$ >$P/self/cgroup.procs; exec timeout 60 $SV -v --mem auto --jobs auto --cgroup-base $P/work \
	--summary-json /tmp/auto.json -- sh -c 'echo GOMAXPROCS=\$GOMAXPROCS'" >/tmp/auto.out 2>/tmp/auto.err
rc=$?
want=$((600 * MIB - 64 * MIB - 600 * MIB / 32))
bb=$(json_num budget_bytes /tmp/auto.json)
src=$(json_str budget_source /tmp/auto.json)
tmax=$(json_num tokens_max /tmp/auto.json)
gmp=$(sed -n 's/^GOMAXPROCS=//p' /tmp/auto.out)
figures="rc=$rc budget_bytes=$bb (want $want) budget_source=$src tokens_max=$tmax GOMAXPROCS=$gmp"
note "$t: $figures"
bad=
[ $rc -eq 0 ] || bad="$bad rc!=0"
[ "$bb" = "$want" ] || bad="$bad budget_bytes!=600MiB-reserve"
[ "$src" = cgroup ] || bad="$bad budget_source!=cgroup"
[ "$gmp" = 1 ] || bad="$bad GOMAXPROCS!=1-under-cpu.max-0.5"
case "$tmax" in '' | *[!0-9]*) bad="$bad tokens_max-not-a-number" ;; *) [ "$tmax" -le 1 ] || bad="$bad tokens_max>1" ;; esac
grep -q "mem auto: budget" /tmp/auto.err || bad="$bad -v-does-not-say-the-budget"
if [ -z "$bad" ]; then pass $t; else fail $t "$bad: $figures"; show /tmp/auto.err; fi
clean_leaves "$P/work"
rmdir "$P/work/supervise" "$P/work" 2>/dev/null
# Move ourselves back out before removing ci-auto/self (nothing else is in it).
rmdir "$P/self" "$P" 2>/dev/null

# --- a delegated subtree owned by a plain user: real leaves, the kernel enforces.
t=delegated-subtree
D=$CG/ci-deleg
grep -q '^ci:' /etc/passwd 2>/dev/null || echo 'ci:x:1000:1000::/tmp:/bin/sh' >>/etc/passwd
grep -q '^ci:' /etc/group 2>/dev/null || echo 'ci:x:1000:' >>/etc/group
mkdir -p "$D"
echo "+memory +pids" >"$D/cgroup.subtree_control"
mkdir -p "$D/self" "$D/work"
# Delegation as systemd does it: the directories and the files a delegate writes.
chown 1000:1000 "$D" "$D/cgroup.procs" "$D/cgroup.subtree_control" "$D/self" "$D/self/cgroup.procs" \
	"$D/work" "$D/work/cgroup.procs" "$D/work/cgroup.subtree_control"
rm -f /tmp/deleg.json
# Root moves the shell into the user's subtree (as systemd places a user's
# scope), then su drops to the user: from there, every move is inside ci-deleg.
sh -c "echo \$\$ >$D/self/cgroup.procs; exec su -s /bin/sh ci -c 'exec timeout 60 $SV --mem 64MiB \
	--cgroup-base $D/work --summary-json /tmp/deleg.json -- memhog 200'" >/tmp/deleg.out 2>/tmp/deleg.err
rc=$?
eb=$(json_str enforced_by /tmp/deleg.json)
cgp=$(json_str cgroup /tmp/deleg.json)
ok=$(json_num oom_kills /tmp/deleg.json)
figures="rc=$rc enforced_by=$eb cgroup=$cgp oom_kills=$ok"
note "$t: $figures"
bad=
[ $rc -eq 137 ] || bad="$bad rc!=137"
[ "$eb" = kernel ] || bad="$bad enforced_by!=kernel"
case "$cgp" in "$D/work/supervise/"*) ;; *) bad="$bad no-leaf-under-the-delegated-subtree" ;; esac
case "$ok" in '' | *[!0-9]*) bad="$bad oom_kills-not-a-number" ;; *) [ "$ok" -ge 1 ] || bad="$bad oom_kills<1" ;; esac
grep -q "no leaf" /tmp/deleg.err && bad="$bad ran-without-a-leaf"
if [ -z "$bad" ]; then pass $t; else fail $t "$bad: $figures"; show /tmp/deleg.err; fi
clean_leaves "$D/work"
rmdir "$D/work/supervise" "$D/work" "$D/self" "$D" 2>/dev/null
left=$(leaves "$D/work")
[ -z "$left" ] || note "$t: left: $left"
