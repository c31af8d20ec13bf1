#!/bin/sh
# The workload `make demo` supervises: a small parallel "build" of three
# jobs of different weight, each holding its memory for a second, then a
# process that makes many mappings. MEMHOG and MAPS point at the test helpers.
set -e
"$MEMHOG" 48 1 &
"$MEMHOG" 96 1 &
"$MEMHOG" 24 1
wait
if [ -x "$MAPS" ]; then "$MAPS" 2000 >/dev/null; fi
echo "demo workload: done"
