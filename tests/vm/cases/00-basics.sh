# The guest itself and supervise's plain contract, before any limit is tested.

# Pure cgroup v2: the controllers the other cases rely on are on this hierarchy.
t=v2-controllers
read -r ctl <"$CG/cgroup.controllers"
missing=
for c in cpu memory pids; do
	case " $ctl " in *" $c "*) ;; *) missing="$missing $c" ;; esac
done
if [ -z "$missing" ]; then pass $t; else fail $t "missing:$missing (cgroup.controllers: $ctl)"; fi

# Exit status as a shell reports it, from a run with no limits.
t=exit-status
got=
sv /tmp/o /tmp/e -- true; got="$got true=$rc"
sv /tmp/o /tmp/e -- sh -c 'exit 7'; got="$got exit7=$rc"
sv /tmp/o /tmp/e -- sh -c 'kill -TERM $$'; got="$got sigterm=$rc"
sv /tmp/o /tmp/e -- /nonexistent/cmd; got="$got notfound=$rc"
if [ "$got" = " true=0 exit7=7 sigterm=143 notfound=127" ]; then
	pass $t
else
	fail $t "want true=0 exit7=7 sigterm=143 notfound=127, got$got"
	show /tmp/e
fi
left=$(leftover)
t=exit-status-cleanup
if [ -z "$left" ]; then pass $t; else fail $t "leaves left after runs that ended: $left"; fi
