#!/usr/bin/env bash
# Run the test lanes and print one closing line with the totals:
#   scripts/run-tests.sh [unit] [integration] [vm]      (default: all three)
# unit:        criterion tests of the pure parts (no root needed)
# integration: criterion tests that run build/supervise in real cgroups
# vm:          the pure cgroup v2 lane under qemu (tests/vm/run.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
lanes=("$@")
[ ${#lanes[@]} -eq 0 ] && lanes=(unit integration vm)

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
	vm)
		echo "== vm lane (tests/vm/run.sh)"
		if ! scripts/setup.sh --vm; then
			echo "vm: skipped: qemu-system-x86/busybox-static cannot be installed here"
			skipped=$((skipped + 1))
			continue
		fi
		out=$(mktemp)
		OUTPUT=$OUTPUT tests/vm/run.sh 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
		line=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n1)
		rm -f "$out"
		if [ $rc -eq 77 ]; then
			skipped=$((skipped + 1))
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
		echo "run-tests: unknown lane '$lane' (unit, integration, vm)" >&2
		exit 2 ;;
	esac
done

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
