# Helpers for the guest test cases (busybox sh). Sourced before each case file.
#
# A test prints exactly one line: "VMTEST PASS name", "VMTEST FAIL name: why"
# (with the figures seen) or "VMTEST SKIP name: why". Lines starting with "# "
# are context for a reader of the console log.

CG=/sys/fs/cgroup
SV=/test/bin/supervise
MIB=1048576

pass() { echo "VMTEST PASS $1"; }
fail() { echo "VMTEST FAIL $1: $2"; }
skip() { echo "VMTEST SKIP $1: $2"; }
note() { echo "# $*"; }

# Print a file's lines as context, prefixed, at most $2 lines (default 20).
show() {
	[ -s "$1" ] || return 0
	head -n "${2:-20}" "$1" | sed "s|^|#   $(basename "$1"): |"
}

# sv OUTFILE ERRFILE ARGS... : run supervise with a hard time limit, stdout and
# stderr to the files; its exit status is left in $rc and returned (so that
# `sv ... &` then `wait` gives it too); 124/143 when timeout killed it.
sv() {
	_out=$1 _err=$2
	shift 2
	timeout "${SV_TIMEOUT:-60}" "$SV" "$@" >"$_out" 2>"$_err"
	rc=$?
	return $rc
}

# The leaves supervise left under a base (default the root): one path a line.
leaves() {
	[ -d "${1:-$CG}/supervise" ] || return 0
	find "${1:-$CG}/supervise" -mindepth 1 -maxdepth 1 -type d
}

# Empty when no leaf is left under the base, else what is left.
leftover() {
	leaves "$1" | tr '\n' ' '
}

# Kill and remove whatever supervise left, so later tests start clean.
# cgroup.kill exists since Linux 5.14.
clean_leaves() {
	for _l in $(leaves "$1"); do
		echo 1 >"$_l/cgroup.kill" 2>/dev/null
		_i=0
		while ! rmdir "$_l" 2>/dev/null && [ $_i -lt 50 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
	done
}

# json_num KEY FILE / json_str KEY FILE: the first value of "KEY" in a JSON file
# (the keys the tests read are unique in supervise's summary).
json_num() {
	grep -o "\"$1\" *: *[-0-9.enul]*" "$2" 2>/dev/null | head -n 1 | sed 's/.*: *//'
}
json_str() {
	grep -o "\"$1\" *: *\"[^\"]*\"" "$2" 2>/dev/null | head -n 1 | sed 's/.*: *"//; s/"$//'
}

# Shell text for a workload: sets $cg to the workload's own cgroup directory
# using builtins only (no fork, so it works when pids.max is exhausted).
SELF_CG='read -r _l </proc/self/cgroup; cg=/sys/fs/cgroup${_l#0::}'

# Wait up to $2 tenths of a second (default 100) for a leaf to appear under
# base $1; print its path.
wait_leaf() {
	_i=0
	while [ $_i -lt "${2:-100}" ]; do
		_l=$(leaves "$1" | head -n 1)
		if [ -n "$_l" ]; then
			echo "$_l"
			return 0
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# Wait up to $2 tenths of a second (default 100) for leaf $1 to hold a
# process (cgroup.events "populated 1"). supervise writes the leaf's limits
# before it launches the workload, not when it makes the leaf (the BPF monitor
# loads in between, seconds under TCG): read them from outside only after this.
wait_populated() {
	_i=0
	while [ $_i -lt "${2:-100}" ]; do
		grep -qx 'populated 1' "$1/cgroup.events" 2>/dev/null && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# Uptime in hundredths of a second (/proc/uptime has two decimals; the "1"
# prefix keeps a fraction like "08" from being read as octal).
now_cs() {
	read -r _up _ </proc/uptime
	echo $((${_up%.*} * 100 + 1${_up#*.} - 100))
}

# criterion_tap SUITE FILE: one VMTEST line per test of a criterion TAP report
# (--tap=FILE); a report with fewer results than planned fails SUITE-tests.
criterion_tap() {
	# ok - SUITE::NAME  (1.23s)              -> PASS SUITE/NAME
	# ok - SUITE::NAME  # SKIP reason         -> SKIP SUITE/NAME: reason
	# not ok - SUITE::NAME  (1.23s)          -> FAIL SUITE/NAME: file:line: message; ...
	awk -v suite="$1" '
	function flush() {
		if (name != "") { print "VMTEST FAIL " name ": " (why == "" ? "failed" : why); name = ""; why = "" }
	}
	/^not ok - / {
		flush(); n = $4; sub(/::/, "/", n); name = n; seen++; next
	}
	/^ok - / {
		flush(); n = $3; sub(/::/, "/", n); seen++
		if (match($0, /# SKIP.*/)) print "VMTEST SKIP " n ": " substr($0, RSTART + 7)
		else print "VMTEST PASS " n
		next
	}
	# Inside a failure block: "  - file.c:N: |+" then the message lines, indented.
	/^  - / && name != "" { l = $2; sub(/:$/, "", l); why = why (why == "" ? "" : "; ") l ":"; next }
	/^      / && name != "" { l = $0; sub(/^ +/, "", l); sub(/^Assertion failed: /, "", l); why = why " " l; next }
	/^  / && name != "" { next }
	{ flush() }
	/^1\.\./ { split($0, a, /\.\./); planned = a[2] }
	END {
		flush()
		if (planned != "" && seen != planned) print "VMTEST FAIL " suite "-tests: " seen " of " planned " tests reported (a crash?)"
	}' "$2"
}
