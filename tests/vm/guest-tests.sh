#!/bin/sh
# Runs every guest case file, /vm/cases/*.sh, in name order. Each file runs in
# its own subshell with /vm/lib.sh sourced, so a case that dies does not take
# the others down; it is then reported as a failure of its own.
#
# To add a test: drop a file into tests/vm/cases/ (NN-topic.sh); run.sh copies
# it into the initramfs. See tests/vm/README.md.
. /vm/lib.sh

if [ ! -x "$SV" ]; then
	fail setup "$SV is missing from the initramfs"
	exit 0
fi

for c in /vm/cases/*.sh; do
	[ -e "$c" ] || continue
	name=$(basename "$c" .sh)
	note "case $name"
	( . /vm/lib.sh && . "$c" )
	st=$?
	[ $st -eq 0 ] || fail "$name" "case file exited with status $st"
	# Each case checks cleanup itself; this only keeps one case's leftovers
	# from spoiling the next.
	left=$(leftover)
	if [ -n "$left" ]; then
		note "cleaning leaves left after $name: $left"
		clean_leaves
	fi
done
exit 0
