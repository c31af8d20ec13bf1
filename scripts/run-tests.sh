#!/usr/bin/env bash
# Run the test lanes and print one closing line with the totals:
#   scripts/run-tests.sh [unit] [integration] [fuzz] [vm]   (default: all four)
# unit:        criterion tests of the pure parts (no root needed)
# integration: criterion tests that run $OUTPUT/supervise in real cgroups
# fuzz:        replay each libFuzzer target's corpus (tests/fuzz/corpus/TARGET/),
#              one test per target
# vm:          the pure cgroup v2 lane under qemu (tests/vm/run.sh)
# SANITIZE=1 (make check SANITIZE=1): the binaries are ASan + UBSan builds; every
# sanitizer report, from any process of the lane, counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
SANITIZE=${SANITIZE:-}
lanes=("$@")
[ ${#lanes[@]} -eq 0 ] && lanes=(unit integration fuzz vm)

# Tests that run make themselves (a real build under supervise) must not
# inherit this run's make: `make check SANITIZE=1` puts SANITIZE=1 in MAKEFLAGS
# and OUTPUT in the environment, and a build inside a test would then go to
# build-asan/ instead of where the test looks.
export -n OUTPUT SANITIZE
unset MAKEFLAGS MFLAGS MAKELEVEL
# The binaries under test are this output directory's, whatever the caller's
# environment says (the sanitizer pass must run the sanitized supervise).
export SUPERVISE_BIN="$PWD/$OUTPUT/supervise"
export SUPERVISE_HELPERS_DIR="$PWD/$OUTPUT/tests/helpers"

san_dir=
if [ "$SANITIZE" = 1 ]; then
	san_dir=$(mktemp -d /tmp/supervise-san.XXXXXX)
	trap 'rm -rf "$san_dir"' EXIT
	if ! ldd "$SUPERVISE_BIN" 2>/dev/null | grep -q libasan; then
		echo "run-tests: SANITIZE=1 but $SUPERVISE_BIN is not an ASan build; run 'make check SANITIZE=1'" >&2
		exit 2
	fi
	# Reports go to files (log_path, one per process: NAME.PID) as well as
	# failing the process: a report in a process whose status nobody checks
	# (the guard, a client of the control socket) is still seen and counted.
	# exitcode=86: a status no test expects, so a sanitizer abort in supervise
	# is never mistaken for the workload's own exit status (1 for `false`).
	# detect_leaks=1 stays on: leaks are checked where a process exits through
	# exit() (supervise itself, the test binaries). The children supervise
	# forks either exec (LSan never runs in the new image) or leave with
	# _exit() (guard, a failed exec), which skips LSan's atexit check, so a
	# child never reports its parent's heap. The workloads (helpers, sh, make)
	# are not sanitized and ignore these variables.
	# The tests' own scratch strings (h_strf, asprintf in a criterion worker
	# that lives for one test) are not supervise's leaks: suppressed by
	# criterion's module, which is on every test's stack and never on
	# supervise's. That needs whole stacks (fast_unwind_on_malloc=0: glibc's
	# asprintf has no frame pointers for the fast unwinder to follow).
	printf 'leak:libcriterion.so\n' >"$san_dir/lsan.supp"
	export LSAN_OPTIONS="suppressions=$san_dir/lsan.supp:print_suppressions=0"
	export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:exitcode=86:log_path=$san_dir/asan:strict_string_checks=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86:log_path=$san_dir/ubsan"
fi

# Sanitizer reports written since the last call: print them under the
# binary that ran, and count one failure per report.
san_reports() {
	[ -n "$san_dir" ] || return 0
	local f n=0
	for f in "$san_dir"/asan.* "$san_dir"/ubsan.*; do
		[ -f "$f" ] || continue
		echo "-- sanitizer report ($1): $(basename "$f")"
		cat "$f"
		rm -f "$f"
		n=$((n + 1))
	done
	if [ $n -gt 0 ]; then
		failed=$((failed + n)); failures+=("$1 ($n sanitizer report(s))")
	fi
}

passed=0 failed=0 skipped=0
failures=()

count() { grep -m1 "\"$1\":" "$2" | tr -dc '0-9'; }

run_criterion() {
	local bin=$1; shift
	local json
	json=$(mktemp)
	echo "== $bin"
	"$bin" --verbose --json="$json" "$@"
	local rc=$?
	local p f e s
	p=$(count passed "$json"); f=$(count failed "$json"); e=$(count errored "$json"); s=$(count skipped "$json")
	rm -f "$json"
	san_reports "$bin"
	if [ -z "$p" ]; then
		# Crashed before writing its report: count the binary as one failure.
		failed=$((failed + 1)); failures+=("$bin (exit $rc, no report)")
		return
	fi
	passed=$((passed + p)); failed=$((failed + f + e)); skipped=$((skipped + s))
	if [ $rc -ne 0 ] || [ $((f + e)) -gt 0 ]; then
		failures+=("$bin ($((f + e)) failed, exit $rc)")
		[ $((f + e)) -eq 0 ] && failed=$((failed + 1))
	fi
}

for lane in "${lanes[@]}"; do
	case $lane in
	unit)
		for b in "$OUTPUT"/tests/unit/test_*; do
			[ -x "$b" ] && [ -f "$b" ] && run_criterion "$b"
		done ;;
	integration)
		# One test at a time: they create and watch real cgroups and time
		# deadlines (the guard's 1 s), which a loaded 2-core box skews.
		for b in "$OUTPUT"/tests/integration/test_*; do
			[ -x "$b" ] && [ -f "$b" ] && run_criterion "$b" -j1
		done ;;
	fuzz)
		# Replay only (each input once, seconds): `make fuzz` is what searches.
		for dir in tests/fuzz/corpus/*/; do
			name=$(basename "$dir")
			bin=$OUTPUT/fuzz/fuzz_$name
			echo "== $bin ($(find "$dir" -type f | wc -l) inputs)"
			if [ ! -x "$bin" ]; then
				if [ -e "$OUTPUT/fuzz/.unavailable" ]; then
					echo "fuzz: skipped: $(cat "$OUTPUT/fuzz/.unavailable")"
					skipped=$((skipped + 1))
				else
					failed=$((failed + 1)); failures+=("$bin (not built)")
				fi
				continue
			fi
			out=$(mktemp)
			find "$dir" -type f -print0 | xargs -0 -r "$bin" >"$out" 2>&1
			rc=$?
			if [ $rc -eq 0 ]; then
				passed=$((passed + 1))
			else
				tail -n 60 "$out"
				# libFuzzer stops at the first failing input; name it.
				input=$(grep -E '^Running: ' "$out" | tail -n1 | sed 's/^Running: //')
				failed=$((failed + 1)); failures+=("$bin (corpus replay, exit $rc, input ${input:-?})")
			fi
			rm -f "$out"
		done ;;
	vm)
		echo "== vm lane (tests/vm/run.sh)"
		# In CI (CI=true, as root, where apt-get reaches Debian) the lane's
		# packages install: a lane that cannot run there is a failure, not a
		# skip. Elsewhere (a user without root, no registry) it is a skip.
		vm_cannot() {
			if [ "${CI:-}" = true ]; then
				echo "vm: FAILED: $1 (CI=true: the lane must run here)"
				failed=$((failed + 1)); failures+=("vm lane ($1)")
			else
				echo "vm: skipped: $1"
				skipped=$((skipped + 1))
			fi
		}
		if ! scripts/setup.sh --vm; then
			vm_cannot "qemu-system-x86/busybox-static cannot be installed here"
			continue
		fi
		out=$(mktemp)
		OUTPUT=$OUTPUT tests/vm/run.sh 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
		line=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n1)
		rm -f "$out"
		if [ $rc -eq 77 ]; then
			vm_cannot "tests/vm/run.sh cannot run here (its reason is above)"
		elif [ -n "$line" ]; then
			p=$(sed -E 's/^vm: ([0-9]+) passed.*/\1/' <<<"$line")
			f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
			s=$(grep -oE '[0-9]+ skipped' <<<"$line" | tr -dc '0-9')
			passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
			if [ $rc -ne 0 ]; then
				failures+=("vm lane (exit $rc)")
				[ "$f" -eq 0 ] && failed=$((failed + 1))
			fi
		else
			failed=$((failed + 1)); failures+=("vm lane (exit $rc, no result line)")
		fi ;;
	*)
		echo "run-tests: unknown lane '$lane' (unit, integration, fuzz, vm)" >&2
		exit 2 ;;
	esac
done

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
