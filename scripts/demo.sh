#!/usr/bin/env bash
# make demo: show what this host supports, run supervise on a bundled
# workload, then print what it saw.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
S=$OUTPUT/supervise
summary=$OUTPUT/demo-summary.json

echo "== supervise check"
"$S" check || true
echo
echo "== supervise -v --mem 512MiB --summary-json $summary -- examples/demo-workload.sh"
MEMHOG=$PWD/$OUTPUT/tests/helpers/memhog MAPS=$PWD/$OUTPUT/tests/helpers/maps-test \
	"$S" -v --mem 512MiB --summary-json "$summary" -- examples/demo-workload.sh
echo
echo "== what supervise saw ($summary)"
cat "$summary"
