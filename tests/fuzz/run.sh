#!/usr/bin/env bash
# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="size cli ..."] [FUZZ_MERGE=1]
# Run each libFuzzer target for FUZZ_SECONDS from its seed corpus
# (tests/fuzz/corpus/NAME/). New inputs are written to $OUTPUT/fuzz/corpus/NAME/;
# FUZZ_MERGE=1 then merges those that reach new code into the seed corpus (commit
# them). A crash stops that target, leaves the input in $OUTPUT/fuzz/crashes/ and
# fails the run; the other targets still run. Prints one line per target.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
secs=${FUZZ_SECONDS:-60}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for d in tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi
mkdir -p "$OUTPUT/fuzz/crashes"
results=() rc=0
for t in "${targets[@]}"; do
	bin=$OUTPUT/fuzz/fuzz_$t seeds=tests/fuzz/corpus/$t work=$OUTPUT/fuzz/corpus/$t
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "fuzz: no target '$t' ($bin, $seeds)" >&2
		rc=1; continue
	fi
	mkdir -p "$work"
	log=$OUTPUT/fuzz/$t.log
	echo "== fuzz_$t for ${secs}s (log: $log)"
	# -close_fd_mask=2: the parsers' own error messages are noise here;
	# libFuzzer and the sanitizers keep a duplicate of stderr for reports.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-close_fd_mask=2 -artifact_prefix="$OUTPUT/fuzz/crashes/$t-" "$work" "$seeds" >"$log" 2>&1
	r=$?
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+')
	if [ $r -ne 0 ]; then
		crash=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n1 | sed 's/Test unit written to //')
		grep -E "ERROR|runtime error|broken promise|SUMMARY" "$log" | head -n 5
		results+=("fuzz_$t: CRASH after ${runs:-?} runs, input $crash")
		rc=1
	else
		results+=("fuzz_$t: ${runs:-?} runs in ${secs}s, coverage ${cov:-?} edges, no crash")
	fi
	if [ "${FUZZ_MERGE:-}" = 1 ]; then
		"$bin" -merge=1 -close_fd_mask=2 "$seeds" "$work" >>"$log" 2>&1
	fi
done
printf '%s\n' "${results[@]}"
exit $rc
